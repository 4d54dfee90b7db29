"""What is torch.nn really?, parts 4-7: nn.Linear, optim, TensorDataset/DataLoader, validation.

Source: pytorch/tutorials, beginner_source/nn_tutorial.py, "Refactor using nn.Linear" to "Create
fit() and get_data()" (https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: MNIST replaced by 1,000 + 200 synthetic 784-pixel images (10 random sparse templates plus
noise) (no download); 2 epochs as in the tutorial; wrapped in main(seed) with
torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else (the DataLoader is torch's, as in the tutorial).
"""

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

import autogradlib.nn.functional as F
from autogradlib import nn, optim


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
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


def get_data(train_ds, valid_ds, bs):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=True),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)

        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)

        print(epoch, val_loss)
    return val_loss


def main(seed=0):
    torch.manual_seed(seed)
    x, y = load_data(torch.Generator().manual_seed(seed), 1200)
    x_train, y_train, x_valid, y_valid = x[:1000], y[:1000], x[1000:], y[1000:]
    bs = 64
    lr = 0.5
    epochs = 2
    loss_func = F.cross_entropy

    def get_model():
        model = Mnist_Logistic()
        return model, optim.SGD(model.parameters(), lr=lr)

    train_ds = TensorDataset(x_train, y_train)
    valid_ds = TensorDataset(x_valid, y_valid)
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model, opt = get_model()
    val_loss = fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    return {"val_loss": float(val_loss), "bias": model.lin.bias.tolist()}


if __name__ == "__main__":
    main()
