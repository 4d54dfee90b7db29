"""Dive into Deep Learning 5.5: weight decay implemented from scratch (an L2 penalty).

Source: d2l-ai/d2l-en, chapter_multilayer-perceptrons/weight-decay.md, PyTorch tab
(https://github.com/d2l-ai/d2l-en; code MIT-0), with d2l's synthetic_data, load_array, linreg,
squared_loss, sgd, Accumulator and evaluate_loss as the book defines them.
Shrunk: 100 epochs -> 20; the Animator replaced by a print every 5 epochs; wrapped in main(seed)
with torch.manual_seed(seed).
The port (port.py) swaps the imports and wraps the learnable tensors in Variable(...), nothing else.
"""

import torch
from torch.utils import data

from autogradlib import Variable


def synthetic_data(w, b, num_examples):
    """Generate y = Xw + b + noise."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def load_array(data_arrays, batch_size, is_train=True):
    """Construct a PyTorch data iterator."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def linreg(X, w, b):
    """The linear regression model."""
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    """Squared loss."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


class Accumulator:
    """For accumulating sums over `n` variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def evaluate_loss(net, data_iter, loss):
    """Evaluate the loss of a model on the given dataset."""
    metric = Accumulator(2)  # Sum of losses, no. of examples
    for X, y in data_iter:
        out = net(X)
        y = y.reshape(out.shape)
        l = loss(out, y)
        metric.add(l.sum(), l.numel())
    return metric[0] / metric[1]


def main(seed=0):
    torch.manual_seed(seed)
    n_train, n_test, num_inputs, batch_size = 20, 100, 200, 5
    true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
    train_data = synthetic_data(true_w, true_b, n_train)
    train_iter = load_array(train_data, batch_size)
    test_data = synthetic_data(true_w, true_b, n_test)
    test_iter = load_array(test_data, batch_size, is_train=False)

    def init_params():
        w = Variable(torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True))
        b = Variable(torch.zeros(1, requires_grad=True))
        return [w, b]

    def l2_penalty(w):
        return torch.sum(w.pow(2)) / 2

    def train(lambd):
        w, b = init_params()
        net, loss = lambda X: linreg(X, w, b), squared_loss
        num_epochs, lr = 20, 0.003
        for epoch in range(num_epochs):
            for X, y in train_iter:
                # The L2 norm penalty term has been added, and broadcasting
                # makes `l2_penalty(w)` a vector whose length is `batch_size`
                l = loss(net(X), y) + lambd * l2_penalty(w)
                l.sum().backward()
                sgd([w, b], lr, batch_size)
            if (epoch + 1) % 5 == 0:
                train_loss = evaluate_loss(net, train_iter, loss)
                test_loss = evaluate_loss(net, test_iter, loss)
                print(f"epoch {epoch + 1}: train {train_loss:.6g}, test {test_loss:.6g}")
        print("L2 norm of w:", torch.norm(w).item())
        return torch.norm(w).item(), test_loss

    return {"no_decay": train(lambd=0), "decay": train(lambd=3)}


if __name__ == "__main__":
    main()
