"""Whether operations are recorded for backward: no_grad, enable_grad, set_grad_enabled."""

import contextlib
import threading

import torch


class _GradMode(threading.local):
    enabled = True


grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations on Variables that require grad are recorded: neither our no_grad()
    nor torch's (no_grad, inference_mode, set_grad_enabled(False)) is in force."""
    return grad_mode.enabled and torch.is_grad_enabled()


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn recording on or off, as a call, a context manager or a decorator."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.previous = grad_mode.enabled
        grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        grad_mode.enabled = self.mode

    def __exit__(self, *exc_info) -> None:
        grad_mode.enabled = self.previous

    def _recreate_cm(self):
        # A decorated function gets a fresh context per call, so nested calls restore correctly.
        return type(self)(self.mode)


class no_grad(contextlib.ContextDecorator):
    """Record nothing inside: outputs are Variables that do not require grad.

    Works as `with no_grad():`, `@no_grad()` and, as in PyTorch, a bare `@no_grad`.
    """

    def __new__(cls, function=None):
        if function is None:
            return super().__new__(cls)
        return cls()(function)

    def __enter__(self) -> None:
        self.previous = grad_mode.enabled
        grad_mode.enabled = False

    def __exit__(self, *exc_info) -> None:
        grad_mode.enabled = self.previous

    def _recreate_cm(self):
        return type(self)()


class enable_grad(no_grad):
    """Record inside, even within no_grad()."""

    def __enter__(self) -> None:
        self.previous = grad_mode.enabled
        grad_mode.enabled = True
