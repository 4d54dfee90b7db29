"""Normalisation layers: BatchNorm1d, BatchNorm2d and LayerNorm, with torch's parameters,
buffers, state-dict keys and repr."""

from __future__ import annotations

import torch

from autogradlib import operators as ops
from autogradlib.errors import ShapeError
from autogradlib.nn import functional as F
from autogradlib.nn.module import Module
from autogradlib.variable import Variable


class _BatchNorm(Module):
    """Batch normalisation over dim 1; subclasses say which input dimensions they take."""

    allowed_dims: tuple[int, ...] = ()
    shape_names = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        options = {"device": device, "dtype": dtype}
        self.weight = Variable(torch.ones(num_features, **options)) if affine else None
        self.bias = Variable(torch.zeros(num_features, **options)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **options))
            self.register_buffer("running_var", torch.ones(num_features, **options))
            self.register_buffer(
                "num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Running statistics reset, weight 1, bias 0."""
        self.reset_running_stats()
        if self.affine:
            self.weight.tensor.fill_(1)
            if self.bias is not None:
                self.bias.tensor.zero_()

    def forward(self, input) -> Variable:
        shape = input.shape
        if input.dim() not in self.allowed_dims or shape[1] != self.num_features:
            raise ShapeError(
                f"{self!r}: expected input of shape {self.shape_names} with C = "
                f"{self.num_features}, got shape {tuple(shape)}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        # Batch statistics in training, and in eval when no running statistics are kept.
        batch_statistics = self.training or (self.running_mean is None and self.running_var is None)
        if batch_statistics and input.numel() // shape[1] <= 1:
            raise ShapeError(
                f"{self!r}: Expected more than 1 value per channel when training, got input size "
                f"{tuple(shape)}"
            )
        use_running = not self.training or self.track_running_stats
        # Straight to the operator: F.batch_norm would check the shapes a second time.
        affine = [value for value in (self.weight, self.bias) if value is not None]
        return ops.BatchNorm.apply(
            input,
            *affine,
            running_mean=self.running_mean if use_running else None,
            running_var=self.running_var if use_running else None,
            training=batch_statistics,
            momentum=factor,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Per-channel normalisation of (N, C) or (N, C, L) inputs over the batch (and length)."""

    allowed_dims = (2, 3)
    shape_names = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Per-channel normalisation of (N, C, H, W) inputs over the batch and the image."""

    allowed_dims = (4,)
    shape_names = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalisation of each sample over its last dims, normalized_shape, with an elementwise
    weight (ones) and bias (zeros)."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        options = {"device": device, "dtype": dtype}
        self.weight = (
            Variable(torch.ones(self.normalized_shape, **options)) if elementwise_affine else None
        )
        self.bias = (
            Variable(torch.zeros(self.normalized_shape, **options))
            if elementwise_affine and bias
            else None
        )

    def forward(self, input) -> Variable:
        count = len(self.normalized_shape)
        if (
            input.dim() < count
            or tuple(input.shape[input.dim() - count :]) != self.normalized_shape
        ):
            raise ShapeError(
                f"{self!r}: expected input whose last dimensions are {self.normalized_shape}, "
                f"got shape {tuple(input.shape)}"
            )
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
