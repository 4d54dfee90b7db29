"""A gradient penalty: the disk classifier trained with MSE + lambda * mean ||d output/d input||^2
(the penalty of WGAN-GP and R1), in Autogradlib and in PyTorch, from the same weights (float64).

    .venv/bin/python examples/gradient_penalty.py [--epochs 20]
"""

import argparse

import torch

import autogradlib
from autogradlib import Variable, data, nn, optim

PENALTY = 0.1


def networks(generator):
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
    return model, reference


def penalised_loss(model, inputs, targets, grad, wrap):
    """MSE + PENALTY * mean over the batch of ||d(sum of outputs)/d(input row)||^2."""
    inputs = wrap(inputs)
    outputs = model(inputs)
    (input_gradient,) = grad(outputs.sum(), inputs, create_graph=True)
    penalty = (input_gradient * input_gradient).sum(1).mean()
    return ((outputs - targets) ** 2).mean() + PENALTY * penalty


def train(epochs: int = 20, points: int = 200, seed: int = 0) -> tuple[list, list]:
    """Both libraries' loss per epoch."""
    generator = torch.Generator().manual_seed(seed)
    inputs, labels = data.make_disk_dataset(points, generator)
    (inputs,) = data.standardize(inputs.double())
    targets = data.one_hot(labels, 2).double()
    model, reference = networks(generator)
    ours = optim.SGD(model.parameters(), lr=0.1)
    theirs = torch.optim.SGD(reference.parameters(), lr=0.1)
    torch_grad, torch_leaf = torch.autograd.grad, lambda tensor: tensor.requires_grad_()
    runs = (
        (ours, model, autogradlib.grad, Variable, []),
        (theirs, reference, torch_grad, torch_leaf, []),
    )
    for _ in range(epochs):
        order = torch.randperm(points, generator=generator)
        for start in range(0, points, 50):
            rows = order[start : start + 50]
            for optimizer, network, grad, wrap, _ in runs:
                optimizer.zero_grad()
                loss = penalised_loss(network, inputs[rows].clone(), targets[rows], grad, wrap)
                loss.backward()
                optimizer.step()
        for _, network, grad, wrap, history in runs:
            loss = penalised_loss(network, inputs.clone(), targets, grad, wrap)
            history.append(float(loss.detach()))
    return runs[0][4], runs[1][4]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    epochs = parser.parse_args().epochs
    ours, theirs = train(epochs)
    print("epoch  penalised loss, Autogradlib  penalised loss, PyTorch  difference")
    for epoch, (a, b) in enumerate(zip(ours, theirs, strict=True), start=1):
        print(f"{epoch:5d}  {a:27.12f}  {b:23.12f}  {abs(a - b):.1e}")


if __name__ == "__main__":
    main()
