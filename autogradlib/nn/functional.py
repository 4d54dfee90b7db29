"""The layers and losses as functions, with PyTorch's nn.functional signatures.

Inputs may be Variables or plain tensors (constants); results are Variables.
"""

from __future__ import annotations

import torch

from autogradlib import operators as ops
from autogradlib.errors import ShapeError
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
