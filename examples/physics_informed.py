"""A physics-informed fit: a network u(x) trained so that u'(x) + u(x) = 0 on [0, 2] with u(0) = 1,
whose solution is exp(-x); u' is the network's derivative with respect to its input, inside the
loss. Autogradlib and PyTorch from the same weights (float64); the fit is plotted.

    .venv/bin/python examples/physics_informed.py [--steps 2000] [--plot pinn.png]
"""

import argparse

import torch

import autogradlib
from autogradlib import Variable, nn, optim


def networks(generator):
    model = nn.Sequential(
        nn.Linear(1, 20, dtype=torch.float64, generator=generator),
        nn.Tanh(),
        nn.Linear(20, 20, dtype=torch.float64, generator=generator),
        nn.Tanh(),
        nn.Linear(20, 1, dtype=torch.float64, generator=generator),
    )
    reference = torch.nn.Sequential(
        torch.nn.Linear(1, 20), torch.nn.Tanh(), torch.nn.Linear(20, 20), torch.nn.Tanh(),
        torch.nn.Linear(20, 1),
    ).double()  # fmt: skip
    reference.load_state_dict(model.state_dict())
    return model, reference


def residual_loss(network, points, grad, leaf):
    """mean((u' + u)^2) over the points + (u(0) - 1)^2."""
    x = leaf(points.clone())
    u = network(x)
    (derivative,) = grad(u.sum(), x, create_graph=True)
    start = network(points[:1] * 0)
    return ((derivative + u) ** 2).mean() + ((start - 1) ** 2).sum()


def train(steps: int = 2000, seed: int = 0):
    """Both libraries' final losses, and their u on a fine grid of [0, 2]."""
    generator = torch.Generator().manual_seed(seed)
    model, reference = networks(generator)
    points = torch.linspace(0, 2, 50, dtype=torch.float64).unsqueeze(1)
    runs = [
        (model, optim.Adam(model.parameters(), lr=0.01), autogradlib.grad, Variable),
        (
            reference,
            torch.optim.Adam(reference.parameters(), lr=0.01),
            torch.autograd.grad,
            lambda tensor: tensor.requires_grad_(),
        ),
    ]
    losses = []
    for network, optimizer, grad, leaf in runs:
        for _ in range(steps):
            optimizer.zero_grad()
            loss = residual_loss(network, points, grad, leaf)
            loss.backward()
            optimizer.step()
        losses.append(float(loss.detach()))
    grid = torch.linspace(0, 2, 201, dtype=torch.float64).unsqueeze(1)
    with autogradlib.no_grad():
        ours = model(grid).tensor.squeeze(1)
    with torch.no_grad():
        theirs = reference(grid).squeeze(1)
    return losses, grid.squeeze(1), ours, theirs


def plot(path: str, grid, ours, theirs) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(grid, torch.exp(-grid), "k-", label="exp(-x)")
    axes.plot(grid, ours, "b--", label="u(x), Autogradlib")
    axes.plot(grid, theirs, "r:", label="u(x), PyTorch")
    axes.set_xlabel("x")
    axes.legend()
    axes.set_title("u' + u = 0, u(0) = 1")
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--plot", default="pinn.png")
    arguments = parser.parse_args()
    (our_loss, their_loss), grid, ours, theirs = train(arguments.steps)
    exact = torch.exp(-grid)
    print(f"final loss: Autogradlib {our_loss:.12g}, PyTorch {their_loss:.12g}")
    print(
        f"largest |u(x) - exp(-x)| on [0, 2]: Autogradlib {float((ours - exact).abs().max()):.2e}, "
        f"PyTorch {float((theirs - exact).abs().max()):.2e}"
    )
    plot(arguments.plot, grid, ours, theirs)
    print(f"plot: {arguments.plot}")


if __name__ == "__main__":
    main()
