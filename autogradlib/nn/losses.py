"""The losses, as modules with torch's names, arguments and buffers; each one fused operator."""

from __future__ import annotations

import torch

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


class L1Loss(Module):
    """reduce(|input - target|)."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__()
        F.check_reduction(reduction)
        self.reduction = reduction

    def forward(self, input, target) -> Variable:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(Module):
    """reduce(0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta), d = input - target."""

    def __init__(self, *, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__()
        F.check_reduction(reduction)
        self.reduction, self.beta = reduction, beta

    def forward(self, input, target) -> Variable:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(Module):
    """reduce(0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)), d = input - target."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__()
        F.check_reduction(reduction)
        self.reduction, self.delta = reduction, delta

    def forward(self, input, target) -> Variable:
        return F.huber_loss(input, target, self.reduction, self.delta)


class _WeightedLoss(Module):
    """A loss with an optional weight, kept as a buffer (in the state dict) as torch keeps it."""

    def __init__(self, weight: torch.Tensor | None, reduction: str) -> None:
        super().__init__()
        F.check_reduction(reduction)
        self.reduction = reduction
        self.register_buffer("weight", _buffer(weight))


def _buffer(value) -> torch.Tensor | None:
    return value.tensor if isinstance(value, Variable) else value


class BCELoss(_WeightedLoss):
    """reduce(-w (y log x + (1 - y) log(1 - x))) for probabilities x."""

    def __init__(self, weight: torch.Tensor | None = None, *, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)

    def forward(self, input, target) -> Variable:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """reduce(w ((1 - y) x - (1 + (p - 1) y) log sigmoid(x))), p = pos_weight (1 without it)."""

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        reduction: str = "mean",
        pos_weight: torch.Tensor | None = None,
    ) -> None:
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input, target) -> Variable:
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class NLLLoss(_WeightedLoss):
    """reduce(-w[y] input[y]) for log-probabilities (N, C, d1, ...); mean: divided by sum w[y]."""

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target) -> Variable:
        return F.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )


class CrossEntropyLoss(_WeightedLoss):
    """reduce(-log_softmax(logits)[target]) for class indices, or -sum(target * log_softmax);
    with class weights, ignore_index and label_smoothing as torch's."""

    def __init__(
        self,
        weight: torch.Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target) -> Variable:
        return F.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )
