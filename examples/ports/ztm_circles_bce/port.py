"""Zero to Mastery PyTorch, 02 classification: circles with a ReLU MLP and BCEWithLogitsLoss.

Source: mrdbourke/pytorch-deep-learning, 02_pytorch_classification.ipynb, CircleModelV2 and its
training loop (https://github.com/mrdbourke/pytorch-deep-learning), MIT licence.
Shrunk: sklearn's make_circles(1000, noise=0.03, random_state=42) and train_test_split written out
with numpy / torch (same shapes, no sklearn); 1000 epochs -> 100, printing every 25; the device
lines left out; `torch.optim.SGD` written `optim.SGD` after `from torch import nn, optim`; wrapped
in main(seed).
The port (port.py) swaps the imports, nothing else.
"""

import numpy as np
import torch

from autogradlib import nn, optim


def make_circles(n_samples=1000, noise=None, random_state=None, factor=0.8):
    """A large circle containing a smaller one, as sklearn.datasets.make_circles (shuffled)."""
    rng = np.random.RandomState(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    linspace_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    linspace_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    outer = np.vstack([np.cos(linspace_out), np.sin(linspace_out)]).T
    inner = np.vstack([np.cos(linspace_in), np.sin(linspace_in)]).T * factor
    X = np.vstack([outer, inner])
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = rng.permutation(n_samples)
    X, y = X[order], y[order]
    if noise is not None:
        X += rng.normal(scale=noise, size=X.shape)
    return X, y


class CircleModelV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer_1 = nn.Linear(in_features=2, out_features=10)
        self.layer_2 = nn.Linear(in_features=10, out_features=10)
        self.layer_3 = nn.Linear(in_features=10, out_features=1)
        self.relu = nn.ReLU()  # <- add in ReLU activation function

    def forward(self, x):
        # Intersperse the ReLU activation function between layers
        return self.layer_3(self.relu(self.layer_2(self.relu(self.layer_1(x)))))


# Calculate accuracy (a classification metric)
def accuracy_fn(y_true, y_pred):
    correct = (
        torch.eq(y_true, y_pred).sum().item()
    )  # torch.eq() calculates where two tensors are equal
    acc = (correct / len(y_pred)) * 100
    return acc


def main(seed=42):
    # Make and split data
    X, y = make_circles(1000, noise=0.03, random_state=seed)
    X = torch.from_numpy(X).type(torch.float)
    y = torch.from_numpy(y).type(torch.float)
    split = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    X_train, X_test, y_train, y_test = (
        X[split[:800]],
        X[split[800:]],
        y[split[:800]],
        y[split[800:]],
    )

    torch.manual_seed(seed)
    model_3 = CircleModelV2()
    print(model_3)

    # Setup loss and optimizer
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = optim.SGD(model_3.parameters(), lr=0.1)

    # Fit the model
    torch.manual_seed(seed)
    epochs = 100

    for epoch in range(epochs):
        # 1. Forward pass
        y_logits = model_3(X_train).squeeze()
        y_pred = torch.round(
            torch.sigmoid(y_logits)
        )  # logits -> prediction probabilities -> prediction labels

        # 2. Calculate loss and accuracy
        loss = loss_fn(y_logits, y_train)  # BCEWithLogitsLoss calculates loss using logits
        acc = accuracy_fn(y_true=y_train, y_pred=y_pred)

        # 3. Optimizer zero grad
        optimizer.zero_grad()

        # 4. Loss backward
        loss.backward()

        # 5. Optimizer step
        optimizer.step()

        ### Testing
        model_3.eval()
        with torch.inference_mode():
            # 1. Forward pass
            test_logits = model_3(X_test).squeeze()
            test_pred = torch.round(
                torch.sigmoid(test_logits)
            )  # logits -> prediction probabilities -> prediction labels
            # 2. Calculate loss and accuracy
            test_loss = loss_fn(test_logits, y_test)
            test_acc = accuracy_fn(y_true=y_test, y_pred=test_pred)

        # Print out what's happening
        if epoch % 25 == 0:
            print(
                f"Epoch: {epoch} | Loss: {loss:.5f}, Accuracy: {acc:.2f}% | "
                f"Test Loss: {test_loss:.5f}, Test Accuracy: {test_acc:.2f}%"
            )
    return {"loss": loss.item(), "test_loss": test_loss.item(), "test_acc": test_acc}


if __name__ == "__main__":
    main()
