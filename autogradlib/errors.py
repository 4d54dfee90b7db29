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
