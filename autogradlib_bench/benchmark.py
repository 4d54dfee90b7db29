"""`autogradlib bench`: the reference training timed in Autogradlib and PyTorch eager, side by side.

Both libraries train the same 2-h-h-h-2 network (ReLU, Softmax, MSE, plain SGD) from the same
initial weights, on the same data in the same order, with the same thread count, in alternating
runs. A third column, the floor, runs Autogradlib's own operators' forward and pass_grad by hand,
with no Variables, no graph and no engine: what remains between it and Autogradlib is bookkeeping.
PyTorch's modules and optimizers appear here only as the competitor.
"""

import copy
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from autogradlib import data, experiment, jit, nn, operators, optim
from autogradlib.files import atomic_write_text
from autogradlib.grad_mode import no_grad

REGIMES = (("full batch", 1000), ("mini-batch", 100))
# Issue 4's targets: the median of pairwise ratios Autogradlib / PyTorch eager, one thread each.
RATIO_TARGETS = {"full batch": 0.65, "mini-batch": 0.40}
JIT_RATIO_TARGETS = {"full batch": 0.35, "mini-batch": 0.25}  # issue 13's
WIDE_LAYERS = (256, 1024)  # where Autogradlib must be no slower than PyTorch
# Resident memory moves in 4 KiB pages and allocator arenas: a few pages either way is noise.
MEMORY_NOISE_KIB = 64
WARM_UP_EPOCHS = 3  # before a memory probe: the jit records on its 2nd step, replays from its 3rd
SCALING_WIDTHS = (25, 256, 1024)
SCALING_BATCHES = (100, 1000, 10000)
LEARNING_RATE = 0.1


@dataclass
class Workload:
    """What one timed training does."""

    hidden: int = 25
    batch_size: int = 100
    points: int = 1000
    epochs: int = 500
    seed: int = 0


def make_data(workload: Workload):
    """Standardised disk points, one-hot targets, and each epoch's batches in a shuffled order.

    The batches are made before any clock starts: shuffling is the same torch indexing for both
    libraries (about 50 us an epoch here), and timing it would only dilute the ratio.
    """
    generator = torch.Generator().manual_seed(workload.seed)
    inputs, labels = data.make_disk_dataset(workload.points, generator)
    (inputs,) = data.standardize(inputs)
    targets = data.one_hot(labels, 2)
    orders = [torch.randperm(workload.points, generator=generator) for _ in range(workload.epochs)]
    epochs = [epoch_batches(inputs, targets, order, workload.batch_size) for order in orders]
    return inputs, targets, epochs


def build_models(workload: Workload):
    """An Autogradlib network and the equivalent torch.nn one, holding the same weights."""
    width = workload.hidden
    generator = torch.Generator().manual_seed(workload.seed + 1)
    ours = experiment.disk_classifier([2, width, width, width, 2], generator)
    theirs = torch.nn.Sequential(*(torch_equivalent(layer) for layer in ours))
    theirs.load_state_dict({name: tensor.clone() for name, tensor in ours.state_dict().items()})
    return ours, theirs


def torch_equivalent(layer: nn.Module) -> torch.nn.Module:
    """The torch.nn layer that computes what `layer` does (weights are copied separately)."""
    if isinstance(layer, nn.Linear):
        return torch.nn.Linear(layer.in_features, layer.out_features, layer.bias is not None)
    if isinstance(layer, nn.Softmax):
        return torch.nn.Softmax(dim=layer.dim)
    return torch.nn.ReLU()


def epoch_batches(inputs, targets, order, batch_size) -> list:
    """One epoch's (inputs, targets) batches in the given order: the same work for every library."""
    return list(zip(inputs[order].split(batch_size), targets[order].split(batch_size), strict=True))


def train_loop(model, optimizer, loss_function, epochs) -> None:
    """The training loop, word for word the same for both libraries."""
    for epoch in epochs:
        for batch_inputs, batch_targets in epoch:
            optimizer.zero_grad()
            loss = loss_function(model(batch_inputs), batch_targets)
            loss.backward()
            optimizer.step()


