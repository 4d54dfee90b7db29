"""Element-wise functions of one operand, and the dtype / device cast."""

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
        if type(grad_output) is torch.Tensor:
            return (self.output.sign().mul_(grad_output),)
        return (self.output.sign() * grad_output,)  # recorded (create_graph)


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
