"""PyTorch: Tensors and autograd, a third-order polynomial fitted to sin(x) with manual updates.

Source: pytorch/tutorials, beginner_source/examples_autograd/polynomial_autograd.py
(https://github.com/pytorch/tutorials), BSD-3-Clause.
Shrunk: 2000 -> 300 steps; wrapped in main(seed) with torch.manual_seed(seed); returns the results.
The port (port.py) swaps the imports and wraps the learnable tensors in Variable(...), nothing else.
"""

import math

import torch


def main(seed=0):
    torch.manual_seed(seed)
    dtype = torch.float
    device = torch.device("cpu")

    # Create Tensors to hold input and outputs.
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    # Create random Tensors for weights. For a third order polynomial, we need 4 weights.
    a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    c = torch.randn((), device=device, dtype=dtype, requires_grad=True)
    d = torch.randn((), device=device, dtype=dtype, requires_grad=True)

    learning_rate = 1e-6
    for t in range(300):
        # Forward pass: compute predicted y using operations on Tensors.
        y_pred = a + b * x + c * x**2 + d * x**3

        # Compute and print loss using operations on Tensors.
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            print(t, loss.item())

        # Use autograd to compute the backward pass.
        loss.backward()

        # Manually update weights using gradient descent. Wrap in torch.no_grad()
        # because weights have requires_grad=True, but we don't need to track this in autograd.
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            # Manually zero the gradients after updating weights
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
    return {"loss": loss.item(), "coefficients": [a.item(), b.item(), c.item(), d.item()]}


if __name__ == "__main__":
    main()
