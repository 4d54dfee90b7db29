"""Fused operators: one forward and one hand-written backward where a chain of primitives would
pay Python overhead per step (Linear, MSE). The other losses are in losses.py."""

import torch

from autogradlib.grad_operator import GradOperator

# From this many rows, MKL multiplies faster with the rows as the output's columns, out^T = W x^T:
# 20-45% faster per product at 1,000 rows on this project's machine (CPU), but slower at 100.
TALL = 512


class LinearOperator(GradOperator):
    """x @ W^T + b;  dL/dx = g @ W, dL/dW = g^T @ x, dL/db = sum of g over rows (g = dL/d(out)).

    With contiguous=False (inside a chain), a tall 2-D input is multiplied as out^T = W x^T, and
    the output is that product's transposed view: MKL's faster layout here (see TALL).
    """

    keeps_operands_only = True

    def forward(self, x, weight, bias=None, contiguous=True):
        self.x, self.weight = x, weight
        matrix = x.dim() == 2
        # Measured with MKL only: on a GPU the layout stays torch's. (Each test reads the tensor
        # once, about 0.3 us in a step: the row count, false at small batches, comes first.)
        self.transposed = not contiguous and matrix and x.shape[0] >= TALL and not x.is_cuda
        if self.transposed:
            if bias is None:
                return weight.mm(x.t()).t()
            return torch.addmm(bias.unsqueeze(1), weight, x.t()).t()
        if matrix and bias is not None:
            return torch.addmm(bias, x, weight.t())
        output = x @ weight.t()
        return output if bias is None else output + bias

    def pass_grad(self, grad_output):
        needs = self.needs_input_grad
        x, grad_rows = self.x, grad_output
        if x.dim() != 2:
            # Leading batch dimensions all act as rows of one matrix.
            x = x.reshape(-1, x.shape[-1])
            grad_rows = grad_output.reshape(-1, grad_output.shape[-1])
        if not needs[0]:
            grad_x = None
        elif self.transposed:
            # Transposed like the output, so that the elementwise operations before this layer
            # meet tensors of one memory layout.
            grad_x = self.weight.t().mm(grad_output.t()).t()
        else:
            grad_x = grad_output @ self.weight
        grad_weight = weight_gradient(grad_rows, x) if needs[1] else None
        if len(needs) == 2:
            return grad_x, grad_weight
        return grad_x, grad_weight, grad_rows.sum(0) if needs[2] else None

    def pass_grad_on_variables(self, grad_output):
        """The same formulas in Variable operations, in torch's layout."""
        needs, x, weight = self.needs_input_grad, self.x, self.weight
        grad_rows = grad_output.reshape(-1, grad_output.shape[-1])
        grads = [
            grad_output @ weight if needs[0] else None,
            grad_rows.t() @ x.reshape(-1, x.shape[-1]) if needs[1] else None,
        ]
        if len(needs) == 3:
            grads.append(grad_rows.sum(0) if needs[2] else None)
        return tuple(grads)


def weight_gradient(grad_rows, x):
    """g^T @ x, multiplied in the order MKL does fastest: several times faster when x is narrow."""
    if x.shape[1] < grad_rows.shape[1]:
        # contiguous(): .grad keeps the parameter's layout, so users can .view() it.
        return x.t().mm(grad_rows).t().contiguous()
    return grad_rows.t().mm(x)


def reduce_loss(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply a loss's reduction: 'mean', 'sum' or 'none'."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def reduction_scale(grad_output, count: int, reduction: str):
    """dL/d(each loss term) given dL/d(reduced loss)."""
    return grad_output / count if reduction == "mean" else grad_output


class DifferenceLossOperator(GradOperator):
    """A loss of d = x - y, whose gradient for y is minus that for x. Forward keeps x and y (what
    create_graph rebuilds d from) and d, its own: only the operands' versions need checking."""

    keeps_operands_only = True

    def keep_difference(self, x, target):
        """Keep x, y and d = x - y; return d."""
        self.x, self.target = x, target
        self.difference = x - target
        return self.difference

    def rebuild_saved(self):
        """Under create_graph: x - y again from the operands."""
        self.difference = self.x - self.target

    def operand_grads(self, grad_x) -> tuple:
        """(dL/dx, dL/dy = -dL/dx), None where not needed."""
        need_x, need_target = self.needs_input_grad
        return grad_x if need_x else None, -grad_x if need_target else None


class MSELossOperator(DifferenceLossOperator):
    """reduce((x - y)**2);  dL/dx = 2 (x - y) g / n for the mean, dL/dy = -dL/dx."""

    label = "MSELoss"

    def forward(self, x, target, reduction="mean"):
        self.reduction = reduction
        return reduce_loss(self.keep_difference(x, target).square(), reduction)

    def pass_grad(self, grad_output):
        scale = 2 / self.difference.numel() if self.reduction == "mean" else 2
        # Scaling the (usually 0-d) incoming gradient first saves a pass over the difference.
        return self.operand_grads(self.difference * (grad_output * scale))
