"""autogradlib.save / load: round trips, atomic writes, refusal of unsafe or damaged files."""

import os
import pickle
import re
import signal
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

import autogradlib
from autogradlib import CheckpointError, Variable, experiment, nn, optim
from autogradlib.files import remove_temporaries
from autogradlib.interrupts import StopRequests


def trained_model_and_adam(steps: int = 3) -> tuple[nn.Module, optim.Optimizer]:
    """A small model and an Adam optimizer with state, after a few steps."""
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4, generator=generator), nn.ReLU(), nn.Linear(4, 2))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    inputs, targets = torch.randn(8, 2, generator=generator), torch.randn(8, 2, generator=generator)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.MSELoss()(model(inputs), targets).backward()
        optimizer.step()
    return model, optimizer


def training_progress() -> dict:
    """What a training loop checkpoints: state dicts, a generator state and plain progress."""
    model, optimizer = trained_model_and_adam()
    generator = torch.Generator().manual_seed(7)
    torch.rand(5, generator=generator)
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "epoch": 12,
        "seconds": 3.25,
        "curves": {"epoch": [1, 2], "train_loss": [0.5, float("nan")]},
        "name": "run-0",
        "flags": (True, None),
        "dtype": torch.float64,
        "ordered": OrderedDict(first=torch.arange(3)),
        0: "integer keys, as optimizer state uses",
    }


def assert_same(loaded, saved) -> None:
    """Equal structure, types and values; tensors equal bit for bit (NaN equal to NaN)."""
    assert type(loaded) is type(saved)
    if isinstance(saved, torch.Tensor):
        assert loaded.dtype == saved.dtype
        assert torch.equal(loaded, saved)
    elif isinstance(saved, dict):
        assert list(loaded) == list(saved)
        for key in saved:
            assert_same(loaded[key], saved[key])
    elif isinstance(saved, (list, tuple)):
        assert len(loaded) == len(saved)
        for loaded_item, saved_item in zip(loaded, saved, strict=True):
            assert_same(loaded_item, saved_item)
    elif isinstance(saved, float) and saved != saved:
        assert loaded != loaded
    else:
        assert loaded == saved


# --- Round trip ----------------------------------------------------------------------------------


def test_training_progress_round_trips_exactly(tmp_path):
    progress = training_progress()
    autogradlib.save(progress, tmp_path / "checkpoint.pt")
    assert_same(autogradlib.load(tmp_path / "checkpoint.pt"), progress)


def test_restored_model_optimizer_and_generator_continue_as_the_originals(tmp_path):
    model, optimizer = trained_model_and_adam()
    generator = torch.Generator().manual_seed(3)
    autogradlib.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(),
        },
        tmp_path / "checkpoint.pt",
    )
    saved = autogradlib.load(tmp_path / "checkpoint.pt")
    copy, copy_optimizer = trained_model_and_adam(steps=0)
    copy.load_state_dict(saved["model"])
    copy_optimizer.load_state_dict(saved["optimizer"])
    copy_generator = torch.Generator()
    copy_generator.set_state(saved["generator"])
    inputs = torch.randn(8, 2, generator=generator)
    copy_inputs = torch.randn(8, 2, generator=copy_generator)
    assert torch.equal(inputs, copy_inputs)
    for net, opt, batch in ((model, optimizer, inputs), (copy, copy_optimizer, copy_inputs)):
        opt.zero_grad()
        net(batch).sum().backward()
        opt.step()
    for original, restored in zip(model.parameters(), copy.parameters(), strict=True):
        assert torch.equal(original.tensor, restored.tensor)


def test_load_moves_tensors_with_map_location(tmp_path):
    autogradlib.save({"weight": torch.ones(2)}, tmp_path / "c.pt")
    loaded = autogradlib.load(tmp_path / "c.pt", map_location="meta")
    assert loaded["weight"].device.type == "meta"


@pytest.mark.parametrize(
    ("obj", "named"),
    [
        (
            {"model": {"weight": Variable(torch.ones(2))}},
            r"obj\['model'\]\['weight'\] is a Variable",
        ),
        ({"runs": [1, object()]}, r"obj\['runs'\]\[1\] is of type object"),
        ({"array": [torch.ones(1).numpy()]}, r"obj\['array'\]\[0\] is of type ndarray"),
        ({(1, 2): "tuple key"}, r"obj has a key of type tuple"),
    ],
    ids=["variable", "object", "numpy", "tuple-key"],
)
def test_save_refuses_what_load_could_not_give_back_and_keeps_the_old_file(tmp_path, obj, named):
    path = tmp_path / "checkpoint.pt"
    autogradlib.save({"old": 1}, path)
    with pytest.raises(TypeError, match=named):
        autogradlib.save(obj, path)
    assert autogradlib.load(path) == {"old": 1}


