"""PyTorch Deep Learning Practice (Liu Er), lecture 6: logistic regression with nn.BCELoss.

Source: the course "PyTorch深度学习实践" by Hongpu Liu (Bilibili), lecture 6's program, as published in
many public course repositories (e.g. LSouba/PyTorch-Tutorial-Bilibili-HongpuLiu on GitHub); no
licence stated.
Shrunk: 1000 epochs -> 300, printing every 50; `torch.nn.X` / `torch.optim.X` written `nn.X` /
`optim.X` after `from torch import nn, optim`; wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else.
"""

import torch

from autogradlib import nn, optim

x_data = torch.tensor([[1.0], [2.0], [3.0]])
y_data = torch.tensor([[0.0], [0.0], [1.0]])


class LogisticRegressionModel(nn.Module):
    def __init__(self):
        super(LogisticRegressionModel, self).__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        y_pred = torch.sigmoid(self.linear(x))
        return y_pred


def main(seed=0):
    torch.manual_seed(seed)
    model = LogisticRegressionModel()

    criterion = nn.BCELoss(reduction="sum")
    optimizer = optim.SGD(model.parameters(), lr=0.01)

    for epoch in range(300):
        y_pred = model(x_data)
        loss = criterion(y_pred, y_data)
        if epoch % 50 == 0:
            print(epoch, loss.item())

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    print("w = ", model.linear.weight.item())
    print("b = ", model.linear.bias.item())

    x_test = torch.tensor([[4.0]])
    y_test = model(x_test)
    print("y_pred = ", y_test.data)
    return {"loss": loss.item(), "y_test": y_test.item()}


if __name__ == "__main__":
    main()
