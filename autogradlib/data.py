"""The reference experiment's disk data set, standardisation, one-hot targets, mini-batches."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from autogradlib.errors import ShapeError

DISK_CENTRE = 0.5
DISK_RADIUS = 1 / math.sqrt(2 * math.pi)  # area 1/2 of the unit square: balanced classes


def disk_labels(points: torch.Tensor) -> torch.Tensor:
    """1 where (x - 0.5)^2 + (y - 0.5)^2 < 1 / (2 pi) (inside the disk), else 0, as int64."""
    squared_distance = (points - DISK_CENTRE).square().sum(1)
    return (squared_distance < DISK_RADIUS**2).long()


def make_disk_dataset(
    num_points: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs (N, 2) uniform in [0, 1]^2, labels (N,) int64: 1 inside the disk of area 1/2)."""
    if num_points < 0:
        raise ValueError(f"make_disk_dataset: num_points must be >= 0, got {num_points}")
    inputs = torch.rand(num_points, 2, generator=generator, dtype=dtype)
    return inputs, disk_labels(inputs)


def standardize(train: torch.Tensor, *others: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(x - mean) / std for train and each of others, with train's per-feature mean and std."""
    if len(train) < 2:
        # torch.std of one row is NaN (with a warning), which would make every output NaN.
        raise ValueError(f"standardize: the training set needs 2 rows or more, got {len(train)}")
    mean, std = train.mean(0), train.std(0)
    if (std == 0).any():
        raise ValueError("standardize: a feature of the training set is constant (std 0)")
    return tuple((tensor - mean) / std for tensor in (train, *others))


def one_hot(
    labels: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """A (..., num_classes) tensor with 1 at each label's index and 0 elsewhere."""
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"one_hot: labels must be integers, got {labels.dtype}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes})")
    result = torch.zeros(*labels.shape, num_classes, dtype=dtype, device=labels.device)
    return result.scatter_(-1, labels.long().unsqueeze(-1), 1)


def batches(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    batch_size: int,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(inputs_batch, targets_batch) covering every row once, shuffled with `generator`.

    The last batch is smaller when batch_size does not divide the number of rows.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise TypeError(f"batches: batch_size must be an int, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be >= 1, got {batch_size}")
    if len(inputs) != len(targets):
        raise ShapeError(f"batches: inputs have {len(inputs)} rows but targets have {len(targets)}")
    # Checked above, not inside the generator, so that a bad call fails where it is made.
    return _batches(inputs, targets, batch_size, shuffle, generator)


def _batches(inputs, targets, batch_size, shuffle, generator):
    count = len(inputs)
    if shuffle:
        device = generator.device if generator is not None else "cpu"
        order = torch.randperm(count, generator=generator, device=device).to(inputs.device)
    for start in range(0, count, batch_size):
        if shuffle:
            rows = order[start : start + batch_size]
            yield inputs[rows], targets[rows.to(targets.device)]
        else:
            yield inputs[start : start + batch_size], targets[start : start + batch_size]
