"""Neural-network building blocks, as PyTorch's nn: modules, layers, losses, init and functional."""

from autogradlib.errors import StateDictError
from autogradlib.nn import functional, init, utils
from autogradlib.nn.layers import (
    Dropout,
    Flatten,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from autogradlib.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from autogradlib.nn.module import IncompatibleKeys, Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "HuberLoss",
    "IncompatibleKeys",
    "L1Loss",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "NLLLoss",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "StateDictError",
    "Tanh",
    "functional",
    "init",
    "utils",
]
