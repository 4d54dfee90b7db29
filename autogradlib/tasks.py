"""The training tasks of `autogradlib train --task`: each is its data, its network, its loss, how it
batches, and the options it defaults to.

- disk: the 2018 report's experiment, 2-25-25-25-2 on points of the unit square (the default).
- digits: scikit-learn's 1,797 handwritten 8x8 digits, a fixed stratified 80/20 split, a LeNet.
- mnist, fashion-mnist: the IDX files of a folder the user has (--data-dir), the same LeNet.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType

import torch
from torch.utils.data import DataLoader, TensorDataset

from autogradlib import data, idx, nn
from autogradlib.variable import Variable

DIGITS_SPLIT_SEED = 0  # the split is fixed: every repeat trains and tests on the same images
DIGITS_TEST_SHARE = 0.2


@dataclass
class Dataset:
    """Standardised inputs, labels and targets of the train and test sets (the targets are one-hot
    for the disk's MSE, the labels themselves for cross-entropy)."""

    train_inputs: torch.Tensor
    train_labels: torch.Tensor
    train_targets: torch.Tensor
    test_inputs: torch.Tensor
    test_labels: torch.Tensor
    test_targets: torch.Tensor


# --- The networks ---------------------------------------------------------------------------------


def xavier_linear(fan_in: int, fan_out: int, generator=None, dtype=None) -> nn.Linear:
    """A Linear layer with the 2018 experiment's initialisation: Xavier-normal weight, zero bias.

    Not nn.Linear's own (torch's kaiming-uniform): the reference table was measured with this one.
    Built on the meta device first, so that nn.Linear's own initialisation draws nothing.
    """
    layer = nn.Linear(fan_in, fan_out, device="meta", dtype=dtype)
    device = generator.device if generator is not None else None
    weight = torch.empty(fan_out, fan_in, dtype=dtype, device=device)
    layer.weight = Variable(nn.init.xavier_normal_(weight, generator=generator))
    layer.bias = Variable(torch.zeros(fan_out, dtype=dtype, device=device))
    return layer


def disk_classifier(sizes, generator=None, dtype=None) -> nn.Sequential:
    """Xavier-normal Linear layers of the given sizes, ReLU between them, Softmax(dim=1) on top."""
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [xavier_linear(fan_in, fan_out, generator, dtype), nn.ReLU()]
    layers[-1] = nn.Softmax(dim=1)
    return nn.Sequential(*layers)


def lenet(nn: ModuleType = nn, image_size: int = 8, hidden: int = 64, classes: int = 10):
    """(convolution, batch norm, ReLU, 2x2 max-pool) twice, then Linear-ReLU-Linear to logits, for
    one-channel square images; `nn` is Autogradlib's nn or PyTorch's: one definition for both."""
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * side * side, hidden),
        nn.ReLU(),
        nn.Linear(hidden, classes),
    )


def seeded_lenet(seed: int, nn: ModuleType = nn, image_size: int = 8, hidden: int = 64):
    """lenet() with its initial weights drawn from torch's global generator seeded with `seed`, as
    a PyTorch script would, leaving the global generator as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return lenet(nn, image_size, hidden)


# --- The data -------------------------------------------------------------------------------------


def disk_dataset(config, generator: torch.Generator) -> Dataset:
    """Fresh train and test points from `generator`, standardised with the train statistics."""
    dtype = getattr(torch, config.dtype)
    train_inputs, train_labels = data.make_disk_dataset(config.train_points, generator, dtype)
    test_inputs, test_labels = data.make_disk_dataset(config.test_points, generator, dtype)
    train_inputs, test_inputs = data.standardize(train_inputs, test_inputs)
    return Dataset(
        train_inputs,
        train_labels,
        data.one_hot(train_labels, 2, dtype),
        test_inputs,
        test_labels,
        data.one_hot(test_labels, 2, dtype),
    )


def image_dataset(images: dict[str, torch.Tensor], scale: float, dtype: torch.dtype) -> Dataset:
    """Pixels / scale, standardised with the mean and std of all train pixels, shaped (N, 1, H, W);
    the labels are the targets (for cross-entropy)."""
    train = images["train_images"].to(dtype) / scale
    test = images["test_images"].to(dtype) / scale
    mean, std = train.mean(), train.std()
    train, test = ((pixels - mean) / std for pixels in (train, test))
    train_labels, test_labels = images["train_labels"].long(), images["test_labels"].long()
    return Dataset(
        train.unsqueeze(1), train_labels, train_labels, test.unsqueeze(1), test_labels, test_labels
    )


@functools.cache
def digits_split() -> dict[str, torch.Tensor]:
    """scikit-learn's digits (8x8, values 0-16), split 80/20, stratified by class, always alike."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    train_images, test_images, train_labels, test_labels = train_test_split(
        images.reshape(-1, 8, 8),
        labels,
        test_size=DIGITS_TEST_SHARE,
        stratify=labels,
        random_state=DIGITS_SPLIT_SEED,
    )
    arrays = (train_images, train_labels, test_images, test_labels)
    names = ("train_images", "train_labels", "test_images", "test_labels")
    return {name: torch.from_numpy(array) for name, array in zip(names, arrays, strict=True)}


