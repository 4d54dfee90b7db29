"""Gradient clipping and flat parameter vectors, as PyTorch's nn.utils.

The clipped gradients are new tensors assigned to `.grad` (torch scales them in place): a gradient
may be shared with other code, which must not see it change. The numbers are torch's.
"""

from __future__ import annotations

import torch

from autogradlib.functional import cat
from autogradlib.variable import Variable


def _parameter_list(parameters) -> list[Variable]:
    return [parameters] if isinstance(parameters, Variable) else list(parameters)


def get_total_norm(
    tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> torch.Tensor:
    """The norm of the norms of `tensors`, i.e. the norm of all their elements as one vector."""
    tensors = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
    if not tensors:
        return torch.tensor(0.0)
    norm_type = float(norm_type)
    first_device = tensors[0].device
    norms = [torch.linalg.vector_norm(tensor, norm_type) for tensor in tensors]
    total = torch.linalg.vector_norm(
        torch.stack([norm.to(first_device) for norm in norms]), norm_type
    )
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total


def clip_grad_norm_(
    parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> torch.Tensor:
    """Scale the gradients by min(1, max_norm / (total_norm + 1e-6)); return the total norm."""
    parameters = _parameter_list(parameters)
    grads = [param.grad for param in parameters if param.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    if grads:
        coefficient = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
        for param in parameters:
            if param.grad is not None:
                param.grad = param.grad * coefficient.to(param.grad.device)
    return total_norm


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for param in _parameter_list(parameters):
        if param.grad is not None:
            param.grad = param.grad.clamp(-clip_value, clip_value)


def parameters_to_vector(parameters) -> Variable:
    """The parameters flattened and concatenated into one vector (differentiable, as torch's)."""
    return cat([param.reshape(-1) for param in _parameter_list(parameters)])


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of `vec` into the parameters' values, as torch does."""
    vector = vec.tensor if isinstance(vec, Variable) else vec
    if not isinstance(vector, torch.Tensor) or vector.dim() != 1:
        raise TypeError(f"expected a 1-D tensor or Variable, got {type(vec).__name__}")
    position = 0
    for param in _parameter_list(parameters):
        count = param.numel()
        param.tensor = vector[position : position + count].view_as(param.tensor)
        position += count
