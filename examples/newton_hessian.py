"""Newton's method on the Rosenbrock function, and the full Hessian of the 2-25-25-25-2 network's
loss with respect to its first layer's weights, both with autogradlib.func and torch.func.

    .venv/bin/python examples/newton_hessian.py [--points 100]
"""

import argparse

import torch
import torch.func

from autogradlib import data, func, nn


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def newton(transforms, steps: int = 8) -> list[torch.Tensor]:
    """The iterates of x <- x - H(x)^-1 grad f(x) from (-1.2, 1)."""
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    iterates = [x]
    for _ in range(steps):
        gradient = transforms.grad(rosenbrock)(x)
        hessian = transforms.hessian(rosenbrock)(x)
        x = x - torch.linalg.solve(hessian, gradient)
        iterates.append(x)
    return iterates


def network_hessians(points: int = 100, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """d^2 loss / d W1^2 of the reference network, shape (25, 2, 25, 2), from both libraries."""
    generator = torch.Generator().manual_seed(seed)
    inputs, labels = data.make_disk_dataset(points, generator)
    (inputs,) = data.standardize(inputs.double())
    targets = data.one_hot(labels, 2).double()
    model = nn.Sequential(
        nn.Linear(2, 25, dtype=torch.float64, generator=generator),
        nn.ReLU(),
        nn.Linear(25, 25, dtype=torch.float64, generator=generator),
        nn.ReLU(),
        nn.Linear(25, 25, dtype=torch.float64, generator=generator),
        nn.ReLU(),
        nn.Linear(25, 2, dtype=torch.float64, generator=generator),
        nn.Softmax(dim=1),
    )
    reference = torch.nn.Sequential(
        torch.nn.Linear(2, 25), torch.nn.ReLU(), torch.nn.Linear(25, 25), torch.nn.ReLU(),
        torch.nn.Linear(25, 25), torch.nn.ReLU(), torch.nn.Linear(25, 2), torch.nn.Softmax(dim=1),
    ).double()  # fmt: skip
    reference.load_state_dict(model.state_dict())
    weight = model.state_dict()["0.weight"].clone()

    def loss(first_weight):
        outputs = func.functional_call(model, {"0.weight": first_weight}, (inputs,))
        return nn.functional.mse_loss(outputs, targets)

    def torch_loss(first_weight):
        outputs = torch.func.functional_call(reference, {"0.weight": first_weight}, (inputs,))
        return torch.nn.functional.mse_loss(outputs, targets)

    return func.hessian(loss)(weight), torch.func.hessian(torch_loss)(weight).detach()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100)
    points = parser.parse_args().points
    print("Newton on Rosenbrock: iterate, Autogradlib vs torch.func")
    for step, (ours, theirs) in enumerate(zip(newton(func), newton(torch.func), strict=True)):
        difference = float((ours - theirs).abs().max())
        print(f"{step:2d}  {ours.tolist()}  {theirs.tolist()}  difference {difference:.1e}")
    ours, theirs = network_hessians(points)
    print(
        f"Hessian of the loss w.r.t. the first layer's weights: shape {tuple(ours.shape)}, "
        f"largest difference from torch.func.hessian {float((ours - theirs).abs().max()):.1e} "
        f"(largest entry {float(theirs.abs().max()):.3g})"
    )


if __name__ == "__main__":
    main()
