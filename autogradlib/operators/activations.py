"""The activations beyond ReLU, Tanh and Sigmoid: GELU, LeakyReLU, SiLU and ELU.

Where the two sides of a kink meet, the gradient is taken from the side torch takes it from.
"""

import math

import torch

from autogradlib.grad_operator import GradOperator

SQRT_HALF = math.sqrt(0.5)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
GELU_CUBIC = 0.044715


class GELUOperator(GradOperator):
    """x Phi(x), Phi the normal CDF;  dL/dx = dL/d(out) * (Phi(x) + x phi(x)).

    approximate='tanh': x (1 + t) / 2 with t = tanh(k (x + 0.044715 x^3)), k = sqrt(2 / pi);
    dL/dx = dL/d(out) * ((1 + t) / 2 + x (1 - t^2) k (1 + 3 * 0.044715 x^2) / 2).
    """

    label = "GELU"

    def forward(self, x, approximate="none"):
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            self.t = torch.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + torch.erf(x * SQRT_HALF))
        return x * self.cdf

    def rebuild_saved(self):
        """Under create_graph: t, or Phi(x), again from x."""
        x = self.x
        if self.approximate == "tanh":
            self.t = (SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)).tanh()
        else:
            self.cdf = NormalCDFOperator.apply(x)

    def pass_grad(self, grad_output):
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            slope = SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x * x)
            return (grad_output * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope),)
        density = (-0.5 * x * x).exp() * INV_SQRT_2PI
        return (grad_output * (self.cdf + x * density),)


class NormalCDFOperator(GradOperator):
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2;  dL/dx = dL/d(out) * exp(-x^2 / 2) / sqrt(2 pi)
    (GELU's Phi(x), recorded under create_graph)."""

    label = "NormalCDF"

    def forward(self, x):
        self.x = x
        return 0.5 * (1 + torch.erf(x * SQRT_HALF))

    def pass_grad(self, grad_output):
        x = self.x
        return (grad_output * ((-0.5 * x * x).exp() * INV_SQRT_2PI),)


class LeakyReLUOperator(GradOperator):
    """x if x > 0 else slope x;  dL/dx = dL/d(out) if x > 0 else slope dL/d(out)."""

    label = "LeakyReLU"

    def forward(self, x, negative_slope=0.01):
        self.positive, self.negative_slope = x > 0, negative_slope
        return torch.where(self.positive, x, x * negative_slope)

    def pass_grad(self, grad_output):
        return (torch.where(self.positive, grad_output, grad_output * self.negative_slope),)


class SiLUOperator(GradOperator):
    """x sigmoid(x);  dL/dx = dL/d(out) * s (1 + x (1 - s)), s = sigmoid(x)."""

    label = "SiLU"

    def forward(self, x):
        self.x, self.sigmoid = x, torch.sigmoid(x)
        return x * self.sigmoid

    def rebuild_saved(self):
        """Under create_graph: sigmoid(x) again from x."""
        self.sigmoid = self.x.sigmoid()

    def pass_grad(self, grad_output):
        sigmoid = self.sigmoid
        return (grad_output * sigmoid * (1 + self.x * (1 - sigmoid)),)


class ELUOperator(GradOperator):
    """x if x > 0 else alpha (exp(x) - 1);  dL/dx = dL/d(out) if x > 0, else alpha exp(x) dL/d(out)
    (torch's side at the kink, x = 0)."""

    label = "ELU"

    def forward(self, x, alpha=1.0):
        self.x, self.positive, self.alpha = x, x > 0, alpha
        return torch.where(self.positive, x, alpha * torch.expm1(x))

    def pass_grad(self, grad_output):
        # clamp: exp of a large positive x (not taken) would overflow to inf.
        negative_side = grad_output * (self.alpha * torch.exp(self.x.clamp(max=0)))
        return (torch.where(self.positive, grad_output, negative_side),)