def train_autogradlib(model, inputs, targets, epochs) -> float:
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_function = nn.MSELoss()
    train_loop(model, optimizer, loss_function, epochs)
    with no_grad():
        return loss_function(model(inputs), targets).item()


def train_jit(model, inputs, targets, epochs) -> float:
    """The same loop with its step under autogradlib.jit; the recording time is kept apart."""
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_function = nn.MSELoss()

    @jit
    def step(batch_inputs, batch_targets):
        optimizer.zero_grad()
        loss = loss_function(model(batch_inputs), batch_targets)
        loss.backward()
        optimizer.step()

    for epoch in epochs:
        for batch_inputs, batch_targets in epoch:
            step(batch_inputs, batch_targets)
    RECORDING_SECONDS.append(step.recording_seconds)
    with no_grad():
        return loss_function(model(inputs), targets).item()


def train_pytorch(model, inputs, targets, epochs) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_function = torch.nn.MSELoss()
    train_loop(model, optimizer, loss_function, epochs)
    with torch.no_grad():
        return loss_function(model(inputs), targets).item()


def new_operator(kind, *needs_input_grad):
    """An operator instance used by hand, outside any graph."""
    operator = kind.__new__(kind)
    operator.needs_input_grad = needs_input_grad
    return operator


def floor_parameters(model) -> tuple[list, list]:
    """The model's (weight, bias) tensors by layer, and its tensors in the floor's update order."""
    weights = [
        (layer.weight.tensor, layer.bias.tensor) for layer in model if hasattr(layer, "weight")
    ]
    return weights, [tensor for pair in reversed(weights) for tensor in pair]


def floor_forward(weights, inputs) -> tuple[list, torch.Tensor]:
    """Linear, ReLU, ..., Linear, Softmax by hand, as a Sequential's chain runs them: the
    operators used, and the output."""
    layers, hidden, last = [], inputs, len(weights) - 1
    for index, (weight, bias) in enumerate(weights):
        linear = new_operator(operators.Linear, index > 0, True, True)
        hidden = linear.forward(hidden, weight, bias, contiguous=False)  # as inside a chain
        if index == last:
            activation = new_operator(operators.Softmax, True)
            hidden = activation.forward(hidden, 1)
        else:
            activation = new_operator(operators.ReLU, True)
            hidden = activation.forward(hidden)
        layers.append((linear, activation))
    return layers, hidden


def floor_loss(outputs, targets):
    """The MSE loss by hand: its operator and its value."""
    loss_operator = new_operator(operators.MSELoss, True, False)
    return loss_operator, loss_operator.forward(outputs, targets)


def floor_backward(layers, loss_operator, loss) -> list:
    """Every pass_grad by hand, last layer first: the gradients in floor_parameters' order."""
    grad = loss_operator.pass_grad(torch.ones_like(loss))[0]
    grads = []
    for linear, activation in reversed(layers):
        grad_input, grad_weight, grad_bias = linear.pass_grad(activation.pass_grad(grad)[0])
        grads += [grad_weight, grad_bias]
        grad = grad_input
    return grads


def train_floor(model, inputs, targets, epochs) -> float:
    """The same tensor work as train_autogradlib, calling the operators directly: no bookkeeping."""
    weights, parameters = floor_parameters(model)
    for epoch in epochs:
        for batch_inputs, batch_targets in epoch:
            layers, outputs = floor_forward(weights, batch_inputs)
            loss_operator, loss = floor_loss(outputs, batch_targets)
            grads = floor_backward(layers, loss_operator, loss)
            torch._foreach_add_(parameters, grads, alpha=-LEARNING_RATE)
    with no_grad():
        return nn.MSELoss()(model(inputs), targets).item()


TRAINERS = {
    "autogradlib": train_autogradlib,
    "jit": train_jit,
    "pytorch": train_pytorch,
    "floor": train_floor,
}
RECORDING_SECONDS: list[float] = []  # each jit training's recording time, counted in its time too


