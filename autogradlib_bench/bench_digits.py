"""`autogradlib bench --task digits`: the digits task's LeNet trained in Autogradlib and in PyTorch
eager, side by side.

Both libraries train the same network (tasks.lenet, built once with each library's nn) from the
same initial weights (copied through the state dict), on the same batches (made once, before any
clock starts, by the task's DataLoader), with Adam at lr 3e-3 and a cosine schedule, the same
thread count, in alternating runs; at batch 64 and 256. PyTorch's modules and optimizers appear
here only as the competitor.
"""

import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from autogradlib import experiment, nn, optim, tasks
from autogradlib.files import atomic_write_text
from autogradlib.grad_mode import no_grad
from autogradlib_bench.benchmark import MEMORY_NOISE_KIB, peak_added_kib, probe_peak_memory

BATCH_SIZES = (64, 256)
RATIO_TARGET = 1.0  # issue 12: no slower than PyTorch eager
LIBRARIES = ("autogradlib", "pytorch")


@dataclass
class Workload:
    """What one timed training does."""

    batch_size: int = 64
    epochs: int = 5
    seed: int = 0
    dtype: str = "float32"


def prepare(workload: Workload):
    """The digits train set, each epoch's batches, and both networks holding the same weights."""
    config = experiment.Config(task="digits", dtype=workload.dtype)
    generator = torch.Generator().manual_seed(workload.seed)
    dataset = tasks.digits_dataset(config, generator)
    epochs = [
        list(tasks.data_loader_batches(dataset, workload.batch_size, generator))
        for _ in range(workload.epochs)
    ]
    dtype = getattr(torch, workload.dtype)
    ours = tasks.seeded_lenet(workload.seed, nn, 8, config.hidden).to(dtype)
    theirs = tasks.lenet(torch.nn, 8, config.hidden).to(dtype)
    theirs.load_state_dict({name: tensor.clone() for name, tensor in ours.state_dict().items()})
    return dataset, epochs, {"autogradlib": ours, "pytorch": theirs}


def train_loop(model, optimizer, scheduler, loss_function, epochs) -> None:
    """The training loop, word for word the same for both libraries."""
    for epoch in epochs:
        model.train()
        for inputs, labels in epoch:
            optimizer.zero_grad()
            loss = loss_function(model(inputs), labels)
            loss.backward()
            optimizer.step()
        scheduler.step()


def train(library: str, model, dataset, epochs) -> float:
    """Train `model` with its own library's optimizer, schedule and loss; the final train loss."""
    if library == "pytorch":
        nn_, optim_, no_grad_ = torch.nn, torch.optim, torch.no_grad
    else:
        nn_, optim_, no_grad_ = nn, optim, no_grad
    config = experiment.Config(task="digits")
    optimizer = optim_.Adam(model.parameters(), lr=config.lr)
    scheduler = optim_.lr_scheduler.CosineAnnealingLR(optimizer, T_max=len(epochs))
    loss_function = nn_.CrossEntropyLoss()
    train_loop(model, optimizer, scheduler, loss_function, epochs)
    model.eval()
    with no_grad_():
        return loss_function(model(dataset.train_inputs), dataset.train_labels).item()


def time_training(library: str, prepared) -> tuple[float, float]:
    """(seconds, final train loss) of one training from the shared initial weights."""
    dataset, epochs, models = prepared
    model = models[library]
    initial = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    started = time.perf_counter()
    loss = train(library, model, dataset, epochs)
    seconds = time.perf_counter() - started
    model.load_state_dict(initial)
    return seconds, loss


def compare(workload: Workload, repeats: int) -> dict:
    """Alternate the libraries `repeats` times: times, their pairwise ratios, final losses."""
    prepared = prepare(workload)
    for library in LIBRARIES:  # warm-up: one epoch each
        time_training(library, (prepared[0], prepared[1][:1], prepared[2]))
    times = {library: [] for library in LIBRARIES}
    losses = {}
    for repeat in range(repeats):
        for library in LIBRARIES if repeat % 2 == 0 else reversed(LIBRARIES):
            seconds, losses[library] = time_training(library, prepared)
            times[library].append(seconds)
    steps = sum(len(epoch) for epoch in prepared[1])
    result = {"workload": asdict(workload), "repeats": repeats, "steps": steps, "libraries": {}}
    for library in LIBRARIES:
        pairs = zip(times[library], times["pytorch"], strict=True)
        ratios = [mine / theirs for mine, theirs in pairs]
        result["libraries"][library] = {
            "median_seconds": statistics.median(times[library]),
            "times": times[library],
            "median_ratio": statistics.median(ratios),
            "min_ratio": min(ratios),
            "max_ratio": max(ratios),
            "final_loss": losses[library],
        }
    return result


