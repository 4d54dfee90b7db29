"""torch functions on Variables: torch.exp(v), torch.cat([v, w]), tensor + v, F.relu(v), ...

Variable implements PyTorch's `__torch_function__` protocol: torch hands every call that has a
Variable among its arguments to `dispatch`, which runs Autogradlib's operation from HANDLED (or,
for `torch.nn.functional`, the function of the same name in `autogradlib.nn.functional`). A torch
function it does not know raises a TypeError naming it: torch itself would drop the graph. Our
operators call torch on raw tensors only, so none of this runs on their hot path.
"""

from __future__ import annotations

import functools
import inspect

import torch
from torch.overrides import resolve_name

from autogradlib import functional, operators as ops
from autogradlib.errors import ShapeError
from autogradlib.grad_mode import is_grad_enabled
from autogradlib.variable import Variable, _unwrap_index

HANDLED: dict = {}
# Implementations that receive a plain tensor first as it is, not wrapped in a Variable.
TAKES_TENSOR: set = set()

# torch.NAME(v, ...) and torch.Tensor.NAME(v, ...) are v.NAME(...).
METHODS = (
    "abs", "add", "all", "any", "argmax", "argmin", "ceil", "chunk", "clamp", "clip", "clone",
    "cos", "cumsum", "detach", "div", "divide", "eq", "exp", "expm1", "flatten", "floor", "gather",
    "ge", "greater", "greater_equal", "gt", "is_floating_point", "isfinite", "isinf", "isnan", "le",
    "less", "less_equal", "log", "log1p", "log_softmax", "logsumexp", "lt", "masked_fill", "matmul",
    "max", "maximum", "mean", "min", "minimum", "mul", "multiply", "ne", "neg", "negative", "norm",
    "not_equal", "numel", "permute", "prod", "reciprocal", "relu", "reshape", "round", "rsqrt",
    "sigmoid", "sign", "sin", "softmax", "split", "sqrt", "square", "squeeze", "std", "sub",
    "subtract", "sum", "t", "tanh", "transpose", "true_divide", "trunc", "unbind", "unsqueeze",
    "var",
    # Methods only (torch.Tensor.NAME): what `tensor + variable` and friends arrive as.
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
    "__rtruediv__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__neg__", "__abs__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__getitem__", "view", "view_as",
    "reshape_as", "expand", "expand_as", "repeat", "contiguous", "to", "type", "type_as", "float",
    "double", "long", "int", "bool", "cpu", "item", "tolist", "size", "dim",
)  # fmt: skip
ALIASES = {"negative": "neg", "greater": "gt", "greater_equal": "ge", "less": "lt",
           "less_equal": "le", "not_equal": "ne", "divide": "div", "true_divide": "div",
           "multiply": "mul", "subtract": "sub", "clip": "clamp"}  # fmt: skip
# torch.nn.functional is matched by module and name, without importing torch.nn.
FUNCTIONAL_MODULES = ("torch.nn.functional", "torch._C._nn")


def dispatch(func, args: tuple, kwargs: dict):
    """Run torch function `func`, called with at least one Variable, as Autogradlib does."""
    implementation = HANDLED.get(func) or functional_implementation(func)
    if implementation is None:
        raise TypeError(
            f"{resolve_name(func) or func}: not supported on Autogradlib Variables (run by torch, "
            "it would compute without recording the graph); use a Variable method or an "
            "autogradlib function instead, or pass variable.tensor to compute without gradients"
        )
    kwargs = without_defaults(func, kwargs)
    if args and isinstance(args[0], torch.Tensor) and implementation not in TAKES_TENSOR:
        args = (Variable._from_tensor(args[0]), *args[1:])  # torch.add(tensor, v), tensor + v
    try:
        return implementation(*args, **kwargs)
    except TypeError:
        # Only now pay for binding, to tell arguments our implementation does not take (out=,
        # rounding_mode=, ...) from a TypeError raised inside it.
        try:
            signature(implementation).bind(*args, **kwargs)
        except TypeError as error:
            hint = (
                " (out= would write outside the graph: use the result)" if "out" in kwargs else ""
            )
            raise TypeError(f"{resolve_name(func) or func} on Variables: {error}{hint}") from None
        raise


