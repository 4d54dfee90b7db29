"""The reference experiment: a 2-25-25-25-2 network learns which points of the unit square lie in
the disk of area 1/2 centred at (0.5, 0.5), repeated over seeds."""

import itertools
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from autogradlib import checkpoint, data, distributed, nn, optim
from autogradlib.errors import CheckpointError
from autogradlib.files import remove_temporaries
from autogradlib.grad_mode import no_grad
from autogradlib.variable import Variable

# The 2018 report's table (median ± std over 20 runs): the bar every default run must clear.
SEED_TABLE = {
    "train_loss": (0.0228, 0.0023),
    "train_accuracy": (0.986, 0.0034),
    "test_loss": (0.0254, 0.0028),
    "test_accuracy": (0.983, 0.0055),
}
METRICS = tuple(SEED_TABLE)


@dataclass
class Config:
    """Everything that decides a run's numbers."""

    epochs: int = 500
    repeats: int = 20
    batch_size: int = 100
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.0
    hidden: int = 25
    train_points: int = 1000
    test_points: int = 1000
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"


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


@dataclass
class Dataset:
    """Standardised inputs, labels and one-hot targets of the train and test sets."""

    train_inputs: torch.Tensor
    train_labels: torch.Tensor
    train_targets: torch.Tensor
    test_inputs: torch.Tensor
    test_labels: torch.Tensor
    test_targets: torch.Tensor


def resolve_device(name: str) -> torch.device:
    """'auto' is CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def xavier_linear(fan_in: int, fan_out: int, generator=None, dtype=None) -> nn.Linear:
    """A Linear layer with the 2018 experiment's initialisation: Xavier-normal weight, zero bias.

    Not nn.Linear's own (torch's kaiming-uniform): the reference table was measured with this one.
    Built on the meta device first, so that nn.Linear's own initialisation draws nothing.
    """
    layer = nn.Linear(fan_in, fan_out, device="meta", dtype=dtype)
    device = generator.device if generator is not None else None
    weight = torch.empty(fan_out, fan_in, dtype=dtype, device=device)
    layer.weight = Variable(nn.init.xavier_normal_(weight, generator=generator))
    layer.bias = Variable(torch.zeros(fan_out, dtype=dtype, device=device))
    return layer


def disk_classifier(sizes, generator=None, dtype=None) -> nn.Sequential:
    """Xavier-normal Linear layers of the given sizes, ReLU between them, Softmax(dim=1) on top."""
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [xavier_linear(fan_in, fan_out, generator, dtype), nn.ReLU()]
    layers[-1] = nn.Softmax(dim=1)
    return nn.Sequential(*layers)


def build_model(config: Config, generator: torch.Generator) -> nn.Sequential:
    """2 -> hidden -> hidden -> hidden -> 2, ReLU between, Softmax(dim=1) on top (the seed's)."""
    width = config.hidden
    return disk_classifier([2, width, width, width, 2], generator, getattr(torch, config.dtype))


def build_optimizer(config: Config, parameters) -> optim.Optimizer:
    if config.optimizer == "sgd":
        return optim.SGD(parameters, lr=config.lr, momentum=config.momentum)
    if config.optimizer == "adam":
        return optim.Adam(parameters, lr=config.lr)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {config.optimizer!r}")


def make_dataset(config: Config, generator: torch.Generator) -> Dataset:
    """Fresh train and test points from `generator`, standardised with the train statistics."""
    dtype = getattr(torch, config.dtype)
    device = resolve_device(config.device)
    train_inputs, train_labels = data.make_disk_dataset(config.train_points, generator, dtype)
    test_inputs, test_labels = data.make_disk_dataset(config.test_points, generator, dtype)
    train_inputs, test_inputs = data.standardize(train_inputs, test_inputs)
    tensors = [
        train_inputs,
        train_labels,
        data.one_hot(train_labels, 2, dtype),
        test_inputs,
        test_labels,
        data.one_hot(test_labels, 2, dtype),
    ]
    return Dataset(*(tensor.to(device) for tensor in tensors))


def start_run(config: Config, index: int) -> tuple[RunState, Dataset]:
    """Repeat `index`: its data, initial weights and shuffling all come from seed + index."""
    generator = torch.Generator().manual_seed(config.seed + index)
    dataset = make_dataset(config, generator)
    model = build_model(config, generator).to(resolve_device(config.device))
    optimizer = build_optimizer(config, model.parameters())
    parallel = distributed.DataParallel(model) if distributed.world_size() > 1 else None
    return RunState(index, model, optimizer, generator, parallel=parallel), dataset


def evaluate(model: nn.Module, inputs, labels, targets, loss_function) -> tuple[float, float]:
    """(loss, accuracy) of `model` on a whole set, recording nothing."""
    with no_grad():
        outputs = model(inputs)
        loss = loss_function(outputs, targets).item()
    accuracy = (outputs.tensor.argmax(1) == labels).double().mean().item()
    return loss, accuracy


def train_epoch(state: RunState, dataset: Dataset, config: Config, loss_function) -> None:
    """One pass over the shuffled training set, then the epoch's metrics on both sets."""
    started = time.perf_counter()
    model, optimizer = state.model, state.optimizer
    model.train()
    for inputs, targets in data.batches(
        dataset.train_inputs, dataset.train_targets, config.batch_size, generator=state.generator
    ):
        optimizer.zero_grad()
        compute_gradients(state, inputs, targets, loss_function)
        optimizer.step()
    if state.scheduler is not None:
        state.scheduler.step()
    model.eval()
    train = evaluate(
        model, dataset.train_inputs, dataset.train_labels, dataset.train_targets, loss_function
    )
    test = evaluate(
        model, dataset.test_inputs, dataset.test_labels, dataset.test_targets, loss_function
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


def format_table(summary: dict) -> str:
    """The seed's table (median ± std), with the 2018 numbers beside ours."""
    lines = [
        f"{'':8}{'loss (median ± std)':>24}{'accuracy (median ± std)':>28}"
        f"{'2018 loss':>20}{'2018 accuracy':>20}",
    ]
    for split in ("train", "test"):
        loss, accuracy = summary[f"{split}_loss"], summary[f"{split}_accuracy"]
        seed_loss, seed_accuracy = SEED_TABLE[f"{split}_loss"], SEED_TABLE[f"{split}_accuracy"]
        lines.append(
            f"{split:8}{loss['median']:>15.4f} ± {loss['std']:.4f}"
            f"{accuracy['median']:>19.4f} ± {accuracy['std']:.4f}"
            f"{seed_loss[0]:>11.4f} ± {seed_loss[1]:.4f}"
            f"{seed_accuracy[0]:>11.3f} ± {seed_accuracy[1]:.4f}"
        )
    return "\n".join(lines)


def beats_seed(summary: dict) -> bool:
    """True when every median is better than the 2018 table's: lower loss, higher accuracy."""
    return all(
        summary[name]["median"] < SEED_TABLE[name][0]
        if name.endswith("loss")
        else summary[name]["median"] > SEED_TABLE[name][0]
        for name in METRICS
    )


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
