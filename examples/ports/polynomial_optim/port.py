"""PyTorch: optim, the polynomial fit of polynomial_nn trained with optim.RMSprop.

Source: pytorch/tutorials, beginner_source/examples_nn/polynomial_optim.py
(https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: 2000 -> 300 steps; `torch.nn.X` / `torch.optim.X` written `nn.X` / `optim.X` after `from
torch import nn, optim`; wrapped in main(seed) with torch.manual_seed(seed).
The port (port.py) swaps the imports, nothing else.
"""

import math

import torch

from autogradlib import nn, optim


def main(seed=0):
    torch.manual_seed(seed)

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)

    # Prepare the input tensor (x, x^2, x^3).
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)

    # Use the nn package to define our model and loss function.
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    loss_fn = nn.MSELoss(reduction="sum")

    # Use the optim package to define an Optimizer that will update the weights of
    # the model for us. Here we will use RMSprop.
    learning_rate = 1e-3
    optimizer = optim.RMSprop(model.parameters(), lr=learning_rate)
    for t in range(300):
        # Forward pass: compute predicted y by passing x to the model.
        y_pred = model(xx)

        # Compute and print loss.
        loss = loss_fn(y_pred, y)
        if t % 100 == 99:
            print(t, loss.item())

        # Before the backward pass, use the optimizer object to zero all of the
        # gradients for the variables it will update (which are the learnable weights of the model).
        optimizer.zero_grad()

        # Backward pass: compute gradient of the loss with respect to model parameters
        loss.backward()

        # Calling the step function on an Optimizer makes an update to its parameters
        optimizer.step()

    linear_layer = model[0]
    print(
        f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
        f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3"
    )
    return {"loss": loss.item(), "weight": linear_layer.weight.tolist()}


if __name__ == "__main__":
    main()
