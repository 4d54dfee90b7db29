"""Pooling over two spatial dimensions: max, average, and adaptive average."""

from __future__ import annotations

import torch

from autogradlib.errors import ShapeError
from autogradlib.grad_operator import GradOperator
from autogradlib.operators.pointwise import where
from autogradlib.operators.shape import GatherBackwardOperator


class MaxPool2dOperator(GradOperator):
    """out = max of x over each window;  dL/dx = g at each window's argmax (the first maximum, as
    torch picks it), summed where windows overlap, zero elsewhere."""

    label = "MaxPool2d"

    def forward(self, x, *, kernel_size, stride, padding, dilation, ceil_mode):
        output, self.indices = torch.ops.aten.max_pool2d_with_indices.default(
            x, kernel_size, stride, padding, dilation, ceil_mode
        )
        self.input_shape = x.shape
        # With dilation, a window can fall wholly in the padding: its output is -inf, a constant,
        # and torch's index for it points outside the plane (torch then writes a gradient
        # into another channel); such windows pass no gradient here.
        self.may_miss = any(d > 1 and p > 0 for d, p in zip(dilation, padding, strict=True))
        return output

    def pass_grad(self, grad_output):
        # The indices count positions within each (H, W) plane of the input.
        shape = self.input_shape
        plane = shape[-2] * shape[-1]
        indices, grads = self.indices.flatten(-2), grad_output.flatten(-2)
        if not isinstance(grad_output, torch.Tensor):  # recorded (create_graph)
            if self.may_miss:
                inside = (indices >= 0) & (indices < plane)
                indices, grads = indices.where(inside, 0), where(inside, grads, 0.0)
            grad_x = GatherBackwardOperator.apply(
                grads, shape=(*shape[:-2], plane), dim=-1, index=indices
            )
            return (grad_x.view(shape),)
        if self.may_miss:
            inside = (indices >= 0) & (indices < plane)
            indices, grads = indices.where(inside, 0), grads.where(inside, 0)
        grad_x = grad_output.new_zeros((*shape[:-2], plane))
        grad_x.scatter_add_(-1, indices, grads)
        return (grad_x.view(shape),)


class AvgPool2dOperator(GradOperator):
    """out = sum of x over each window / divisor;  dL/dx = sum over the windows that hold x of
    g / divisor."""

    label = "AvgPool2d"

    def forward(
        self, x, *, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    ):
        output = torch.ops.aten.avg_pool2d.default(
            x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        )
        self.input_shape = x.shape
        self.options = {
            "kernel_size": kernel_size, "stride": stride, "padding": padding,
            "ceil_mode": ceil_mode, "count_include_pad": count_include_pad,
            "divisor_override": divisor_override,
        }  # fmt: skip
        return output

    def pass_grad(self, grad_output):
        if isinstance(grad_output, torch.Tensor):
            return (avg_pool_backward(grad_output, self.input_shape, **self.options),)
        grad_x = AvgPool2dBackwardOperator.apply(
            grad_output, input_shape=self.input_shape, options=self.options
        )
        return (grad_x,)


class AvgPool2dBackwardOperator(GradOperator):
    """dL/dx of average pooling for g (recorded under create_graph);  a linear map whose
    transpose is the pooling itself: dL/dg = avg_pool2d(dL/d(out))."""

    label = "AvgPool2dBackward"

    def forward(self, grad_output, *, input_shape, options):
        self.options = options
        return avg_pool_backward(grad_output, input_shape, **options)

    def pass_grad(self, grad_output):
        if isinstance(grad_output, torch.Tensor):
            return (torch.ops.aten.avg_pool2d.default(grad_output, *self.options.values()),)
        return (AvgPool2dOperator.apply(grad_output, **self.options),)


