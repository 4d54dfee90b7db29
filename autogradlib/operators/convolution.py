"""Convolution over 1 or 2 spatial dimensions, and the checks that name a bad input's shapes."""

from __future__ import annotations

import math

import torch

from autogradlib.errors import ShapeError
from autogradlib.grad_operator import GradOperator
from autogradlib.operators.shape import CatOperator

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
    # x, when made from the operand (unbatched, padded), is rebuilt by rebuild_saved while the
    # operand needs a gradient; otherwise it rightly stays a constant.
    constants = ("x",)

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

    def rebuild_saved(self):
        """Under create_graph: the batched, padded input again from the operand."""
        if not isinstance(self.x, torch.Tensor) or self.inputs[0] is None:
            return  # x is the operand itself (now a Variable), or a constant
        # The operand is x without the padding after and the batch dim: a view of it.
        operand = self.x
        if self.input_size is not None:
            operand = operand[(..., *(slice(0, size) for size in self.input_size))]
        x = self.recorded_operand(0, operand.squeeze(0) if self.unbatched else operand)
        if self.unbatched:
            x = x.unsqueeze(0)
        if self.input_size is not None:
            for d, size in enumerate(self.input_size):
                after = self.x.shape[2 + d] - size
                if after:
                    zeros = torch.zeros(
                        (*x.shape[: 2 + d], after, *x.shape[3 + d :]),
                        dtype=x.dtype,
                        device=x.device,
                    )
                    x = CatOperator.apply(x, zeros, dim=2 + d)
        self.x = x

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
            grad_bias = grad_output.sum((0, *range(2, grad_output.dim())))
        return grad_x, grad_weight, grad_bias

    @property
    def options(self) -> dict:
        return {
            "stride": self.stride, "padding": self.padding, "dilation": self.dilation,
            "groups": self.groups,
        }  # fmt: skip

    def input_gradient(self, grad_output):
        """g *^T W: each output position hands its gradient back to the inputs its window read."""
        if isinstance(grad_output, torch.Tensor):
            grad_x = input_gradient(grad_output, self.weight, self.x.shape, **self.options)
        else:  # recorded (create_graph)
            grad_x = ConvInputGradientOperator.apply(
                grad_output, self.weight, x_shape=self.x.shape, **self.options
            )
        if self.input_size is not None:
            # Drop the rows that padding_after added.
            grad_x = grad_x[(..., *(slice(0, size) for size in self.input_size))]
        return grad_x

    def weight_gradient(self, grad_output):
        """dW[o, c, k] = sum over n, p of x[n, c, p s + k d] g[n, o, p]."""
        if isinstance(grad_output, torch.Tensor):
            return weight_gradient(self.x, grad_output, self.weight.shape, **self.options)
        return ConvWeightGradientOperator.apply(  # recorded (create_graph)
            self.x, grad_output, weight_shape=self.weight.shape, **self.options
        )


class ConvInputGradientOperator(GradOperator):
    """g *^T W, a convolution's input gradient (recorded under create_graph);
    dL/dg = dL/d(out) * W (the convolution), dL/dW = dL/d(out) * g (its weight gradient)."""

    label = "ConvInputGradient"

    def forward(self, grad_output, weight, *, x_shape, stride, padding, dilation, groups):
        self.grad_output, self.weight = grad_output, weight
        self.options = {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
        }
        return input_gradient(grad_output, weight, x_shape, **self.options)

    def pass_grad(self, grad_output):
        need_g, need_weight = self.needs_input_grad
        g, weight, options = self.grad_output, self.weight, self.options
        grad_g = grad_weight = None
        if isinstance(grad_output, torch.Tensor):
            if need_g:
                grad_g = convolution(grad_output, weight, options)
            if need_weight:
                grad_weight = weight_gradient(grad_output, g, weight.shape, **options)
            return grad_g, grad_weight
        if need_g:
            grad_g = OPERATORS[weight.dim() - 2].apply(grad_output, weight, **options)
        if need_weight:
            grad_weight = ConvWeightGradientOperator.apply(
                grad_output, g, weight_shape=weight.shape, **options
            )
        return grad_g, grad_weight


