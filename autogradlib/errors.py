"""The exceptions Autogradlib raises, each deriving from the built-in one a user would catch.

Shape, dtype and device errors also derive from RuntimeError, which is what PyTorch raises for the
same mistakes, so code written against PyTorch keeps catching them.
"""


class ShapeError(ValueError, RuntimeError):
    """Operands whose shapes do not fit the operation."""


class DTypeError(TypeError, RuntimeError):
    """Operands of different floating-point dtypes, or a dtype the operation cannot take."""


class DeviceError(RuntimeError):
    """Operands on different devices."""


class GraphError(RuntimeError):
    """A backward pass that cannot run: no graph, a released graph, or a missing gradient."""


class AnomalyError(RuntimeError):
    """A non-finite value met under detect_anomaly()."""


class GradcheckError(RuntimeError):
    """An analytical gradient that disagrees with the numerical one."""


class StateDictError(RuntimeError):
    """A state dict with missing, unexpected or mis-shaped entries; the message names them all.

    A RuntimeError, as torch raises; `mismatched` holds (key, reason) for each entry that could not
    be copied (wrong shape, or not a tensor).
    """

    def __init__(self, message: str, missing_keys: list, unexpected_keys: list, mismatched: list):
        super().__init__(message)
        self.missing_keys = missing_keys
        self.unexpected_keys = unexpected_keys
        self.mismatched = mismatched


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: missing, empty, truncated, corrupt or foreign.

    A ValueError, as json and pickle raise for bad content; a missing or unreadable file raises it
    too (with the OSError as its __cause__), so one `except CheckpointError` covers every bad path.
    """


class JitError(TypeError):
    """A function autogradlib.jit cannot record faithfully (a value read into Python, ...).

    A TypeError, as JAX's ConcretizationTypeError: it is about what kind of value the code
    handles, and no operator's RuntimeError handling takes it for a shape error."""
