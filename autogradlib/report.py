"""What a training run leaves behind: results.json, model.pt, curves.png and the network's graph."""

import io
import json
import math
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt
import torch

from autogradlib import checkpoint
from autogradlib.files import atomic_write_bytes, atomic_write_text

SPLITS = (("train", "tab:blue"), ("test", "tab:orange"))


def write_results(directory: Path, config: dict, runs: list, summary: dict) -> Path:
    """results.json: the configuration, every run with its curves, and the summary."""
    path = Path(directory) / "results.json"
    document = {"config": config, "runs": runs, "summary": summary}
    # Strict JSON has no NaN or Infinity: a diverged run's losses are written as null.
    atomic_write_text(path, json.dumps(finite_or_null(document), indent=1, allow_nan=False) + "\n")
    return path


def finite_or_null(value):
    """`value` with every non-finite float inside it replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(item) for item in value]
    return value


def write_model(directory: Path, model) -> Path:
    """model.pt: the last repeat's final parameters, a state dict that autogradlib.load() reads."""
    path = Path(directory) / "model.pt"
    checkpoint.save(model.state_dict(), path)
    return path


def write_curves(directory: Path, runs: list, loss_label: str = "MSE loss") -> Path:
    """curves.png: loss and accuracy per epoch, train and test, median and interquartile band."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = runs[0]["curves"]["epoch"]
    panels = (("loss", loss_label), ("accuracy", "accuracy"))
    for axis, (metric, title) in zip(axes, panels, strict=True):
        for split, color in SPLITS:
            values = torch.tensor([run["curves"][f"{split}_{metric}"] for run in runs])
            low, median, high = torch.quantile(values, torch.tensor([0.25, 0.5, 0.75]), dim=0)
            axis.plot(epochs, median, color=color, label=f"{split} (median of {len(runs)})")
            axis.fill_between(epochs, low, high, color=color, alpha=0.25, linewidth=0)
        axis.set_xlabel("epoch")
        axis.set_title(f"{title} (band: quartiles over repeats)")
        axis.grid(alpha=0.3)
        axis.legend()
    losses = torch.tensor([run["curves"][f"{split}_loss"] for run in runs for split, _ in SPLITS])
    # A run that diverged has only NaN losses, which matplotlib refuses to put on a log axis.
    if (losses.isfinite() & (losses > 0)).any():
        axes[0].set_yscale("log")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    path = Path(directory) / "curves.png"
    atomic_write_bytes(path, buffer.getvalue())
    return path


def write_graph(directory: Path, dot) -> list[Path]:
    """model.gv (DOT source) and, where Graphviz's dot is installed, model.svg."""
    directory = Path(directory)
    written = [directory / "model.gv"]
    atomic_write_text(written[0], dot.source)
    if shutil.which("dot"):
        written.append(directory / "model.svg")
        atomic_write_bytes(written[1], dot.pipe(format="svg"))
    return written
