"""`autogradlib bench-distributed`: data-parallel training timed with 1, 2, ... local processes.

Each process count trains the same wide network on the same data, from the same weights, in new
gloo processes on 127.0.0.1 with a fixed number of torch threads each; the table gives the median
time per epoch, the speedup over one process and the scaling efficiency T1 / (N * TN).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from autogradlib import data, distributed, experiment, nn, optim
from autogradlib.grad_mode import no_grad

# Enough points to measure the final loss on, without a forward pass over the whole set.
LOSS_POINTS = 10_000


@dataclass
class Workload:
    """What every process count trains: a 2-h-h-2 network, ReLU, Softmax, MSE, plain SGD."""

    hidden: int = 1024
    points: int = 100_000
    batch_size: int = 1000
    epochs: int = 3
    lr: float = 0.1
    seed: int = 0


def build(workload: Workload):
    """(inputs, targets, model, shuffling generator), the same in every process."""
    generator = torch.Generator().manual_seed(workload.seed)
    inputs, labels = data.make_disk_dataset(workload.points, generator)
    (inputs,) = data.standardize(inputs)
    width = workload.hidden
    model = experiment.disk_classifier([2, width, width, 2], generator)
    return inputs, data.one_hot(labels, 2), model, generator


def worker(workload_fields: dict, result_path: str) -> int:
    """One process: train, timing each epoch; rank 0 writes the times and final loss."""
    distributed.init_from_env("gloo")
    workload = Workload(**workload_fields)
    inputs, targets, model, generator = build(workload)
    parallel = distributed.DataParallel(model)
    optimizer = optim.SGD(model.parameters(), lr=workload.lr)
    loss_function = nn.MSELoss()
    epoch_seconds, sync_seconds = [], []
    for _ in range(workload.epochs):
        started, syncing = time.perf_counter(), 0.0
        for batch_inputs, batch_targets in data.batches(
            inputs, targets, workload.batch_size, generator=generator
        ):
            optimizer.zero_grad()
            # backward_on_batch, in its two halves, to time the second.
            local_inputs = distributed.shard(batch_inputs)
            loss_function(parallel(local_inputs), distributed.shard(batch_targets)).backward()
            sync_started = time.perf_counter()
            parallel.sync_gradients(share=len(local_inputs) / len(batch_inputs))
            syncing += time.perf_counter() - sync_started
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - started)
        sync_seconds.append(syncing)
    if distributed.is_main_process():
        with no_grad():
            outputs = model(inputs[:LOSS_POINTS])
            final_loss = loss_function(outputs, targets[:LOSS_POINTS]).item()
        result = {
            "epoch_seconds": epoch_seconds,
            "sync_seconds": sync_seconds,
            "final_loss": final_loss,
        }
        Path(result_path).write_text(json.dumps(result))
    distributed.shutdown()
    return 0


def time_processes(workload: Workload, nproc: int, threads: int) -> dict:
    """Train with `nproc` local processes; rank 0's epoch times and final loss."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "result.json"
        code = distributed.launch_local(worker, (asdict(workload), str(path)), nproc, threads)
        if code != 0:
            raise RuntimeError(f"bench-distributed: the {nproc}-process run failed (code {code})")
        return json.loads(path.read_text())


def run(workload: Workload, process_counts=(1, 2), threads: int = 1, progress=print) -> dict:
    """Time every process count; rows with the median epoch time, speedup and efficiency."""
    rows = []
    for nproc in process_counts:
        progress(f"{nproc} process(es), {threads} thread(s) each, {workload.epochs} epochs...")
        result = time_processes(workload, nproc, threads)
        rows.append({"processes": nproc, **result})
    baseline = rows[0]
    for row in rows:
        row["median_epoch_seconds"] = statistics.median(row["epoch_seconds"])
        row["median_sync_seconds"] = statistics.median(row["sync_seconds"])
        speedup = statistics.median(baseline["epoch_seconds"]) / row["median_epoch_seconds"]
        row["speedup"] = speedup * baseline["processes"]
        row["efficiency"] = row["speedup"] / row["processes"]
    return {
        "workload": asdict(workload),
        "threads": threads,
        "cores": len(os.sched_getaffinity(0)),
        # Other work on the machine takes cores from the processes: say how busy it was.
        "load_average_before": os.getloadavg()[0],
        "torch_version": torch.__version__,
        "rows": rows,
    }


def format_markdown(report: dict) -> str:
    """The report as a Markdown table, with the workload in a line above it."""
    workload = report["workload"]
    lines = [
        f"2-{workload['hidden']}-{workload['hidden']}-2 network, {workload['points']:,} points, "
        f"batch {workload['batch_size']}, {workload['epochs']} epochs; {report['threads']} torch "
        f"thread(s) per process on {report['cores']} cores (load average "
        f"{report['load_average_before']:.2f} before); torch {report['torch_version']}.",
        "",
        "| processes | time per epoch (median) | of which in sync_gradients | speedup "
        f"| scaling efficiency | loss on {min(LOSS_POINTS, workload['points']):,} points |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| {row['processes']} | {row['median_epoch_seconds']:.2f} s "
            f"| {row['median_sync_seconds']:.2f} s | {row['speedup']:.2f}x "
            f"| {row['efficiency']:.0%} | {row['final_loss']:.6f} |"
        )
    return "\n".join(lines)
