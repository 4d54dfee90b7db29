"""The layers and losses as functions, with PyTorch's nn.functional signatures.

Inputs may be Variables or plain tensors (constants); results are Variables.
"""

from __future__ import annotations

import warnings

import torch

from autogradlib import operators as ops
from autogradlib.errors import DTypeError, ShapeError
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


def implicit_softmax_dim(name: str, input, stacklevel: int = 3) -> int:
    """torch's choice when no dim is given, with its warning: 0 for 0-, 1- or 3-D input, else 1."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if input.dim() in (0, 1, 3) else 1


def softmax(
    input, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> Variable:
    """exp(x_i) / sum_j exp(x_j) along `dim` (None: torch's implicit choice, with its warning)."""
    if dim is None:
        dim = implicit_softmax_dim("softmax", input, _stacklevel)
    if dtype is not None:
        input = input.to(dtype)  # as torch: cast first, then compute in that dtype
    return ops.Softmax.apply(input, dim=dim)


def log_softmax(
    input, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> Variable:
    """x_i - log(sum_j exp(x_j)) along `dim` (None: torch's implicit choice, with its warning)."""
    if dim is None:
        dim = implicit_softmax_dim("log_softmax", input, _stacklevel)
    if dtype is not None:
        input = input.to(dtype)  # as torch: cast first, then compute in that dtype
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


def constant_tensor(loss: str, name: str, value) -> torch.Tensor | None:
    """A loss's weight as a tensor: no gradient flows into it (torch computes none either)."""
    if isinstance(value, Variable):
        if value.requires_grad:
            raise ValueError(
                f"{loss}: {name} requires grad, but the loss gives no gradient to its {name} "
                f"(neither does torch); pass {name}.detach()"
            )
        return value.tensor
    return value


def check_broadcasts_to(loss: str, name: str, value: torch.Tensor | None, shape) -> None:
    """Raise ShapeError unless `value` broadcasts to `shape` without growing it."""
    if value is None:
        return
    try:
        fits = torch.broadcast_shapes(value.shape, shape) == tuple(shape)
    except RuntimeError:
        fits = False
    if not fits:
        raise ShapeError(
            f"{loss}: {name} of shape {tuple(value.shape)} does not broadcast to the input's "
            f"shape {tuple(shape)}"
        )


def check_between_0_and_1(loss: str, name: str, value) -> None:
    """torch's check on binary_cross_entropy's probabilities (NaN fails it too)."""
    tensor = _tensor(value)
    if tensor.is_meta:
        return  # no values to check
    if not bool(((tensor >= 0) & (tensor <= 1)).all()):
        raise ValueError(f"{loss}: all elements of {name} should be between 0 and 1")


def binary_cross_entropy(input, target, weight=None, *, reduction: str = "mean") -> Variable:
    """reduce(-w (y log x + (1 - y) log(1 - x))) for probabilities x, each log clamped at -100."""
    check_reduction(reduction)
    check_same_shape("binary_cross_entropy", input, target)
    weight = constant_tensor("binary_cross_entropy", "weight", weight)
    check_broadcasts_to("binary_cross_entropy", "weight", weight, input.shape)
    check_between_0_and_1("binary_cross_entropy", "input", input)
    check_between_0_and_1("binary_cross_entropy", "target", target)
    return ops.BCELoss.apply(input, target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(
    input, target, weight=None, *, reduction: str = "mean", pos_weight=None
) -> Variable:
    """reduce(w ((1 - y) x - (1 + (p - 1) y) log sigmoid(x))), p = pos_weight (1 without it)."""
    name = "binary_cross_entropy_with_logits"
    check_reduction(reduction)
    check_same_shape(name, input, target)
    weight = constant_tensor(name, "weight", weight)
    pos_weight = constant_tensor(name, "pos_weight", pos_weight)
    check_broadcasts_to(name, "weight", weight, input.shape)
    check_broadcasts_to(name, "pos_weight", pos_weight, input.shape)
    return ops.BCEWithLogitsLoss.apply(
        input, target, weight=weight, pos_weight=pos_weight, reduction=reduction
    )


def l1_loss(input, target, *, reduction: str = "mean") -> Variable:
    """reduce(|input - target|); input and target must have the same shape."""
    check_reduction(reduction)
    check_same_shape("l1_loss", input, target)
    return ops.L1Loss.apply(input, target, reduction=reduction)


def smooth_l1_loss(input, target, *, reduction: str = "mean", beta: float = 1.0) -> Variable:
    """reduce(0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta), d = input - target."""
    check_reduction(reduction)
    check_same_shape("smooth_l1_loss", input, target)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    return ops.SmoothL1Loss.apply(input, target, beta=beta, reduction=reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Variable:
    """reduce(0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)), d = input - target."""
    check_reduction(reduction)
    check_same_shape("huber_loss", input, target)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    return ops.HuberLoss.apply(input, target, delta=delta, reduction=reduction)


def class_index_target(loss: str, input, target) -> torch.Tensor:
    """The target of class indices for an input (N, C, d1, ...) or (C,), checked, as int64."""
    target = _tensor(target)
    expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.dim() > 1 else ()
    if input.dim() == 0 or tuple(target.shape) != expected:
        raise ShapeError(
            f"{loss}: expected input (N, C, d1, ...) or (C,) and a target of class indices "
            f"(N, d1, ...) or (), got input {tuple(input.shape)} and target {tuple(target.shape)}"
        )
    if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
        raise DTypeError(
            f"{loss}: the target of class indices must be integers, got {target.dtype}"
        )
    return target if target.dtype == torch.int64 else target.long()


def class_weight(loss: str, weight, classes: int) -> torch.Tensor | None:
    """The class weights, a tensor of shape (C,), or None."""
    weight = constant_tensor(loss, "weight", weight)
    if weight is not None and tuple(weight.shape) != (classes,):
        raise ShapeError(
            f"{loss}: weight should hold one value for each of the {classes} classes, "
            f"got shape {tuple(weight.shape)}"
        )
    return weight


def nll_loss(
    input, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean"
) -> Variable:
    """reduce(-w[y] input[y]) for log-probabilities (N, C, d1, ...); mean: divided by sum w[y]."""
    check_reduction(reduction)
    target = class_index_target("nll_loss", input, target)
    weight = class_weight("nll_loss", weight, input.shape[1 if input.dim() > 1 else 0])
    options = {"ignore_index": ignore_index, "reduction": reduction}
    if input.dim() == 1:
        loss = nll_loss(input.unsqueeze(0), target.unsqueeze(0), weight, **options)
        return loss.squeeze(0) if reduction == "none" else loss
    return ops.NLLLoss.apply(input, target, weight=weight, **options)


def cross_entropy(
    input,
    target,
    weight=None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Variable:
    """reduce(-sum_c q_c log_softmax(input)_c) for logits (N, C, d1, ...) or (C,).

    The target holds class indices (N, d1, ...), q one-hot at the class, or class probabilities of
    the input's shape, q = target; label smoothing mixes eps / C into q, class weights scale it.
    """
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target_tensor = _tensor(target)
    if not target_tensor.is_floating_point():
        target = class_index_target("cross_entropy", input, target_tensor)
    elif input.dim() == 0 or target_tensor.shape != input.shape:
        raise ShapeError(
            f"cross_entropy: expected logits (N, C, d1, ...) or (C,) and a target of class "
            f"indices (N, d1, ...) or probabilities of the logits' shape, got logits "
            f"{tuple(input.shape)} and target {tuple(target_tensor.shape)}"
        )
    weight = class_weight("cross_entropy", weight, input.shape[1 if input.dim() > 1 else 0])
    options = {
        "weight": weight,
        "ignore_index": ignore_index,
        "label_smoothing": label_smoothing,
        "reduction": reduction,
    }
    if input.dim() == 1:
        loss = ops.CrossEntropyLoss.apply(input.unsqueeze(0), target.unsqueeze(0), **options)
        return loss.squeeze(0) if reduction == "none" else loss
    return ops.CrossEntropyLoss.apply(input, target, **options)


def one_hot(tensor, num_classes: int = -1) -> torch.Tensor:
    """int64 (..., num_classes), 1 at each index of `tensor` (not differentiable, as in torch)."""
    tensor = _tensor(tensor)
    if tensor.dtype != torch.int64:
        raise DTypeError(f"one_hot: expected an int64 tensor of class indices, got {tensor.dtype}")
    if tensor.numel() and bool((tensor < 0).any()):
        raise ValueError("one_hot: class values must be non-negative")
    if num_classes < 0:
        if tensor.numel() == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor")
        num_classes = int(tensor.max()) + 1
    elif tensor.numel() and int(tensor.max()) >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes ({num_classes})")
    result = torch.zeros((*tensor.shape, num_classes), dtype=torch.int64, device=tensor.device)
    return result.scatter_(-1, tensor.unsqueeze(-1), 1)


# --- Normalisation -------------------------------------------------------------------------------


def batch_norm(
    input,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Variable:
    """weight * (input - mean) / sqrt(var + eps) + bias per channel (dim 1): the batch's
    statistics in training (updating the running ones in place), the running ones otherwise."""
    channels = input.shape[1] if input.dim() >= 2 else None
    for name, value in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if value is not None and (channels is None or value.numel() != channels):
            raise ShapeError(
                f"batch_norm: input of shape {tuple(input.shape)} has {channels} channels (dim 1) "
                f"but {name} has {value.numel()} elements"
            )
    if training:
        check_batch_size("batch_norm", input)
    elif running_mean is None or running_var is None:
        raise ValueError(
            "batch_norm: running_mean and running_var must be given when training=False"
        )
    if weight is None and bias is not None:
        tensor = _tensor(input)
        weight = torch.ones(channels, dtype=tensor.dtype, device=tensor.device)
    affine = [value for value in (weight, bias) if value is not None]
    return ops.BatchNorm.apply(
        input,
        *affine,
        running_mean=_tensor(running_mean),
        running_var=_tensor(running_var),
        training=training,
        momentum=momentum,
        eps=eps,
    )


def check_batch_size(name: str, input) -> None:
    """Training statistics need more than one value per channel (as torch requires)."""
    if input.dim() < 2 or input.numel() // input.shape[1] <= 1:
        raise ShapeError(
            f"{name}: Expected more than 1 value per channel when training, got input size "
            f"{tuple(input.shape)}"
        )


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Variable:
    """weight * (input - mean) / sqrt(var + eps) + bias over the last len(normalized_shape) dims."""
    normalized_shape = (
        (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    )
    count = len(normalized_shape)
    if input.dim() < count or tuple(input.shape[input.dim() - count :]) != normalized_shape:
        raise ShapeError(
            f"layer_norm: input of shape {tuple(input.shape)} does not end with normalized_shape "
            f"{normalized_shape}"
        )
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != normalized_shape:
            raise ShapeError(
                f"layer_norm: {name} has shape {tuple(value.shape)}, expected normalized_shape "
                f"{normalized_shape}"
            )
    if weight is None and bias is not None:
        tensor = _tensor(input)
        weight = torch.ones(normalized_shape, dtype=tensor.dtype, device=tensor.device)
    affine = [value for value in (weight, bias) if value is not None]
    return ops.LayerNorm.apply(input, *affine, dims=count, eps=eps)


# --- Activations ---------------------------------------------------------------------------------


def gelu(input, approximate: str = "none") -> Variable:
    """input * Phi(input), or its tanh approximation with approximate='tanh'."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.GELU.apply(input, approximate=approximate)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Variable:
    """input if input > 0 else negative_slope * input."""
    check_not_inplace("leaky_relu", inplace)
    return ops.LeakyReLU.apply(input, negative_slope=negative_slope)


def silu(input, inplace: bool = False) -> Variable:
    """input * sigmoid(input)."""
    check_not_inplace("silu", inplace)
    return ops.SiLU.apply(input)


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Variable:
    """input if input > 0 else alpha * (exp(input) - 1)."""
    check_not_inplace("elu", inplace)
    return ops.ELU.apply(input, alpha=alpha)


def check_not_inplace(name: str, inplace: bool) -> None:
    """inplace=True would overwrite a tensor that backward may need: refused, not ignored."""
    if inplace:
        raise ValueError(f"{name}: inplace=True is not supported; use inplace=False (the default)")


# --- Embedding and channel dropout ---------------------------------------------------------------


def embedding(
    input,
    weight,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Variable:
    """weight[input]: rows of weight (num_embeddings, embedding_dim) picked by integer indices."""
    indices = _tensor(input)
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise ValueError(
            "embedding: max_norm, scale_grad_by_freq and sparse are not supported; leave them at "
            "their defaults (None, False, False)"
        )
    if indices.is_floating_point() or indices.is_complex() or indices.dtype == torch.bool:
        raise TypeError(f"embedding: indices must be an integer tensor, got {indices.dtype}")
    rows = weight.shape[0]
    if weight.dim() != 2:
        raise ShapeError(f"embedding: weight must be 2-D, got shape {tuple(weight.shape)}")
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx {padding_idx} is not within num_embeddings")
        padding_idx = padding_idx % rows
    return ops.Embedding.apply(indices, weight, padding_idx=padding_idx)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False) -> Variable:
    """In training, zero each whole channel (input[n, c]) with probability p, scale the rest by
    1 / (1 - p). A 3-D input is (N, C, L), as torch reads it."""
    check_dropout_probability(p)
    check_not_inplace("dropout2d", inplace)
    if input.dim() not in (3, 4):
        raise ShapeError(
            f"dropout2d: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape "
            f"{tuple(input.shape)}; use dropout for other shapes"
        )
    if not training or p == 0.0:
        return input
    tensor = _tensor(input)
    # torch's draws: one bernoulli_ per (sample, channel), on a tensor of that shape.
    noise_shape = tuple(tensor.shape[:2]) + (1,) * (tensor.dim() - 2)
    noise = tensor.new_empty(noise_shape)
    if p == 1.0:
        noise.zero_()
    else:
        noise.bernoulli_(1 - p).div_(1 - p)
    return ops.Mul.apply(input, noise)


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
