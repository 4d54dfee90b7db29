"""Neural-network building blocks, as PyTorch's nn: modules, layers, losses, init and functional."""

from autogradlib.errors import StateDictError
from autogradlib.nn import functional, init
from autogradlib.nn.activations import ELU, GELU, Identity, LeakyReLU, SiLU
from autogradlib.nn.containers import ModuleDict, ModuleList
from autogradlib.nn.dropout import Dropout2d
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
from autogradlib.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from autogradlib.nn.reshape import Unflatten
from autogradlib.nn.sparse import Embedding

__all__ = [
    "ELU",
    "GELU",
    "BatchNorm1d",
    "BatchNorm2d",
    "CrossEntropyLoss",
    "Dropout",
    "Dropout2d",
    "Embedding",
    "Identity",
    "IncompatibleKeys",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "ReLU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Tanh",
    "Unflatten",
    "functional",
    "init",
]
