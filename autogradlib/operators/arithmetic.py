"""Arithmetic operators: + - * / ** @ and negation, with PyTorch broadcasting."""

import numbers

import torch

from autogradlib.grad_operator import GradOperator
from autogradlib.operators.pointwise import data, where, zeros_like


def as_tensor_like(value, like: torch.Tensor) -> torch.Tensor:
    """A Python number as a tensor on `like`'s device and dtype; tensors pass through."""
    if isinstance(value, torch.Tensor):
        return value
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


class AddOperator(GradOperator):
    """a + b;  dL/da = dL/db = dL/d(out)."""

    def forward(self, a, b):
        return a + b

    def pass_grad(self, grad_output):
        return grad_output, grad_output


class SubOperator(GradOperator):
    """a - b;  dL/da = dL/d(out), dL/db = -dL/d(out)."""

    def forward(self, a, b):
        return a - b

    def pass_grad(self, grad_output):
        need_a, need_b = self.needs_input_grad
        return grad_output if need_a else None, -grad_output if need_b else None


class MulOperator(GradOperator):
    """a * b;  dL/da = dL/d(out) * b, dL/db = dL/d(out) * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def pass_grad(self, grad_output):
        need_a, need_b = self.needs_input_grad
        return (
            grad_output * self.b if need_a else None,
            grad_output * self.a if need_b else None,
        )


class DivOperator(GradOperator):
    """a / b;  dL/da = dL/d(out) / b, dL/db = -dL/d(out) * a / b**2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def pass_grad(self, grad_output):
        need_a, need_b = self.needs_input_grad
        a, b = self.a, self.b
        return (
            grad_output / b if need_a else None,
            -grad_output * a / (b * b) if need_b else None,
        )


class NegOperator(GradOperator):
    """-a;  dL/da = -dL/d(out)."""

    def forward(self, a):
        return -a

    def pass_grad(self, grad_output):
        return (-grad_output,)


class PowOperator(GradOperator):
    """a ** p;  dL/da = dL/d(out) * p * a**(p-1), dL/dp = dL/d(out) * out * log(a)."""

    def forward(self, base, exponent):
        self.base, self.exponent = base, exponent
        self.output = base**exponent
        return self.output

    def pass_grad(self, grad_output):
        need_base, need_exponent = self.needs_input_grad
        return (
            self._grad_base(grad_output) if need_base else None,
            self._grad_exponent(grad_output) if need_exponent else None,
        )

    def _grad_base(self, grad_output):
        base, exponent = self.base, self.exponent
        if isinstance(exponent, numbers.Number):
            if exponent == 0:
                return zeros_like(grad_output)
            return grad_output * (exponent * base ** (exponent - 1))
        # p = 0 has zero gradient even where a**(p-1) is infinite (a = 0), as in PyTorch.
        return where(data(exponent) == 0, 0.0, grad_output * (exponent * base ** (exponent - 1)))

    def _grad_exponent(self, grad_output):
        base = self.base
        if not isinstance(base, torch.Tensor | Variable):
            base = as_tensor_like(base, data(grad_output))
        # 0 ** p for p >= 0 is flat in p from where PyTorch stands: gradient 0, not NaN from log(0).
        flat = (data(base) == 0) & (data(self.exponent) >= 0)
        return grad_output * where(flat, 0.0, self.output * base.log())


class MatMulOperator(GradOperator):
    """a @ b (torch.matmul);  dL/da = dL/d(out) @ b^T, dL/db = a^T @ dL/d(out)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def pass_grad(self, grad_output):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        if a.dim() == 2 and b.dim() == 2:
            return (
                grad_output @ b.t() if need_a else None,
                a.t() @ grad_output if need_b else None,
            )
        # 1-D operands act as a row (a) or a column (b), which is then dropped from the output.
        a_matrix = a.unsqueeze(0) if a.dim() == 1 else a
        b_matrix = b.unsqueeze(-1) if b.dim() == 1 else b
        # Column first: for vector @ vector the output is 0-d and has no dimension -2 yet.
        grad_matrix = grad_output
        if b.dim() == 1:
            grad_matrix = grad_matrix.unsqueeze(-1)
        if a.dim() == 1:
            grad_matrix = grad_matrix.unsqueeze(-2)
        grad_a = grad_b = None
        if need_a:
            grad_a = grad_matrix @ b_matrix.mT
            grad_a = grad_a.squeeze(-2) if a.dim() == 1 else grad_a
        if need_b:
            grad_b = a_matrix.mT @ grad_matrix
            grad_b = grad_b.squeeze(-1) if b.dim() == 1 else grad_b
        return grad_a, grad_b


from autogradlib.variable import Variable  # noqa: E402
