"""The training experiments: a task (the disk of the 2018 report by default, see tasks.py) trained
over repeated seeds, with the table of results, checkpoints and resume."""

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from autogradlib import checkpoint, distributed, nn, optim, tasks
from autogradlib.errors import CheckpointError
from autogradlib.files import remove_temporaries
from autogradlib.grad_mode import no_grad
from autogradlib.tasks import Dataset, disk_classifier, xavier_linear  # noqa: F401 (they lived here)

# The 2018 report's table (median ± std over 20 runs): the bar every default run must clear.
SEED_TABLE = {
    "train_loss": (0.0228, 0.0023),
    "train_accuracy": (0.986, 0.0034),
    "test_loss": (0.0254, 0.0028),
    "test_accuracy": (0.983, 0.0055),
}
METRICS = tuple(SEED_TABLE)
# The digits network, data, split and schedule in PyTorch, median ± std over 20 seeds
# (scripts/digits_pytorch_reference.py).
DIGITS_PYTORCH_TABLE = {
    "train_loss": (0.0025, 0.0003),
    "train_accuracy": (1.0, 0.0),
    "test_loss": (0.0357, 0.0087),
    "test_accuracy": (0.9889, 0.0057),
}
REFERENCES = {"disk": (SEED_TABLE, "2018"), "digits": (DIGITS_PYTORCH_TABLE, "PyTorch")}
SCHEDULES = ("constant", "cosine")
# Options that only some tasks take: a value given to another task is refused, not ignored.
TASK_OPTIONS = {"train_points": ("disk",), "test_points": ("disk",),
                "data_dir": ("mnist", "fashion-mnist")}  # fmt: skip


@dataclass
class Config:
    """Everything that decides a run's numbers; a field left None takes its task's default."""

    epochs: int | None = None
    repeats: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    optimizer: str | None = None
    momentum: float | None = None
    hidden: int | None = None
    train_points: int | None = None
    test_points: int | None = None
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    task: str = "disk"
    schedule: str | None = None  # "constant" or "cosine" (annealed over all the epochs)
    data_dir: str | None = None  # mnist and fashion-mnist: the folder with their IDX files

    def __post_init__(self) -> None:
        if self.task not in tasks.TASKS:
            raise ValueError(f"task must be one of {', '.join(tasks.TASKS)}, got {self.task!r}")
        for name, takers in TASK_OPTIONS.items():
            if getattr(self, name) is not None and self.task not in takers:
                raise ValueError(
                    f"--{name.replace('_', '-')} applies to --task {' and '.join(takers)} only, "
                    f"not {self.task}"
                )
        if self.data_dir is None and "data_dir" in self.task_options():
            raise ValueError(f"--task {self.task} needs --data-dir DIR, the folder of its files")
        for name, value in tasks.TASKS[self.task].defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)

    def task_options(self) -> list[str]:
        """The task-specific options (TASK_OPTIONS) this config's task takes."""
        return [name for name, takers in TASK_OPTIONS.items() if self.task in takers]


@dataclass
class RunState:
    """One repeat in progress: what a checkpoint saves and a resume restores."""

    index: int
    model: nn.Module
    optimizer: optim.Optimizer
    generator: torch.Generator
    epoch: int = 0
    seconds: float = 0.0
    curves: dict = field(default_factory=lambda: {"epoch": [], **{name: [] for name in METRICS}})
    # With several processes: `model` wrapped to split batches and average gradients.
    parallel: distributed.DataParallel | None = None
    # A learning-rate schedule, stepped once per epoch and saved in checkpoints (the disk task has
    # none).
    scheduler: optim.lr_scheduler.LRScheduler | None = None


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build_model(config: Config, generator: torch.Generator) -> nn.Module:
    """The task's network, its weights drawn after the data (for the disk, from `generator`)."""
    return tasks.TASKS[config.task].build_model(config, generator)


