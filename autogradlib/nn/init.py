"""Initialisers, as PyTorch's nn.init: each fills a Variable's tensor (or a tensor) in place.

Each draws with the same tensor operation as PyTorch's nn.init, so with the same generator state the
values are the same as torch's.
"""

from __future__ import annotations

import math
import warnings

import torch

from autogradlib.variable import Variable

_GAINS = {
    "linear": 1.0,
    "identity": 1.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3,
    "relu": math.sqrt(2.0),
    "selu": 3.0 / 4,
}


def _tensor(target: Variable | torch.Tensor) -> torch.Tensor:
    return target.tensor if isinstance(target, Variable) else target


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for `nonlinearity`; leaky_relu: sqrt(2 / (1 + slope**2))."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")
    return _GAINS[nonlinearity]


def calculate_fan_in_and_fan_out(target: Variable | torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) = (size(1), size(0)) times the receptive field size (dims 2 on)."""
    tensor = _tensor(target)
    if tensor.dim() < 2:
        raise ValueError(
            f"fan in and fan out need at least 2 dimensions, got shape {tuple(tensor.shape)}"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.size(1) * receptive_field, tensor.size(0) * receptive_field


def _fan(target: Variable | torch.Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(target)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(target, a: float = 0.0, b: float = 1.0, generator: torch.Generator | None = None):
    """Fill with values drawn from U(a, b)."""
    _tensor(target).uniform_(a, b, generator=generator)
    return target


def normal_(target, mean: float = 0.0, std: float = 1.0, generator: torch.Generator | None = None):
    """Fill with values drawn from N(mean, std**2)."""
    _tensor(target).normal_(mean, std, generator=generator)
    return target


def constant_(target, val: float):
    """Fill with `val`."""
    _tensor(target).fill_(val)
    return target


def zeros_(target):
    """Fill with 0."""
    return constant_(target, 0.0)


def ones_(target):
    """Fill with 1."""
    return constant_(target, 1.0)


def xavier_uniform_(target, gain: float = 1.0, generator: torch.Generator | None = None):
    """Glorot: U(-a, a) with a = sqrt(3) * gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(target)
    # The bound is computed in torch's order, so the drawn values are bit-identical to torch's.
    bound = math.sqrt(3.0) * (gain * math.sqrt(2.0 / float(fan_in + fan_out)))
    return uniform_(target, -bound, bound, generator)


def xavier_normal_(target, gain: float = 1.0, generator: torch.Generator | None = None):
    """Glorot: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(target)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(target, 0.0, std, generator)


def kaiming_uniform_(
    target,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
):
    """He: U(-b, b) with b = sqrt(3) * gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    if 0 in _tensor(target).shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return target
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(target, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(target, -bound, bound, generator)


def kaiming_normal_(
    target,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
):
    """He: N(0, std**2) with std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    if 0 in _tensor(target).shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return target
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(target, mode))
    return normal_(target, 0.0, std, generator)


def trunc_normal_(
    target,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: torch.Generator | None = None,
):
    """N(mean, std**2) restricted to [a, b], by rejection sampling with torch's draws: normal
    draws redrawn outside [a, b] when [a, b] holds over 0.3 of the mass, else uniform proposals."""
    tensor = _tensor(target)
    if tensor.is_meta:
        return target

    def normal_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    if normal_cdf((b - mean) / std) - normal_cdf((a - mean) / std) > 0.3:
        _trunc_normal_by_redrawing(tensor, mean, std, a, b, generator)
    else:
        _trunc_normal_from_uniform_proposals(tensor, mean, std, a, b, generator)
    return target


def _trunc_normal_by_redrawing(tensor, mean, std, a, b, generator) -> None:
    # The bounds in the tensor's dtype, so that the rejection agrees with its values.
    low = tensor.new_tensor(a, device="cpu").item()
    high = tensor.new_tensor(b, device="cpu").item()
    result = tensor.normal_(mean, std, generator=generator)
    while True:
        outside = (result < low) | (result > high)
        if not outside.any():
            break
        redrawn = torch.empty_like(result).normal_(mean, std, generator=generator)
        result = torch.where(outside, redrawn, result)
    if tensor is not result:
        tensor.copy_(result)


def _trunc_normal_from_uniform_proposals(tensor, mean, std, a, b, generator) -> None:
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2
    candidates = torch.empty_like(tensor)
    acceptance = torch.empty_like(tensor)
    tensor.uniform_(a, b, generator=generator)
    candidates.copy_(tensor)
    candidates.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)  # log pdf - log peak
    pending = acceptance.uniform_(generator=generator).log_().gt(candidates)
    if not pending.any():
        return
    result = tensor
    while True:
        candidates.uniform_(a, b, generator=generator)
        result = torch.where(pending, candidates, result)
        candidates.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)
        rejected = acceptance.uniform_(generator=generator).log_().gt(candidates)
        pending = torch.where(pending, rejected, pending)
        if not pending.any():
            break
    tensor.copy_(result)


def orthogonal_(target, gain: float = 1.0, generator: torch.Generator | None = None):
    """A (semi-)orthogonal matrix times gain: Q of the QR decomposition of a normal matrix."""
    tensor = _tensor(target)
    if tensor.dim() < 2:
        raise ValueError(
            f"orthogonal_: needs at least 2 dimensions, got shape {tuple(tensor.shape)}"
        )
    if tensor.numel() == 0:
        return target
    rows = tensor.size(0)
    columns = tensor.numel() // rows
    flattened = tensor.new_empty((rows, columns)).normal_(0, 1, generator=generator)
    if rows < columns:
        flattened.t_()
    q, r = torch.linalg.qr(flattened)
    q *= torch.diag(r, 0).sign()  # makes the decomposition unique, as torch does
    if rows < columns:
        q.t_()
    tensor.view_as(q).copy_(q)
    tensor.mul_(gain)
    return target
