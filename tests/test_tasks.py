"""The tasks of `autogradlib train --task`: selection and defaults, the digits and IDX data, a
whole digits run and its resume, MNIST from IDX files the test writes itself."""

import gzip
import json
import shutil
from dataclasses import asdict

import pytest
import torch

from autogradlib import cli, experiment, idx, load, tasks
from autogradlib_bench import bench_digits

# The reference experiment's options before tasks existed: `--task disk` must keep every one.
DISK_DEFAULTS = {
    "epochs": 500,
    "repeats": 20,
    "batch_size": 100,
    "lr": 0.1,
    "optimizer": "sgd",
    "momentum": 0.0,
    "hidden": 25,
    "train_points": 1000,
    "test_points": 1000,
    "seed": 0,
    "device": "cpu",
    "dtype": "float32",
}


def run_numbers(out) -> list[dict]:
    """results.json's runs without their wall-clock seconds: what must repeat exactly."""
    runs = json.loads((out / "results.json").read_text())["runs"]
    return [{key: value for key, value in run.items() if key != "seconds"} for run in runs]


def exit_code(arguments: list[str]) -> int:
    """cli.main's exit code, including argparse's (which exits)."""
    try:
        return cli.main(arguments)
    except SystemExit as exit:
        return exit.code


def one_line_error(capsys) -> str:
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    return error


# --- Selection and defaults ----------------------------------------------------------------------


def test_the_disk_is_the_default_task_with_its_old_defaults():
    config = asdict(experiment.Config())
    assert {name: config[name] for name in DISK_DEFAULTS} == DISK_DEFAULTS
    assert config["task"] == "disk" and config["schedule"] == "constant"
    assert experiment.Config(task="disk") == experiment.Config()


def test_digits_defaults_are_adam_at_3e_3_with_a_cosine_schedule_over_20_epochs():
    config = experiment.Config(task="digits")
    assert (config.optimizer, config.lr, config.schedule) == ("adam", 3e-3, "cosine")
    assert (config.epochs, config.repeats, config.batch_size) == (20, 20, 64)
    assert config.train_points is None and config.test_points is None
    assert experiment.Config(task="digits", lr=0.01, epochs=3).lr == 0.01


def test_an_old_checkpoint_config_without_task_is_the_disk():
    old = asdict(experiment.Config())
    for name in ("task", "schedule", "data_dir"):  # the fields that came with the tasks
        del old[name]
    assert experiment.Config(**old) == experiment.Config()


def test_task_disk_given_explicitly_trains_exactly_as_the_default(tmp_path, capsys):
    arguments = ["--epochs", "3", "--repeats", "1", "--quiet", "--train-points", "200"]
    assert cli.main(["train", *arguments, "--out", str(tmp_path / "default")]) == 0
    explicit = [*arguments, "--task", "disk", "--out", str(tmp_path / "disk")]
    assert cli.main(["train", *explicit]) == 0
    assert run_numbers(tmp_path / "default") == run_numbers(tmp_path / "disk")
    assert "The four medians" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--task", "cifar"], "invalid choice: 'cifar'"),
        (["--task", "digits", "--train-points", "100"], "--train-points applies to --task disk"),
        (["--task", "mnist"], "--task mnist needs --data-dir DIR"),
        (["--data-dir", "somewhere"], "--data-dir applies to --task mnist and fashion-mnist"),
        (["--task", "digits", "--nproc", "2"], "--task digits trains in one process only"),
        (["--schedule", "linear"], "invalid choice: 'linear'"),
    ],
)
def test_options_that_do_not_fit_the_task_are_one_line_errors(arguments, expected, capsys):
    assert exit_code(["train", *arguments]) == 2
    assert expected in one_line_error(capsys)


# --- The digits data -----------------------------------------------------------------------------


def test_digits_split_is_fixed_stratified_80_20_and_standardised_with_train_statistics():
    dataset = tasks.digits_dataset(experiment.Config(task="digits"), torch.Generator())
    assert dataset.train_inputs.shape == (1437, 1, 8, 8)
    assert dataset.test_inputs.shape == (360, 1, 8, 8)
    assert dataset.train_inputs.dtype == torch.float32
    assert torch.equal(dataset.train_targets, dataset.train_labels)
    train_counts = torch.bincount(dataset.train_labels, minlength=10)
    test_counts = torch.bincount(dataset.test_labels, minlength=10)
    # Stratified: each class is split 80/20 to within one image.
    assert ((train_counts - 4 * test_counts).abs() <= 4).all()
    assert dataset.train_inputs.mean().abs() < 1e-5
    assert dataset.train_inputs.std() == pytest.approx(1.0, abs=1e-5)
    again = tasks.digits_dataset(experiment.Config(task="digits"), torch.Generator())
    assert torch.equal(again.test_inputs, dataset.test_inputs)


