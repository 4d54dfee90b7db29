"""Microseconds per training step, phase by phase: Autogradlib, its floor and PyTorch eager.

.venv/bin/python scripts/step_phases.py [batch_size]      (see docs/performance.md)
"""

import itertools
import sys
import time

import torch

from autogradlib import nn, optim
from autogradlib_bench import benchmark

PHASES = ("zero_grad", "model", "loss", "backward", "step")


def durations(marks: list[float]) -> list[float]:
    return [after - before for before, after in itertools.pairwise(marks)]


def library_step(model, optimizer, loss_function, inputs, targets) -> list[float]:
    """One step of either library, with the same code: its five phases' durations."""
    marks = [time.perf_counter()]
    optimizer.zero_grad()
    marks.append(time.perf_counter())
    outputs = model(inputs)
    marks.append(time.perf_counter())
    loss = loss_function(outputs, targets)
    marks.append(time.perf_counter())
    loss.backward()
    marks.append(time.perf_counter())
    optimizer.step()
    marks.append(time.perf_counter())
    return durations(marks)


def floor_step(weights, parameters, inputs, targets) -> list[float]:
    """One step of the floor (benchmark.train_floor's body): its five phases' durations."""
    marks = [time.perf_counter()] * 2  # the floor keeps no gradients to forget
    layers, outputs = benchmark.floor_forward(weights, inputs)
    marks.append(time.perf_counter())
    loss_operator, loss = benchmark.floor_loss(outputs, targets)
    marks.append(time.perf_counter())
    grads = benchmark.floor_backward(layers, loss_operator, loss)
    marks.append(time.perf_counter())
    torch._foreach_add_(parameters, grads, alpha=-benchmark.LEARNING_RATE)
    marks.append(time.perf_counter())
    return durations(marks)


def report(name: str, totals: list[float], steps: int) -> None:
    phases = ", ".join(
        f"{phase} {total / steps * 1e6:.1f}" for phase, total in zip(PHASES, totals, strict=True)
    )
    print(f"{name:12s} {sum(totals) / steps * 1e6:7.1f} us per step ({phases})")


def main(batch_size: int) -> None:
    torch.set_num_threads(1)
    workload = benchmark.Workload(batch_size=batch_size, epochs=200)
    _, _, batches_by_epoch, model, theirs = benchmark.prepare(workload)
    batches = [batch for epoch in batches_by_epoch for batch in epoch]
    warm_up = len(batches) // 5
    optimizer, loss_function = optim.SGD(model.parameters(), lr=0.1), nn.MSELoss()
    weights, parameters = benchmark.floor_parameters(model)
    torch_optimizer, torch_loss = torch.optim.SGD(theirs.parameters(), lr=0.1), torch.nn.MSELoss()
    totals = {"Autogradlib": [0.0] * 5, "floor": [0.0] * 5, "PyTorch": [0.0] * 5}
    for index, (batch_inputs, batch_targets) in enumerate(batches):
        steps = {
            "Autogradlib": library_step(
                model, optimizer, loss_function, batch_inputs, batch_targets
            ),
            "floor": floor_step(weights, parameters, batch_inputs, batch_targets),
            "PyTorch": library_step(
                theirs, torch_optimizer, torch_loss, batch_inputs, batch_targets
            ),
        }
        if index >= warm_up:
            for name, times in steps.items():
                totals[name] = [sum(pair) for pair in zip(totals[name], times, strict=True)]
    counted = len(batches) - warm_up
    print(f"batch {batch_size}, {counted} steps after {warm_up} of warm-up, one thread:")
    for name, phase_totals in totals.items():
        report(name, phase_totals, counted)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
