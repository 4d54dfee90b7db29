"""The convolution layers, Conv1d and Conv2d, with PyTorch's arguments, initialisation and repr."""

from __future__ import annotations

import math

import torch

from autogradlib.nn import init
from autogradlib.nn.module import Module
from autogradlib.operators.convolution import convolve, spatial_tuple
from autogradlib.variable import Variable


class ConvNd(Module):
    """Cross-correlation over `dims` spatial dimensions; weight (C_out, C_in / groups, *kernel).

    Initialised as torch does, with the same draws from the same generator: weight
    kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """

    dims = 0  # set by each subclass

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"be divisible by groups ({groups})"
            )
        if padding_mode != "zeros":
            raise ValueError(
                f"{name}: padding_mode {padding_mode!r} is not supported, only 'zeros'; pad the "
                "input yourself and use padding=0"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = spatial_tuple(kernel_size, self.dims, "kernel_size", name)
        self.stride = spatial_tuple(stride, self.dims, "stride", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: invalid padding string {padding!r}, should be one of 'same', 'valid'"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions"
                )
            self.padding = padding
        else:
            self.padding = spatial_tuple(padding, self.dims, "padding", name)
        self.dilation = spatial_tuple(dilation, self.dims, "dilation", name)
        self.groups = groups
        self.padding_mode = padding_mode
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Variable(torch.empty(shape, dtype=dtype, device=device))
        self.bias = (
            Variable(torch.empty(out_channels, dtype=dtype, device=device)) if bias else None
        )
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw new weights as torch does: kaiming_uniform_(a=sqrt(5)), bias U(+-1/sqrt(fan_in))."""
        weight = self.weight.tensor
        fill_drawn(
            weight, generator, lambda t: init.kaiming_uniform_(t, math.sqrt(5), generator=generator)
        )
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            fill_drawn(
                self.bias.tensor, generator, lambda t: init.uniform_(t, -bound, bound, generator)
            )

    def forward(self, input) -> Variable:
        return convolve(
            self, self.dims, input, self.weight, self.bias, self.stride, self.padding,
            self.dilation, self.groups,
        )  # fmt: skip

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


def fill_drawn(tensor: torch.Tensor, generator: torch.Generator | None, draw) -> None:
    """Fill `tensor` with draw(tensor), drawn where the generator lives and copied if elsewhere
    (a CPU generator cannot fill a GPU tensor)."""
    if generator is None or generator.device == tensor.device:
        draw(tensor)
    else:
        drawn = torch.empty_like(tensor, device=generator.device)
        draw(drawn)
        tensor.copy_(drawn)


class Conv1d(ConvNd):
    """Cross-correlation of (N, C_in, L) or (C_in, L) with weight (C_out, C_in / groups, k)."""

    dims = 1


class Conv2d(ConvNd):
    """Cross-correlation of (N, C_in, H, W) or (C_in, H, W) with (C_out, C_in / groups, kh, kw)."""

    dims = 2
