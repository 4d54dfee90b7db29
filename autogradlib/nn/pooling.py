"""The pooling layers MaxPool2d, AvgPool2d and AdaptiveAvgPool2d, printed as PyTorch prints them."""

from __future__ import annotations

import torch

from autogradlib.nn.module import Module
from autogradlib.operators.pooling import adaptive_avg_pool, avg_pool, max_pool
from autogradlib.variable import Variable


class MaxPool2d(Module):
    """The maximum of each kernel_size window, windows `stride` apart (default: kernel_size)."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        # Kept as given, as torch keeps them (and prints them).
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        output = max_pool(
            self, input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )
        if not self.return_indices:
            return output
        tensor = input.tensor if isinstance(input, Variable) else input
        _, indices = torch.ops.aten.max_pool2d_with_indices(
            tensor, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode
        )
        return output, indices

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(Module):
    """The mean of each kernel_size window, windows `stride` apart (default: kernel_size)."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input) -> Variable:
        return avg_pool(
            self, input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad, self.divisor_override,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """The mean of each of output_size windows that tile the (H, W) plane as evenly as possible."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input) -> Variable:
        return adaptive_avg_pool(self, input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
