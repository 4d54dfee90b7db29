"""The oracle: run one function on torch (float64, torch.autograd) and on Autogradlib, compare.

Also the hypothesis strategies the operator tests draw from: shapes, broadcastable shape pairs and
float64 tensors with controlled ranges.
"""

import torch
from hypothesis import HealthCheck, settings, strategies as st

from autogradlib import Variable

# Moderate example counts keep the whole suite fast on two cores.
moderate = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
few = settings(moderate, max_examples=8)


def check_against_torch(fn, *inputs, atol: float = 1e-8, rtol: float = 1e-6) -> Variable:
    """Assert that fn gives the same output and input gradients on Variables as on torch tensors.

    Every floating-point input becomes a leaf that requires grad on both sides; other inputs
    (index tensors, masks, numbers) pass through unchanged. Backward starts from a random gradient
    of the output's shape, so every row of the Jacobian counts. Returns our output.
    """
    torch_leaves = [_torch_leaf(value) for value in inputs]
    our_leaves = [_our_leaf(value) for value in inputs]
    with torch.enable_grad():
        expected = fn(*torch_leaves)
    actual = fn(*our_leaves)
    assert isinstance(actual, Variable), f"fn returned {type(actual).__name__}, not a Variable"
    torch.testing.assert_close(actual.tensor, expected.detach(), atol=atol, rtol=rtol)
    assert actual.requires_grad == expected.requires_grad
    if not expected.requires_grad:
        return actual

    grad_output = torch.randn(
        expected.shape, dtype=expected.dtype, generator=torch.Generator().manual_seed(0)
    )
    untouched = grad_output.clone()
    differentiable = [index for index, leaf in enumerate(torch_leaves) if _is_leaf(leaf)]
    expected_grads = torch.autograd.grad(
        expected,
        [torch_leaves[index] for index in differentiable],
        grad_output,
        allow_unused=True,
        materialize_grads=True,
    )
    actual.backward(grad_output)
    assert torch.equal(grad_output, untouched), "backward edited the given gradient in place"
    for index, expected_grad in zip(differentiable, expected_grads, strict=True):
        leaf = our_leaves[index]
        actual_grad = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf.tensor)
        torch.testing.assert_close(
            actual_grad,
            expected_grad,
            atol=atol,
            rtol=rtol,
            msg=lambda message, index=index: f"gradient of input {index}: {message}",
        )
    return actual


def _is_leaf(value) -> bool:
    return isinstance(value, torch.Tensor) and value.requires_grad


def _torch_leaf(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.detach().clone().requires_grad_(True)
    return value


def _our_leaf(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return Variable(value.detach().clone(), requires_grad=True)
    return value


# --- Hypothesis strategies -----------------------------------------------------------------------


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 4):
    """Tensor shapes as tuples, 0-d included by default."""
    sides = st.integers(min_side, max_side)
    return st.lists(sides, min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcastable_shapes(draw, max_dims: int = 4, max_side: int = 4):
    """Two shapes that broadcast together: each is a common shape with some leading dimensions
    dropped (down to 0-d) and some sizes replaced by 1, so every broadcasting pattern occurs."""
    common = draw(shapes(0, max_dims, 1, max_side))

    def derive() -> tuple:
        dropped = draw(st.integers(0, len(common)))
        kept = common[dropped:]
        ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
        return tuple(1 if one else size for size, one in zip(kept, ones, strict=True))

    return derive(), derive()


@st.composite
def float_tensors(
    draw, shape, low: float = -3.0, high: float = 3.0, avoid: tuple = (), gap: float = 0.0
):
    """float64 tensors of `shape` with elements in [low, high], none closer than `gap` to any
    point of `avoid` (the kinks of abs, relu or clamp, when a test compares numerically)."""
    shape = tuple(shape)
    count = 1
    for size in shape:
        count *= size
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    if avoid and gap:
        elements = elements.filter(lambda value: all(abs(value - p) >= gap for p in avoid))
    values = draw(st.lists(elements, min_size=count, max_size=count))
    return torch.tensor(values, dtype=torch.float64).reshape(shape)
