"""Unflatten: one dimension split into several, as torch's nn.Unflatten."""

from __future__ import annotations

import math

from autogradlib.errors import ShapeError
from autogradlib.nn.module import Module
from autogradlib.variable import Variable


class Unflatten(Module):
    """Reshape dimension `dim` into `unflattened_size` (one entry may be -1)."""

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"Unflatten: dim must be an int, got {type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                f"Unflatten: unflattened_size must be a tuple of ints, got "
                f"{type(unflattened_size).__name__}"
            )
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input) -> Variable:
        shape = tuple(input.shape)
        dim = self.dim + len(shape) if self.dim < 0 else self.dim
        sizes = tuple(self.unflattened_size)
        known = math.prod(size for size in sizes if size != -1)
        if not 0 <= dim < len(shape) or (
            shape[dim] != known if -1 not in sizes else known == 0 or shape[dim] % known
        ):
            raise ShapeError(
                f"{self!r}: cannot split dimension {self.dim} of an input of shape {shape} "
                f"into {sizes}"
            )
        return input.reshape(*shape[:dim], *sizes, *shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
