"""More activations (GELU, LeakyReLU, SiLU, ELU) and Identity, printed as torch prints them."""

from __future__ import annotations

from autogradlib.nn import functional as F
from autogradlib.nn.module import Module
from autogradlib.variable import Variable


class GELU(Module):
    """x Phi(x) (Phi the normal CDF), or its tanh approximation with approximate='tanh'."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input) -> Variable:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        F.check_not_inplace("LeakyReLU", inplace)
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input) -> Variable:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class SiLU(Module):
    """x * sigmoid(x)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        F.check_not_inplace("SiLU", inplace)
        self.inplace = inplace

    def forward(self, input) -> Variable:
        return F.silu(input)


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        F.check_not_inplace("ELU", inplace)
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input) -> Variable:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored, as in torch."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input
