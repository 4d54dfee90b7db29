"""Operators that move elements without arithmetic: views, indexing, repeat, cat and stack."""

import torch

from autogradlib.grad_operator import GradOperator
from autogradlib.operators.pointwise import zeros_like


def kept_if_view(operator: GradOperator, output: torch.Tensor) -> torch.Tensor:
    """`output`, remembered on `operator` when it is a view of the operand: an in-place change
    to the operand then bumps its version, and backward refuses the stale view's history (where
    PyTorch would rebuild it) rather than pass a gradient that ignores the change."""
    if output._is_view():
        operator.output_view = output
    return output


class TransposeOperator(GradOperator):
    """a with dimensions dim0 and dim1 swapped;  dL/da = dL/d(out) swapped back."""

    def forward(self, a, dim0, dim1):
        self.dim0, self.dim1 = dim0, dim1
        return kept_if_view(self, a.transpose(dim0, dim1))

    def pass_grad(self, grad_output):
        return (grad_output.transpose(self.dim0, self.dim1),)


class PermuteOperator(GradOperator):
    """a with its dimensions reordered;  dL/da = dL/d(out) under the inverse order."""

    def forward(self, a, dims):
        output = a.permute(dims)
        self.inverse = [0] * len(dims)
        for position, dim in enumerate(dims):
            self.inverse[dim % len(dims)] = position
        return kept_if_view(self, output)

    def pass_grad(self, grad_output):
        return (grad_output.permute(self.inverse),)


class ReshapeOperator(GradOperator):
    """a with a new shape, same elements in the same order;  dL/da = dL/d(out) in a's shape."""

    label = "Reshape"

    def forward(self, a, shape):
        self.shape = a.shape
        return kept_if_view(self, a.reshape(shape))

    def pass_grad(self, grad_output):
        return (grad_output.reshape(self.shape),)


class ViewOperator(ReshapeOperator):
    """a.view(shape);  dL/da = dL/d(out) in a's shape.

    Where a's layout cannot be viewed, the values are copied, as reshape does: a chain may hand
    out a transposed layout where torch's layers return contiguous tensors (see ChainOperator),
    and code that views torch's results must run here too.
    """

    label = "View"

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return kept_if_view(self, a.view(shape))
        except RuntimeError:
            if a.is_contiguous():
                raise  # a wrong shape, not a layout torch cannot view
            return a.reshape(shape)


class UnsqueezeOperator(ReshapeOperator):
    """a with a new dimension of size 1;  dL/da = dL/d(out) in a's shape."""

    label = "Unsqueeze"

    def forward(self, a, dim):
        self.shape = a.shape
        return kept_if_view(self, a.unsqueeze(dim))


class SqueezeOperator(ReshapeOperator):
    """a without dimensions of size 1;  dL/da = dL/d(out) in a's shape."""

    label = "Squeeze"

    def forward(self, a, dim=None):
        self.shape = a.shape
        return kept_if_view(self, a.squeeze() if dim is None else a.squeeze(dim))


class CloneOperator(GradOperator):
    """a copied to new memory (contiguous, with memory_format=torch.contiguous_format);
    dL/da = dL/d(out)."""

    def forward(self, a, memory_format=torch.preserve_format):
        return a.clone(memory_format=memory_format)

    def pass_grad(self, grad_output):
        return (grad_output,)


class ExpandOperator(GradOperator):
    """a broadcast to `sizes`;  dL/da = dL/d(out), which the engine sums back to a's shape."""

    def forward(self, a, sizes):
        return kept_if_view(self, a.expand(sizes))

    def pass_grad(self, grad_output):
        return (grad_output,)