def functional_implementation(func):
    """autogradlib.nn.functional's function of the same name as a torch.nn.functional one."""
    if getattr(func, "__module__", None) not in FUNCTIONAL_MODULES:
        return None
    from autogradlib.nn import functional as nn_functional

    return getattr(nn_functional, func.__name__, None)


@functools.cache
def signature(function) -> inspect.Signature:
    return inspect.signature(function)


@functools.cache
def torch_defaults(func) -> dict:
    """The keyword defaults of a torch function written in Python (builtins have none to read)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def without_defaults(func, kwargs: dict) -> dict:
    """kwargs without those a Python-level torch function passes on at their default values
    (torch.norm passes out=None, F.relu inplace=False): only what the caller chose remains."""
    if not kwargs:
        return kwargs
    defaults = torch_defaults(func)
    return {
        name: value
        for name, value in kwargs.items()
        if not (name in defaults and is_same_constant(value, defaults[name]))
    }


def is_same_constant(value, default) -> bool:
    if value is default:
        return True
    plain = (bool, int, float, str)
    return type(value) in plain and type(default) in plain and value == default


def handles(*functions):
    """Register the decorated function as the implementation of each torch function given."""

    def register(implementation):
        for function in functions:
            HANDLED[function] = implementation
        return implementation

    return register


def tensor_of(value):
    return value.tensor if isinstance(value, Variable) else value


for _name in METHODS:
    _method = getattr(Variable, ALIASES.get(_name, _name))
    for _namespace in (torch, torch.Tensor):
        if hasattr(_namespace, _name):
            HANDLED[getattr(_namespace, _name)] = _method


@handles(torch.cat, torch.concat, torch.concatenate)
def cat(tensors, dim: int = 0) -> Variable:
    return functional.cat(tensors, dim)


@handles(torch.stack)
def stack(tensors, dim: int = 0) -> Variable:
    return functional.stack(tensors, dim)


@handles(torch.where)
def where(condition, input, other) -> Variable:
    """input where condition, other elsewhere; differentiable in input and other."""
    return ops.Where.apply(tensor_of(condition), input, other)


@handles(torch.pow, torch.Tensor.pow)
def pow(input, exponent) -> Variable:
    """input ** exponent; either may be a number (torch.pow(2, v))."""
    return ops.Pow.apply(input, exponent)


@handles(torch.swapaxes, torch.swapdims, torch.Tensor.swapaxes, torch.Tensor.swapdims)
def swapaxes(input, axis0: int, axis1: int) -> Variable:
    return input.transpose(axis0, axis1)


def matrix_product(name: str, a_dims: int, b_dims: int):
    """torch.mm, bmm, mv, dot: matmul restricted to operands of the given dimensions."""

    def product(input, other) -> Variable:
        if input.dim() != a_dims or other.dim() != b_dims:
            raise ShapeError(
                f"{name}: expected operands of {a_dims} and {b_dims} dimensions, got shapes "
                f"{tuple(input.shape)} and {tuple(other.shape)}"
            )
        return ops.MatMul.apply(input, other)

    return product


for _name, _dims in {"mm": (2, 2), "bmm": (3, 3), "mv": (2, 1), "dot": (1, 1)}.items():
    handles(getattr(torch, _name), getattr(torch.Tensor, _name))(matrix_product(_name, *_dims))


@handles(torch.outer, torch.ger, torch.Tensor.outer, torch.Tensor.ger)
def outer(input, vec2) -> Variable:
    """input_i * vec2_j."""
    if input.dim() != 1 or vec2.dim() != 1:
        raise ShapeError(
            f"outer: expected two 1-D operands, got shapes {tuple(input.shape)} and "
            f"{tuple(vec2.shape)}"
        )
    return ops.Mul.apply(input.unsqueeze(1), vec2.unsqueeze(0) if vec2.dim() else vec2)


@handles(torch.linalg.vector_norm)
def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Variable:
    return x.norm(ord, dim, keepdim, dtype=dtype)


@handles(torch.linalg.norm)
def linalg_norm(input, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Variable:
    """The 2-norm of all elements by default, or a vector norm along one dimension."""
    matrix = (isinstance(dim, (tuple, list)) and len(dim) == 2) or (dim is None and input.dim() > 1)
    if ord is not None and matrix:
        raise ValueError(
            f"torch.linalg.norm: matrix norms (ord={ord!r} over shape {tuple(input.shape)}) are "
            "not supported on Variables; use ord=None, or torch.linalg.vector_norm"
        )
    return input.norm(2 if ord in (None, "fro") else ord, dim, keepdim, dtype=dtype)


@handles(torch.allclose, torch.Tensor.allclose)
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return torch.allclose(tensor_of(input), tensor_of(other), rtol, atol, equal_nan)


@handles(torch.isclose, torch.Tensor.isclose)
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Variable:
    result = torch.isclose(tensor_of(input), tensor_of(other), rtol, atol, equal_nan)
    return Variable._from_tensor(result)


@handles(torch.equal, torch.Tensor.equal)
def equal(input, other) -> bool:
    return torch.equal(tensor_of(input), tensor_of(other))


@handles(torch.multinomial)
def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None):
    """Indices drawn from the rows of `input`: sampled data, a plain tensor as torch.randint's."""
    return torch.multinomial(input.tensor, num_samples, replacement, generator=generator)


