"""Element-wise functions of one operand, and the dtype / device cast."""

import torch

from autogradlib.grad_operator import GradOperator


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
        a, low, high = self.a, self.low, self.high
        if low is None:
            inside = a <= high
        elif high is None:
            inside = a >= low
        else:
            inside = (a >= low) & (a <= high)
        return (torch.where(inside, grad_output, 0.0),)


class ToOperator(GradOperator):
    """a.to(dtype or device);  dL/da = dL/d(out) cast back to a's dtype and device."""

    label = "To"

    def forward(self, a, args=(), kwargs=None):
        self.dtype, self.device = a.dtype, a.device
        return a.to(*args, **(kwargs or {}))

    def pass_grad(self, grad_output):
        return (grad_output.to(dtype=self.dtype, device=self.device),)
