"""micrograd's demo: a 2-16-16-1 MLP separating two moons with an SVM max-margin loss.

Source: karpathy/micrograd, demo.ipynb with micrograd/nn.py (https://github.com/karpathy/micrograd),
MIT licence. micrograd computes with scalar Values; here each layer's neurons are one tensor (rows
drawn with random.uniform(-1, 1) in micrograd's order, biases 0) in float64, as micrograd's floats.
Shrunk: sklearn's make_moons(100, noise=0.1) written out with numpy (same algorithm, no sklearn);
`p.grad = 0` (micrograd's zero_grad) written `p.grad = None`, as torch wants; 100 steps as in the
demo; wrapped in main(seed) with random.seed / np.random.seed.
The port (port.py) swaps the imports and wraps the learnable tensors in Variable(...), nothing else.
"""

import random

import numpy as np
import torch


def make_moons(n_samples=100, noise=None):
    """Two interleaving half circles, as sklearn.datasets.make_moons (shuffled)."""
    n_out = n_samples // 2
    n_in = n_samples - n_out
    outer_x, outer_y = np.cos(np.linspace(0, np.pi, n_out)), np.sin(np.linspace(0, np.pi, n_out))
    inner_x = 1 - np.cos(np.linspace(0, np.pi, n_in))
    inner_y = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.random.permutation(n_samples)
    X, y = X[order], y[order]
    if noise is not None:
        X += np.random.normal(scale=noise, size=X.shape)
    return X, y


class Module:
    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def parameters(self):
        return []


class Layer(Module):
    def __init__(self, nin, nout, nonlin=True):
        rows = [[random.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)]
        self.w = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
        self.b = torch.zeros(nout, dtype=torch.float64, requires_grad=True)
        self.nonlin = nonlin

    def __call__(self, x):
        act = x @ self.w.T + self.b
        return act.relu() if self.nonlin else act

    def parameters(self):
        return [self.w, self.b]

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Layer of {self.b.shape[0]} neurons"


class MLP(Module):
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [
            Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def main(seed=1337):
    np.random.seed(seed)
    random.seed(seed)

    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1  # make y be -1 or 1

    model = MLP(2, [16, 16, 1])  # 2-layer neural network
    print(model)
    print("number of parameters", sum(p.numel() for p in model.parameters()))

    def loss(batch_size=None):
        # inline DataLoader :)
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = torch.tensor(Xb)
        yb = torch.tensor(yb, dtype=torch.float64)

        # forward the model to get scores
        scores = model(inputs).squeeze(1)

        # svm "max-margin" loss
        losses = (1 + -yb * scores).relu()
        data_loss = losses.sum() * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum((p * p).sum() for p in model.parameters())
        total_loss = data_loss + reg_loss

        # also get accuracy
        accuracy = (yb > 0) == (scores.data > 0)
        return total_loss, accuracy.double().mean().item()

    # optimization
    for k in range(100):
        # forward
        total_loss, acc = loss()

        # backward
        model.zero_grad()
        total_loss.backward()

        # update (sgd)
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad

        if k % 10 == 0:
            print(f"step {k} loss {total_loss.item()}, accuracy {acc * 100}%")

    return {"loss": total_loss.item(), "accuracy": acc, "w": model.layers[-1].w.tolist()}


if __name__ == "__main__":
    main()