# --- IDX files -----------------------------------------------------------------------------------


def idx_bytes(array: torch.Tensor) -> bytes:
    """An IDX file of unsigned bytes holding `array`."""
    header = bytes([0, 0, idx.UNSIGNED_BYTE, array.dim()])
    header += b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.to(torch.uint8).numpy().tobytes()


def write_idx_folder(folder, train: int = 40, test: int = 12, compressed: bool = True):
    """MNIST's four files, of random 28x28 images, in `folder`; returns what they hold."""
    generator = torch.Generator().manual_seed(0)
    arrays = {
        "train_images": torch.randint(0, 256, (train, 28, 28), generator=generator),
        "train_labels": torch.arange(train) % 10,
        "test_images": torch.randint(0, 256, (test, 28, 28), generator=generator),
        "test_labels": torch.arange(test) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, (stem, _) in idx.IDX_FILES.items():
        content = idx_bytes(arrays[name])
        if compressed:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(content))
        else:
            (folder / stem).write_bytes(content)
    return arrays


@pytest.mark.parametrize("compressed", [True, False])
def test_idx_folder_reads_back_what_was_written_gzipped_or_not(tmp_path, compressed):
    arrays = write_idx_folder(tmp_path, compressed=compressed)
    loaded = idx.load_idx_folder(tmp_path)
    for name, array in arrays.items():
        assert loaded[name].dtype == torch.uint8
        assert torch.equal(loaded[name].long(), array)


def spoil(folder, how: str):
    """Make one of the four files of `folder` bad in the way `how` names."""
    path = folder / "train-images-idx3-ubyte.gz"
    content = gzip.decompress(path.read_bytes())
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(gzip.compress(content[:-5]))
    elif how == "not gzip":
        path.write_bytes(content)
    elif how == "bad magic":
        path.write_bytes(gzip.compress(b"\1" + content[1:]))
    elif how == "float type":
        path.write_bytes(gzip.compress(content[:2] + b"\x0d" + content[3:]))
    elif how == "labels out of range":
        labels = folder / "t10k-labels-idx1-ubyte.gz"
        labels.write_bytes(gzip.compress(idx_bytes(torch.full((12,), 10))))
    elif how == "counts differ":
        labels = folder / "train-labels-idx1-ubyte.gz"
        labels.write_bytes(gzip.compress(idx_bytes(torch.zeros(39))))


SPOILS = {
    "missing": "has neither train-images-idx3-ubyte nor train-images-idx3-ubyte.gz",
    "truncated": "needs 31376 bytes, the file has 31371",
    "not gzip": "cannot read it: Not a gzipped file",
    "bad magic": "is not an IDX file",
    "float type": "type code 0x0D is not supported",
    "labels out of range": "test labels must lie in [0, 10), found 10",
    "counts differ": "train has 40 images but 39 labels",
}


@pytest.mark.parametrize("how", SPOILS)
def test_a_missing_or_malformed_idx_file_is_a_one_line_exit_2(tmp_path, how, capsys):
    write_idx_folder(tmp_path)
    spoil(tmp_path, how)
    with pytest.raises(idx.DataFileError, match="^" + str(tmp_path)):
        idx.load_idx_folder(tmp_path)
    arguments = ["train", "--task", "mnist", "--data-dir", str(tmp_path), "--quiet"]
    assert cli.main([*arguments, "--out", str(tmp_path / "out")]) == 2
    error = one_line_error(capsys)
    assert error.startswith("autogradlib: error: argument --data-dir: ")
    assert SPOILS[how] in error
    assert not (tmp_path / "out").exists()


# --- Whole runs ----------------------------------------------------------------------------------


def assert_every_file_written(out) -> None:
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {"config", "runs", "summary"}
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert "digraph" in (out / "model.gv").read_text()
    if shutil.which("dot"):
        assert "<svg" in (out / "model.svg").read_text()
    assert "0.weight" in load(out / "model.pt")


