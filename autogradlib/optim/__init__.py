"""Optimizers, as PyTorch's optim: SGD, Adam, AdamW and RMSprop, with torch's param_groups and
state dicts, and the learning-rate schedulers of optim.lr_scheduler."""

from autogradlib.optim import lr_scheduler
from autogradlib.optim.adam import Adam
from autogradlib.optim.adamw import AdamW
from autogradlib.optim.optimizer import Optimizer
from autogradlib.optim.rmsprop import RMSprop
from autogradlib.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
