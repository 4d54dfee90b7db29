"""PyTorch: Custom nn Modules, the polynomial as a Module with four torch.nn.Parameter members.

Source: pytorch/tutorials, beginner_source/examples_nn/polynomial_module.py
(https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: 2000 -> 300 steps; `torch.nn.Module` / `torch.nn.MSELoss` / `torch.optim.SGD` written
`nn.Module` / `nn.MSELoss` / `optim.SGD` after `from torch import nn, optim` (the parameters stay
`torch.nn.Parameter`, as in the tutorial); wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else: its Module takes torch Parameters in.
"""

import math

import torch

from autogradlib import nn, optim


class Polynomial3(nn.Module):
    def __init__(self):
        """
        In the constructor we instantiate four parameters and assign them as
        member parameters.
        """
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        """
        In the forward function we accept a Tensor of input data and we must return
        a Tensor of output data. We can use Modules defined in the constructor as
        well as arbitrary operators on Tensors.
        """
        return self.a + self.b * x + self.c * x**2 + self.d * x**3

    def string(self):
        """
        Just like any class in Python, you can also define custom method on PyTorch modules
        """
        return (
            f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3"
        )


def main(seed=0):
    torch.manual_seed(seed)

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # Construct our model by instantiating the class defined above
    model = Polynomial3()

    # Construct our loss function and an Optimizer. The call to model.parameters()
    # in the SGD constructor will contain the learnable parameters (defined
    # with torch.nn.Parameter) which are members of the model.
    criterion = nn.MSELoss(reduction="sum")
    optimizer = optim.SGD(model.parameters(), lr=1e-6)
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