def digits_dataset(config, generator: torch.Generator) -> Dataset:
    return image_dataset(digits_split(), 16.0, getattr(torch, config.dtype))


@functools.cache
def idx_folder(folder: str) -> dict[str, torch.Tensor]:
    """The IDX files of `folder`, read once per process (every repeat uses the same images)."""
    return idx.load_idx_folder(Path(folder))


def idx_dataset(config, generator: torch.Generator) -> Dataset:
    return image_dataset(idx_folder(config.data_dir), 255.0, getattr(torch, config.dtype))


# --- Batches --------------------------------------------------------------------------------------


def disk_batches(dataset: Dataset, batch_size: int, generator: torch.Generator) -> Iterable:
    return data.batches(
        dataset.train_inputs, dataset.train_targets, batch_size, generator=generator
    )


def data_loader_batches(dataset: Dataset, batch_size: int, generator: torch.Generator):
    """torch's DataLoader, shuffled by `generator`: its batches are plain tensors, as with torch."""
    pairs = TensorDataset(dataset.train_inputs, dataset.train_targets)
    return DataLoader(pairs, batch_size=batch_size, shuffle=True, generator=generator)


# --- The tasks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A training task: what `autogradlib train --task NAME` trains, on what, and how."""

    name: str
    defaults: dict  # the values of the Config fields left unset
    make_dataset: Callable[..., Dataset]  # (config, generator)
    build_model: Callable[..., nn.Module]  # (config, generator), drawn after the data
    make_loss: Callable[[], nn.Module]
    batches: Callable[..., Iterable]  # (dataset, batch_size, generator)
    loss_label: str
    rows_evaluated_at_once: int | None = None  # None: a whole set in one forward pass


def build_disk_model(config, generator: torch.Generator) -> nn.Sequential:
    """2 -> hidden -> hidden -> hidden -> 2, ReLU between, Softmax(dim=1) on top (the seed's)."""
    width = config.hidden
    return disk_classifier([2, width, width, width, 2], generator, getattr(torch, config.dtype))


def build_image_model(image_size: int):
    def build(config, generator: torch.Generator) -> nn.Module:
        model = seeded_lenet(generator.initial_seed(), nn, image_size, config.hidden)
        return model.to(getattr(torch, config.dtype))

    return build


COMMON_DEFAULTS = {"momentum": 0.0, "train_points": None, "test_points": None}
IMAGE_DEFAULTS = {
    **COMMON_DEFAULTS,
    "batch_size": 64,
    "lr": 3e-3,
    "optimizer": "adam",
    "hidden": 64,
    "schedule": "cosine",
}
DISK = Task(
    name="disk",
    defaults={
        **COMMON_DEFAULTS,
        "epochs": 500,
        "repeats": 20,
        "batch_size": 100,
        "lr": 0.1,
        "optimizer": "sgd",
        "hidden": 25,
        "train_points": 1000,
        "test_points": 1000,
        "schedule": "constant",
    },
    make_dataset=disk_dataset,
    build_model=build_disk_model,
    make_loss=nn.MSELoss,
    batches=disk_batches,
    loss_label="MSE loss",
)
DIGITS = Task(
    name="digits",
    defaults={**IMAGE_DEFAULTS, "epochs": 20, "repeats": 20},
    make_dataset=digits_dataset,
    build_model=build_image_model(8),
    make_loss=nn.CrossEntropyLoss,
    batches=data_loader_batches,
    loss_label="cross-entropy loss",
)
MNIST = Task(
    name="mnist",
    defaults={**IMAGE_DEFAULTS, "epochs": 5, "repeats": 3},
    make_dataset=idx_dataset,
    build_model=build_image_model(28),
    make_loss=nn.CrossEntropyLoss,
    batches=data_loader_batches,
    loss_label="cross-entropy loss",
    rows_evaluated_at_once=1000,  # 60,000 images at once would hold gigabytes of activations
)
TASKS = {task.name: task for task in (DISK, DIGITS, MNIST, replace(MNIST, name="fashion-mnist"))}
