"""save() and load(): checkpoints that are written atomically and read without running code.

A checkpoint holds plain data only: dicts (Counters too), lists and tuples of tensors, numbers,
strings, booleans, None and dtypes, which covers model, optimizer and scheduler state dicts,
torch.Generator states (uint8 tensors) and training progress. save() refuses anything else,
Variables included (save a state dict, or a Variable's .tensor), because load() could not give
it back: load() reads with torch.load(weights_only=True), which never executes code from the file.
"""

from __future__ import annotations

import io
import pickle
from collections import Counter, OrderedDict
from pathlib import Path

import torch

from autogradlib.errors import CheckpointError
from autogradlib.files import atomic_write_bytes
from autogradlib.variable import Variable

# torch.save writes a zip archive; anything else was not written by save().
_ZIP_MAGIC = b"PK\x03\x04"
_SCALAR_TYPES = (type(None), bool, int, float, str, torch.dtype)
_SEQUENCE_TYPES = (list, tuple, torch.Size)
# Counter: MultiStepLR's milestones, in a scheduler's state dict (torch.load allows it).
_MAPPING_TYPES = (dict, OrderedDict, Counter)
_PLAIN_DATA = "dicts, lists and tuples of tensors, numbers, strings, booleans, None and dtypes"


def save(obj, path) -> None:
    """Write `obj` to `path` atomically: a reader, or a crash, sees the old file or the new one."""
    check_saveable(obj)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load(path, map_location=None):
    """Read what save() wrote (tensors onto `map_location` if given); never runs code from it."""
    path = Path(path)
    data = _read_bytes(path)
    if not data:
        raise CheckpointError(f"cannot load checkpoint {path}: the file is empty")
    if not data.startswith(_ZIP_MAGIC):
        raise CheckpointError(
            f"cannot load checkpoint {path}: not a file written by autogradlib.save "
            f"(it starts with {data[:8]!r}, not a torch zip archive)"
        )
    try:
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        reason = _unsafe_content(error)
        if reason is None:
            raise _corrupt(path, error) from error
        raise CheckpointError(
            f"cannot load checkpoint {path}: refused, it holds more than {_PLAIN_DATA} "
            f"({reason}); loading that could run code from the file"
        ) from error
    except Exception as error:
        # Whatever torch's reader trips over in a damaged archive, the file is what is wrong.
        raise _corrupt(path, error) from error


def check_saveable(obj, where: str = "obj") -> None:
    """Raise TypeError naming the first part of `obj` that load() could not give back."""
    kind = type(obj)
    if kind in _SCALAR_TYPES or kind is torch.Tensor:
        return
    if kind in _SEQUENCE_TYPES:
        for index, item in enumerate(obj):
            check_saveable(item, f"{where}[{index}]")
        return
    if kind in _MAPPING_TYPES:
        for key, value in obj.items():
            if type(key) not in _SCALAR_TYPES:
                raise TypeError(f"save: {where} has a key of type {type(key).__name__}: {key!r}")
            check_saveable(value, f"{where}[{key!r}]")
        return
    if isinstance(obj, Variable):
        raise TypeError(
            f"save: {where} is a Variable; save its .tensor, or the module's state_dict(), "
            "so that load() gives back exactly what was saved"
        )
    raise TypeError(
        f"save: {where} is of type {kind.__name__}; a checkpoint holds {_PLAIN_DATA} only"
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as error:
        raise CheckpointError(f"cannot load checkpoint {path}: no such file") from error
    except OSError as error:
        raise CheckpointError(f"cannot load checkpoint {path}: {error.strerror}") from error


def _unsafe_content(error: pickle.UnpicklingError) -> str | None:
    """The line of torch's refusal that names the forbidden global, or None if there is none."""
    for line in str(error).splitlines():
        if "GLOBAL" in line:
            return line.strip().rstrip(".")
    return None


def _corrupt(path: Path, error: Exception) -> CheckpointError:
    first_sentence = (str(error).splitlines() or [""])[0].split(". ")[0]
    return CheckpointError(
        f"cannot load checkpoint {path}: the file is truncated or corrupt "
        f"({type(error).__name__}: {first_sentence})"
    )
