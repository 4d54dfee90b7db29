"""Ctrl-C during training: note the request, let the loop stop at a clean point, save, and exit."""

from __future__ import annotations

import signal
import threading


class StopRequests:
    """Inside `with StopRequests() as stop:`, Ctrl-C (SIGINT) sets `stop.requested` instead of
    raising KeyboardInterrupt, so the loop can finish its epoch and save a consistent checkpoint;
    a second Ctrl-C raises KeyboardInterrupt at once, for a loop that does not get there.

    Off (Ctrl-C raises as usual) when `enabled` is False or outside the main thread, where Python
    cannot install signal handlers.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested = False
        self._previous = None

    def __enter__(self) -> StopRequests:
        self.requested = False
        if self.enabled:
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.enabled:
            signal.signal(signal.SIGINT, self._previous)

    def _on_interrupt(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
