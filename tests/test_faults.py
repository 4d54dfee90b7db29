"""Faults in other processes: `kill -9` while a training run saves its checkpoints, and Ctrl-C.
After each, the last checkpoint loads, and resuming it gives the uninterrupted run's final
parameters and numbers exactly.

The killed runs are forked from this process, which has torch imported already: 20 fresh Python
start-ups would cost more than the training they interrupt. They are separate processes all the
same, killed with SIGKILL, which no code can catch or clean up after.
"""

import contextlib
import functools
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import autogradlib
from autogradlib import cli

TRAIN = [
    "train",
    "--epochs", "30",
    "--repeats", "2",
    "--train-points", "200",
    "--test-points", "200",
    "--hidden", "8",
    "--quiet",
]  # fmt: skip
TOTAL_EPOCHS = 60
REPOSITORY = Path(__file__).resolve().parent.parent
MOMENTS_IN_A_SAVE = ("mid-write", "before-fsync", "before-rename", "after-rename")


def train(*arguments) -> int:
    """`autogradlib train` in this process, its printing discarded."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return cli.main([str(argument) for argument in arguments])


def final_numbers(out: Path) -> dict:
    """results.json without the timings, and the final parameters from model.pt."""
    results = json.loads((out / "results.json").read_text())
    for run in results["runs"]:
        del run["seconds"]
    return {"results": results, "model": autogradlib.load(out / "model.pt")}


def assert_same_final_numbers(out: Path, reference: dict) -> None:
    numbers = final_numbers(out)
    assert numbers["results"] == reference["results"]
    assert numbers["model"].keys() == reference["model"].keys()
    for name, tensor in reference["model"].items():
        assert torch.equal(numbers["model"][name], tensor), name


def epochs_saved(out: Path) -> int:
    """How many epochs, over all repeats, the checkpoint in `out` holds; it must load."""
    saved = autogradlib.load(out / "checkpoint.pt")
    assert len(saved["runs"]) == saved["run"]["index"]
    return saved["run"]["index"] * 30 + saved["run"]["epoch"]


def resume(out: Path) -> None:
    """Resume the checkpoint in `out` to the end, writing the final outputs there."""
    checkpoint = out / "checkpoint.pt"
    assert train("train", "--resume", checkpoint, "--quiet", "--checkpoint-every", 0) == 0
    assert not list(out.glob(".checkpoint.pt.*.tmp"))  # the killed saves' leftovers are gone


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The uninterrupted run's numbers, and how long it took (to aim the kills)."""
    out = tmp_path_factory.mktemp("reference")
    started = time.monotonic()
    assert train(*TRAIN, "--out", out, "--checkpoint-every", 1) == 0
    return {**final_numbers(out), "seconds": time.monotonic() - started}


# --- kill -9 -------------------------------------------------------------------------------------


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DieMidWrite:
    """A file that writes half of what it is given, then kills its process."""

    def __init__(self, file) -> None:
        self.file = file

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.file.close()

    def write(self, data: bytes) -> None:
        self.file.write(data[: len(data) // 2])
        self.file.flush()
        die()


def kill_during_save(save_number: int, moment: str) -> None:
    """In a forked child: SIGKILL it at `moment` of its save_number-th atomic write."""
    real_fdopen, real_fsync, real_replace = os.fdopen, os.fsync, os.replace
    saves = 0

    def fdopen(*args, **kwargs):
        nonlocal saves
        saves += 1
        file = real_fdopen(*args, **kwargs)
        return DieMidWrite(file) if saves == save_number and moment == "mid-write" else file

    def fsync(descriptor: int) -> None:
        if saves == save_number and moment == "before-fsync":
            die()
        real_fsync(descriptor)

    def replace(source, target) -> None:
        if saves == save_number and moment == "before-rename":
            die()
        real_replace(source, target)
        if saves == save_number and moment == "after-rename":
            die()

    os.fdopen, os.fsync, os.replace = fdopen, fsync, replace


def fork_training(out: Path, sabotage=None) -> int:
    """Start `autogradlib train ... --checkpoint-every 1` in a forked child; return its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:  # the child must never return into pytest
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        if sabotage is not None:
            sabotage()
        code = cli.main([*TRAIN, "--out", str(out), "--checkpoint-every", "1"])
    finally:
        os._exit(code)


def wait_for(path: Path, pid: int) -> None:
    """Until `path` exists (the child's first checkpoint), or the child has ended."""
    while not path.exists() and not has_ended(pid):
        time.sleep(0.001)


def has_ended(pid: int) -> bool:
    """Whether the child has exited, without collecting its exit status."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def exit_code(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_kill_9_at_random_moments_while_saving_never_costs_more_than_the_epoch(tmp_path, reference):
    rng = random.Random(20)
    # Ten kills from outside at random times, once the first checkpoint is there.
    for number in range(10):
        out = tmp_path / f"timed-{number}"
        pid = fork_training(out)
        wait_for(out / "checkpoint.pt", pid)
        time.sleep(rng.uniform(0, reference["seconds"]))
        os.kill(pid, signal.SIGKILL)
        # Killed, or finished before the timer went off: never failed.
        assert exit_code(pid) in (-signal.SIGKILL, 0)
        assert epochs_saved(out) > 0
        resume(out)
        assert_same_final_numbers(out, reference)
    # Ten kills from inside, at chosen moments of a randomly chosen save.
    for number in range(10):
        out = tmp_path / f"in-save-{number}"
        save_number, moment = rng.randint(2, TOTAL_EPOCHS), MOMENTS_IN_A_SAVE[number % 4]
        pid = fork_training(out, functools.partial(kill_during_save, save_number, moment))
        assert exit_code(pid) == -signal.SIGKILL
        renamed = moment == "after-rename"
        # The previous checkpoint, whole; or the new one, once the rename has happened.
        assert epochs_saved(out) == (save_number if renamed else save_number - 1)
        assert bool(list(out.glob(".checkpoint.pt.*.tmp"))) is not renamed
        resume(out)
        assert_same_final_numbers(out, reference)


# --- Ctrl-C --------------------------------------------------------------------------------------


def test_ctrl_c_saves_exits_130_with_one_line_and_resuming_matches(tmp_path, reference):
    out = tmp_path / "interrupted"
    child = subprocess.Popen(
        [sys.executable, "-m", "autogradlib", *TRAIN, "--out", str(out)],
        env={
            **os.environ,
            "PYTHONPATH": str(REPOSITORY),
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",  # as this process trains, so the numbers are the same
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The model is printed as training starts; no checkpoint is due (none was asked for).
    assert child.stdout.readline().startswith("Sequential(")
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 130
    checkpoint = out / "checkpoint.pt"
    run = autogradlib.load(checkpoint)["run"]
    where = f"after epoch {run['epoch']} of repeat {run['index'] + 1}/2"
    how = f"resume with: autogradlib train --resume {checkpoint}"
    assert stderr.splitlines() == [f"Interrupted: saved {checkpoint} {where}; {how}"]
    assert 0 < epochs_saved(out) < TOTAL_EPOCHS
    assert not (out / "results.json").exists()
    # Options that repeat the checkpoint's configuration are accepted.
    assert train("train", "--resume", checkpoint, "--epochs", 30, "--seed", 0, "--quiet") == 0
    assert_same_final_numbers(out, reference)
