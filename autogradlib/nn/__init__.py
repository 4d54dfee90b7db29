"""Neural-network building blocks, as PyTorch's nn: modules, layers, losses, init and functional."""

from autogradlib.errors import StateDictError
from autogradlib.nn import functional, init, utils
from autogradlib.nn.activations import ELU, GELU, Identity, LeakyReLU, SiLU
from autogradlib.nn.containers import ModuleDict, ModuleList
from autogradlib.nn.convolution import Conv1d, Conv2d
from autogradlib.nn.dropout import Dropout2d
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
from autogradlib.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from autogradlib.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from autogradlib.nn.reshape import Unflatten
from autogradlib.nn.sparse import Embedding

__all__ = [
    "ELU",
    "GELU",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "HuberLoss",
    "Identity",
    "IncompatibleKeys",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "StateDictError",
    "Tanh",
    "Unflatten",
    "functional",
    "init",
    "utils",
]
__all__ += ["AdaptiveAvgPool2d", "AvgPool2d", "Conv1d", "Conv2d", "MaxPool2d"]
