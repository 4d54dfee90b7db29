"""Fused operators: one forward and one hand-written backward where a chain of primitives would
pay Python overhead per step (Linear) or lose precision (log-softmax + NLL)."""

import torch

from autogradlib.grad_operator import GradOperator


class LinearOperator(GradOperator):
    """x @ W^T + b;  dL/dx = g @ W, dL/dW = g^T @ x, dL/db = sum of g over rows (g = dL/d(out))."""

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        if x.dim() == 2 and bias is not None:
            return torch.addmm(bias, x, weight.t())
        output = x @ weight.t()
        return output if bias is None else output + bias

    def pass_grad(self, grad_output):
        need_x, need_weight, *need_bias = self.needs_input_grad
        x, weight = self.x, self.weight
        # Leading batch dimensions all act as rows of one matrix.
        grad_rows = grad_output.reshape(-1, grad_output.shape[-1])
        grad_x = grad_output @ weight if need_x else None
        grad_weight = grad_rows.t() @ x.reshape(-1, x.shape[-1]) if need_weight else None
        if not need_bias:
            return grad_x, grad_weight
        return grad_x, grad_weight, grad_rows.sum(0) if need_bias[0] else None


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


class MSELossOperator(GradOperator):
    """reduce((x - y)**2);  dL/dx = 2 (x - y) g / n for the mean, dL/dy = -dL/dx."""

    label = "MSELoss"

    def forward(self, x, target, reduction="mean"):
        self.difference = x - target
        self.reduction = reduction
        return reduce_loss(self.difference.square(), reduction)

    def pass_grad(self, grad_output):
        need_x, need_target = self.needs_input_grad
        count = self.difference.numel()
        grad_x = (2 * self.difference) * reduction_scale(grad_output, count, self.reduction)
        return grad_x if need_x else None, -grad_x if need_target else None


class CrossEntropyLossOperator(GradOperator):
    """reduce(-sum(y * log_softmax(x)));  dL/dx = (softmax(x) * sum(y) - y) g / n for the mean.

    The target y is class indices (int, shape (N,)) or class probabilities (float, shape (N, C)).
    """

    label = "CrossEntropyLoss"

    def forward(self, logits, target, reduction="mean"):
        self.log_probabilities = logits.log_softmax(1)
        self.target, self.reduction = target, reduction
        if target.is_floating_point():
            losses = -(target * self.log_probabilities).sum(1)
        else:
            losses = -self.log_probabilities.gather(1, target.unsqueeze(1)).squeeze(1)
        return reduce_loss(losses, reduction)

    def pass_grad(self, grad_output):
        need_logits, need_target = self.needs_input_grad
        scale = reduction_scale(grad_output, self.target.shape[0], self.reduction)
        if self.reduction == "none":
            scale = scale.unsqueeze(1)
        grad_logits = self._grad_logits() * scale if need_logits else None
        grad_target = -self.log_probabilities * scale if need_target else None
        return grad_logits, grad_target

    def _grad_logits(self):
        """d(loss term)/d(logits): softmax(x) * sum(y) - y, y one-hot for class indices."""
        target = self.target
        probabilities = self.log_probabilities.exp()
        if target.is_floating_point():
            return probabilities * target.sum(1, keepdim=True) - target
        return probabilities.scatter_add(
            1, target.unsqueeze(1), probabilities.new_full((target.shape[0], 1), -1.0)
        )