def avg_pool_backward(
    grad_output, shape, *, kernel_size, stride, padding, ceil_mode, count_include_pad,
    divisor_override,
):  # fmt: skip
    """Sum over the windows that hold each input position of g / divisor."""
    divisors = window_divisors(
        shape[-2:], grad_output.shape[-2:], kernel_size, stride, padding,
        count_include_pad, divisor_override, grad_output,
    )  # fmt: skip
    scaled = grad_output / divisors
    (kernel_h, kernel_w), (stride_h, stride_w) = kernel_size, stride
    out_h, out_w = grad_output.shape[-2:]
    # A canvas of the padded input (and of windows that ceil_mode lets end past it): each
    # kernel offset adds the scaled gradient to the positions it read, a strided slice.
    height = max(shape[-2] + 2 * padding[0], (out_h - 1) * stride_h + kernel_h)
    width = max(shape[-1] + 2 * padding[1], (out_w - 1) * stride_w + kernel_w)
    canvas = grad_output.new_zeros((*grad_output.shape[:-2], height, width))
    for i in range(kernel_h):
        rows = slice(i, i + (out_h - 1) * stride_h + 1, stride_h)
        for j in range(kernel_w):
            canvas[..., rows, j : j + (out_w - 1) * stride_w + 1 : stride_w] += scaled
    top, left = padding
    return canvas[..., top : top + shape[-2], left : left + shape[-1]]


def window_divisors(
    size, output_size, kernel_size, stride, padding, count_include_pad, divisor_override, like
):
    """What avg_pool2d divides each window's sum by: a number, or one per output position."""
    if divisor_override is not None:
        return divisor_override
    rows, columns = (
        window_lengths(size[d], output_size[d], kernel_size[d], stride[d], padding[d],
                       count_include_pad, like)
        for d in range(2)
    )  # fmt: skip
    divisors = rows.unsqueeze(1) * columns
    if bool((divisors == kernel_size[0] * kernel_size[1]).all()):
        return kernel_size[0] * kernel_size[1]
    return divisors


def window_lengths(size, output_size, kernel, stride, padding, count_include_pad, like):
    """Each window's length along one dimension, as torch counts it: cut at the padded border,
    and also at the input's border unless count_include_pad."""
    starts = torch.arange(output_size, device=like.device) * stride - padding
    ends = (starts + kernel).clamp(max=size + padding)
    if not count_include_pad:
        starts, ends = starts.clamp(min=0), ends.clamp(max=size)
    return (ends - starts).to(like.dtype)


class AdaptiveAvgPool2dOperator(GradOperator):
    """out = A_h x A_w^T, where row i of A averages input rows floor(i H / h) .. ceil((i+1) H / h);
    dL/dx = A_h^T g A_w."""

    label = "AdaptiveAvgPool2d"
    constants = ("rows", "columns")  # the averaging matrices: they depend on sizes alone

    def forward(self, x, *, output_size):
        self.input_shape = x.shape
        self.whole_plane = output_size == (1, 1)
        if self.whole_plane:
            # torch averages the whole plane with mean(): the same rounding, in float32 too.
            return x.mean((-2, -1), keepdim=True)
        self.rows = averaging_matrix(x.shape[-2], output_size[0], x)
        self.columns = averaging_matrix(x.shape[-1], output_size[1], x)
        return self.rows @ x @ self.columns.t()

    def pass_grad(self, grad_output):
        if self.whole_plane:
            shape = self.input_shape
            return ((grad_output / (shape[-2] * shape[-1])).expand(shape),)
        return (self.rows.t() @ grad_output @ self.columns,)


def averaging_matrix(size: int, output_size: int, like: torch.Tensor) -> torch.Tensor:
    """(output_size, size): row i holds 1/n on the n inputs of adaptive window i, 0 elsewhere."""
    index = torch.arange(output_size, device=like.device)
    starts = (index * size).div(output_size, rounding_mode="floor")
    ends = ((index + 1) * size + output_size - 1).div(output_size, rounding_mode="floor")
    positions = torch.arange(size, device=like.device)
    inside = (positions >= starts.unsqueeze(1)) & (positions < ends.unsqueeze(1))
    return inside.to(like.dtype) / (ends - starts).unsqueeze(1).to(like.dtype)