def time_training(library: str, workload: Workload, prepared) -> tuple[float, float]:
    """(seconds, final full-data loss) of one training from the shared initial weights."""
    inputs, targets, epochs, ours, theirs = prepared
    model = theirs if library == "pytorch" else ours
    initial = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    started = time.perf_counter()
    loss = TRAINERS[library](model, inputs, targets, epochs)
    seconds = time.perf_counter() - started
    model.load_state_dict(initial)
    return seconds, loss


def prepare(workload: Workload):
    inputs, targets, epochs = make_data(workload)
    ours, theirs = build_models(workload)
    return inputs, targets, epochs, ours, theirs


def float64_agreement(workload: Workload) -> dict:
    """Final losses of both libraries trained (untimed) in float64 from the same start: in
    float32, rounding differences grow over thousands of steps; in float64 they must not."""
    inputs, targets, epochs, ours, theirs = prepare(workload)
    ours.to(torch.float64)
    theirs.to(torch.float64)
    inputs, targets = inputs.double(), targets.double()
    epochs = [[(batch.double(), labels.double()) for batch, labels in epoch] for epoch in epochs]
    jitted = copy.deepcopy(ours)
    return {
        "autogradlib": train_autogradlib(ours, inputs, targets, epochs),
        "jit": train_jit(jitted, inputs, targets, epochs),
        "pytorch": train_pytorch(theirs, inputs, targets, epochs),
    }


def compare(workload: Workload, repeats: int, libraries=("autogradlib", "pytorch")) -> dict:
    """Alternate the libraries `repeats` times; times, their pairwise ratios and final losses."""
    prepared = prepare(workload)
    warm_up = Workload(**{**asdict(workload), "epochs": 1})
    for library in libraries:
        time_training(library, warm_up, (*prepared[:2], prepared[2][:1], *prepared[3:]))
    times = {library: [] for library in libraries}
    losses = {}
    for repeat in range(repeats):
        order = libraries if repeat % 2 == 0 else tuple(reversed(libraries))
        for library in order:
            seconds, loss = time_training(library, workload, prepared)
            times[library].append(seconds)
            losses[library] = loss
    reference = times["pytorch"]
    result = {"workload": asdict(workload), "repeats": repeats, "libraries": {}}
    for library in libraries:
        ratios = [mine / theirs for mine, theirs in zip(times[library], reference, strict=True)]
        result["libraries"][library] = {
            "mean_seconds": statistics.mean(times[library]),
            "median_seconds": statistics.median(times[library]),
            "times": times[library],
            "median_ratio": statistics.median(ratios),
            "min_ratio": min(ratios),
            "max_ratio": max(ratios),
            "final_loss": losses[library],
        }
    return result


def peak_memory_kib(library: str, workload: Workload, probes: int = 3) -> int:
    return probe_peak_memory("autogradlib_bench.benchmark", library, workload, probes)


def probe_peak_memory(module: str, library: str, workload, probes: int = 3) -> int:
    """Peak resident memory a training adds over its process's baseline: the median of `probes`
    fresh processes (`python -m module memory library workload`), since a single reading moves by
    a few 4 KiB pages."""
    command = [sys.executable, "-m", module, "memory", library, json.dumps(asdict(workload))]
    readings = [
        int(subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[-1])
        for _ in range(probes)
    ]
    return int(statistics.median(readings))


def peak_added_kib(warm_up: Callable[[], object], train: Callable[[], object]) -> int:
    """The peak resident memory `train()` adds, after `warm_up()` has run the same code once."""
    warm_up()
    # Writing 5 to clear_refs resets the peak (VmHWM) to the current RSS, so the peak read after
    # training is the training's own, not the import's or the warm-up's.
    Path("/proc/self/clear_refs").write_text("5")
    baseline = _status_kib("VmRSS")
    train()
    return _status_kib("VmHWM") - baseline


def _memory_probe(library: str, workload_json: str) -> None:
    """Child side of peak_memory_kib: train once, print the peak RSS added (KiB)."""
    torch.set_num_threads(1)
    workload = Workload(**json.loads(workload_json))
    prepared = prepare(workload)
    # At least three steps (see WARM_UP_EPOCHS): the jit's code has then run before the peak is
    # reset, as eager's has after one step.
    warm_up = Workload(**{**asdict(workload), "epochs": WARM_UP_EPOCHS})
    warm_up_data = (*prepared[:2], prepared[2][:WARM_UP_EPOCHS], *prepared[3:])
    print(
        peak_added_kib(
            lambda: time_training(library, warm_up, warm_up_data),
            lambda: time_training(library, workload, prepared),
        )
    )


