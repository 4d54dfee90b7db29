"""Element-wise functions (of one operand; where, maximum, minimum) and the dtype / device cast."""

import torch

from autogradlib.grad_operator import GradOperator


def data(value):
    """The tensor behind a Variable (for masks and conditions, which carry no gradient)."""
    return getattr(value, "tensor", value)


def zeros_like(grad_output):
    """A zero gradient: a constant, also under create_graph (it depends on nothing)."""
    if isinstance(grad_output, torch.Tensor):
        return torch.zeros_like(grad_output)
    return type(grad_output)._from_tensor(torch.zeros_like(grad_output.tensor))


def where(condition, a, b):
    """torch.where that records itself when a or b is a Variable: pass_grads use it to stay
    differentiable under create_graph."""
    if isinstance(a, torch.Tensor | float | int) and isinstance(b, torch.Tensor | float | int):
        return torch.where(data(condition), a, b)
    return WhereOperator.apply(data(condition), a, b)


class ExpOperator(GradOperator):
    """exp(a);  dL/da = dL/d(out) * exp(a)."""

    def forward(self, a):
        self.output = a.exp()
        return self.output

    def pass_grad(self, grad_output):
        return (grad_output * self.output,)


class LogOperator(GradOperator):
    """log(a);  dL/da = dL/d(out) / a."""

    def forward(self, a):
        self.a = a
        return a.log()

    def pass_grad(self, grad_output):
        return (grad_output / self.a,)


class SqrtOperator(GradOperator):
    """sqrt(a);  dL/da = dL/d(out) / (2 sqrt(a))."""

    def forward(self, a):
        self.output = a.sqrt()
        return self.output

    def pass_grad(self, grad_output):
        return (grad_output / (2 * self.output),)


class AbsOperator(GradOperator):
    """|a|;  dL/da = dL/d(out) * sign(a)  (0 at a = 0)."""

    def forward(self, a):
        self.a = a
        return a.abs()

    def pass_grad(self, grad_output):
        return (grad_output * self.a.sign(),)


class ReLUOperator(GradOperator):
    """max(a, 0);  dL/da = dL/d(out) where out > 0, else 0."""

    label = "ReLU"

    def forward(self, a):
        self.output = a.relu()
        return self.output

    def pass_grad(self, grad_output):
        # sign(out) is the 0/1 mask as floats: several times faster than a boolean mask on CPU.
        # mul_ writes into that fresh mask, never into grad_output, which other branches may share.
        return (self.output.sign().mul_(grad_output),)

    def pass_grad_on_variables(self, grad_output):
        return (self.output.sign() * grad_output,)


class SigmoidOperator(GradOperator):
    """1 / (1 + exp(-a));  dL/da = dL/d(out) * out * (1 - out)."""

    def forward(self, a):
        self.output = a.sigmoid()
        return self.output

    def pass_grad(self, grad_output):
        output = self.output
        return (grad_output * (1 - output) * output,)


class TanhOperator(GradOperator):
    """tanh(a);  dL/da = dL/d(out) * (1 - out**2)."""

    def forward(self, a):
        self.output = a.tanh()
        return self.output

    def pass_grad(self, grad_output):
        output = self.output
        return (grad_output * (1 - output * output),)


class ClampOperator(GradOperator):
    """min(max(a, low), high);  dL/da = dL/d(out) where low <= a <= high, else 0."""

    def forward(self, a, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        self.a, self.low, self.high = a, min, max
        return a.clamp(min, max)

    def pass_grad(self, grad_output):
        a, low, high = data(self.a), self.low, self.high
        if low is None:
            inside = a <= high
        elif high is None:
            inside = a >= low
        else:
            inside = (a >= low) & (a <= high)
        return (where(inside, grad_output, 0.0),)


class SignOperator(GradOperator):
    """sign(a);  dL/da = 0 (flat almost everywhere, as in PyTorch)."""

    def forward(self, a):
        return a.sign()

    def pass_grad(self, grad_output):
        return (zeros_like(grad_output),)


class WhereOperator(GradOperator):
    """torch.where(condition, a, b);  dL/da = dL/d(out) where condition, dL/db elsewhere."""

    def forward(self, condition, a, b):
        self.condition = condition
        return torch.where(condition, a, b)

    def pass_grad(self, grad_output):
        _, need_a, need_b = self.needs_input_grad
        condition = data(self.condition)
        return (
            None,
            where(condition, grad_output, 0.0) if need_a else None,
            where(condition, 0.0, grad_output) if need_b else None,
        )


class ToOperator(GradOperator):
    """a.to(dtype or device);  dL/da = dL/d(out) cast back to a's dtype and device."""

    label = "To"

    def forward(self, a, args=(), kwargs=None):
        self.dtype, self.device = a.dtype, a.device
        return a.to(*args, **(kwargs or {}))

    def pass_grad(self, grad_output):
        return (grad_output.to(dtype=self.dtype, device=self.device),)


class SinOperator(GradOperator):
    """sin(a);  dL/da = dL/d(out) * cos(a)."""

    def forward(self, a):
        self.a = a
        return a.sin()

    def pass_grad(self, grad_output):
        return (grad_output * self.a.cos(),)


class CosOperator(GradOperator):
    """cos(a);  dL/da = -dL/d(out) * sin(a)."""

    def forward(self, a):
        self.a = a
        return a.cos()

    def pass_grad(self, grad_output):
        return (-grad_output * self.a.sin(),)


class Log1pOperator(GradOperator):
    """log(1 + a);  dL/da = dL/d(out) / (1 + a)."""

    def forward(self, a):
        self.a = a
        return a.log1p()

    def pass_grad(self, grad_output):
        return (grad_output / (1 + self.a),)


class Expm1Operator(GradOperator):
    """exp(a) - 1;  dL/da = dL/d(out) * (out + 1)."""

    def forward(self, a):
        self.output = a.expm1()
        return self.output

    def pass_grad(self, grad_output):
        return (grad_output * (self.output + 1),)


class RoundOperator(GradOperator):
    """round(a) (halves to even);  dL/da = 0, as PyTorch's step functions pass back."""

    function = staticmethod(torch.round)

    def forward(self, a, **options):
        return self.function(a, **options)

    def pass_grad(self, grad_output):
        return (zeros_like(grad_output),)


class FloorOperator(RoundOperator):
    """floor(a);  dL/da = 0."""

    function = staticmethod(torch.floor)


class CeilOperator(RoundOperator):
    """ceil(a);  dL/da = 0."""

    function = staticmethod(torch.ceil)


class TruncOperator(RoundOperator):
    """trunc(a), rounding towards 0;  dL/da = 0."""

    function = staticmethod(torch.trunc)


class MaximumOperator(GradOperator):
    """maximum(a, b) element-wise;  dL/da = dL/d(out) where a > b, half of it where a == b."""

    function = staticmethod(torch.maximum)

    def forward(self, a, b):
        self.a, self.b = a, b
        return self.function(a, b)

    def pass_grad(self, grad_output):
        need_a, need_b = self.needs_input_grad
        a, b = self.a, self.b
        # PyTorch splits the gradient of a tie evenly between the two operands.
        half = grad_output / 2
        a_wins = self.function(a, b) == a
        grad_a = torch.where(a == b, half, torch.where(a_wins, grad_output, 0.0))
        grad_b = torch.where(a == b, half, torch.where(a_wins, 0.0, grad_output))
        return grad_a if need_a else None, grad_b if need_b else None


class MinimumOperator(MaximumOperator):
    """minimum(a, b) element-wise;  dL/da = dL/d(out) where a < b, half of it where a == b."""

    function = staticmethod(torch.minimum)
