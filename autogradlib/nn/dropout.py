"""Dropout2d: channel-wise dropout, with torch's random draws."""

from __future__ import annotations

from autogradlib.nn import functional as F
from autogradlib.nn.module import Module
from autogradlib.variable import Variable


class Dropout2d(Module):
    """In training, zero each whole channel with probability p and scale the rest by 1 / (1 - p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        F.check_dropout_probability(p)
        F.check_not_inplace("Dropout2d", inplace)
        self.p = p
        self.inplace = inplace

    def forward(self, input) -> Variable:
        return F.dropout2d(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
