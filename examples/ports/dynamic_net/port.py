"""PyTorch: Control Flow + Weight Sharing, a polynomial whose order is drawn at every forward pass.

Source: pytorch/tutorials, beginner_source/examples_nn/dynamic_net.py
(https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: 30000 -> 300 steps; `torch.nn.Module` / `torch.nn.MSELoss` / `torch.optim.SGD` written
`nn.Module` / `nn.MSELoss` / `optim.SGD` after `from torch import nn, optim` (the parameters stay
`torch.nn.Parameter`); wrapped in main(seed) with torch.manual_seed(seed) and random.seed(seed).
The port (port.py) swaps the imports, nothing else.
"""

import math
import random

import torch

from autogradlib import nn, optim


class DynamicNet(nn.Module):
    def __init__(self):
        """
        In the constructor we instantiate five parameters and assign them as members.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """
        For the forward pass of the model, we randomly choose either 4, 5
        and reuse the e parameter to compute the contribution of these orders.
        """
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x**exp
        return y

    def string(self):
        """
        Just like any class in Python, you can also define custom method on PyTorch modules
        """
        return (
            f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
            f"{self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?"
        )


def main(seed=0):
    torch.manual_seed(seed)
    random.seed(seed)

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # Construct our model by instantiating the class defined above
    model = DynamicNet()

    # Construct our loss function and an Optimizer. Training this strange model with
    # vanilla stochastic gradient descent is tough, so we use momentum
    criterion = nn.MSELoss(reduction="sum")
    optimizer = optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
    for t in range(300):
        # Forward pass: Compute predicted y by passing x to the model
        y_pred = model(x)

        # Compute and print loss
        loss = criterion(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())

        # Zero gradients, perform a backward pass, and update the weights.
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    print(f"Result: {model.string()}")
    return {"loss": loss.item(), "parameters": [p.item() for p in model.parameters()]}


if __name__ == "__main__":
    main()