def pair(value, what: str, name) -> tuple:
    """An int or a sequence of one or two ints as two ints, as torch reads pooling arguments."""
    if type(value) is int:
        return (value, value)  # the common case, made cheap
    values = (value,) if isinstance(value, int) else tuple(value)
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or not all(isinstance(v, int) for v in values):
        raise ValueError(f"{name}: {what} must be an int or 2 ints, got {value!r}")
    return values


def window_stride(stride, kernel_size: tuple, name) -> tuple:
    """The stride as two ints; None (or empty), as in torch, means the kernel size."""
    if stride is None or stride == () or stride == []:
        return kernel_size
    return pair(stride, "stride", name)


def check_pooling_input(name, input, kernel_size, padding, dilation=(1, 1)) -> None:
    """A 3-D (C, H, W) or 4-D (N, C, H, W) input whose padded planes hold one window at least."""
    shape = input.shape
    if len(shape) not in (3, 4):
        raise ShapeError(
            f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(shape)}"
        )
    for d in range(2):
        reach = dilation[d] * (kernel_size[d] - 1) + 1
        if shape[d - 2] + 2 * padding[d] < reach or 2 * padding[d] > kernel_size[d]:
            raise window_error(name, shape, kernel_size, padding, dilation)


def window_error(name, shape, kernel_size, padding, dilation) -> Exception:
    """The error for a window larger than the padded input, or padding over half the window."""
    padded = tuple(shape[d - 2] + 2 * padding[d] for d in range(2))
    reach = tuple(dilation[d] * (kernel_size[d] - 1) + 1 for d in range(2))
    if any(padded[d] < reach[d] for d in range(2)):
        return ShapeError(
            f"{name}: the window {kernel_size} (spanning {reach}) is larger than the padded "
            f"input {padded} (input of shape {tuple(shape)}, padding {padding})"
        )
    return ValueError(
        f"{name}: padding {padding} must be at most half of kernel_size {kernel_size}"
    )


def max_pool(name, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Check the arguments, then apply MaxPool2dOperator; stride None (or empty) = kernel_size."""
    kernel_size = pair(kernel_size, "kernel_size", name)
    stride = window_stride(stride, kernel_size, name)
    padding = pair(padding, "padding", name)
    dilation = pair(dilation, "dilation", name)
    check_pooling_input(name, input, kernel_size, padding, dilation)
    return MaxPool2dOperator.apply(
        input, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation,
        ceil_mode=ceil_mode,
    )  # fmt: skip


def avg_pool(
    name, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    """Check the arguments, then apply AvgPool2dOperator; stride None (or empty) = kernel_size."""
    kernel_size = pair(kernel_size, "kernel_size", name)
    stride = window_stride(stride, kernel_size, name)
    padding = pair(padding, "padding", name)
    check_pooling_input(name, input, kernel_size, padding)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{name}: divisor_override must not be zero")
    return AvgPool2dOperator.apply(
        input, kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
        count_include_pad=count_include_pad, divisor_override=divisor_override,
    )  # fmt: skip


def adaptive_avg_pool(name, input, output_size):
    """Check the input, then apply AdaptiveAvgPool2dOperator; a None size keeps the input's."""
    if input.dim() not in (3, 4):
        raise ShapeError(
            f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
            f"{tuple(input.shape)}"
        )
    sizes = (
        (output_size,) * 2
        if output_size is None or isinstance(output_size, int)
        else tuple(output_size)
    )
    if len(sizes) == 1:
        sizes *= 2
    sizes = tuple(input.shape[-2 + d] if size is None else size for d, size in enumerate(sizes))
    if len(sizes) != 2 or not all(isinstance(size, int) and size > 0 for size in sizes):
        raise ValueError(f"{name}: output_size must be positive ints or None, got {output_size!r}")
    if any(size == 0 for size in input.shape[-2:]):
        raise ShapeError(f"{name}: input of shape {tuple(input.shape)} has an empty plane")
    return AdaptiveAvgPool2dOperator.apply(input, output_size=sizes)
