"""Optimizers, as PyTorch's optim: SGD and Adam, with torch's param_groups and state dicts."""

from autogradlib.optim.adam import Adam
from autogradlib.optim.optimizer import Optimizer
from autogradlib.optim.sgd import SGD

__all__ = ["SGD", "Adam", "Optimizer"]
