"""PyTorch: nn, a third-order polynomial as nn.Linear(3, 1) + nn.Flatten, updated by hand.

Source: pytorch/tutorials, beginner_source/examples_nn/polynomial_nn.py
(https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: 2000 -> 300 steps; `torch.nn.X` written `nn.X` after `from torch import nn`, so that one
import line carries the port; wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else.
"""

import math

import torch
from torch import nn


def main(seed=0):
    torch.manual_seed(seed)

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # For this example, the output y is a linear function of (x, x^2, x^3), so
    # we can consider it as a linear layer neural network. Let's prepare the
    # tensor (x, x^2, x^3).
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)

    # Use the nn package to define our model as a sequence of layers.
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))

    # The nn package also contains definitions of popular loss functions.
    loss_fn = nn.MSELoss(reduction="sum")

    learning_rate = 1e-6
    for t in range(300):
        # Forward pass: compute predicted y by passing x to the model.
        y_pred = model(xx)

        # Compute and print loss.
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())

        # Zero the gradients before running the backward pass.
        model.zero_grad()

        # Backward pass: compute gradient of the loss with respect to all the learnable parameters.
        loss.backward()

        # Update the weights using gradient descent.
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad

    # You can access the first layer of `model` like accessing the first item of a list
    linear_layer = model[0]

    # For linear layer, its parameters are stored as `weight` and `bias`.
    print(
        f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
        f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
    )
    return {"loss": loss.item(), "weight": linear_layer.weight.tolist()}


if __name__ == "__main__":
    main()
