"""Neural-network building blocks, as PyTorch's nn: modules, layers, losses, init and functional."""

from autogradlib.errors import StateDictError
from autogradlib.nn import functional, init
from autogradlib.nn.convolution import Conv1d, Conv2d
from autogradlib.nn.layers import (
    Dropout,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from autogradlib.nn.losses import CrossEntropyLoss, MSELoss
from autogradlib.nn.module import IncompatibleKeys, Module
from autogradlib.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "CrossEntropyLoss",
    "Dropout",
    "IncompatibleKeys",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Tanh",
    "functional",
    "init",
]
__all__ += ["AdaptiveAvgPool2d", "AvgPool2d", "Conv1d", "Conv2d", "MaxPool2d"]
