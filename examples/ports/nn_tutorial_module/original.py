"""What is torch.nn really?, parts 2-3: F.cross_entropy, then an nn.Module with nn.Parameters.

Source: pytorch/tutorials, beginner_source/nn_tutorial.py, "Using torch.nn.functional" and "Refactor
using nn.Module" (https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: MNIST replaced by 1,000 synthetic 784-pixel images (10 random sparse templates plus noise)
(no download); the notebook's bare expressions printed; wrapped in main(seed) with
torch.manual_seed(seed).
The port (port.py) swaps the imports and writes `Variable(...)` for `nn.Parameter(...)`, nothing
else.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


def load_data(generator, n=1000):
    """A stand-in for the tutorial's MNIST arrays: 10 sparse templates, pixels in [0, 1]."""
    templates = (torch.rand(10, 784, generator=generator) < 0.15).float()
    y = torch.randint(0, 10, (n,), generator=generator)
    strokes = templates[y] * torch.rand(n, 784, generator=generator)
    noise = (torch.rand(n, 784, generator=generator) < 0.3).float()
    return (strokes + noise).clamp(max=1.0), y


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(784, 10) / math.sqrt(784))
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, xb):
        return xb @ self.weights + self.bias


def main(seed=0):
    torch.manual_seed(seed)
    x_train, y_train = load_data(torch.Generator().manual_seed(seed))
    n, c = x_train.shape
    bs = 64
    lr = 0.5
    epochs = 2

    loss_func = F.cross_entropy

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    model = Mnist_Logistic()
    xb, yb = x_train[0:bs], y_train[0:bs]
    print(loss_func(model(xb), yb))

    def fit():
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)

                loss.backward()
                with torch.no_grad():
                    for p in model.parameters():
                        p -= p.grad * lr
                    model.zero_grad()

    fit()
    print(loss_func(model(xb), yb))
    return {
        "loss": loss_func(model(x_train), y_train).item(),
        "accuracy": accuracy(model(x_train), y_train).item(),
        "bias": model.bias.tolist(),
    }


if __name__ == "__main__":
    main()