def test_a_digits_run_learns_and_writes_every_file(tmp_path, capsys):
    arguments = ["--task", "digits", "--epochs", "3", "--repeats", "2", "--quiet"]
    assert cli.main(["train", *arguments, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "(0): Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in printed
    assert "PyTorch loss" in printed and "The median test accuracy" in printed
    assert_every_file_written(tmp_path)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["task"] == "digits"
    for run in results["runs"]:
        assert run["test_accuracy"] > 0.85  # 3 epochs; chance is 0.1
    parameters = load(tmp_path / "model.pt")
    assert parameters["1.running_mean"].shape == (16,)
    assert parameters["9.weight"].shape == (64, 128)


def test_a_resumed_digits_run_ends_exactly_as_an_uninterrupted_one(tmp_path):
    arguments = ["--task", "digits", "--epochs", "4", "--repeats", "1", "--quiet"]
    whole = tmp_path / "whole"
    # Saved after epoch 3 of 4: midway in the cosine schedule, which must resume where it was.
    assert cli.main(["train", *arguments, "--checkpoint-every", "3", "--out", str(whole)]) == 0
    checkpoint = experiment.read_checkpoint(whole / experiment.CHECKPOINT_NAME)[1]
    assert (checkpoint["run"]["index"], checkpoint["run"]["epoch"]) == (0, 3)
    assert checkpoint["run"]["scheduler"]["last_epoch"] == 3
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copy(whole / experiment.CHECKPOINT_NAME, resumed)
    path = resumed / experiment.CHECKPOINT_NAME
    assert cli.main(["train", "--resume", str(path), "--quiet", "--checkpoint-every", "0"]) == 0
    assert run_numbers(resumed) == run_numbers(whole)
    final, expected = load(resumed / "model.pt"), load(whole / "model.pt")
    assert final.keys() == expected.keys()
    assert all(torch.equal(final[name], expected[name]) for name in expected)


def test_mnist_from_idx_files_trains_one_epoch_and_writes_every_file(tmp_path, capsys):
    write_idx_folder(tmp_path / "data", compressed=False)
    arguments = ["--task", "mnist", "--data-dir", str(tmp_path / "data"), "--epochs", "1"]
    out = tmp_path / "out"
    assert cli.main(["train", *arguments, "--repeats", "1", "--quiet", "--out", str(out)]) == 0
    assert "After 1 epochs, 1 repeats:" in capsys.readouterr().out
    assert_every_file_written(out)
    assert load(out / "model.pt")["9.weight"].shape == (64, 32 * 7 * 7)


def test_fashion_mnist_reads_the_same_layout(tmp_path):
    write_idx_folder(tmp_path / "data", train=20, test=10)
    arguments = ["--task", "fashion-mnist", "--data-dir", str(tmp_path / "data"), "--epochs", "1"]
    out = tmp_path / "out"
    assert cli.main(["train", *arguments, "--repeats", "1", "--quiet", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["task"] == "fashion-mnist"
    assert results["config"]["data_dir"] == str(tmp_path / "data")


# --- The benchmark --------------------------------------------------------------------------------


def test_bench_task_digits_times_both_libraries_from_the_same_weights(tmp_path, capsys):
    arguments = ["--task", "digits", "--repeats", "1", "--epochs", "1", "--batch-sizes", "256"]
    assert cli.main(["bench", *arguments, "--no-memory", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "bench.json").read_text())
    (row,) = report["batches"]
    assert row["steps"] == 6  # 1,437 training images in batches of 256
    for library in ("autogradlib", "pytorch"):
        assert row["libraries"][library]["median_seconds"] > 0
    assert "[met] batch 256: float64 final losses agree" in printed
    assert "| 256 | autogradlib |" in (tmp_path / "bench.md").read_text()


def test_bench_digits_memory_probe_reports_kibibytes():
    workload = bench_digits.Workload(batch_size=256, epochs=1)
    assert bench_digits.peak_memory_kib("autogradlib", workload, probes=1) >= 0


def test_bench_batch_sizes_apply_to_digits_only(capsys):
    assert cli.main(["bench", "--batch-sizes", "64", "--no-memory"]) == 2
    assert "--batch-sizes: applies to --task digits only" in one_line_error(capsys)