def _status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def scaling_row(hidden: int, batch_size: int, repeats: int, target_seconds: float) -> dict:
    """Milliseconds per step at one width and batch size, for all three columns."""
    probe = Workload(hidden=hidden, batch_size=batch_size, points=batch_size, epochs=1)
    prepared = prepare(probe)
    step_seconds, _ = time_training("pytorch", probe, prepared)
    steps = max(3, min(300, int(target_seconds / max(step_seconds, 1e-6))))
    workload = Workload(hidden=hidden, batch_size=batch_size, points=batch_size, epochs=steps)
    result = compare(workload, repeats, ("autogradlib", "pytorch", "floor"))
    row = {"hidden": hidden, "batch_size": batch_size, "steps": steps}
    for library, numbers in result["libraries"].items():
        row[f"{library}_ms"] = numbers["median_seconds"] / steps * 1000
        row[f"{library}_ratio"] = numbers["median_ratio"]
    return row


def format_markdown(report: dict) -> str:
    lines = [
        f"Threads: {report['threads']}; repeats: {report['repeats']}; epochs: {report['epochs']}; "
        f"torch {report['torch_version']}.",
        "",
        "| regime | library | mean time | median time | ratio to PyTorch (median, min-max) "
        "| final loss | peak memory added |",
        "|---|---|---|---|---|---|---|",
    ]
    for regime in report["regimes"]:
        for library, numbers in regime["libraries"].items():
            memory = regime["peak_memory_kib"].get(library)
            lines.append(
                f"| {regime['name']} (batch {regime['workload']['batch_size']}) | {library} "
                f"| {numbers['mean_seconds']:.3f} s | {numbers['median_seconds']:.3f} s "
                f"| {numbers['median_ratio']:.3f} ({numbers['min_ratio']:.3f}-"
                f"{numbers['max_ratio']:.3f}) | {numbers['final_loss']:.6f} "
                f"| {'-' if memory is None else f'{memory} KiB'} |"
            )
    lines.append("")
    for regime in report["regimes"]:
        if "jit_recording_seconds" in regime:
            lines.append(
                f"{regime['name']}: the jit's recording took "
                f"{regime['jit_recording_seconds']:.4f} s "
                "of each jit training (median; included in its time)."
            )
        losses = regime["float64_losses"]
        lines.append(
            f"{regime['name']}, trained again in float64 (untimed): final loss "
            f"{losses['autogradlib']:.12f} (Autogradlib), {losses['pytorch']:.12f} (PyTorch)"
            + (f", {losses['jit']:.12f} (jit)." if "jit" in losses else ".")
        )
    if report["scaling"]:
        lines += [
            "",
            "Scaling (milliseconds per training step; ratios are to PyTorch eager):",
            "",
            "| width | batch | Autogradlib | PyTorch | floor | Autogradlib / PyTorch "
            "| floor / PyTorch |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in report["scaling"]:
            lines.append(
                f"| {row['hidden']} | {row['batch_size']} | {row['autogradlib_ms']:.3f} "
                f"| {row['pytorch_ms']:.3f} | {row['floor_ms']:.3f} "
                f"| {row['autogradlib_ratio']:.3f} | {row['floor_ratio']:.3f} |"
            )
    return "\n".join(lines)


def target_checks(report: dict) -> list[tuple[str, bool]]:
    """(description, met) for each of the benchmark's targets."""
    checks = []
    for regime in report["regimes"]:
        ours = regime["libraries"]["autogradlib"]
        target = RATIO_TARGETS[regime["name"]]
        checks.append(
            (f"{regime['name']}: median ratio {ours['median_ratio']:.3f} <= {target}",
             ours["median_ratio"] <= target)
        )  # fmt: skip
        jitted = regime["libraries"].get("jit")
        if jitted is not None:
            target = JIT_RATIO_TARGETS[regime["name"]]
            checks.append(
                (f"{regime['name']}: jit median ratio {jitted['median_ratio']:.3f} <= {target}",
                 jitted["median_ratio"] <= target)
            )  # fmt: skip
        losses = regime["float64_losses"]
        if "jit" in losses:
            checks.append(
                (f"{regime['name']}: float64 final loss of the jit equals eager's to 1e-10 "
                 f"({losses['jit']:.12f} vs {losses['autogradlib']:.12f})",
                 abs(losses["jit"] - losses["autogradlib"]) <= 1e-10)
            )  # fmt: skip
        mine, theirs = losses["autogradlib"], losses["pytorch"]
        checks.append(
            (f"{regime['name']}: float64 final losses agree ({mine:.12f} vs {theirs:.12f})",
             abs(mine - theirs) <= 1e-9 * abs(theirs))
        )  # fmt: skip
        memory = regime["peak_memory_kib"]
        if memory:
            checks.append(
                (f"{regime['name']}: peak memory added {memory['autogradlib']} KiB <= "
                 f"PyTorch's {memory['pytorch']} KiB (+{MEMORY_NOISE_KIB} KiB of page noise)",
                 memory["autogradlib"] <= memory["pytorch"] + MEMORY_NOISE_KIB)
            )  # fmt: skip
        if "jit" in memory:
            checks.append(
                (f"{regime['name']}: jit peak memory added {memory['jit']} KiB <= eager's "
                 f"{memory['autogradlib']} KiB (+{MEMORY_NOISE_KIB} KiB of page noise)",
                 memory["jit"] <= memory["autogradlib"] + MEMORY_NOISE_KIB)
            )  # fmt: skip
    for row in report["scaling"]:
        if row["hidden"] in WIDE_LAYERS:
            checks.append(
                (f"width {row['hidden']}, batch {row['batch_size']}: ratio "
                 f"{row['autogradlib_ratio']:.3f} <= 1", row["autogradlib_ratio"] <= 1.0)
            )  # fmt: skip
    return checks


def run(
    repeats: int = 10,
    epochs: int = 500,
    threads: int = 1,
    scaling: bool = True,
    scaling_repeats: int = 3,
    scaling_seconds: float = 1.0,
    memory: bool = True,
    out: Path | None = None,
    progress=print,
) -> dict:
    """The whole benchmark: both regimes, then the scaling table; writes bench.json and bench.md."""
    torch.set_num_threads(threads)
    report = {
        "threads": threads,
        "repeats": repeats,
        "epochs": epochs,
        "torch_version": torch.__version__,
        "regimes": [],
        "scaling": [],
    }
    for name, batch_size in REGIMES:
        progress(f"{name}: {repeats} alternating runs of {epochs} epochs...")
        workload = Workload(batch_size=batch_size, epochs=epochs)
        RECORDING_SECONDS.clear()
        libraries = ("autogradlib", "jit", "pytorch", "floor")
        regime = {"name": name, **compare(workload, repeats, libraries)}
        regime["jit_recording_seconds"] = statistics.median(RECORDING_SECONDS)
        regime["float64_losses"] = float64_agreement(workload)
        regime["peak_memory_kib"] = (
            {
                library: peak_memory_kib(library, workload)
                for library in ("autogradlib", "jit", "pytorch")
            }
            if memory
            else {}
        )
        report["regimes"].append(regime)
    if scaling:
        for hidden in SCALING_WIDTHS:
            for batch_size in SCALING_BATCHES:
                progress(f"scaling: width {hidden}, batch {batch_size}...")
                report["scaling"].append(
                    scaling_row(hidden, batch_size, scaling_repeats, scaling_seconds)
                )
    markdown = format_markdown(report)
    if out is not None:
        atomic_write_text(Path(out) / "bench.json", json.dumps(report, indent=1) + "\n")
        atomic_write_text(Path(out) / "bench.md", markdown + "\n")
    return report


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "memory":
    _memory_probe(sys.argv[2], sys.argv[3])
