"""What is torch.nn really?, part 1: logistic regression from scratch, updated by hand.

Source: pytorch/tutorials, beginner_source/nn_tutorial.py, "Neural net from scratch (without
torch.nn)" (https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: MNIST (50,000 images) replaced by 1,000 synthetic 784-pixel images whose 10 labels come from
a random linear teacher (no download); 2 epochs as in the tutorial; the notebook's bare expressions
printed; wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports and wraps the learnable tensors in Variable(...), nothing else.
"""

import math

import torch

from autogradlib import Variable


def load_data(generator, n=1000):
    """A stand-in for the tutorial's MNIST arrays: 10 sparse templates, pixels in [0, 1]."""
    templates = (torch.rand(10, 784, generator=generator) < 0.15).float()
    y = torch.randint(0, 10, (n,), generator=generator)
    strokes = templates[y] * torch.rand(n, 784, generator=generator)
    noise = (torch.rand(n, 784, generator=generator) < 0.3).float()
    return (strokes + noise).clamp(max=1.0), y


def main(seed=0):
    torch.manual_seed(seed)
    x_train, y_train = load_data(torch.Generator().manual_seed(seed))
    n, c = x_train.shape

    weights = Variable(torch.randn(784, 10) / math.sqrt(784))
    weights.requires_grad_()
    bias = Variable(torch.zeros(10, requires_grad=True))

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    bs = 64  # batch size

    xb = x_train[0:bs]  # a mini-batch from x
    preds = model(xb)  # predictions
    print(preds[0], preds.shape)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    loss_func = nll

    yb = y_train[0:bs]
    print(loss_func(preds, yb))

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    print(accuracy(preds, yb))

    lr = 0.5  # learning rate
    epochs = 2  # how many epochs to train for

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
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()

    print(loss_func(model(xb), yb), accuracy(model(xb), yb))
    return {
        "loss": loss_func(model(x_train), y_train).item(),
        "accuracy": accuracy(model(x_train), y_train).item(),
        "bias": bias.tolist(),
    }


if __name__ == "__main__":
    main()
