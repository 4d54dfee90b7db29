"""The disk data set, standardisation, one-hot targets and mini-batches."""

import math

import pytest
import torch

from autogradlib import ShapeError
from autogradlib.data import batches, disk_labels, make_disk_dataset, one_hot, standardize

RADIUS = 1 / math.sqrt(2 * math.pi)  # about 0.3989


def test_disk_labels_follow_the_disk_rule_on_chosen_points():
    points = torch.tensor(
        [
            [0.5, 0.5],  # the centre
            [0.5, 0.5 + 0.398],  # just inside, straight up
            [0.5, 0.5 + 0.400],  # just outside
            [0.5 + 0.28, 0.5 + 0.28],  # inside on the diagonal: 0.28 * sqrt(2) = 0.396
            [0.5 + 0.283, 0.5 - 0.283],  # outside on the diagonal: 0.4002
            [0.0, 0.0],
            [1.0, 0.5],
        ],
        dtype=torch.float64,
    )
    assert disk_labels(points).tolist() == [1, 1, 0, 1, 0, 0, 0]
    assert disk_labels(points).dtype == torch.int64


def test_disk_dataset_labels_match_the_rule_and_are_roughly_balanced():
    inputs, labels = make_disk_dataset(20_000, torch.Generator().manual_seed(0))
    assert inputs.shape == (20_000, 2) and labels.shape == (20_000,)
    assert inputs.dtype == torch.float32 and labels.dtype == torch.int64
    assert inputs.min() >= 0 and inputs.max() <= 1
    distance = (inputs.double() - 0.5).norm(dim=1)
    clear = (distance - RADIUS).abs() > 1e-6  # float32 rounding may flip points on the circle
    assert torch.equal(labels[clear], (distance[clear] < RADIUS).long())
    # Area pi r^2 = 1/2; with 20,000 points the fraction's standard deviation is about 0.0035.
    assert abs(labels.double().mean().item() - 0.5) < 0.02


def test_disk_dataset_is_deterministic_with_a_seeded_generator():
    first = make_disk_dataset(100, torch.Generator().manual_seed(3), torch.float64)
    second = make_disk_dataset(100, torch.Generator().manual_seed(3), torch.float64)
    other = make_disk_dataset(100, torch.Generator().manual_seed(4), torch.float64)
    assert first[0].dtype == torch.float64
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert not torch.equal(first[0], other[0])
    with pytest.raises(ValueError, match="num_points"):
        make_disk_dataset(-1)


def test_standardize_uses_the_training_statistics_for_every_set():
    train = torch.tensor([[0.0, 10.0], [2.0, 30.0], [4.0, 50.0]], dtype=torch.float64)
    test = torch.tensor([[2.0, 50.0]], dtype=torch.float64)
    # mean (2, 30), unbiased std (2, 20)
    train_result, test_result = standardize(train, test)
    expected_train = torch.tensor([[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    assert torch.equal(train_result, expected_train)
    assert torch.equal(test_result, torch.tensor([[0.0, 1.0]], dtype=torch.float64))
    (alone,) = standardize(train)
    assert torch.equal(alone, train_result)
    with pytest.raises(ValueError, match="constant"):
        standardize(torch.tensor([[1.0, 2.0], [1.0, 3.0]]))


def test_standardize_refuses_a_single_row_instead_of_returning_nan():
    # torch.std of one row is NaN, not 0: the "constant" check alone let it through.
    with pytest.raises(ValueError, match="2 rows or more, got 1"):
        standardize(torch.tensor([[0.3, 0.7]]), torch.tensor([[0.1, 0.2]]))


def test_one_hot_marks_each_label():
    result = one_hot(torch.tensor([2, 0, 1]), 3, dtype=torch.float64)
    assert result.dtype == torch.float64
    assert result.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert one_hot(torch.tensor([[1], [0]]), 2).shape == (2, 1, 2)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        one_hot(torch.tensor([3]), 3)
    with pytest.raises(TypeError, match="integers"):
        one_hot(torch.tensor([1.0]), 3)


def batch_rows(batch_size: int, seed: int | None, shuffle: bool = True) -> list[list[int]]:
    """The row numbers in each batch of a 10-row data set whose features are the row numbers."""
    inputs = torch.arange(10).unsqueeze(1).double()
    targets = torch.arange(10) * 100
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    rows = []
    for input_batch, target_batch in batches(inputs, targets, batch_size, shuffle, generator):
        assert torch.equal(target_batch, input_batch[:, 0].long() * 100)  # still aligned
        rows.append(input_batch[:, 0].long().tolist())
    return rows


def test_batches_cover_every_row_once_per_epoch_with_a_smaller_last_batch():
    rows = batch_rows(batch_size=4, seed=0)
    assert [len(batch) for batch in rows] == [4, 4, 2]
    assert sorted(row for batch in rows for row in batch) == list(range(10))
    assert [row for batch in rows for row in batch] != list(range(10))  # shuffled


def test_batches_shuffle_reproducibly_by_seed():
    assert batch_rows(3, seed=5) == batch_rows(3, seed=5)
    assert batch_rows(3, seed=5) != batch_rows(3, seed=6)
    assert batch_rows(3, seed=None, shuffle=False) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert batch_rows(20, seed=1, shuffle=False) == [list(range(10))]


def test_batches_reject_bad_sizes_when_called():
    inputs, targets = torch.zeros(4, 2), torch.zeros(4)
    with pytest.raises(ValueError, match="batch_size"):
        batches(inputs, targets, 0)
    with pytest.raises(ShapeError, match=r"4 rows.*3"):
        batches(inputs, targets[:3], 2)


@pytest.mark.parametrize("batch_size", [2.5, "3", True])
def test_batches_refuses_a_batch_size_that_is_not_an_int(batch_size):
    inputs, labels = make_disk_dataset(10, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="batch_size must be an int"):
        batches(inputs, labels, batch_size)
