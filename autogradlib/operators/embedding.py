"""Embedding: rows of a weight matrix picked by integer indices."""

import torch

from autogradlib.grad_operator import GradOperator
from autogradlib.operators.pointwise import where
from autogradlib.operators.shape import GatherBackwardOperator


class EmbeddingOperator(GradOperator):
    """weight[indices];  dL/dweight[i] = sum of dL/d(out) over the positions holding index i,
    and 0 for padding_idx."""

    label = "Embedding"

    def forward(self, indices, weight, padding_idx=None):
        self.indices, self.weight_shape, self.padding_idx = indices, weight.shape, padding_idx
        # index_select, as torch's embedding: a negative index is an error, not a row from the end.
        rows = weight.index_select(0, indices.reshape(-1))
        return rows.view(*indices.shape, weight.shape[1])

    def pass_grad(self, grad_output):
        rows = grad_output.reshape(-1, self.weight_shape[1])
        if not isinstance(rows, torch.Tensor):  # recorded (create_graph)
            index = self.indices.reshape(-1, 1).expand(rows.shape)
            grad_weight = GatherBackwardOperator.apply(
                rows, shape=self.weight_shape, dim=0, index=index
            )
            if self.padding_idx is not None:
                padding = torch.zeros(self.weight_shape, dtype=torch.bool, device=index.device)
                padding[self.padding_idx] = True
                grad_weight = where(padding, 0.0, grad_weight)
            return None, grad_weight
        grad_weight = rows.new_zeros(self.weight_shape).index_add_(
            0, self.indices.reshape(-1), rows
        )
        if self.padding_idx is not None:
            grad_weight[self.padding_idx] = 0
        return None, grad_weight