def like(factory):
    """torch.zeros_like and friends: a new Variable, a leaf only with requires_grad=True."""

    def make(input, *args, requires_grad: bool = False, **kwargs) -> Variable:
        tensor = factory(input.tensor, *args, **kwargs)
        if requires_grad:
            return Variable(tensor, requires_grad=True)
        return Variable._from_tensor(tensor)

    return make


for _factory in (
    torch.zeros_like, torch.ones_like, torch.empty_like, torch.full_like, torch.rand_like,
    torch.randn_like, torch.randint_like,
):  # fmt: skip
    HANDLED[_factory] = like(_factory)


def update_tensor_in_place(name: str):
    """tensor.add_(v), tensor[i] = v, ...: a torch tensor updated in place with a Variable's
    values, which is fine unless the Variable requires grad (the tensor cannot join the graph)."""
    method = getattr(torch.Tensor, name)

    def update(tensor, *args, **kwargs):
        if isinstance(tensor, Variable):  # torch.Tensor.add_(variable, ...): the Variable's own
            return getattr(tensor, name)(*args, **kwargs)
        if is_grad_enabled() and any(
            isinstance(value, Variable) and value.requires_grad
            for value in (*args, *kwargs.values())
        ):
            raise RuntimeError(
                f"torch.Tensor.{name}: a torch tensor cannot be updated in place with a Variable "
                "that requires grad (the tensor cannot join the graph); make a new Variable "
                "(tensor = tensor + variable, torch.cat, torch.where) or use variable.detach()"
            )
        args = [_unwrap_index(value) for value in args]
        return method(tensor, *args, **{key: _unwrap_index(value) for key, value in kwargs.items()})

    TAKES_TENSOR.add(update)
    return update


for _name in (
    "__setitem__", "add_", "sub_", "mul_", "div_", "copy_", "fill_", "clamp_", "masked_fill_",
    "lerp_", "addcmul_", "addcdiv_", "pow_",
):  # fmt: skip
    HANDLED[getattr(torch.Tensor, _name)] = update_tensor_in_place(_name)
