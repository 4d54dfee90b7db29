"""Data-parallel training: gloo processes on 127.0.0.1, started here with torchrun's variables.

Each multi-process test starts fresh Python processes (a few seconds of imports each), so there
are few of them, and each checks several things.
"""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
from distributed_worker import BATCH_SIZE, global_batches, make_model, make_optimizer, make_problem

from autogradlib import Variable, cli, distributed, nn

WORKER = Path(__file__).with_name("distributed_worker.py")
# Far above the workers' 10-second timeout, far below a hang: only a missing timeout breaks it.
FAILURE_BOUND_SECONDS = 60
CLEAR_MESSAGE = "another process has probably died or stopped responding"


def rank_environment(rank: int, world_size: int, port: int) -> dict:
    """This process's environment plus what torchrun would set for `rank`, one torch thread."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in distributed.TORCHRUN_VARIABLES and key != "LOCAL_WORLD_SIZE"
    }
    environment.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS="1",
    )
    return environment


def start_workers(*arguments: str, world_size: int = 2) -> list[subprocess.Popen]:
    """One distributed_worker.py process per rank, all joined through a free local port."""
    port = distributed.free_port()
    return [
        subprocess.Popen(
            [sys.executable, str(WORKER), *arguments],
            env=rank_environment(rank, world_size, port),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(world_size)
    ]


def finish(process: subprocess.Popen, seconds: float = FAILURE_BOUND_SECONDS) -> tuple[int, str]:
    """(exit code, stderr) once `process` ends; kill it if it outlives `seconds`."""
    try:
        _, stderr = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"a worker still ran after {seconds} s: it hung")
    return process.returncode, stderr


# --- Two processes train exactly as one -----------------------------------------------------------


def train_in_one_process() -> dict:
    """The worker's problem trained on whole batches, starting from rank 0's weights."""
    model = make_model(seed=100)
    optimizer = make_optimizer(model)
    loss_function = nn.MSELoss()
    _, _, generator = make_problem()
    for inputs, targets in global_batches(generator):
        optimizer.zero_grad()
        loss_function(model(inputs), targets).backward()
        optimizer.step()
    return model.state_dict()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> list[dict]:
    """What each of two "train" workers saved: its parameters and its sync_gradients probe."""
    out = tmp_path_factory.mktemp("two-ranks") / "result"
    for process in start_workers("train", str(out)):
        code, stderr = finish(process)
        assert code == 0, stderr
    return [torch.load(f"{out}.{rank}") for rank in range(2)]


def test_two_processes_on_half_batches_train_exactly_as_one_process(two_ranks):
    assert two_ranks[0]["world_size"] == two_ranks[1]["world_size"] == 2
    expected = train_in_one_process()
    untrained = make_model(seed=100).state_dict()
    for name, tensor in expected.items():
        # Identical on both ranks, bit for bit: every rank applied the same averaged gradient.
        assert torch.equal(two_ranks[0]["parameters"][name], two_ranks[1]["parameters"][name])
        torch.testing.assert_close(two_ranks[0]["parameters"][name], tensor, rtol=0, atol=1e-10)
        assert not torch.allclose(tensor, untrained[name]), f"{name} never moved"
    assert BATCH_SIZE % 2 == 1  # so the shares were uneven, and the weighting mattered


def test_sync_gradients_averages_and_counts_missing_gradients_as_zeros(two_ranks):
    for result in two_ranks:
        probe = result["sync_probe"]
        # Rank r's gradient was r + 1 everywhere: the average is 1.5.
        assert probe["both"].tolist() == [1.5, 1.5]
        # Only rank 0 had one ([4, 8]); rank 1 counts as zeros, so half of it on both ranks.
        assert probe["only_rank0"].tolist() == [2.0, 4.0]
        # No rank had one: None everywhere, so optimizers skip it on every rank alike.
        assert probe["nobody"] is None


# --- A dead or stalled rank ends the others with a clear error ------------------------------------


@pytest.mark.parametrize("dying_rank", [0, 1])
def test_a_rank_that_dies_mid_run_makes_the_other_fail_clearly(dying_rank):
    started = time.monotonic()
    workers = start_workers("die", str(dying_rank))
    survivor = workers[1 - dying_rank]
    code, stderr = finish(survivor)
    elapsed = time.monotonic() - started
    assert finish(workers[dying_rank])[0] == 3
    assert code != 0
    assert elapsed < FAILURE_BOUND_SECONDS
    assert "DistributedError" in stderr and CLEAR_MESSAGE in stderr, stderr


def test_a_rank_that_stops_responding_makes_the_other_time_out():
    started = time.monotonic()
    workers = start_workers("stall", "1")
    try:
        code, stderr = finish(workers[0])
        elapsed = time.monotonic() - started
    finally:
        workers[1].kill()
        workers[1].communicate()
    assert code != 0
    assert elapsed < FAILURE_BOUND_SECONDS
    assert CLEAR_MESSAGE in stderr and "Timed out" in stderr, stderr


# --- The command line: --nproc and torchrun -------------------------------------------------------

TRAIN_ARGUMENTS = ["--epochs", "3", "--repeats", "1", "--dtype", "float64", "--quiet"]


def train_in_subprocess(command: list, out: Path) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in distributed.TORCHRUN_VARIABLES
    }
    return subprocess.run(
        [*command, *TRAIN_ARGUMENTS, "--out", str(out)],
        env={**environment, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_same_results(one_process: Path, two_processes: Path) -> None:
    """The same curves, to float64 rounding; the config says how many processes ran."""
    expected = json.loads((one_process / "results.json").read_text())
    actual = json.loads((two_processes / "results.json").read_text())
    assert expected["config"]["world_size"] == 1 and actual["config"]["world_size"] == 2
    for name, values in expected["runs"][0]["curves"].items():
        assert actual["runs"][0]["curves"][name] == pytest.approx(values, abs=1e-9), name


@pytest.fixture(scope="module")
def one_process_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nproc1")
    assert cli.main(["train", *TRAIN_ARGUMENTS, "--out", str(out)]) == 0
    return out


def test_train_nproc_2_matches_one_process_and_only_rank_0_prints(one_process_run, tmp_path):
    out = tmp_path / "nproc2"
    command = [sys.executable, "-m", "autogradlib", "train", "--nproc", "2"]
    result = train_in_subprocess(command, out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Sequential(") == 1
    assert result.stdout.count("After 3 epochs") == 1
    assert result.stdout.count("Wrote ") == 1
    assert sorted(path.name for path in out.iterdir()) == sorted(
        path.name for path in one_process_run.iterdir()
    )
    assert_same_results(one_process_run, out)


def test_train_runs_unchanged_under_torchrun(one_process_run, tmp_path):
    out = tmp_path / "torchrun"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command = [*torchrun, "--nproc_per_node", "2", "-m", "autogradlib", "train"]
    result = train_in_subprocess(command, out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Wrote ") == 1
    assert_same_results(one_process_run, out)


def test_nproc_under_torchrun_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert cli.main(["train", "--nproc", "2"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--nproc_per_node" in error


def test_a_failing_worker_stops_the_launch_with_its_exit_code(capsys):
    started = time.monotonic()
    assert distributed.launch_local(os._exit, (4,), nproc=2) == 4
    assert time.monotonic() - started < FAILURE_BOUND_SECONDS
    assert "exited with code 4" in capsys.readouterr().err


# --- One process: the helpers are no-ops ----------------------------------------------------------


def test_without_a_process_group_this_is_rank_0_of_1():
    assert distributed.rank() == 0 and distributed.world_size() == 1
    assert distributed.is_main_process()


def test_init_from_env_names_the_missing_variables(monkeypatch):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(distributed.DistributedError) as error:
        distributed.init_from_env(timeout=timedelta(seconds=1))
    assert "WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT not set" in str(error.value)


def test_init_from_env_fails_clearly_when_the_others_never_join(monkeypatch):
    environment = rank_environment(0, 2, distributed.free_port())
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.setenv(name, environment[name])
    started = time.monotonic()
    with pytest.raises(distributed.DistributedError, match="could not join the gloo process group"):
        distributed.init_from_env("gloo", timeout=timedelta(seconds=2))
    assert time.monotonic() - started < FAILURE_BOUND_SECONDS
    assert distributed.world_size() == 1


def test_data_parallel_alone_is_the_module_with_torch_ddp_names():
    model = make_model(seed=1)
    parallel = distributed.DataParallel(model)
    assert [name for name, _ in parallel.named_parameters()][:2] == [
        "module.0.weight",
        "module.0.bias",
    ]
    inputs = torch.randn(4, 2, dtype=torch.float64)
    assert torch.equal(parallel(inputs).tensor, model(inputs).tensor)
    model.zero_grad()
    nn.MSELoss()(parallel(inputs), torch.zeros(4, 2, dtype=torch.float64)).backward()
    before = [param.grad for param in model.parameters()]
    parallel.sync_gradients()
    assert all(param.grad is grad for param, grad in zip(model.parameters(), before, strict=True))


def test_data_parallel_alone_backward_on_batch_is_plain_backward():
    inputs, targets, _ = make_problem()
    ours, reference = make_model(seed=2), make_model(seed=2)
    distributed.DataParallel(ours).backward_on_batch(nn.MSELoss(), inputs, targets)
    nn.MSELoss()(reference(inputs), targets).backward()
    for mine, theirs in zip(ours.parameters(), reference.parameters(), strict=True):
        assert torch.equal(mine.grad, theirs.grad)


@pytest.mark.parametrize(("rows", "parts"), [(10, 2), (21, 2), (7, 3), (2, 4), (0, 3)])
def test_shards_cover_every_row_once_with_sizes_differing_by_at_most_one(rows, parts):
    data = torch.arange(rows)
    pieces = [distributed.shard(data, part, parts) for part in range(parts)]
    assert torch.equal(torch.cat(pieces), data)
    sizes = [len(piece) for piece in pieces]
    assert max(sizes) - min(sizes) <= 1


def test_shard_of_a_variable_and_a_bad_part():
    variable = Variable(torch.arange(6.0))
    assert distributed.shard(variable, 1, 2).tolist() == [3.0, 4.0, 5.0]
    assert distributed.shard(variable).tolist() == variable.tolist()
    with pytest.raises(ValueError, match="part 2 is not in"):
        distributed.shard(variable, 2, 2)
