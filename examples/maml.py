"""One MAML meta-training step on sine regression: an inner SGD step on a task's support set with
create_graph=True, then the outer loss of the adapted parameters (through functional_call) on
the query set, differentiated back through the inner step; Autogradlib and PyTorch (float64).

    .venv/bin/python examples/maml.py [--tasks 4]
"""

import argparse

import torch
import torch.func

import autogradlib
from autogradlib import func, nn, optim

INNER_LR = 0.05
OUTER_LR = 0.01


def sine_tasks(count: int, generator) -> list:
    """(support x, support y, query x, query y) of `count` sine waves of random amplitude/phase."""
    tasks = []
    for _ in range(count):
        amplitude = 0.5 + 4.5 * torch.rand((), dtype=torch.float64, generator=generator)
        phase = torch.pi * torch.rand((), dtype=torch.float64, generator=generator)
        x = 10 * torch.rand(20, 1, dtype=torch.float64, generator=generator) - 5
        y = amplitude * torch.sin(x + phase)
        tasks.append((x[:10], y[:10], x[10:], y[10:]))
    return tasks


def meta_step(model, optimizer, tasks, grad, functional_call, mse):
    """One outer step; returns the meta-loss (mean query loss after one inner step)."""
    names = [name for name, _ in model.named_parameters()]
    parameters = list(model.parameters())
    optimizer.zero_grad()
    meta_loss = 0
    for support_x, support_y, query_x, query_y in tasks:
        inner_loss = mse(model(support_x), support_y)
        grads = grad(inner_loss, parameters, create_graph=True)
        adapted = {
            name: parameter - INNER_LR * gradient
            for name, parameter, gradient in zip(names, parameters, grads, strict=True)
        }
        meta_loss = meta_loss + mse(functional_call(model, adapted, (query_x,)), query_y)
    meta_loss = meta_loss / len(tasks)
    meta_loss.backward()
    optimizer.step()
    return float(meta_loss.detach())


def compare(task_count: int = 4, seed: int = 0) -> tuple:
    """(our meta-loss, PyTorch's, largest parameter difference after the step)."""
    generator = torch.Generator().manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(1, 40, dtype=torch.float64, generator=generator),
        nn.ReLU(),
        nn.Linear(40, 40, dtype=torch.float64, generator=generator),
        nn.ReLU(),
        nn.Linear(40, 1, dtype=torch.float64, generator=generator),
    )
    reference = torch.nn.Sequential(
        torch.nn.Linear(1, 40), torch.nn.ReLU(), torch.nn.Linear(40, 40), torch.nn.ReLU(),
        torch.nn.Linear(40, 1),
    ).double()  # fmt: skip
    reference.load_state_dict(model.state_dict())
    tasks = sine_tasks(task_count, generator)
    ours = meta_step(
        model, optim.SGD(model.parameters(), lr=OUTER_LR), tasks, autogradlib.grad,
        func.functional_call, nn.functional.mse_loss,
    )  # fmt: skip
    theirs = meta_step(
        reference, torch.optim.SGD(reference.parameters(), lr=OUTER_LR), tasks,
        torch.autograd.grad, torch.func.functional_call, torch.nn.functional.mse_loss,
    )  # fmt: skip
    difference = max(
        float((mine - their).abs().max())
        for mine, their in zip(
            model.state_dict().values(), reference.state_dict().values(), strict=True
        )
    )
    return ours, theirs, difference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=4)
    ours, theirs, difference = compare(parser.parse_args().tasks)
    print(f"meta-loss: Autogradlib {ours:.12f}, PyTorch {theirs:.12f}")
    print(f"parameters after the meta step: largest difference {difference:.1e}")


if __name__ == "__main__":
    main()
