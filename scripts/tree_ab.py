"""Two or more versions of Autogradlib in one process, the reference step of each timed in turn.

Timed ratios move by 10% between runs on a shared machine; side by side in one process, a load
burst slows every version alike. Each git revision's package is exported under a name of its own
(ag_0, ag_1, ...), given the same initial weights, and stepped in blocks of 50, one version after
the other, for many rounds; the first quartile of each phase's block times is printed.

.venv/bin/python scripts/tree_ab.py 514204a HEAD [--batch-size 100] [--rounds 60]
"""

import argparse
import importlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

PHASES = ("zero_grad", "model", "loss", "backward", "step")
BLOCK = 50


def export(revision: str, name: str, folder: Path) -> None:
    """The package at `revision`, importable as `name` from `folder`."""
    archive = subprocess.run(
        ["git", "archive", revision, "autogradlib"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    package = folder / name
    (folder / "autogradlib").rename(package)
    for path in package.rglob("*.py"):
        path.write_text(re.sub(r"\bautogradlib\b", name, path.read_text()))


def stepper(name: str, inputs, targets):
    """A function timing `count` reference steps of package `name` into per-phase totals."""
    nn = importlib.import_module(f"{name}.nn")
    optim = importlib.import_module(f"{name}.optim")
    model = nn.Sequential(
        nn.Linear(2, 25), nn.ReLU(), nn.Linear(25, 25), nn.ReLU(),
        nn.Linear(25, 25), nn.ReLU(), nn.Linear(25, 2), nn.Softmax(dim=1),
    )  # fmt: skip
    generator = torch.Generator().manual_seed(1)
    for parameter in model.parameters():  # the same weights whatever each version's init
        parameter.tensor.copy_(torch.randn(parameter.tensor.shape, generator=generator) * 0.3)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loss_function = nn.MSELoss()
    clock = time.perf_counter

    def run(count: int, totals: list) -> None:
        for _ in range(count):
            start = clock()
            optimizer.zero_grad()
            zeroed = clock()
            outputs = model(inputs)
            forward = clock()
            loss = loss_function(outputs, targets)
            lost = clock()
            loss.backward()
            backward = clock()
            optimizer.step()
            end = clock()
            marks = (start, zeroed, forward, lost, backward, end)
            for index in range(len(PHASES)):
                totals[index] += marks[index + 1] - marks[index]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="+")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    inputs = torch.randn(args.batch_size, 2)
    targets = torch.randn(args.batch_size, 2).softmax(1)
    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, folder)
        runs = {}
        for index, revision in enumerate(args.revisions):
            export(revision, f"ag_{index}", Path(folder))
            runs[revision] = stepper(f"ag_{index}", inputs, targets)
        for run in runs.values():
            run(300, [0.0] * len(PHASES))  # warm-up
        blocks = {revision: [] for revision in runs}
        for _ in range(args.rounds):
            for revision, run in runs.items():
                totals = [0.0] * len(PHASES)
                run(BLOCK, totals)
                blocks[revision].append([total / BLOCK * 1e6 for total in totals])
    print(f"batch {args.batch_size}, {args.rounds} rounds of {BLOCK} steps, one thread; us a step:")
    print(f"{'revision':10s} " + " ".join(f"{phase:>9s}" for phase in PHASES) + "  step (q1)")
    for revision, rows in blocks.items():
        quartiles = [statistics.quantiles(column, n=4)[0] for column in zip(*rows, strict=True)]
        steps = [sum(row) for row in rows]
        step = statistics.quantiles(steps, n=4)[0]
        phases = " ".join(f"{value:9.1f}" for value in quartiles)
        print(f"{revision:10s} {phases}  {step:9.1f} (median {statistics.median(steps):.1f})")


if __name__ == "__main__":
    main()