class ConvWeightGradientOperator(GradOperator):
    """x * g, a convolution's weight gradient (recorded under create_graph);
    dL/dx = g *^T dL/d(out) (the input gradient), dL/dg = x * dL/d(out) (the convolution)."""

    label = "ConvWeightGradient"

    def forward(self, x, grad_output, *, weight_shape, stride, padding, dilation, groups):
        self.x, self.grad_output = x, grad_output
        self.options = {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
        }
        return weight_gradient(x, grad_output, weight_shape, **self.options)

    def pass_grad(self, grad_output):
        need_x, need_g = self.needs_input_grad
        x, g, options = self.x, self.grad_output, self.options
        grad_x = grad_g = None
        if isinstance(grad_output, torch.Tensor):
            if need_x:
                grad_x = input_gradient(g, grad_output, x.shape, **options)
            if need_g:
                grad_g = convolution(x, grad_output, options)
            return grad_x, grad_g
        if need_x:
            grad_x = ConvInputGradientOperator.apply(g, grad_output, x_shape=x.shape, **options)
        if need_g:
            grad_g = OPERATORS[grad_output.dim() - 2].apply(x, grad_output, **options)
        return grad_x, grad_g


def convolution(x, weight, options: dict) -> torch.Tensor:
    """torch's convolution of tensors with the operator's options."""
    return FORWARD[weight.dim() - 2](
        x, weight, None, options["stride"], options["padding"], options["dilation"],
        options["groups"],
    )  # fmt: skip


def input_gradient(grad_output, weight, x_shape, *, stride, padding, dilation, groups):
    """g *^T W for the (batched, padded) input shape x_shape: a transposed convolution."""
    dims = weight.dim() - 2
    # Under a stride, the last input rows that no window reached: their gradient is zero.
    output_padding = [
        x_shape[2 + d]
        - ((grad_output.shape[2 + d] - 1) * stride[d] - 2 * padding[d]
           + dilation[d] * (weight.shape[2 + d] - 1) + 1)
        for d in range(dims)
    ]  # fmt: skip
    return TRANSPOSED[dims](
        grad_output, weight, None, stride, padding, output_padding, groups, dilation
    )


def weight_gradient(x, grad_output, weight_shape, *, stride, padding, dilation, groups):
    """dW[o, c, k] = sum over n, p of x[n, c, p s + k d] g[n, o, p]."""
    options = (stride, padding, dilation, groups)
    if x.shape[1] // groups <= UNFOLD_CHANNELS:
        return weight_gradient_by_unfolding(x, grad_output, weight_shape, *options)
    return weight_gradient_by_convolution(x, grad_output, weight_shape, *options)


def weight_gradient_by_convolution(x, grad_output, weight_shape, stride, padding, dilation, groups):
    """dW = x * g with the batch as channels, stride and dilation exchanged."""
    dims = len(weight_shape) - 2
    batch, channels = x.shape[:2]
    # Input (N, G*Cg, *) as Cg channels of a batch of G*N; grad_output (N, G*Og, *) as the
    # G*Og filters, each over the N channels of its group.
    x_as_batch = (
        x.reshape(batch, groups, channels // groups, *x.shape[2:])
        .transpose(0, 2)
        .reshape(channels // groups, groups * batch, *x.shape[2:])
    )
    grad_weight = FORWARD[dims](
        x_as_batch, grad_output.transpose(0, 1), None, dilation, padding, stride, groups
    )
    # The swapped convolution may reach a little past the kernel (when the stride does not
    # divide the padded size): those positions are not weights.
    grad_weight = grad_weight[(..., *(slice(0, size) for size in weight_shape[2:]))]
    # contiguous(): .grad keeps the parameter's layout, so users can .view() it.
    return grad_weight.transpose(0, 1).contiguous()


def weight_gradient_by_unfolding(x, grad_output, weight_shape, stride, padding, dilation, groups):
    """dW = g @ windows(x)^T, group by group: one matrix product over every window's copy."""
    dims = len(weight_shape) - 2
    pads = [side for size in reversed(padding) for side in (size, size)]
    windows = torch.constant_pad_nd(x, pads) if any(pads) else x
    for d in range(dims):
        reach = dilation[d] * (weight_shape[2 + d] - 1) + 1
        windows = windows.unfold(2 + d, reach, stride[d])
    if any(step > 1 for step in dilation):
        windows = windows[(..., *(slice(None, None, step) for step in dilation))]
    # windows (N, C, *output size, *kernel) -> (G, Cg * kernel, N * output size), one copy
    spatial = list(range(3, 3 + dims))
    kernel = list(range(3 + dims, 3 + 2 * dims))
    windows = windows.unflatten(1, (groups, -1)).permute(1, 2, *kernel, 0, *spatial)
    windows = windows.reshape(groups, -1, math.prod(grad_output.shape[2:]) * x.shape[0])
    # grad_output (N, G * Og, *output size) -> (G, Og, N * output size)
    rows = grad_output.unflatten(1, (groups, -1)).permute(1, 2, 0, *spatial)
    rows = rows.reshape(groups, -1, windows.shape[2])
    return rows.bmm(windows.transpose(1, 2)).reshape(weight_shape)


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