def build_optimizer(config: Config, parameters) -> optim.Optimizer:
    if config.optimizer == "sgd":
        return optim.SGD(parameters, lr=config.lr, momentum=config.momentum)
    if config.optimizer == "adam":
        return optim.Adam(parameters, lr=config.lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {config.optimizer!r}")


def build_scheduler(config: Config, optimizer: optim.Optimizer):
    """The learning-rate schedule stepped after each epoch; None for a constant rate."""
    if config.schedule == "constant":
        return None
    if config.schedule == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {config.schedule!r}")


def make_dataset(config: Config, generator: torch.Generator) -> Dataset:
    """The task's train and test sets (for the disk, fresh points from `generator`), on the
    configured device."""
    dataset = tasks.TASKS[config.task].make_dataset(config, generator)
    device = resolve_device(config.device)
    return Dataset(*(tensor.to(device) for tensor in vars(dataset).values()))


def start_run(config: Config, index: int) -> tuple[RunState, Dataset]:
    """Repeat `index`: its data, initial weights and shuffling all come from seed + index."""
    generator = torch.Generator().manual_seed(config.seed + index)
    dataset = make_dataset(config, generator)
    model = build_model(config, generator).to(resolve_device(config.device))
    optimizer = build_optimizer(config, model.parameters())
    parallel = distributed.DataParallel(model) if distributed.world_size() > 1 else None
    state = RunState(index, model, optimizer, generator, parallel=parallel)
    state.scheduler = build_scheduler(config, optimizer)
    return state, dataset


def evaluate(
    model: nn.Module, inputs, labels, targets, loss_function, rows_at_once: int | None = None
) -> tuple[float, float]:
    """(loss, accuracy) of `model` on a whole set, recording nothing; `rows_at_once` rows per
    forward pass (None: all), the loss being a mean over rows."""
    if rows_at_once is None or len(inputs) <= rows_at_once:
        with no_grad():
            outputs = model(inputs)
            loss = loss_function(outputs, targets).item()
        accuracy = (outputs.tensor.argmax(1) == labels).double().mean().item()
        return loss, accuracy
    loss_sum, correct = 0.0, 0
    for start in range(0, len(inputs), rows_at_once):
        rows = slice(start, start + rows_at_once)
        loss, accuracy = evaluate(model, inputs[rows], labels[rows], targets[rows], loss_function)
        count = len(inputs[rows])
        loss_sum, correct = loss_sum + loss * count, correct + round(accuracy * count)
    return loss_sum / len(inputs), correct / len(inputs)


def train_epoch(state: RunState, dataset: Dataset, config: Config, loss_function) -> None:
    """One pass over the shuffled training set, then the epoch's metrics on both sets."""
    started = time.perf_counter()
    task = tasks.TASKS[config.task]
    model, optimizer = state.model, state.optimizer
    model.train()
    for inputs, targets in task.batches(dataset, config.batch_size, state.generator):
        optimizer.zero_grad()
        compute_gradients(state, inputs, targets, loss_function)
        optimizer.step()
    if state.scheduler is not None:
        state.scheduler.step()
    model.eval()
    rows = task.rows_evaluated_at_once
    train = evaluate(
        model,
        dataset.train_inputs,
        dataset.train_labels,
        dataset.train_targets,
        loss_function,
        rows,
    )
    test = evaluate(
        model, dataset.test_inputs, dataset.test_labels, dataset.test_targets, loss_function, rows
    )
    state.epoch += 1
    state.seconds += time.perf_counter() - started
    curves = state.curves
    curves["epoch"].append(state.epoch)
    for name, value in zip(METRICS, (*train, *test), strict=True):
        curves[name].append(value)


def compute_gradients(state: RunState, inputs, targets, loss_function) -> None:
    """The parameters' gradients of the loss on one batch; with several processes, each takes its
    slice of the batch and they average their gradients, giving the whole batch's gradient."""
    if state.parallel is None:
        loss_function(state.model(inputs), targets).backward()
    else:
        state.parallel.backward_on_batch(loss_function, inputs, targets)


def run_result(config: Config, state: RunState) -> dict:
    """A finished repeat as results.json stores it."""
    final = {name: state.curves[name][-1] for name in METRICS}
    return {
        "seed": config.seed + state.index,
        **final,
        "seconds": state.seconds,
        "curves": state.curves,
    }


def summarize(runs: list[dict]) -> dict:
    """Median and standard deviation of each final metric over the runs."""
    summary = {}
    for name in METRICS:
        values = [run[name] for run in runs]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        summary[name] = {"median": statistics.median(values), "std": spread}
    return summary


def format_table(summary: dict, reference: dict | None = SEED_TABLE, label: str = "2018") -> str:
    """The table (median ± std), with a reference's numbers beside ours (the 2018 report's for
    the disk, PyTorch's for the digits); reference None: ours alone."""
    header = f"{'':8}{'loss (median ± std)':>24}{'accuracy (median ± std)':>28}"
    if reference is not None:
        header += f"{label + ' loss':>20}{label + ' accuracy':>20}"
    lines = [header]
    for split in ("train", "test"):
        loss, accuracy = summary[f"{split}_loss"], summary[f"{split}_accuracy"]
        line = (
            f"{split:8}{loss['median']:>15.4f} ± {loss['std']:.4f}"
            f"{accuracy['median']:>19.4f} ± {accuracy['std']:.4f}"
        )
        if reference is not None:
            theirs_loss, theirs_accuracy = (
                reference[f"{split}_loss"],
                reference[f"{split}_accuracy"],
            )
            line += (
                f"{theirs_loss[0]!s:>11} ± {theirs_loss[1]}"
                f"{theirs_accuracy[0]!s:>11} ± {theirs_accuracy[1]}"
            )
        lines.append(line)
    return "\n".join(lines)


def beats_seed(summary: dict) -> bool:
    """True when every median is better than the 2018 table's: lower loss, higher accuracy."""
    return all(
        summary[name]["median"] < SEED_TABLE[name][0]
        if name.endswith("loss")
        else summary[name]["median"] > SEED_TABLE[name][0]
        for name in METRICS
    )


def verdict(task: str, summary: dict) -> str | None:
    """The sentence under the table: how the medians compare with the task's reference."""
    if task == "disk":
        beaten = "beat" if beats_seed(summary) else "do not all beat"
        return f"The four medians {beaten} the 2018 report's (lower loss, higher accuracy)."
    if task == "digits":
        ours, theirs = summary["test_accuracy"]["median"], DIGITS_PYTORCH_TABLE["test_accuracy"][0]
        comparison = "is at least" if ours >= theirs else "is below"
        return (
            f"The median test accuracy, {ours:.4f}, {comparison} PyTorch's {theirs} (the same "
            "network, data, split and schedule, 20 seeds: scripts/digits_pytorch_reference.py)."
        )
    return None


def read_data(config: Config) -> None:
    """Read the files a task trains on, once per process; an idx.DataFileError names a missing
    or malformed one."""
    if config.data_dir is not None:
        tasks.idx_folder(config.data_dir)


# --- Checkpoints ---------------------------------------------------------------------------------

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_KIND = "autogradlib train checkpoint"


def checkpoint_document(config: Config, runs: list[dict], state: RunState, every: int) -> dict:
    """What a checkpoint holds: the config, the finished runs, and the run in progress."""
    document = {
        "kind": CHECKPOINT_KIND,
        "config": asdict(config),
        "checkpoint_every": every,
        "runs": runs,
        "run": {
            "index": state.index,
            "epoch": state.epoch,
            "seconds": state.seconds,
            "curves": state.curves,
            "model": state.model.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "generator": state.generator.get_state(),
        },
    }
    if state.scheduler is not None:
        document["run"]["scheduler"] = state.scheduler.state_dict()
    return document


def read_checkpoint(path) -> tuple[Config, dict]:
    """(config, document) of a checkpoint_document() saved at `path`, or a CheckpointError."""
    document = checkpoint.load(path, map_location="cpu")
    if not isinstance(document, dict) or document.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(
            f"cannot resume from {path}: it is not a checkpoint of `autogradlib train`"
        )
    try:
        return Config(**document["config"]), document
    except TypeError as error:
        raise CheckpointError(
            f"cannot resume from {path}: its config does not fit ({error})"
        ) from None


def resume_run(config: Config, saved: dict) -> tuple[RunState, Dataset]:
    """Repeat saved["index"] as it was saved: its data and model rebuilt from its seed, then the
    weights, optimizer state, learning-rate schedule, random generator, epoch, curves and seconds
    restored."""
    state, dataset = start_run(config, saved["index"])
    state.model.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])
    if state.scheduler is not None:
        state.scheduler.load_state_dict(saved["scheduler"])
    state.generator.set_state(saved["generator"])
    state.epoch, state.seconds, state.curves = saved["epoch"], saved["seconds"], saved["curves"]
    return state, dataset


@dataclass
class Checkpointer:
    """Saves the training progress to `path` every `every` epochs, counted across repeats (0: only
    when asked); `runs` is the list of finished runs the training loop appends to."""

    path: Path
    every: int
    config: Config
    runs: list[dict]
    enabled: bool = True  # False in every process but the one that writes files

    def due(self, state: RunState) -> bool:
        """True when `state` has just finished the last epoch of a period."""
        epochs_done = state.index * self.config.epochs + state.epoch
        return self.every > 0 and epochs_done % self.every == 0

    def save(self, state: RunState) -> None:
        """Write the progress atomically: a crash leaves the previous checkpoint whole."""
        if self.enabled:
            document = checkpoint_document(self.config, self.runs, state, self.every)
            checkpoint.save(document, self.path)

    def remove_leftovers(self) -> None:
        """Delete the partial temporary files of saves that a kill -9 cut short."""
        if self.enabled:
            remove_temporaries(self.path)
