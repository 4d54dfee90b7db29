"""Composable transforms, as PyTorch's func module: grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, hessian and functional_call, all over one primitive, the vector-Jacobian product of
autogradlib.grad.

A transform makes its arguments fresh Variables (connected to where they came from when they
already are Variables), runs f, and differentiates; inside another transform it records its
gradients (create_graph), so the outer one can differentiate them again. Called on torch tensors
from outside any transform, it returns torch tensors. Forward mode is the double-vjp trick:
J t = d/du <J^T u, t>, with one extra backward pass.
"""

from __future__ import annotations

import contextlib
import functools

import torch

from autogradlib import engine, operators as ops
from autogradlib.errors import ShapeError
from autogradlib.functional import stack
from autogradlib.grad_mode import enable_grad
from autogradlib.variable import Variable

_depth = 0  # how many transforms are running: inside one, gradients are recorded


@contextlib.contextmanager
def _transform():
    global _depth
    _depth += 1
    try:
        with enable_grad():
            yield
    finally:
        _depth -= 1


# --- Pytrees: dicts, lists and tuples of tensors ----------------------------------------------


def tree_flatten(tree) -> tuple[list, object]:
    """The tensors and Variables of `tree` in order, and how to put them back."""
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [tree_flatten(tree[key]) for key in keys]
        return [leaf for leaves, _ in parts for leaf in leaves], (dict, keys, parts)
    if isinstance(tree, list | tuple):
        parts = [tree_flatten(item) for item in tree]
        return [leaf for leaves, _ in parts for leaf in leaves], (type(tree), None, parts)
    return [tree], None


def tree_unflatten(leaves: list, spec):
    """The inverse of tree_flatten, with `leaves` in place of the tensors."""
    leaves = iter(leaves)
    return _rebuild(leaves, spec)


def _rebuild(leaves, spec):
    if spec is None:
        return next(leaves)
    kind, keys, parts = spec
    items = [_rebuild(leaves, part_spec) for _, part_spec in parts]
    if kind is dict:
        return dict(zip(keys, items, strict=True))
    return kind(items)


def _is_tensor(value) -> bool:
    return isinstance(value, torch.Tensor | Variable)


def _enter(value):
    """An argument as a Variable this transform can differentiate with respect to."""
    if isinstance(value, Variable):
        if value.requires_grad:
            return ops.Clone.apply(value)  # connected to the outer graph, yet an input of its own
        return Variable(value.tensor)
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return Variable(value)
    return value


def _exit(tree, unwrap: bool):
    """Results out of a transform: torch tensors when called from outside on torch tensors."""
    if not unwrap:
        return tree
    leaves, spec = tree_flatten(tree)
    return tree_unflatten(
        [leaf.tensor if isinstance(leaf, Variable) else leaf for leaf in leaves], spec
    )


def _zeros_for(variable):
    return Variable(torch.zeros_like(variable.tensor), requires_grad=False)


def _gradients(outputs: list, inputs: list, grad_outputs: list, create_graph: bool) -> list:
    """vjp on flat lists: zeros (not None) for inputs the outputs do not depend on."""
    used = [
        (output, gradient)
        for output, gradient in zip(outputs, grad_outputs, strict=True)
        if isinstance(output, Variable) and output.requires_grad
    ]
    wanted = [variable for variable in inputs if variable.requires_grad]
    grads = {}
    if used and wanted:
        results = engine.grad(
            [output for output, _ in used],
            wanted,
            [gradient for _, gradient in used],
            retain_graph=True,
            create_graph=create_graph,
            allow_unused=True,
        )
        grads = {id(variable): result for variable, result in zip(wanted, results, strict=True)}
    answer = []
    for variable in inputs:
        result = grads.get(id(variable))
        if result is None:
            result = _zeros_for(variable)
        elif isinstance(result, torch.Tensor):
            result = Variable(result, requires_grad=False)
        answer.append(result)
    return answer


def _prepare(args: tuple, argnums):
    """Enter the arguments named by argnums: (new args, their flat Variables, how to rebuild)."""
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    args = list(args)
    entered = []
    for number in numbers:
        if not -len(args) <= number < len(args):
            raise IndexError(f"argnums {number} is out of range for {len(args)} arguments")
        leaves, spec = tree_flatten(args[number])
        leaves = [_enter(leaf) for leaf in leaves]
        args[number] = tree_unflatten(leaves, spec)
        entered.append((leaves, spec))
    return args, entered


def _unwrap_results(args) -> bool:
    """Whether results leave as torch tensors: outermost, on arguments with no Variable."""
    return _depth == 1 and not any(isinstance(leaf, Variable) for leaf in tree_flatten(args)[0])