def float64_agreement(workload: Workload) -> dict:
    """Final train losses of both libraries trained (untimed) in float64 from the same start."""
    prepared = prepare(Workload(**{**asdict(workload), "dtype": "float64"}))
    return {library: time_training(library, prepared)[1] for library in LIBRARIES}


def peak_memory_kib(library: str, workload: Workload, probes: int = 3) -> int:
    return probe_peak_memory("autogradlib_bench.bench_digits", library, workload, probes)


def _memory_probe(library: str, workload_json: str) -> None:
    """Child side of peak_memory_kib: train once, print the peak RSS added (KiB)."""
    torch.set_num_threads(1)
    prepared = prepare(Workload(**json.loads(workload_json)))
    print(
        peak_added_kib(
            lambda: time_training(library, (prepared[0], prepared[1][:1], prepared[2])),
            lambda: time_training(library, prepared),
        )
    )


def format_markdown(report: dict) -> str:
    lines = [
        f"Digits LeNet, Adam + cosine schedule; threads: {report['threads']}; repeats: "
        f"{report['repeats']}; epochs: {report['epochs']}; torch {report['torch_version']}.",
        "",
        "| batch | library | median time | ms per step | ratio to PyTorch (median, min-max) "
        "| final train loss | peak memory added |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["batches"]:
        for library, numbers in row["libraries"].items():
            memory = row["peak_memory_kib"].get(library)
            lines.append(
                f"| {row['workload']['batch_size']} | {library} "
                f"| {numbers['median_seconds']:.3f} s "
                f"| {numbers['median_seconds'] / row['steps'] * 1000:.3f} "
                f"| {numbers['median_ratio']:.3f} ({numbers['min_ratio']:.3f}-"
                f"{numbers['max_ratio']:.3f}) | {numbers['final_loss']:.6f} "
                f"| {'-' if memory is None else f'{memory} KiB'} |"
            )
    lines.append("")
    for row in report["batches"]:
        losses = row["float64_losses"]
        lines.append(
            f"Batch {row['workload']['batch_size']}, trained again in float64 (untimed): final "
            f"train loss {losses['autogradlib']:.12f} (Autogradlib), {losses['pytorch']:.12f} "
            "(PyTorch)."
        )
    return "\n".join(lines)


def target_checks(report: dict) -> list[tuple[str, bool]]:
    """(description, met) for each of the benchmark's targets."""
    checks = []
    for row in report["batches"]:
        batch = row["workload"]["batch_size"]
        ratio = row["libraries"]["autogradlib"]["median_ratio"]
        checks.append((f"batch {batch}: median ratio {ratio:.3f} <= {RATIO_TARGET}", ratio <= 1))
        mine, theirs = row["float64_losses"]["autogradlib"], row["float64_losses"]["pytorch"]
        checks.append(
            (f"batch {batch}: float64 final losses agree ({mine:.12f} vs {theirs:.12f})",
             abs(mine - theirs) <= 1e-9 * abs(theirs))
        )  # fmt: skip
        memory = row["peak_memory_kib"]
        if memory:
            checks.append(
                (f"batch {batch}: peak memory added {memory['autogradlib']} KiB <= PyTorch's "
                 f"{memory['pytorch']} KiB (+{MEMORY_NOISE_KIB} KiB of page noise)",
                 memory["autogradlib"] <= memory["pytorch"] + MEMORY_NOISE_KIB)
            )  # fmt: skip
    return checks


def run(
    repeats: int = 10,
    epochs: int = 5,
    threads: int = 1,
    batch_sizes=BATCH_SIZES,
    memory: bool = True,
    out: Path | None = None,
    progress=print,
) -> dict:
    """The whole benchmark at each batch size; writes bench.json and bench.md into `out`."""
    torch.set_num_threads(threads)
    report = {
        "task": "digits",
        "threads": threads,
        "repeats": repeats,
        "epochs": epochs,
        "torch_version": torch.__version__,
        "batches": [],
    }
    for batch_size in batch_sizes:
        progress(f"digits, batch {batch_size}: {repeats} alternating runs of {epochs} epochs...")
        workload = Workload(batch_size=batch_size, epochs=epochs)
        row = compare(workload, repeats)
        row["float64_losses"] = float64_agreement(workload)
        row["peak_memory_kib"] = (
            {library: peak_memory_kib(library, workload) for library in LIBRARIES} if memory else {}
        )
        report["batches"].append(row)
    if out is not None:
        atomic_write_text(Path(out) / "bench.json", json.dumps(report, indent=1) + "\n")
        atomic_write_text(Path(out) / "bench.md", format_markdown(report) + "\n")
    return report


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "memory":
    _memory_probe(sys.argv[2], sys.argv[3])
