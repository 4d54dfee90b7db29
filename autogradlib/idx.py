"""The IDX files of MNIST and Fashion-MNIST, read from a folder the user has (nothing downloaded).

An IDX file is: two zero bytes, a type code (0x08: unsigned bytes), the number of dimensions, each
dimension as a big-endian 32-bit integer, then the values in row-major order; gzipped or not.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import torch

UNSIGNED_BYTE = 0x08
IDX_FILES = {
    "train_images": ("train-images-idx3-ubyte", 3),
    "train_labels": ("train-labels-idx1-ubyte", 1),
    "test_images": ("t10k-images-idx3-ubyte", 3),
    "test_labels": ("t10k-labels-idx1-ubyte", 1),
}


class DataFileError(ValueError):
    """A data file that is missing or not what it should be; the message names it and the fault."""


def find_idx_file(folder: Path, stem: str) -> Path:
    """folder/stem, else folder/stem.gz; a DataFileError naming both when neither exists."""
    folder = Path(folder)
    for path in (folder / stem, folder / f"{stem}.gz"):
        if path.is_file():
            return path
    raise DataFileError(f"{folder} has neither {stem} nor {stem}.gz")


def read_idx(path: Path, dimensions: int | None = None) -> torch.Tensor:
    """The uint8 tensor an IDX file holds (gzipped when its name ends in .gz)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise DataFileError(f"{path}: cannot read it: {error}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0":
        raise DataFileError(f"{path} is not an IDX file (it does not start with two zero bytes)")
    if raw[2] != UNSIGNED_BYTE:
        raise DataFileError(
            f"{path}: IDX type code 0x{raw[2]:02X} is not supported (expected 0x08, unsigned bytes)"
        )
    count = raw[3]
    if dimensions is not None and count != dimensions:
        raise DataFileError(f"{path}: expected {dimensions} dimension(s), the header says {count}")
    header_end = 4 + 4 * count
    if len(raw) < header_end:
        raise DataFileError(f"{path} is truncated: its header is cut short")
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(count)]
    expected = header_end + math.prod(shape)
    if len(raw) != expected:
        raise DataFileError(
            f"{path}: a {tuple(shape)} array needs {expected} bytes, the file has {len(raw)}"
        )
    return torch.frombuffer(bytearray(raw[header_end:]), dtype=torch.uint8).reshape(shape)


def load_idx_folder(folder: Path, classes: int = 10) -> dict[str, torch.Tensor]:
    """The four MNIST-layout arrays of `folder`, checked: images (N, H, W), labels (N,) in range."""
    arrays = {
        name: read_idx(find_idx_file(folder, stem), dimensions)
        for name, (stem, dimensions) in IDX_FILES.items()
    }
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if len(images) != len(labels) or len(images) == 0:
            raise DataFileError(
                f"{folder}: {split} has {len(images)} images but {len(labels)} labels"
            )
        if labels.max() >= classes:
            raise DataFileError(
                f"{folder}: {split} labels must lie in [0, {classes}), found {labels.max().item()}"
            )
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise DataFileError(
            f"{folder}: train images are {tuple(arrays['train_images'].shape[1:])}, test images "
            f"{tuple(arrays['test_images'].shape[1:])}"
        )
    return arrays