class RepeatOperator(GradOperator):
    """a tiled `sizes` times along each dimension;  dL/da = sum of dL/d(out) over the tiles."""

    def forward(self, a, sizes):
        if len(sizes) < a.dim():
            raise ValueError(
                f"repeat: got {len(sizes)} repeat counts for a tensor of {a.dim()} dimensions"
            )
        self.shape = a.shape
        return a.repeat(sizes)

    def pass_grad(self, grad_output):
        # Split each output dimension into (repeats, size) and sum the repeats away.
        sizes = (1,) * (grad_output.dim() - len(self.shape)) + tuple(self.shape)
        split_shape = []
        for repeats_times_size, size in zip(grad_output.shape, sizes, strict=True):
            split_shape += [repeats_times_size // size if size else 0, size]
        tiles = grad_output.reshape(split_shape)
        grad = tiles.sum(dim=tuple(range(0, len(split_shape), 2)))
        return (grad.reshape(self.shape),)


def is_basic_index(index) -> bool:
    """True when `index` selects each element at most once (ints, slices, None, Ellipsis)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(part is None or part is Ellipsis or isinstance(part, (int, slice)) for part in parts)


class IndexOperator(GradOperator):
    """a[index];  dL/da = dL/d(out) added back at the positions the index selected."""

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        return kept_if_view(self, a[index])

    def pass_grad(self, grad_output):
        if not isinstance(grad_output, torch.Tensor):
            return (IndexBackwardOperator.apply(grad_output, shape=self.shape, index=self.index),)
        return (index_backward(grad_output, self.shape, self.index),)


class IndexBackwardOperator(GradOperator):
    """Zeros of `shape` with g added at a[index]'s positions (a[index]'s backward, recorded under
    create_graph);  dL/dg = dL/d(out)[index]."""

    label = "IndexBackward"

    def forward(self, grad_output, shape, index):
        self.index = index
        return index_backward(grad_output, shape, index)

    def pass_grad(self, grad_output):
        return (grad_output[self.index],)


def index_backward(grad_output, shape, index):
    """dL/da for out = a[index]: dL/d(out) added back at the positions the index selected."""
    grad = grad_output.new_zeros(shape)
    if is_basic_index(index):
        grad[index] = grad_output
        return grad
    # Integer and boolean tensors may pick an element several times: its gradients add up.
    # Indexing a grid of flat positions the same way says where each output element came from.
    positions = torch.arange(grad.numel(), device=grad.device).reshape(shape)[index]
    flat = grad.reshape(-1).index_add(0, positions.reshape(-1), grad_output.reshape(-1))
    return flat.reshape(shape)


class CatOperator(GradOperator):
    """torch.cat(operands, dim);  dL/d(operand i) = the slice of dL/d(out) that operand filled."""

    def forward(self, *tensors, dim=0):
        self.dim = dim
        # torch.cat lets a 1-D empty operand join tensors of any shape (the `out = cat([out, x])`
        # idiom starts from torch.tensor([])): it fills no slice, and gets an empty gradient back.
        self.skipped = [tensor.shape == (0,) for tensor in tensors]
        self.sizes = [0 if tensor.shape == (0,) else tensor.shape[dim] for tensor in tensors]
        return torch.cat(tensors, dim)

    def pass_grad(self, grad_output):
        if isinstance(grad_output, torch.Tensor):
            grads = grad_output.split(self.sizes, self.dim)
        else:  # recorded (create_graph): the same slices, by indexing
            before = (slice(None),) * (self.dim % grad_output.dim())
            starts = [sum(self.sizes[:index]) for index in range(len(self.sizes))]
            grads = tuple(
                grad_output[(*before, slice(start, start + size))]
                for start, size in zip(starts, self.sizes, strict=True)
            )
        if grad_output.dim() == 1 or not any(self.skipped):
            return grads
        empty = zeros_like(grad_output[:0].reshape(0))
        return tuple(
            empty if skipped else grad for grad, skipped in zip(grads, self.skipped, strict=True)
        )


class StackOperator(GradOperator):
    """torch.stack(operands, dim);  dL/d(operand i) = dL/d(out) at position i along dim."""

    def forward(self, *tensors, dim=0):
        self.dim = dim
        return torch.stack(tensors, dim)

    def pass_grad(self, grad_output):
        if isinstance(grad_output, torch.Tensor):
            return grad_output.unbind(self.dim)
        before = (slice(None),) * (self.dim % grad_output.dim())
        return tuple(grad_output[(*before, index)] for index in range(grad_output.shape[self.dim]))


class GatherOperator(GradOperator):
    """a.gather(dim, index);  dL/da = dL/d(out) added back at the gathered positions."""

    def forward(self, a, dim, index):
        self.shape, self.dim, self.index = a.shape, dim, index
        return a.gather(dim, index)

    def pass_grad(self, grad_output):
        if isinstance(grad_output, torch.Tensor):
            grad = grad_output.new_zeros(self.shape)
            return (grad.scatter_add(self.dim, self.index, grad_output),)
        return (
            GatherBackwardOperator.apply(
                grad_output, shape=self.shape, dim=self.dim, index=self.index
            ),
        )


class GatherBackwardOperator(GradOperator):
    """Zeros of `shape` with g added at the positions a.gather(dim, index) read (gather's and
    max pooling's backward, recorded under create_graph);  dL/dg = dL/d(out).gather(dim, index)."""

    label = "GatherBackward"

    def forward(self, grad_output, shape, dim, index):
        self.dim, self.index = dim, index
        return grad_output.new_zeros(shape).scatter_add_(dim, index, grad_output)

    def pass_grad(self, grad_output):
        if isinstance(grad_output, torch.Tensor):
            return (grad_output.gather(self.dim, self.index),)
        return (GatherOperator.apply(grad_output, dim=self.dim, index=self.index),)
