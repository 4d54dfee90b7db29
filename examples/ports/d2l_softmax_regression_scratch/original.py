"""Dive into Deep Learning 3.6: softmax regression implemented from scratch.

Source: d2l-ai/d2l-en, chapter_linear-networks/softmax-regression-scratch.md, PyTorch tab
(https://github.com/d2l-ai/d2l-en; code MIT-0), with d2l's Accumulator, accuracy, evaluate_accuracy,
train_epoch_ch3, train_ch3 and sgd as the book defines them.
Shrunk: Fashion-MNIST replaced by 1,000 + 200 synthetic 784-pixel images (10 random sparse templates
plus noise; no download), 10 epochs -> 5, the Animator replaced by a print; `torch.nn.Module` /
`torch.optim.Optimizer` written `nn.Module` / `optim.Optimizer` after `from torch import nn, optim`;
wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports and wraps the learnable tensors in Variable(...), nothing else.
"""

import torch
from torch import nn, optim
from torch.utils import data


def load_data(generator, n):
    """A stand-in for Fashion-MNIST: 10 sparse templates plus noise, pixels in [0, 1]."""
    templates = (torch.rand(10, 1, 28, 28, generator=generator) < 0.15).float()
    y = torch.randint(0, 10, (n,), generator=generator)
    strokes = templates[y] * torch.rand(n, 1, 28, 28, generator=generator)
    noise = (torch.rand(n, 1, 28, 28, generator=generator) < 0.3).float()
    return (strokes + noise).clamp(max=1.0), y


class Accumulator:
    """For accumulating sums over `n` variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    """Compute the accuracy for a model on a dataset."""
    if isinstance(net, nn.Module):
        net.eval()  # Set the model to evaluation mode
    metric = Accumulator(2)  # No. of correct predictions, no. of predictions
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    """The training loop defined in Chapter 3."""
    # Set the model to training mode
    if isinstance(net, nn.Module):
        net.train()
    # Sum of training loss, sum of training accuracy, no. of examples
    metric = Accumulator(3)
    for X, y in train_iter:
        # Compute gradients and update parameters
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, optim.Optimizer):
            # Using PyTorch in-built optimizer & loss criterion
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            # Using custom built optimizer & loss criterion
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    # Return training loss and training accuracy
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    """Train a model (defined in Chapter 3)."""
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        print(f"epoch {epoch + 1}, train loss {train_metrics[0]:.3f}, test acc {test_acc:.3f}")
    return train_metrics, test_acc


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def main(seed=0):
    torch.manual_seed(seed)
    images, labels = load_data(torch.Generator().manual_seed(seed), 1200)
    batch_size = 256
    train_iter = data.DataLoader(
        data.TensorDataset(images[:1000], labels[:1000]), batch_size, shuffle=True
    )
    test_iter = data.DataLoader(data.TensorDataset(images[1000:], labels[1000:]), batch_size)

    num_inputs = 784
    num_outputs = 10

    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)

    def softmax(X):
        X_exp = torch.exp(X)
        partition = X_exp.sum(1, keepdim=True)
        return X_exp / partition  # The broadcasting mechanism is applied here

    def net(X):
        return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[range(len(y_hat)), y])

    lr = 0.1

    def updater(batch_size):
        return sgd([W, b], lr, batch_size)

    num_epochs = 5
    (train_loss, train_acc), test_acc = train_ch3(
        net, train_iter, test_iter, cross_entropy, num_epochs, updater
    )
    return {"train_loss": train_loss, "train_acc": train_acc, "test_acc": test_acc, "b": b.tolist()}


if __name__ == "__main__":
    main()
