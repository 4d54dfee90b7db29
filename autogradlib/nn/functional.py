"""The layers and losses as functions, with PyTorch's nn.functional signatures.

Inputs may be Variables or plain tensors (constants); results are Variables.
"""

from __future__ import annotations

import torch

from autogradlib import operators as ops
from autogradlib.errors import ShapeError
from autogradlib.operators.convolution import convolve
from autogradlib.operators.pooling import adaptive_avg_pool, avg_pool, max_pool
from autogradlib.variable import Variable

REDUCTIONS = ("mean", "sum", "none")


def _tensor(value) -> torch.Tensor:
    return value.tensor if isinstance(value, Variable) else value


def linear(input, weight, bias=None) -> Variable:
    """input @ weight^T + bias, with weight of shape (out_features, in_features)."""
    if weight.dim() != 2 or input.dim() == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: input of shape {tuple(input.shape)} does not fit weight of shape "
            f"{tuple(weight.shape)} (out_features, in_features)"
        )
    if bias is None:
        return ops.Linear.apply(input, weight)
    return ops.Linear.apply(input, weight, bias)


def relu(input) -> Variable:
    """max(input, 0)."""
    return ops.ReLU.apply(input)


def sigmoid(input) -> Variable:
    """1 / (1 + exp(-input))."""
    return ops.Sigmoid.apply(input)


def tanh(input) -> Variable:
    """tanh(input)."""
    return ops.Tanh.apply(input)


def softmax(input, dim: int) -> Variable:
    """exp(x_i) / sum_j exp(x_j) along `dim`."""
    return ops.Softmax.apply(input, dim=dim)


def log_softmax(input, dim: int) -> Variable:
    """x_i - log(sum_j exp(x_j)) along `dim`."""
    return ops.LogSoftmax.apply(input, dim=dim)


def check_dropout_probability(p: float) -> None:
    """Reject a dropout probability outside [0, 1] (or NaN)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(
    input, p: float = 0.5, training: bool = True, *, generator: torch.Generator | None = None
) -> Variable:
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p)."""
    check_dropout_probability(p)
    if not training or p == 0.0:
        return input
    tensor = _tensor(input)
    if p == 1.0:
        return ops.Mul.apply(input, torch.zeros((), dtype=tensor.dtype, device=tensor.device))
    # The same draws as torch's CPU dropout, so a seeded run gives torch's mask.
    scale = torch.empty_like(tensor).bernoulli_(1 - p, generator=generator)
    scale.div_(1 - p)
    return ops.Mul.apply(input, scale)


def check_reduction(reduction: str) -> None:
    """Reject a loss reduction other than 'mean', 'sum' or 'none'."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def mse_loss(input, target, *, reduction: str = "mean") -> Variable:
    """reduce((input - target)**2); input and target must have the same shape."""
    check_reduction(reduction)
    check_same_shape("mse_loss", input, target)
    return ops.MSELoss.apply(input, target, reduction=reduction)


def check_same_shape(name: str, input, target) -> None:
    """Stricter than torch, which only warns: broadcasting (N, 1) against (N,) is a classic bug."""
    if input.shape != target.shape:
        raise ShapeError(
            f"{name}: input has shape {tuple(input.shape)} but target has shape "
            f"{tuple(target.shape)}; they must be equal"
        )


def cross_entropy(input, target, *, reduction: str = "mean") -> Variable:
    """reduce(-log_softmax(input)[target]) for logits (N, C) and class indices (N,) in [0, C).

    The target may also hold class probabilities, shape (N, C): reduce(-sum(target * log_softmax)).
    """
    check_reduction(reduction)
    target_tensor = _tensor(target)
    probabilities = target_tensor.is_floating_point()
    expected = tuple(input.shape) if probabilities else tuple(input.shape[:1])
    if input.dim() != 2 or tuple(target_tensor.shape) != expected:
        raise ShapeError(
            f"cross_entropy: expected logits (N, C) and a target of class indices (N,) or "
            f"probabilities (N, C), got logits {tuple(input.shape)} and target "
            f"{tuple(target_tensor.shape)}"
        )
    if not probabilities and target_tensor.dtype != torch.int64:
        target = target_tensor.long()
    return ops.CrossEntropyLoss.apply(input, target, reduction=reduction)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Variable:
    """Cross-correlation of (N, C_in, L) with weight (C_out, C_in / groups, k), plus bias."""
    return convolve("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Variable:
    """Cross-correlation of (N, C_in, H, W) with weight (C_out, C_in / groups, kh, kw) + bias."""
    return convolve("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    """The maximum of each window; with return_indices, also its position in the (H, W) plane."""
    output = max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return output
    # Computed again rather than kept on every operator: return_indices is rare.
    _, indices = torch.ops.aten.max_pool2d_with_indices(
        _tensor(input), kernel_size, stride or kernel_size, padding, dilation, ceil_mode
    )
    return output, indices


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
) -> Variable:
    """The mean of each window (the sum / divisor_override when given)."""
    return avg_pool(
        "avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override,
    )  # fmt: skip


def adaptive_avg_pool2d(input, output_size) -> Variable:
    """The mean of each of output_size windows that tile the (H, W) plane as evenly as possible."""
    return adaptive_avg_pool("adaptive_avg_pool2d", input, output_size)
