"""Whether autogradlib.jit is recording: code that branches on values asks, to take the branch
that is right for any values, since the recorded calls are replayed whatever the data."""

recorder = None  # the jit's Recorder while it records a step


def recording() -> bool:
    """True while autogradlib.jit records a step."""
    return recorder is not None
