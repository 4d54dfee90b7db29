"""In-place operators: forward changes its first operand's tensor and returns that same tensor.

Variable's in-place methods (add_, mul_, x[i] = v, ...) apply these only while recording; the
Variable then takes the operator as its grad_op, so that every alias of it follows. What a
formula needs from the operand before the change is copied first, since the change overwrites it.
"""

import torch

from autogradlib.grad_operator import GradOperator


def unaliased(b, a: torch.Tensor):
    """b, copied if it shares a's memory: saved for backward, it must not change with a."""
    if (
        isinstance(b, torch.Tensor)
        and b.untyped_storage().data_ptr() == a.untyped_storage().data_ptr()
    ):
        return b.clone()
    return b


def operand_before_change(operator: GradOperator):
    """The saved copy `a` of operand 0 as a Variable of the graph (under create_graph)."""
    a = getattr(operator, "a", None)
    if a is None or operator.inputs[0] is None:
        return a
    return operator.recorded_operand(0, a)


class AddInplaceOperator(GradOperator):
    """a += alpha * b;  dL/da = dL/d(out), dL/db = alpha * dL/d(out)."""

    label = "Add_"

    def forward(self, a, b, alpha=1):
        self.alpha = alpha
        return a.add_(b, alpha=alpha)

    def pass_grad(self, grad_output):
        need_a, need_b = self.needs_input_grad
        grad_b = grad_output if self.alpha == 1 else grad_output * self.alpha
        return grad_output if need_a else None, grad_b if need_b else None


class SubInplaceOperator(AddInplaceOperator):
    """a -= alpha * b;  dL/da = dL/d(out), dL/db = -alpha * dL/d(out)."""

    label = "Sub_"

    def forward(self, a, b, alpha=1):
        self.alpha = -alpha
        return a.sub_(b, alpha=alpha)


class MulInplaceOperator(GradOperator):
    """a *= b;  dL/da = dL/d(out) * b, dL/db = dL/d(out) * a (a before the change)."""

    label = "Mul_"

    def forward(self, a, b, keep_a=False):
        self.b = unaliased(b, a)
        if keep_a:
            self.a = a.clone()
        return a.mul_(b)

    def rebuild_saved(self):
        """Under create_graph: the copy of a before the change, connected to where a came from."""
        self.a = operand_before_change(self)

    def pass_grad(self, grad_output):
        need_a, need_b = self.needs_input_grad
        return (
            grad_output * self.b if need_a else None,
            grad_output * self.a if need_b else None,
        )


class DivInplaceOperator(GradOperator):
    """a /= b;  dL/da = dL/d(out) / b, dL/db = -dL/d(out) * a / b**2 (a before the change)."""

    label = "Div_"

    def forward(self, a, b, keep_a=False):
        self.b = unaliased(b, a)
        if keep_a:
            self.a = a.clone()
        return a.div_(b)

    def rebuild_saved(self):
        """Under create_graph: the copy of a before the change, connected to where a came from."""
        self.a = operand_before_change(self)

    def pass_grad(self, grad_output):
        need_a, need_b = self.needs_input_grad
        b = self.b
        return (
            grad_output / b if need_a else None,
            -grad_output * self.a / (b * b) if need_b else None,
        )


class ClampInplaceOperator(GradOperator):
    """a = min(max(a, low), high);  dL/da = dL/d(out) where low <= a <= high (before), else 0."""

    label = "Clamp_"

    def forward(self, a, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        inside = torch.ones_like(a, dtype=torch.bool)
        if min is not None:
            inside &= a >= min
        if max is not None:
            inside &= a <= max
        self.inside = inside
        return a.clamp_(min, max)

    def pass_grad(self, grad_output):
        return (torch.where(self.inside, grad_output, 0.0),)


class ReLUInplaceOperator(GradOperator):
    """a = max(a, 0);  dL/da = dL/d(out) where out > 0, else 0."""

    label = "ReLU_"

    def forward(self, a):
        # The output is a itself: like PyTorch's relu_, a later in-place change to it is an error.
        self.output = a.relu_()
        return self.output

    def pass_grad(self, grad_output):
        if type(grad_output) is torch.Tensor:
            return (self.output.sign().mul_(grad_output),)
        return (self.output.sign() * grad_output,)  # recorded (create_graph)


class OverwriteOperator(GradOperator):
    """a filled with values that do not depend on it (zero_, fill_, uniform_, normal_);
    dL/da = 0."""

    label = "Overwrite_"

    def forward(self, a, method, args=(), kwargs=None):
        return getattr(a, method)(*args, **(kwargs or {}))

    def pass_grad(self, grad_output):
        return (torch.zeros_like(grad_output),)


class CopyInplaceOperator(GradOperator):
    """a = b (broadcast to a's shape; copy_, fill_ with a 0-d Variable);  dL/da = 0,
    dL/db = dL/d(out), which the engine sums back to b's shape."""

    label = "Copy_"

    def forward(self, a, b):
        return a.copy_(b)

    def pass_grad(self, grad_output):
        need_a, need_b = self.needs_input_grad
        return torch.zeros_like(grad_output) if need_a else None, grad_output if need_b else None


class SetItemOperator(GradOperator):
    """a[index] = value;  dL/da = dL/d(out) with zeros at index, dL/d(value) = dL/d(out)[index]."""

    label = "SetItem"

    def forward(self, a, value, index):
        self.index = index
        a[index] = value
        return a

    def pass_grad(self, grad_output):
        need_a, need_value = self.needs_input_grad
        grad_a = None
        if need_a:
            grad_a = grad_output.clone()
            grad_a[self.index] = 0
        return grad_a, grad_output[self.index] if need_value else None
