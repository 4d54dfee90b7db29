"""The backward engine: runs every GradOperator of a graph once, in reverse creation order.

An operator's inputs were always created before it, so popping operators from a heap by
decreasing creation number visits each one after all its consumers, without recursion; its
incoming gradients are summed before it runs, so it runs once however many paths reach it.
What one backward pass holds (the gradients waiting on each operator) lives in a `BackwardPass`,
never on the operators, so a backward run inside another (a hook, a transform) disturbs nothing.

With create_graph=True every gradient is a Variable and each pass_grad runs on Variables (see
GradOperator.pass_grad_recorded), so the gradients are recorded and can be differentiated again.
"""

from heapq import heappop, heappush

import torch

from autogradlib import anomaly, hooks
from autogradlib.errors import DTypeError, GraphError, ShapeError
from autogradlib.grad_mode import enable_grad, grad_mode
from autogradlib.grad_operator import GradOperator, version_of


def run_backward(
    root, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None
) -> None:
    """Accumulate d(root)/d(leaf) (times `gradient`) into the .grad of every leaf below root
    (only of `inputs` when given), as torch's Tensor.backward."""
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        variables = as_variable_list(inputs, "backward: inputs")
        if not variables:
            raise GraphError("backward: inputs= was given but is empty")
        grads = grad([root], variables, [gradient], retain_graph, create_graph, allow_unused=True)
        for variable, variable_grad in zip(variables, grads, strict=True):
            if variable_grad is not None:
                accumulate_into_leaf(variable, variable_grad, shared=True)
        return
    check_requires_grad(root, "backward")
    gradient = initial_gradient(root, gradient, create_graph)
    if root.grad_op is None:
        leaf_gradient = hooks.run_leaf_hooks(root, gradient) if hooks.leaf_hooks else gradient
        accumulate_into_leaf(root, leaf_gradient, shared=True)
        return
    BackwardPass(retain_graph, create_graph).run([(root.grad_op, gradient)])


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """d(outputs)/d(input) for each input (times `grad_outputs`), as PyTorch's autograd.grad:
    nothing is accumulated into .grad; each result is a torch.Tensor, or a Variable with
    create_graph."""
    if retain_graph is None:
        retain_graph = create_graph
    outputs = as_variable_list(outputs, "grad: outputs")
    inputs = as_variable_list(inputs, "grad: inputs")
    if grad_outputs is None or isinstance(grad_outputs, (torch.Tensor, Variable)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise GraphError(
            f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; "
            "give one per output (None for a one-element output)"
        )
    for index, variable in enumerate(inputs):
        check_requires_grad(variable, f"grad: input {index}")
    wanted = Wanted(inputs)
    starts = []
    for output, gradient in zip(outputs, grad_outputs, strict=True):
        check_requires_grad(output, "grad: output")
        gradient = initial_gradient(output, gradient, create_graph)
        if output.grad_op is None:
            if hooks.leaf_hooks:
                gradient = hooks.run_leaf_hooks(output, gradient)
            wanted.add_leaf(output, gradient)
        else:
            starts.append((output.grad_op, gradient))
    if starts:
        wanted.mark_needed([operator for operator, _ in starts])
        BackwardPass(retain_graph, create_graph, wanted).run(starts)
    results = wanted.results()
    for index, (variable, result) in enumerate(zip(inputs, results, strict=True)):
        if result is None and not allow_unused:
            raise GraphError(
                f"grad: input {index} (shape {tuple(variable.shape)}) was not used to compute the "
                "outputs; pass allow_unused=True to get None for it"
            )
    return results


class Wanted:
    """The Variables that grad() asks about, which operators lead to them, and their gradients."""

    def __init__(self, inputs: list) -> None:
        self.inputs = inputs
        self.leaves = {id(v): v for v in inputs if v.grad_op is None}
        self.operators = {v.grad_op for v in inputs if v.grad_op is not None}
        self.gradients: dict = {}  # id(leaf) or operator -> summed gradient
        self.needed: set = set()

    def mark_needed(self, starts: list) -> None:
        """Find the operators through which some wanted input is reached: only those run."""
        # Depth first, children before parents, without recursion: an operator is needed when
        # it is wanted itself or any of its sources is.
        verdict: dict = {}
        stack = [(operator, False) for operator in starts]
        while stack:
            operator, expanded = stack.pop()
            if operator in verdict and not expanded:
                continue
            sources = operator.inputs
            if not expanded:
                verdict[operator] = False  # provisional: marks it as being visited
                stack.append((operator, True))
                for source in sources:
                    if isinstance(source, GradOperator) and source not in verdict:
                        stack.append((source, False))
                continue
            verdict[operator] = operator in self.operators or any(
                verdict.get(source, False)
                if isinstance(source, GradOperator)
                else id(source) in self.leaves
                for source in sources
            )
        self.needed = {operator for operator, needed in verdict.items() if needed}

    def add_leaf(self, leaf, gradient) -> None:
        if id(leaf) in self.leaves:
            self.add(id(leaf), gradient)

    def add(self, key, gradient) -> None:
        previous = self.gradients.get(key)
        self.gradients[key] = gradient if previous is None else previous + gradient

    def results(self) -> tuple:
        return tuple(
            self.gradients.get(id(v) if v.grad_op is None else v.grad_op) for v in self.inputs
        )


class BackwardPass:
    """One call's backward: the gradients waiting on operators, and the heap of those to run."""

    __slots__ = ("create_graph", "heap", "pending", "retain_graph", "wanted")

    def __init__(self, retain_graph: bool, create_graph: bool, wanted: Wanted | None = None):
        self.retain_graph = retain_graph
        self.create_graph = create_graph
        self.wanted = wanted
        self.pending: dict = {}
        self.heap: list = []

    def run(self, starts: list) -> None:
        if self.create_graph and not grad_mode.enabled:
            with enable_grad():  # the gradients are recorded, even when called under no_grad()
                self.run(starts)
            return
        pending, heap = self.pending, self.heap
        for operator, gradient in starts:
            if operator in pending:
                pending[operator] = pending[operator] + gradient
            else:
                pending[operator] = gradient
                heappush(heap, (-operator.sequence, operator))
        while heap:
            operator = heappop(heap)[1]
            self.run_operator(operator, pending.pop(operator))

    def run_operator(self, operator, grad_output) -> None:
        """Pass `operator`'s summed incoming gradient to its sources, queueing their producers."""
        if operator.released:
            raise GraphError(
                f"backward: the graph through {operator.label} was already released by an earlier "
                "backward(); call the first backward with retain_graph=True to go through it again"
            )
        tensors, versions, _, _ = operator.saved
        if [*map(version_of, tensors)] != versions:  # rare: only then the explanation
            check_saved_versions(operator)
        if operator.hooks is not None:
            grad_output = hooks.run_operator_hooks(operator, grad_output)
        if operator.retained is not None:
            keep_retained_grad(operator, grad_output)
        wanted = self.wanted
        if wanted is not None:
            if operator in wanted.operators:
                wanted.add(operator, grad_output)
            if not any(
                source in wanted.needed
                if isinstance(source, GradOperator)
                else id(source) in wanted.leaves
                for source in operator.inputs
            ):
                return
        if self.create_graph:
            grads = operator.pass_grad_recorded(grad_output)
        else:
            grads = operator.pass_grad(grad_output)
        sources = operator.inputs
        if type(grads) is not tuple or len(grads) != len(sources):
            grads = check_grads(operator, grads)
        if anomaly.enabled:
            anomaly.check_backward(operator, grads)
        pending, heap = self.pending, self.heap
        plain = wanted is None and not self.create_graph and not hooks.leaf_hooks
        for source, grad in zip(sources, grads, strict=False):  # lengths checked above
            if grad is None or source is None:
                continue
            if isinstance(source, GradOperator):
                if wanted is not None and source not in wanted.needed:
                    continue
                if grad.shape != source.output_shape:
                    grad = sum_to_shape(grad, source.output_shape, operator.label)
                waiting = pending.get(source)
                if waiting is None:
                    pending[source] = grad
                    heappush(heap, (-source.sequence, source))
                else:
                    pending[source] = waiting + grad
                continue
            shape = source.tensor.shape  # a leaf
            if grad.shape != shape:
                grad = sum_to_shape(grad, shape, operator.label)
            if not plain:
                self.leaf_gradient(source, grad)
            elif source.grad is None and grad is not grad_output and not grad._is_view():
                source.grad = grad  # the common case, inline: a leaf's first, unshared gradient
            else:
                accumulate_into_leaf(source, grad, grad is grad_output or grad._is_view())
        if not self.retain_graph:
            operator.release()

    def leaf_gradient(self, leaf, grad) -> None:
        """A leaf's gradient under grad() (kept for the leaves asked about, never accumulated),
        hooks, or create_graph (accumulated as a recorded Variable)."""
        wanted = self.wanted
        if wanted is not None and id(leaf) not in wanted.leaves:
            return
        if hooks.leaf_hooks:
            grad = hooks.run_leaf_hooks(leaf, grad)
        if wanted is not None:
            wanted.add(id(leaf), grad)
        else:
            accumulate_into_leaf(leaf, grad, shared=not self.create_graph)


def check_saved_versions(operator) -> None:
    """Raise if a tensor the operator saved for backward was changed in place since (as PyTorch's
    version counter does): its gradient would silently be wrong."""
    tensors, versions, _, _ = operator.saved
    for tensor, version in zip(tensors, versions, strict=True):
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
    if isinstance(grads, (torch.Tensor, Variable)):
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


def accumulate_into_leaf(variable, grad, shared: bool) -> None:
    """Add `grad` to `variable.grad`; a first gradient is kept as is unless other code shares it."""
    if variable.grad is None:
        # A gradient that is also another leaf's (or a view of one) is copied, so that editing
        # one .grad in place never changes another. A recorded gradient is a Variable: kept.
        variable.grad = grad.clone() if shared and isinstance(grad, torch.Tensor) else grad
    else:
        variable.grad = variable.grad + grad


def sum_to_shape(grad, shape: torch.Size, label: str):
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


def check_requires_grad(variable, what: str) -> None:
    if not isinstance(variable, Variable):
        raise TypeError(f"{what} is a {type(variable).__name__}; expected a Variable")
    if not variable.requires_grad:
        raise GraphError(
            f"{what}: this Variable does not require grad and has no grad_op; "
            "was it computed under no_grad() or from inputs with requires_grad=False?"
        )


def as_variable_list(values, what: str) -> list:
    """One Variable or a sequence of them, as a list."""
    if isinstance(values, Variable):
        return [values]
    if isinstance(values, torch.Tensor):
        raise TypeError(f"{what}: got a torch.Tensor; expected Variables")
    return list(values)


def initial_gradient(root, gradient, create_graph: bool = False):
    """The gradient backward starts from: 1 for a one-element root, else the one given; under
    create_graph, a Variable (one that requires grad is kept, so the result depends on it)."""
    tensor = root.tensor
    if gradient is None:
        if tensor.numel() != 1:
            raise ShapeError(
                f"backward: a gradient can be implied only for a one-element output, but this one "
                f"has shape {tuple(tensor.shape)}; pass backward(gradient) of that shape"
            )
        gradient = torch.ones_like(tensor)
        return Variable._from_tensor(gradient) if create_graph else gradient
    given = gradient if isinstance(gradient, Variable) else None
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
    if not create_graph:
        return gradient
    if given is not None and given.requires_grad:
        return given
    return Variable._from_tensor(gradient)


# Imported last: variable.py imports this module.
from autogradlib.variable import Variable  # noqa: E402
