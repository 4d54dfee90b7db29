"""Functions over several Variables: cat and stack, as torch.cat and torch.stack."""

from collections.abc import Sequence

from autogradlib import operators as ops
from autogradlib.variable import Variable


def cat(tensors: Sequence, dim: int = 0) -> Variable:
    """Join Variables (or tensors) along an existing dimension."""
    _check_sequence("cat", tensors)
    return ops.Cat.apply(*tensors, dim=dim)


def stack(tensors: Sequence, dim: int = 0) -> Variable:
    """Join Variables (or tensors) along a new dimension."""
    _check_sequence("stack", tensors)
    return ops.Stack.apply(*tensors, dim=dim)


def _check_sequence(name: str, tensors) -> None:
    if isinstance(tensors, Variable) or not isinstance(tensors, Sequence) or not tensors:
        raise TypeError(f"{name}: expected a non-empty list or tuple of Variables or tensors")
