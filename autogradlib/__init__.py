"""Autogradlib: a small define-by-run deep-learning framework with its own autograd."""

# nn and optim are attributes of the package, as nn and optim are of torch.
from autogradlib import nn, optim
from autogradlib.anomaly import detect_anomaly
from autogradlib.checkpoint import load, save
from autogradlib.engine import grad
from autogradlib.errors import (
    AnomalyError,
    CheckpointError,
    DeviceError,
    DTypeError,
    GradcheckError,
    GraphError,
    JitError,
    ShapeError,
    StateDictError,
)
from autogradlib.functional import cat, stack
from autogradlib.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from autogradlib.grad_operator import GradOperator
from autogradlib.gradcheck import gradcheck, gradgradcheck
from autogradlib.jit import jit
from autogradlib.variable import Variable

# isort: split
# After Variable: importing the engine first would import it before the Variable it needs.
from autogradlib import func

__all__ = [
    "AnomalyError",
    "CheckpointError",
    "DTypeError",
    "DeviceError",
    "GradOperator",
    "GradcheckError",
    "GraphError",
    "JitError",
    "ShapeError",
    "StateDictError",
    "Variable",
    "cat",
    "detect_anomaly",
    "enable_grad",
    "func",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "jit",
    "load",
    "nn",
    "no_grad",
    "optim",
    "save",
    "set_grad_enabled",
    "stack",
]
__version__ = "0.1.0"
