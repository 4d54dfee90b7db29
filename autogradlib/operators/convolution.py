"""Convolution over 1 or 2 spatial dimensions, and the checks that name a bad input's shapes."""

from __future__ import annotations

import math

import torch

from autogradlib.errors import ShapeError
from autogradlib.grad_operator import GradOperator

FORWARD = {1: torch.conv1d, 2: torch.conv2d}
TRANSPOSED = {1: torch.conv_transpose1d, 2: torch.conv_transpose2d}
# Up to this many input channels per group, the weight's gradient is one matrix product over
# copies of the input's windows. Measured (CPU, one thread) against the swapped convolution: 1.5x
# faster for one channel at batch 64 and 256, 2x faster for 3 channels of 28x28 at batch 64 but
# 1.15x slower at 256, and slower from 4 channels on.
UNFOLD_CHANNELS = 3


class ConvolutionOperator(GradOperator):
    """out = x * W + b (cross-correlation);  dL/dx = g *^T W (a transposed convolution),
    dL/dW = x * g (batch and channel axes swapped, stride and dilation exchanged; or, for inputs of
    few channels, g times the input's unfolded windows), dL/db = sum of g over all but channels.

    Options (already checked, one int per spatial dimension): stride, padding, dilation, groups,
    and padding_after: extra zeros after the end of each dimension (padding='same' with an even
    kernel pads one more after than before, as torch does). An unbatched input (C, *size) is
    convolved as a batch of one.
    """

    label = "Convolution"

    def forward(
        self, x, weight, bias=None, *, stride, padding, dilation, groups=1, padding_after=None
    ):
        dims = weight.dim() - 2
        self.unbatched = x.dim() == dims + 1
        if self.unbatched:
            x = x.unsqueeze(0)
        if padding_after is not None and any(padding_after):
            self.input_size = x.shape[2:]
            x = torch.constant_pad_nd(
                x, [side for after in reversed(padding_after) for side in (0, after)]
            )
        else:
            self.input_size = None
        self.x, self.weight = x, weight
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        output = FORWARD[dims](x, weight, bias, stride, padding, dilation, groups)
        return output.squeeze(0) if self.unbatched else output

    def pass_grad(self, grad_output):
        needs = self.needs_input_grad
        if self.unbatched:
            grad_output = grad_output.unsqueeze(0)
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            grad_x = self.input_gradient(grad_output)
            if self.unbatched:
                grad_x = grad_x.squeeze(0)
        if needs[1]:
            grad_weight = self.weight_gradient(grad_output)
        if len(needs) == 2:
            return grad_x, grad_weight
        if needs[2]:
            grad_bias = grad_output.sum([0, *range(2, grad_output.dim())])
        return grad_x, grad_weight, grad_bias

    def input_gradient(self, grad_output):
        """g *^T W: each output position hands its gradient back to the inputs its window read."""
        x, weight = self.x, self.weight
        dims = weight.dim() - 2
        # Under a stride, the last input rows that no window reached: their gradient is zero.
        output_padding = [
            x.shape[2 + d]
            - ((grad_output.shape[2 + d] - 1) * self.stride[d] - 2 * self.padding[d]
               + self.dilation[d] * (weight.shape[2 + d] - 1) + 1)
            for d in range(dims)
        ]  # fmt: skip
        grad_x = TRANSPOSED[dims](
            grad_output,
            weight,
            None,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )
        if self.input_size is not None:
            # Drop the rows that padding_after added.
            grad_x = grad_x[(..., *(slice(0, size) for size in self.input_size))]
        return grad_x

    def weight_gradient(self, grad_output):
        """dW[o, c, k] = sum over n, p of x[n, c, p s + k d] g[n, o, p]."""
        if self.x.shape[1] // self.groups <= UNFOLD_CHANNELS:
            return self.weight_gradient_by_unfolding(grad_output)
        return self.weight_gradient_by_convolution(grad_output)

    def weight_gradient_by_convolution(self, grad_output):
        """dW = x * g with the batch as channels, stride and dilation exchanged."""
        x, weight, groups = self.x, self.weight, self.groups
        dims = weight.dim() - 2
        batch, channels = x.shape[:2]
        # Input (N, G*Cg, *) as Cg channels of a batch of G*N; grad_output (N, G*Og, *) as the
        # G*Og filters, each over the N channels of its group.
        x_as_batch = (
            x.reshape(batch, groups, channels // groups, *x.shape[2:])
            .transpose(0, 2)
            .reshape(channels // groups, groups * batch, *x.shape[2:])
        )
        grad_weight = FORWARD[dims](
            x_as_batch,
            grad_output.transpose(0, 1),
            None,
            self.dilation,
            self.padding,
            self.stride,
            groups,
        )
        # The swapped convolution may reach a little past the kernel (when the stride does not
        # divide the padded size): those positions are not weights.
        grad_weight = grad_weight[(..., *(slice(0, size) for size in weight.shape[2:]))]
        # contiguous(): .grad keeps the parameter's layout, so users can .view() it.
        return grad_weight.transpose(0, 1).contiguous()

    def weight_gradient_by_unfolding(self, grad_output):
        """dW = g @ windows(x)^T, group by group: one matrix product over every window's copy."""
        x, weight, groups = self.x, self.weight, self.groups
        dims = weight.dim() - 2
        padding = [side for size in reversed(self.padding) for side in (size, size)]
        windows = torch.constant_pad_nd(x, padding) if any(padding) else x
        for d in range(dims):
            reach = self.dilation[d] * (weight.shape[2 + d] - 1) + 1
            windows = windows.unfold(2 + d, reach, self.stride[d])
        if any(step > 1 for step in self.dilation):
            windows = windows[(..., *(slice(None, None, step) for step in self.dilation))]
        # windows (N, C, *output size, *kernel) -> (G, Cg * kernel, N * output size), one copy
        spatial = list(range(3, 3 + dims))
        kernel = list(range(3 + dims, 3 + 2 * dims))
        windows = windows.unflatten(1, (groups, -1)).permute(1, 2, *kernel, 0, *spatial)
        windows = windows.reshape(groups, -1, math.prod(grad_output.shape[2:]) * x.shape[0])
        # grad_output (N, G * Og, *output size) -> (G, Og, N * output size)
        rows = grad_output.unflatten(1, (groups, -1)).permute(1, 2, 0, *spatial)
        rows = rows.reshape(groups, -1, windows.shape[2])
        return rows.bmm(windows.transpose(1, 2)).reshape(weight.shape)


class Conv1dOperator(ConvolutionOperator):
    """ConvolutionOperator over one spatial dimension (drawn as Conv1d)."""


class Conv2dOperator(ConvolutionOperator):
    """ConvolutionOperator over two spatial dimensions (drawn as Conv2d)."""


OPERATORS = {1: Conv1dOperator, 2: Conv2dOperator}
NO_PADDING = {1: (0,), 2: (0, 0)}


def spatial_tuple(value, dims: int, what: str, name) -> tuple:
    """An int or a sequence of one or `dims` ints as `dims` ints, as torch reads conv arguments."""
    if type(value) is tuple and len(value) == dims and all(type(v) is int for v in value):
        return value  # what layers keep: the common case, made cheap
    values = (value,) if isinstance(value, int) else tuple(value)
    if len(values) == 1:
        values *= dims
    if len(values) != dims or not all(isinstance(v, int) for v in values):
        raise ValueError(f"{name}: {what} must be an int or {dims} ints, got {value!r}")
    return values


def convolve(name, dims: int, input, weight, bias, stride, padding, dilation, groups):
    """Check a convolution's operands and arguments, then apply ConvolutionOperator.

    `name` (a string, or the layer itself) names the caller in errors; formatted only then.
    """
    shape, weight_shape = input.shape, weight.shape
    if len(shape) not in (dims + 1, dims + 2) or len(weight_shape) != dims + 2:
        raise ShapeError(
            f"{name}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D (batched) input and a "
            f"{dims + 2}-D weight, got input of shape {tuple(shape)} and weight of shape "
            f"{tuple(weight_shape)}"
        )
    stride = spatial_tuple(stride, dims, "stride", name)
    dilation = spatial_tuple(dilation, dims, "dilation", name)
    kernel = tuple(weight_shape[2:])
    padding, padding_after = resolve_padding(padding, kernel, stride, dilation, dims, name)
    channels = shape[-dims - 1]
    if channels != weight_shape[1] * groups or weight_shape[0] % groups:
        raise ShapeError(
            f"{name}: input of shape {tuple(shape)} has {channels} channels, but the weight of "
            f"shape {tuple(weight_shape)} with groups={groups} expects "
            f"{weight_shape[1] * groups} (and out channels divisible by groups)"
        )
    if bias is not None and bias.shape != weight_shape[:1]:
        raise ShapeError(
            f"{name}: bias of shape {tuple(bias.shape)} does not fit weight of shape "
            f"{tuple(weight_shape)}; expected ({weight_shape[0]},)"
        )
    for d in range(dims):
        if shape[d - dims] + 2 * padding[d] + padding_after[d] < dilation[d] * (kernel[d] - 1) + 1:
            raise kernel_too_large(name, shape, kernel, padding, padding_after, dilation)
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    if padding_after is not NO_PADDING[dims]:
        options["padding_after"] = padding_after
    operator = OPERATORS[dims]
    if bias is None:
        return operator.apply(input, weight, **options)
    return operator.apply(input, weight, bias, **options)


def kernel_too_large(name, shape, kernel, padding, padding_after, dilation) -> ShapeError:
    """The error for a kernel that spans more than the padded input, with every size involved."""
    dims = len(kernel)
    padded = tuple(shape[d - dims] + 2 * padding[d] + padding_after[d] for d in range(dims))
    reach = tuple(dilation[d] * (kernel[d] - 1) + 1 for d in range(dims))
    return ShapeError(
        f"{name}: the kernel {kernel} (spanning {reach} with dilation {dilation}) is larger than "
        f"the padded input {padded} (input of shape {tuple(shape)}, padding {padding})"
    )


def resolve_padding(padding, kernel, stride, dilation, dims: int, name) -> tuple:
    """(padding on both sides, extra padding after) for ints, 'valid' or 'same'."""
    if padding == "valid":
        return NO_PADDING[dims], NO_PADDING[dims]
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        totals = [dilation[d] * (kernel[d] - 1) for d in range(dims)]
        before = tuple(total // 2 for total in totals)
        after = tuple(total - 2 * b for total, b in zip(totals, before, strict=True))
        return before, after if any(after) else NO_PADDING[dims]
    if isinstance(padding, str):
        raise ValueError(
            f"{name}: invalid padding string {padding!r}, should be one of 'same', 'valid'"
        )
    return spatial_tuple(padding, dims, "padding", name), NO_PADDING[dims]
