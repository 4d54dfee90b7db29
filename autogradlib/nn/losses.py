"""The losses, as modules: MSELoss and CrossEntropyLoss, each one fused operator."""

from __future__ import annotations

from autogradlib import operators as ops
from autogradlib.nn import functional as F
from autogradlib.nn.module import Module
from autogradlib.variable import Variable


class MSELoss(Module):
    """reduce((input - target)**2) with reduction 'mean' (default), 'sum' or 'none'."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F.check_reduction(reduction)
        self.reduction = reduction

    def forward(self, input, target) -> Variable:
        F.check_same_shape("mse_loss", input, target)
        return ops.MSELoss.apply(input, target, reduction=self.reduction)


class CrossEntropyLoss(Module):
    """reduce(-log_softmax(logits)[target]) for class indices, or -sum(target * log_softmax)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F.check_reduction(reduction)
        self.reduction = reduction

    def forward(self, input, target) -> Variable:
        return F.cross_entropy(input, target, reduction=self.reduction)