# --- Atomic writes -------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_crash_mid_write_leaves_the_previous_checkpoint_and_no_temporary_file(
    tmp_path, monkeypatch, failing
):
    path = tmp_path / "checkpoint.pt"
    autogradlib.save({"epoch": 1}, path)

    def crash(*args, **kwargs):
        raise OSError(f"simulated crash in os.{failing}")

    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="simulated crash"):
        autogradlib.save({"epoch": 2}, path)
    monkeypatch.undo()
    assert autogradlib.load(path) == {"epoch": 1}
    assert os.listdir(tmp_path) == ["checkpoint.pt"]


def test_save_creates_the_folder_and_replaces_the_file_in_one_step(tmp_path):
    path = tmp_path / "new" / "folder" / "checkpoint.pt"
    autogradlib.save({"epoch": 1}, path)
    inode = path.stat().st_ino
    autogradlib.save({"epoch": 2}, path)
    assert autogradlib.load(path) == {"epoch": 2}
    assert path.stat().st_ino != inode  # a new file renamed over the old one, never rewritten
    assert os.listdir(path.parent) == ["checkpoint.pt"]


def test_remove_temporaries_deletes_only_the_leftovers_of_that_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    autogradlib.save({"epoch": 1}, path)
    leftovers = [tmp_path / ".checkpoint.pt.abc123.tmp", tmp_path / ".checkpoint.pt.x.tmp"]
    unrelated = [tmp_path / ".results.json.abc.tmp", tmp_path / "notes.tmp"]
    for file in leftovers + unrelated:
        file.write_bytes(b"PK\x03\x04 half a checkpoint")
    assert remove_temporaries(path) == sorted(leftovers)
    assert sorted(tmp_path.iterdir()) == sorted([path, *unrelated])


# --- Unsafe, damaged and missing files -----------------------------------------------------------


class Payload:
    """Unpickling this creates a folder: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def write_torch_pickle_with_payload(path: Path, marker: Path) -> None:
    torch.save({"weight": torch.ones(2), "payload": Payload(marker)}, path)


def write_raw_pickle_with_payload(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(Payload(marker)))


def starts_naming(path: Path, problem: str) -> str:
    """The regular expression of a load error about `path`."""
    return rf"^cannot load checkpoint {re.escape(str(path))}: {problem}"


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (write_torch_pickle_with_payload, r"refused, .*GLOBAL posix\.mkdir.*could run code"),
        (write_raw_pickle_with_payload, r"not a file written by autogradlib\.save"),
    ],
    ids=["torch-zip", "raw-pickle"],
)
def test_load_refuses_a_malicious_pickle_without_running_it(tmp_path, write, problem):
    path, marker = tmp_path / "evil.pt", tmp_path / "code-ran"
    write(path, marker)
    with pytest.raises(CheckpointError, match=starts_naming(path, problem)):
        autogradlib.load(path)
    assert not marker.exists()


def truncate(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: b"", "the file is empty"),
        (lambda data: truncate(data, 0.999), "the file is truncated or corrupt"),
        (lambda data: truncate(data, 0.5), "the file is truncated or corrupt"),
        (lambda data: truncate(data, 0.01), "the file is truncated or corrupt"),
        (lambda data: data[:4], "the file is truncated or corrupt"),
        (lambda data: b"epoch,loss\n1,0.5\n", r"not a file written by autogradlib\.save"),
        (lambda data: b"\x00" * len(data), r"not a file written by autogradlib\.save"),
    ],
    ids=["empty", "last-byte-cut", "half", "one-percent", "magic-only", "text", "zeros"],
)
def test_damaged_or_foreign_files_raise_checkpoint_error_naming_path_and_problem(
    tmp_path, damage, reason
):
    path = tmp_path / "checkpoint.pt"
    autogradlib.save(training_progress(), path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match=starts_naming(path, reason)):
        autogradlib.load(path)


def test_missing_file_or_folder_raises_checkpoint_error(tmp_path):
    absent = tmp_path / "absent.pt"
    with pytest.raises(CheckpointError, match=starts_naming(absent, "no such file")) as error:
        autogradlib.load(absent)
    assert isinstance(error.value.__cause__, FileNotFoundError)
    with pytest.raises(CheckpointError, match=starts_naming(tmp_path, "Is a directory")):
        autogradlib.load(tmp_path)


def test_checkpoint_error_is_a_value_error_and_exported():
    assert issubclass(CheckpointError, ValueError)
    assert autogradlib.CheckpointError is CheckpointError


def test_resuming_from_a_checkpoint_that_holds_no_training_progress_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    autogradlib.save({"weight": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match=rf"cannot resume from {path}: it is not a"):
        experiment.read_checkpoint(path)


# --- Ctrl-C --------------------------------------------------------------------------------------


def test_first_ctrl_c_is_noted_second_one_interrupts_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGINT)
    with StopRequests() as stop:
        signal.raise_signal(signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
