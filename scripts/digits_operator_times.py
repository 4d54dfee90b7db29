"""Where a digits training step's time goes: microseconds per step inside each operator's forward
and pass_grad (the tensor work), against the whole step, in Autogradlib; and PyTorch eager's
forward, backward and optimizer step for comparison. One torch thread, CPU time of this thread.

PYTHONPATH=$PWD .venv/bin/python scripts/digits_operator_times.py [batch_size]

The operators' time summed is this step's floor: the same tensor operations without the graph's
bookkeeping (apply, the engine, Variables, modules). The timing wrapper adds about a microsecond a
call, so the floor is slightly overstated.
"""

import collections
import sys
import time

import torch

from autogradlib import GradOperator, nn, optim
from autogradlib_bench.bench_digits import Workload, prepare

ROUNDS = 5
EPOCHS_PER_ROUND = 4
PHASES = ("forward", "backward", "step")


def all_operator_classes(base=GradOperator):
    for subclass in base.__subclasses__():
        yield subclass
        yield from all_operator_classes(subclass)


def timed(method, key, totals, depth):
    """`method` adding its CPU time to totals[key], unless called inside another timed operator
    (a ChainOperator runs its Linear stages' own forward and pass_grad)."""

    def wrapper(self, *args, **kwargs):
        if depth[0]:
            return method(self, *args, **kwargs)
        depth[0] += 1
        started = time.thread_time()
        try:
            return method(self, *args, **kwargs)
        finally:
            totals[key] += time.thread_time() - started
            depth[0] -= 1

    return wrapper


def phases(library: str, model, batches) -> tuple[dict, float]:
    """Seconds per step in each phase, and the whole step, over EPOCHS_PER_ROUND epochs."""
    modules, optimizers = (torch.nn, torch.optim) if library == "pytorch" else (nn, optim)
    loss_function = modules.CrossEntropyLoss()
    optimizer = optimizers.Adam(model.parameters(), lr=1e-3)
    totals = collections.Counter()
    for _ in range(EPOCHS_PER_ROUND):
        for inputs, labels in batches:
            marks = [time.thread_time()]
            optimizer.zero_grad()
            loss = loss_function(model(inputs), labels)
            marks.append(time.thread_time())
            loss.backward()
            marks.append(time.thread_time())
            optimizer.step()
            marks.append(time.thread_time())
            for name, before, after in zip(PHASES, marks, marks[1:], strict=False):
                totals[name] += after - before
    steps = EPOCHS_PER_ROUND * len(batches)
    return {name: seconds / steps for name, seconds in totals.items()}, steps


def main(batch_size: int) -> None:
    torch.set_num_threads(1)
    _, epochs, models = prepare(Workload(batch_size=batch_size, epochs=1))
    batches = epochs[0]
    best = {}
    for _ in range(ROUNDS):  # alternating rounds, the best of each phase
        for library in ("autogradlib", "pytorch"):
            times, _ = phases(library, models[library], batches)
            best[library] = {k: min(v, best.get(library, times)[k]) for k, v in times.items()}
    operator_totals, depth, best_operators = collections.Counter(), [0], {}
    for kind in set(all_operator_classes()):
        for name in ("forward", "pass_grad"):
            if name in vars(kind):
                key = (kind.__name__, name)
                setattr(kind, name, timed(vars(kind)[name], key, operator_totals, depth))
    for _ in range(ROUNDS):
        operator_totals.clear()
        _, steps = phases("autogradlib", models["autogradlib"], batches)
        for key, seconds in operator_totals.items():
            best_operators[key] = min(seconds / steps, best_operators.get(key, seconds / steps))
    print(f"batch {batch_size}: microseconds per training step (CPU time, best of {ROUNDS})")
    for library, times in best.items():
        whole = sum(times.values())
        parts = ", ".join(f"{name} {seconds * 1e6:.0f}" for name, seconds in times.items())
        print(f"  {library:12s} {whole * 1e6:6.0f}  ({parts})")
    print("  inside Autogradlib's operators:")
    for (kind, name), seconds in sorted(best_operators.items(), key=lambda item: -item[1]):
        print(f"    {kind:26s} {name:10s} {seconds * 1e6:6.0f}")
    floor = sum(best_operators.values())
    print(f"  operators' total, the floor without the optimizer: {floor * 1e6:.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 64)
