"""The backward engine: runs every GradOperator of a graph once, in reverse creation order.

An operator's inputs were always created before it, so popping operators from a heap by
decreasing creation number visits each one after all its consumers, without recursion; its
incoming gradients are summed before it runs, so it runs once however many paths reach it.
"""

from heapq import heappop, heappush

import torch

from autogradlib import anomaly
from autogradlib.errors import DTypeError, GraphError, ShapeError
from autogradlib.grad_operator import GradOperator


def run_backward(root, gradient=None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) (times `gradient`) into the .grad of every leaf below root."""
    if not root.requires_grad:
        raise GraphError(
            "backward: this Variable does not require grad and has no grad_op; "
            "was it computed under no_grad() or from inputs with requires_grad=False?"
        )
    gradient = initial_gradient(root, gradient)
    operator = root.grad_op
    if operator is None:
        accumulate_into_leaf(root, gradient, shared=True)
        return
    operator.grad_output = gradient
    heap = [(-operator.sequence, operator)]
    try:
        while heap:
            run_operator(heappop(heap)[1], heap, retain_graph)
    finally:
        # After an error, forget the gradients waiting on operators that never ran.
        for _, operator in heap:
            operator.grad_output = None


def run_operator(operator, heap: list, retain_graph: bool) -> None:
    """Pass `operator`'s summed incoming gradient on to its sources, queueing their producers."""
    grad_output = operator.grad_output
    operator.grad_output = None
    if operator.released:
        raise GraphError(
            f"backward: the graph through {operator.label} was already released by an earlier "
            "backward(); call the first backward with retain_graph=True to go through it again"
        )
    check_saved_versions(operator)
    if operator.retained is not None:
        keep_retained_grad(operator, grad_output)
    grads = operator.pass_grad(grad_output)
    sources = operator.inputs
    if type(grads) is not tuple or len(grads) != len(sources):
        grads = check_grads(operator, grads)
    if anomaly.enabled:
        anomaly.check_backward(operator, grads)
    for source, grad in zip(sources, grads, strict=False):  # lengths checked above
        if grad is None or source is None:
            continue
        if isinstance(source, GradOperator):
            if grad.shape != source.output_shape:
                grad = sum_to_shape(grad, source.output_shape, operator.label)
            if source.grad_output is None:
                source.grad_output = grad
                heappush(heap, (-source.sequence, source))
            else:
                source.grad_output = source.grad_output + grad
            continue
        shape = source.tensor.shape  # a leaf
        if grad.shape != shape:
            grad = sum_to_shape(grad, shape, operator.label)
        if source.grad is None and grad is not grad_output and not grad._is_view():
            source.grad = grad  # the common case, inline: a leaf's first, unshared gradient
        else:
            accumulate_into_leaf(source, grad, grad is grad_output or grad._is_view())
    if not retain_graph:
        operator.release()


def check_saved_versions(operator) -> None:
    """Raise if a tensor the operator saved for backward was changed in place since (as PyTorch's
    version counter does): its gradient would silently be wrong."""
    for tensor, version in operator.versions:
        if tensor._version != version:
            name = operator.saved_name(tensor)
            if name is None:
                continue  # watched, as a ChainOperator watches its operands, but not saved
            raise GraphError(
                "backward: one of the variables needed for gradient computation has been "
                f"modified by an inplace operation: {operator.label} saved {name}, a tensor of "
                f"shape {tuple(tensor.shape)}, at version {version}; it is now at version "
                f"{tensor._version}. Make the in-place change after backward(), or use an "
                "out-of-place operation (y = y + 1 rather than y += 1) or .clone() before it"
            )


def check_grads(operator, grads) -> tuple:
    """pass_grad's result as a tuple of one gradient per operand, or a GraphError."""
    if isinstance(grads, torch.Tensor):
        grads = (grads,)
    grads = tuple(grads)
    if len(grads) != len(operator.inputs):
        raise GraphError(
            f"backward: {operator.label}.pass_grad returned {len(grads)} gradients for "
            f"{len(operator.inputs)} operands; return one per operand (None where not needed)"
        )
    return grads


def keep_retained_grad(operator, grad_output) -> None:
    """Store the gradient on the output Variable that asked for retain_grad(), if it still lives."""
    retained = operator.retained()
    if retained is not None:
        accumulate_into_leaf(retained, grad_output, shared=True)


def accumulate_into_leaf(variable, grad: torch.Tensor, shared: bool) -> None:
    """Add `grad` to `variable.grad`; a first gradient is kept as is unless other code shares it."""
    if variable.grad is None:
        # A gradient that is also another leaf's (or a view of one) is copied, so that editing
        # one .grad in place never changes another.
        variable.grad = grad.clone() if shared else grad
    else:
        variable.grad = variable.grad + grad


def sum_to_shape(grad: torch.Tensor, shape: torch.Size, label: str) -> torch.Tensor:
    """Undo broadcasting: sum `grad` over the dimensions that broadcasting added or stretched."""
    extra = grad.dim() - len(shape)
    stretched = [
        extra + index
        for index, size in enumerate(shape)
        if size == 1 and extra >= 0 and grad.shape[extra + index] != 1
    ]
    dims = list(range(extra)) + stretched
    if dims:
        grad = grad.sum(dims, keepdim=True)
    if extra < 0 or grad.shape[extra:] != shape:
        raise ShapeError(
            f"backward: {label} returned a gradient of shape {tuple(grad.shape)} for an operand "
            f"of shape {tuple(shape)}, which broadcasting cannot explain"
        )
    return grad.reshape(shape)


def initial_gradient(root, gradient) -> torch.Tensor:
    """The gradient backward starts from: 1 for a one-element root, else the one given."""
    tensor = root.tensor
    if gradient is None:
        if tensor.numel() != 1:
            raise ShapeError(
                f"backward: a gradient can be implied only for a one-element output, but this one "
                f"has shape {tuple(tensor.shape)}; pass backward(gradient) of that shape"
            )
        return torch.ones_like(tensor)
    gradient = getattr(gradient, "tensor", gradient)
    if not isinstance(gradient, torch.Tensor):
        gradient = torch.as_tensor(gradient, dtype=tensor.dtype, device=tensor.device)
    if gradient.shape != tensor.shape:
        raise ShapeError(
            f"backward: gradient has shape {tuple(gradient.shape)}, but the output has shape "
            f"{tuple(tensor.shape)}"
        )
    if gradient.dtype != tensor.dtype:
        raise DTypeError(
            f"backward: gradient has dtype {gradient.dtype}, "
            f"but the output has dtype {tensor.dtype}"
        )
    return gradient