def _creates_graph(args) -> bool:
    return _depth > 1 or any(
        isinstance(leaf, Variable) and leaf.requires_grad for leaf in tree_flatten(args)[0]
    )


class _Call:
    """f called, inside a transform, on args whose argnums are entered as leaf Variables: its
    output and aux, the entered leaves (flat, and how to rebuild each argument from them), and
    whether results leave as tensors and gradients are recorded."""

    def __init__(self, f, args, argnums, kwargs, has_aux, outer=None) -> None:
        outer = args if outer is None else outer  # what decides unwrap and create_graph
        self.unwrap, self.create_graph = _unwrap_results(outer), _creates_graph(outer)
        args, self.entered = _prepare(args, argnums)
        result = f(*args, **kwargs)
        self.output, self.aux = result if has_aux else (result, None)
        self.flat = [leaf for leaves, _ in self.entered for leaf in leaves]

    def rebuild(self, values) -> list:
        """One value per flat leaf, regrouped as the entered arguments were."""
        values = iter(values)
        return [
            tree_unflatten([next(values) for _ in leaves], spec) for leaves, spec in self.entered
        ]


# --- The transforms ----------------------------------------------------------------------------


def grad_and_value(f, argnums=0, has_aux: bool = False):
    """A function returning (gradient of f's one-element output w.r.t. args[argnums], f(args))."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        with _transform():
            call = _Call(f, args, argnums, kwargs, has_aux)
            output = call.output
            if not isinstance(output, Variable) or output.numel() != 1:
                raise ShapeError(
                    "func.grad: f must return one Variable with one element, got "
                    f"{type(output).__name__} of shape {tuple(getattr(output, 'shape', ()))}"
                )
            trees = call.rebuild(_gradients([output], call.flat, [None], call.create_graph))
            gradient = trees[0] if isinstance(argnums, int) else tuple(trees)
            value = (output, call.aux) if has_aux else output
            return _exit(gradient, call.unwrap), _exit(value, call.unwrap)

    return wrapper


def grad(f, argnums=0, has_aux: bool = False):
    """A function returning the gradient of f's one-element output w.r.t. args[argnums]
    (and f's auxiliary output with has_aux), as PyTorch's func.grad."""
    both = grad_and_value(f, argnums, has_aux)

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


def vjp(f, *primals, has_aux: bool = False):
    """(f(*primals), vjp_fn): vjp_fn(cotangents) gives one cotangent^T J per primal, a tuple."""
    with _transform():
        call = _Call(f, primals, tuple(range(len(primals))), {}, has_aux)
    outputs, output_spec = tree_flatten(call.output)

    def vjp_fn(cotangents):
        with _transform():
            cotangent_leaves, _ = tree_flatten(cotangents)
            records = call.create_graph or _creates_graph(cotangents)
            trees = call.rebuild(_gradients(outputs, call.flat, cotangent_leaves, records))
            return _exit(tuple(trees), call.unwrap and not records)

    value = _exit(tree_unflatten(outputs, output_spec), call.unwrap)
    if has_aux:
        return value, vjp_fn, _exit(call.aux, call.unwrap)
    return value, vjp_fn


def jvp(f, primals: tuple, tangents: tuple, has_aux: bool = False):
    """(f(*primals), J tangents), by the double-vjp trick: J t = d/du <J^T u, t>."""
    with _transform():
        primals = tuple(primals)
        call = _Call(f, primals, tuple(range(len(primals))), {}, has_aux, (primals, tangents))
        outputs, output_spec = tree_flatten(call.output)
        dummies = [Variable(torch.zeros_like(getattr(o, "tensor", o))) for o in outputs]
        transposed = _gradients(outputs, call.flat, dummies, create_graph=True)
        tangent_leaves = [leaf for tangent in tangents for leaf in tree_flatten(tangent)[0]]
        products = _gradients(transposed, dummies, tangent_leaves, call.create_graph)
        out = (tree_unflatten(outputs, output_spec), tree_unflatten(products, output_spec))
        if has_aux:
            out = (*out, call.aux)
        return _exit(out, call.unwrap)


def jacrev(f, argnums=0, has_aux: bool = False):
    """A function returning the Jacobian of f w.r.t. args[argnums], one vjp per output element:
    shape output.shape + input.shape."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        with _transform():
            call = _Call(f, args, argnums, kwargs, has_aux)
            output, flat = call.output, call.flat
            rows = [[] for _ in flat]
            for position in range(output.numel()):
                selector = torch.zeros(output.numel(), dtype=output.dtype, device=output.device)
                selector[position] = 1
                selector = selector.reshape(output.shape)
                grads = _gradients([output], flat, [selector], call.create_graph)
                for row, gradient in zip(rows, grads, strict=True):
                    row.append(gradient)
            trees = call.rebuild(
                _assemble(row, output.shape, leaf.shape, rows_first=True)
                for row, leaf in zip(rows, flat, strict=True)
            )
            return _jacobian_result(trees, argnums, call, has_aux)

    return wrapper


def jacfwd(f, argnums=0, has_aux: bool = False):
    """A function returning the Jacobian of f w.r.t. args[argnums], one jvp per input element
    (double-vjp: one vjp recorded, then one backward per element): output.shape + input.shape."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        with _transform():
            call = _Call(f, args, argnums, kwargs, has_aux)
            output = call.output
            dummy = Variable(torch.zeros_like(output.tensor))
            transposed = _gradients([output], call.flat, [dummy], create_graph=True)
            jacobians = []
            for leaf, vjp_of_leaf in zip(call.flat, transposed, strict=True):
                columns = []
                for position in range(leaf.numel()):
                    tangent = torch.zeros(leaf.numel(), dtype=leaf.dtype, device=leaf.device)
                    tangent[position] = 1
                    (column,) = _gradients(
                        [vjp_of_leaf], [dummy], [tangent.reshape(leaf.shape)], call.create_graph
                    )
                    columns.append(column)
                jacobians.append(_assemble(columns, output.shape, leaf.shape, rows_first=False))
            return _jacobian_result(call.rebuild(jacobians), argnums, call, has_aux)

    return wrapper


def _jacobian_result(trees: list, argnums, call: _Call, has_aux: bool):
    """jacrev's and jacfwd's result: one Jacobian (tree) per argnum, then f's aux if asked."""
    jacobian = trees[0] if isinstance(argnums, int) else tuple(trees)
    return _exit((jacobian, call.aux) if has_aux else jacobian, call.unwrap)


def _assemble(pieces: list, output_shape, input_shape, rows_first: bool):
    """Rows (one per output element) or columns (one per input element) as one Jacobian."""
    shape = (*output_shape, *input_shape)
    if not pieces:
        return Variable(torch.zeros(shape), requires_grad=False)
    if rows_first:
        return stack([piece.reshape(-1) for piece in pieces]).reshape(shape)
    return stack([piece.reshape(-1) for piece in pieces], dim=1).reshape(shape)


def hessian(f, argnums=0):
    """The Hessian of f's one-element output w.r.t. args[argnums]: jacfwd(jacrev(f))."""
    return jacfwd(jacrev(f, argnums), argnums)


# --- functional_call ------------------------------------------------------------------------------


def functional_call(module, parameters_and_buffers, args, kwargs=None, *, strict: bool = False):
    """module(*args, **kwargs) with the named parameters and buffers replaced by the given values
    (a dict, or a tuple of dicts; names as named_parameters gives them; a partial dict keeps the
    module's own for the rest), as PyTorch's func.functional_call; the module is restored after."""
    if isinstance(parameters_and_buffers, tuple | list):
        merged = {}
        for part in parameters_and_buffers:
            merged.update(part)
        parameters_and_buffers = merged
    if strict:
        known = {name for name, _ in module.named_parameters()}
        known |= {name for name, _ in module.named_buffers()}
        missing = sorted(known - set(parameters_and_buffers))
        if missing:
            raise KeyError(f"functional_call: strict=True, but no values for {missing}")
    args = args if isinstance(args, tuple) else (args,)
    originals = []
    try:
        for name, value in parameters_and_buffers.items():
            owner, key = _slot(module, name)
            originals.append((owner, key, _get(owner, key)))
            _set(owner, key, value)
        return module(*args, **(kwargs or {}))
    finally:
        for owner, key, value in reversed(originals):
            _set(owner, key, value)


def _slot(module, dotted: str):
    """(the module or container that holds `dotted`'s last part, that part)."""
    from autogradlib.nn.module import Module

    *path, key = dotted.split(".")
    owner = module
    for part in path:
        if isinstance(owner, Module):
            members = dict(owner._members())
            if part not in members:
                raise KeyError(f"functional_call: {dotted!r} names no submodule {part!r}")
            owner = members[part]
        elif isinstance(owner, dict):
            owner = owner[part]
        else:
            owner = owner[int(part)]
    return owner, key


def _get(owner, key: str):
    from autogradlib.nn.module import Module

    if isinstance(owner, Module):
        if key not in vars(owner):
            raise KeyError(f"functional_call: {type(owner).__name__} has no parameter {key!r}")
        return vars(owner)[key]
    return owner[key] if isinstance(owner, dict) else owner[int(key)]


def _set(owner, key: str, value) -> None:
    from autogradlib.nn.module import Module

    if isinstance(owner, Module):
        setattr(owner, key, value)
    elif isinstance(owner, dict):
        owner[key] = value
    else:
        owner[int(key)] = value


__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "vjp",
]
