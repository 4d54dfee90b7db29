"""Data-parallel training on torch.distributed: every process holds the whole model, takes its slice
of each batch, and the processes average their gradients before each optimizer step.

torch.distributed is the communication engine (gloo between CPU processes, NCCL between GPUs); its
collectives work on plain tensors, which is all our parameters and gradients are. Processes are
started by `torchrun` (one machine or several) or by `autogradlib train --nproc N` (one machine),
which set the same environment variables, read by init_from_env().

Design: PyTorch's DistributedDataParallel hooks into autograd to overlap communication with
backward. Ours is explicit: the training loop calls DataParallel.sync_gradients() after
loss.backward() (or backward_on_batch(), which does both), and it packs every gradient into one
flat buffer per dtype and device (normally one) for a single all_reduce. One call per step is
cheaper than one per parameter (each collective pays a round trip), and with only a few layers
there is little backward left to overlap with once the last gradient is ready.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import socket
import sys
from collections.abc import Callable
from datetime import timedelta

import torch
import torch.distributed as dist

from autogradlib.nn.module import Module

# A process that waits longer than this for the others fails with DistributedError, not a hang.
DEFAULT_TIMEOUT = timedelta(minutes=3)
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
LOCAL_ADDRESS = "127.0.0.1"


class DistributedError(RuntimeError):
    """A process group that could not form, or a collective that failed: another process died,
    stopped responding for longer than the timeout, or never joined."""


# --- The process group ----------------------------------------------------------------------------


def launched_with_env() -> bool:
    """True when torchrun (or `autogradlib train --nproc N`) gave this process a rank."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def default_backend(device: torch.device | str | None = None) -> str:
    """'nccl' when the tensors live on a GPU, 'gloo' for CPU tensors (CUDA if present for None)."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def init_from_env(backend: str | None = None, timeout: timedelta = DEFAULT_TIMEOUT) -> None:
    """Join the process group that torchrun's variables describe (RANK, WORLD_SIZE, LOCAL_RANK,
    MASTER_ADDR, MASTER_PORT); any collective waiting longer than `timeout` then fails."""
    missing = [name for name in TORCHRUN_VARIABLES if name not in os.environ]
    if missing:
        raise DistributedError(
            f"init_from_env: {', '.join(missing)} not set; start the processes with torchrun "
            "or `autogradlib train --nproc N`"
        )
    backend = backend or default_backend()
    if "nccl" in backend:
        # One GPU per process: "cuda" then means this process's GPU, for tensors and for NCCL.
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    try:
        dist.init_process_group(backend, init_method="env://", timeout=timeout)
    except (RuntimeError, ValueError) as error:
        address = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
        raise DistributedError(
            f"rank {os.environ['RANK']}: could not join the {backend} process group at "
            f"{address} within {timeout.total_seconds():g} s: {first_line(error)}"
        ) from error


def shutdown() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    """This process's number among all processes, 0 without a process group."""
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    """How many processes train together, 1 without a process group."""
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main_process() -> bool:
    """True on rank 0, the process that prints, draws and writes files."""
    return rank() == 0


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (torch's run to pages of C++ context)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# --- Splitting the data ---------------------------------------------------------------------------


def shard(rows, part: int | None = None, parts: int | None = None):
    """Rows part*n//parts up to (part+1)*n//parts of `rows` (this rank's, by default): contiguous
    slices whose sizes differ by at most one, which together cover every row once.

    Applied to a data set it is DistributedSampler without padding; applied to each global batch
    it gives N processes exactly the batches one process would see.
    """
    part = rank() if part is None else part
    parts = world_size() if parts is None else parts
    if not 0 <= part < parts:
        raise ValueError(f"shard: part {part} is not in [0, {parts})")
    count = len(rows)
    return rows[count * part // parts : count * (part + 1) // parts]


# --- Collectives on flat buffers ------------------------------------------------------------------


def _run_collective(description: str, collective: Callable, *args) -> None:
    """collective(*args); a failure becomes a DistributedError that says what it means."""
    try:
        collective(*args)
    except RuntimeError as error:
        raise DistributedError(
            f"rank {rank()} of {world_size()}: {description} failed; another process has "
            f"probably died or stopped responding ({first_line(error)})"
        ) from error


def _groups(tensors: list[torch.Tensor]) -> list[list[int]]:
    """Indices of `tensors` grouped by (device, dtype), in first-seen order: one buffer each."""
    groups: dict[tuple, list[int]] = {}
    for index, tensor in enumerate(tensors):
        groups.setdefault((tensor.device, tensor.dtype), []).append(index)
    return list(groups.values())


def broadcast_from_main(tensors: list[torch.Tensor]) -> None:
    """Overwrite each tensor, in place, with rank 0's: one broadcast per dtype and device."""
    if world_size() == 1:
        return
    for indices in _groups(tensors):
        group = [tensors[index] for index in indices]
        flat = torch.cat([tensor.reshape(-1) for tensor in group])
        _run_collective("broadcasting rank 0's parameters", dist.broadcast, flat, 0)
        for tensor, part in zip(group, flat.split([t.numel() for t in group]), strict=True):
            tensor.copy_(part.view_as(tensor))


def all_reduce_gradients(params: list, weight: float) -> None:
    """Set each parameter's grad to the sum over ranks of weight * grad, in one all_reduce per
    dtype and device. A missing grad counts as zeros; a parameter no rank has a grad for keeps None.
    """
    for indices in _groups([param.tensor for param in params]):
        group = [params[index] for index in indices]
        flat = _pack_gradients(group)
        flat[: -len(group)].mul_(weight)
        _run_collective("averaging gradients (all_reduce)", dist.all_reduce, flat)
        *grads, holders = flat.split([param.numel() for param in group] + [len(group)])
        # `holders` counts, for each parameter, the ranks that had a gradient for it.
        for param, grad, count in zip(group, grads, holders.tolist(), strict=True):
            param.grad = grad.view_as(param.tensor) if count > 0 else None


def _pack_gradients(params: list) -> torch.Tensor:
    """Every gradient flattened into one new buffer (zeros where missing), then a 1/0 flag per
    parameter saying whether this rank had its gradient."""
    first = params[0].tensor
    grads = [
        (param.grad if param.grad is not None else torch.zeros_like(param.tensor)).reshape(-1)
        for param in params
    ]
    flags = torch.tensor(
        [param.grad is not None for param in params], dtype=first.dtype, device=first.device
    )
    return torch.cat([*grads, flags])


# --- The wrapper ----------------------------------------------------------------------------------


class DataParallel(Module):
    """`module`, trained by every process on its slice of each batch.

    Construction broadcasts rank 0's parameters and buffers, so every process
    starts identical; sync_gradients() after each backward keeps them identical, since every
    process then applies the same averaged gradient. Calling it runs `module`.
    """

    def __init__(self, module: Module) -> None:
        super().__init__()
        self.module = module
        broadcast_from_main(
            [param.tensor for param in module.parameters()] + list(module.buffers())
        )

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def sync_gradients(self, share: float | None = None) -> None:
        """Replace each gradient by its average over the processes, in one all_reduce.

        `share`, this process's fraction of the global batch, weights its gradient instead, so
        that uneven slices still give the gradient of the whole batch's mean loss.
        """
        if world_size() == 1:
            return
        params = [param for param in self.module.parameters() if param.requires_grad]
        if params:
            all_reduce_gradients(params, 1 / world_size() if share is None else share)

    def backward_on_batch(self, loss_function, inputs, targets) -> None:
        """The gradient of a mean loss over a whole global batch: backward on this process's
        slice, then sync_gradients() weighted by the slice's size (right for reduction='mean')."""
        local_inputs, local_targets = shard(inputs), shard(targets)
        if len(local_inputs):
            loss_function(self(local_inputs), local_targets).backward()
        self.sync_gradients(share=len(local_inputs) / len(inputs))


# --- Starting local processes ---------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOCAL_ADDRESS, 0))
        return probe.getsockname()[1]


def launch_local(worker: Callable[..., int], args: tuple, nproc: int, threads: int | None = None):
    """Run worker(*args) in `nproc` new processes on this machine, with the variables torchrun
    sets; return 0 when all succeed, else the first failure's exit code, having stopped the rest.

    Each process uses `threads` torch threads (default: this machine's cores shared out).
    """
    if threads is None:
        threads = max(1, len(os.sched_getaffinity(0)) // nproc)
    port = free_port()
    # spawn, not fork: a forked child would inherit this process's torch threads and state.
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_worker_main,
            args=(worker, args, local_rank_environment(rank, nproc, port), threads),
            name=f"autogradlib-rank-{rank}",
        )
        for rank in range(nproc)
    ]
    try:
        for process in processes:
            process.start()
        return _wait_for_all(processes)
    finally:
        _stop(processes)


def local_rank_environment(rank: int, nproc: int, port: int) -> dict[str, str]:
    """The variables torchrun sets for process `rank` of `nproc` on this one machine."""
    return {
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "WORLD_SIZE": str(nproc),
        "LOCAL_WORLD_SIZE": str(nproc),
        "MASTER_ADDR": LOCAL_ADDRESS,
        "MASTER_PORT": str(port),
    }


def _worker_main(worker, args: tuple, environment: dict, threads: int) -> None:
    os.environ.update(environment)
    torch.set_num_threads(threads)
    sys.exit(worker(*args))


def _wait_for_all(processes: list) -> int:
    """Wait until every process has ended; at the first failure, report it and return its code."""
    running = list(processes)
    while running:
        multiprocessing.connection.wait([process.sentinel for process in running])
        for process in [process for process in running if not process.is_alive()]:
            running.remove(process)
            process.join()
            if process.exitcode != 0:
                code = process.exitcode if process.exitcode > 0 else 128 - process.exitcode
                rank = processes.index(process)
                print(
                    f"autogradlib: worker rank {rank} of {len(processes)} exited with code "
                    f"{code}; stopping the others",
                    file=sys.stderr,
                )
                return code
    return 0


def _stop(processes: list) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        if process.pid is not None:
            process.join()
