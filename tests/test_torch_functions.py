"""torch functions on Variables (__torch_function__) and the everyday Tensor surface, against torch.

Each `fn` below is written once with torch's names and run twice by the oracle: on torch tensors
(float64, torch.autograd) and on Variables, where torch hands the call to Autogradlib.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st
from oracle import broadcastable_shapes, check_against_torch, few, float_tensors, moderate, shapes

import autogradlib
from autogradlib import ShapeError, Variable, gradcheck, nn, optim

ANY = {}
NONZERO = {"avoid": (0.0,), "gap": 0.25}
POSITIVE = {"low": 0.1, "high": 3.0}


def spread(*shape, seed: int = 0, positive: bool = False) -> torch.Tensor:
    """float64 values with magnitudes in [0.2, 1.0] and, almost surely, no ties or exact zeros."""
    generator = torch.Generator().manual_seed(seed)
    values = 0.2 + 0.8 * torch.rand(shape, generator=generator, dtype=torch.float64)
    if positive:
        return values
    return values * (torch.randint(0, 2, shape, generator=generator) * 2 - 1)


# --- Element-wise torch functions and the new methods ------------------------------------------

UNARY = [
    pytest.param(torch.exp, ANY, id="torch.exp"),
    pytest.param(torch.log, POSITIVE, id="torch.log"),
    pytest.param(torch.sqrt, POSITIVE, id="torch.sqrt"),
    pytest.param(torch.abs, ANY, id="torch.abs"),
    pytest.param(torch.square, ANY, id="torch.square"),
    pytest.param(torch.neg, ANY, id="torch.neg"),
    pytest.param(torch.negative, ANY, id="torch.negative"),
    pytest.param(torch.sin, ANY, id="torch.sin"),
    pytest.param(torch.cos, ANY, id="torch.cos"),
    pytest.param(torch.tanh, ANY, id="torch.tanh"),
    pytest.param(torch.sigmoid, ANY, id="torch.sigmoid"),
    pytest.param(torch.relu, ANY, id="torch.relu"),
    pytest.param(torch.log1p, POSITIVE, id="torch.log1p"),
    pytest.param(torch.expm1, ANY, id="torch.expm1"),
    pytest.param(torch.reciprocal, NONZERO, id="torch.reciprocal"),
    pytest.param(torch.rsqrt, POSITIVE, id="torch.rsqrt"),
    pytest.param(torch.sign, ANY, id="torch.sign"),
    pytest.param(torch.round, ANY, id="torch.round"),
    pytest.param(lambda x: torch.round(x, decimals=1), ANY, id="torch.round-decimals"),
    pytest.param(torch.floor, ANY, id="torch.floor"),
    pytest.param(torch.ceil, ANY, id="torch.ceil"),
    pytest.param(torch.trunc, ANY, id="torch.trunc"),
    pytest.param(lambda x: torch.clamp(x, -1.0, 1.0), ANY, id="torch.clamp"),
    pytest.param(lambda x: torch.clip(x, min=0.5), ANY, id="torch.clip"),
    pytest.param(lambda x: torch.pow(x, 3), ANY, id="torch.pow-number"),
    pytest.param(lambda x: torch.pow(2.0, x), ANY, id="torch.pow-number-base"),
    pytest.param(lambda x: x.sin() * x.cos(), ANY, id="sin-cos"),
    pytest.param(lambda x: x.log1p() + x.expm1(), POSITIVE, id="log1p-expm1"),
    pytest.param(lambda x: x.reciprocal() + x.rsqrt(), POSITIVE, id="reciprocal-rsqrt"),
    pytest.param(
        lambda x: x.sign() + x.round() + x.floor() + x.ceil() + x.trunc(), ANY, id="steps"
    ),
    pytest.param(lambda x: x.add(x * 2, alpha=-3), ANY, id="add-alpha"),
    pytest.param(lambda x: x.sub(x.exp(), alpha=0.5), ANY, id="sub-alpha"),
    pytest.param(lambda x: x.type(torch.float32).exp(), ANY, id="type-cast"),
    pytest.param(lambda x: x.type_as(torch.ones(1)).double(), ANY, id="type_as"),
]


@pytest.mark.parametrize(("fn", "x_range"), UNARY)
@moderate
@given(data=st.data())
def test_elementwise_torch_function_matches_torch(fn, x_range, data):
    x = data.draw(float_tensors(data.draw(shapes()), **x_range))
    check_against_torch(fn, x, atol=1e-6)


BINARY = [
    pytest.param(torch.add, ANY, ANY, id="torch.add"),
    pytest.param(lambda a, b: torch.add(a, b, alpha=2), ANY, ANY, id="torch.add-alpha"),
    pytest.param(torch.sub, ANY, ANY, id="torch.sub"),
    pytest.param(lambda a, b: torch.sub(a, b, alpha=0.5), ANY, ANY, id="torch.sub-alpha"),
    pytest.param(torch.mul, ANY, ANY, id="torch.mul"),
    pytest.param(torch.div, ANY, NONZERO, id="torch.div"),
    pytest.param(torch.true_divide, ANY, NONZERO, id="torch.true_divide"),
    pytest.param(torch.pow, POSITIVE, ANY, id="torch.pow"),
    pytest.param(torch.maximum, ANY, ANY, id="torch.maximum"),
    pytest.param(torch.minimum, ANY, ANY, id="torch.minimum"),
    pytest.param(torch.max, ANY, ANY, id="torch.max-binary"),
    pytest.param(torch.min, ANY, ANY, id="torch.min-binary"),
    pytest.param(lambda a, b: torch.where(a > b, a, b * 2), ANY, ANY, id="torch.where"),
    pytest.param(lambda a, b: torch.where(a > 0, a, 0.5), ANY, ANY, id="torch.where-number"),
]


@pytest.mark.parametrize(("fn", "a_range", "b_range"), BINARY)
@moderate
@given(data=st.data())
def test_binary_torch_function_broadcasts_like_torch(fn, a_range, b_range, data):
    a_shape, b_shape = data.draw(broadcastable_shapes())
    a = data.draw(float_tensors(a_shape, **a_range))
    b = data.draw(float_tensors(b_shape, **b_range))
    check_against_torch(fn, a, b)


@pytest.mark.parametrize("fn", [torch.add, torch.mul, torch.maximum, torch.where])
def test_a_plain_tensor_first_still_records_the_variable(fn):
    constant = spread(2, 3)
    if fn is torch.where:
        check_against_torch(lambda x: torch.where(constant > 0, constant, x), spread(2, 3, seed=1))
    else:
        check_against_torch(lambda x: fn(constant, x), spread(2, 3, seed=1))


def test_maximum_and_minimum_split_the_gradient_of_ties_like_torch():
    a = torch.tensor([1.0, 2.0, 3.0, -1.0], dtype=torch.float64)
    b = torch.tensor([1.0, 0.0, 3.0, 4.0], dtype=torch.float64)
    for fn in (torch.maximum, torch.minimum, torch.max, torch.min):
        check_against_torch(fn, a, b)


# --- Reductions, norms, statistics ---------------------------------------------------------------

REDUCTIONS = [
    pytest.param(torch.sum, id="torch.sum"),
    pytest.param(lambda x: torch.sum(x, 1, keepdims=True), id="torch.sum-keepdims"),
    pytest.param(lambda x: torch.sum(x, dim=(0, 2)), id="torch.sum-tuple"),
    pytest.param(lambda x: x.sum(1, keepdims=True), id="sum-keepdims"),
    pytest.param(lambda x: x / x.sum(1, keepdims=True), id="counts/sum"),
    pytest.param(lambda x: x.sum(dtype=torch.float32).double(), id="sum-dtype"),
    pytest.param(lambda x: torch.mean(x, dim=-1, keepdim=True), id="torch.mean"),
    pytest.param(lambda x: x.mean((0, 1), keepdims=True), id="mean-keepdims"),
    pytest.param(torch.max, id="torch.max"),
    pytest.param(lambda x: torch.max(x, 1).values, id="torch.max-dim"),
    pytest.param(lambda x: torch.max(x, dim=0, keepdims=True)[0], id="torch.max-keepdims"),
    pytest.param(lambda x: torch.min(x, 2).values, id="torch.min-dim"),
    pytest.param(lambda x: x.min(1, keepdims=True).values, id="min-keepdims"),
    pytest.param(torch.norm, id="torch.norm"),
    pytest.param(lambda x: torch.norm(x, dim=1), id="torch.norm-dim"),
    pytest.param(lambda x: torch.norm(x, p=1, dim=(0, 2), keepdim=True), id="torch.norm-p1"),
    pytest.param(lambda x: x.norm(), id="norm"),
    pytest.param(lambda x: x.norm(3, 1), id="norm-p3"),
    pytest.param(lambda x: x.norm(float("inf"), dim=2), id="norm-inf"),
    pytest.param(lambda x: x.norm(0.5), id="norm-p0.5"),
    pytest.param(torch.linalg.norm, id="linalg.norm"),
    pytest.param(lambda x: torch.linalg.norm(x, dim=1, keepdim=True), id="linalg.norm-dim"),
    pytest.param(lambda x: torch.linalg.norm(x, ord=1, dim=-1), id="linalg.norm-ord"),
    pytest.param(torch.linalg.vector_norm, id="linalg.vector_norm"),
    pytest.param(lambda x: torch.linalg.vector_norm(x, 4, (0, 1)), id="linalg.vector_norm-4"),
    pytest.param(torch.std, id="torch.std"),
    pytest.param(torch.var, id="torch.var"),
    pytest.param(lambda x: torch.std(x, 1, keepdim=True), id="torch.std-dim"),
    pytest.param(lambda x: x.var(0, unbiased=False), id="var-biased"),
    pytest.param(lambda x: x.var(dim=(0, 2), correction=2), id="var-correction"),
    pytest.param(lambda x: x.std(False), id="std-positional-unbiased"),
    pytest.param(lambda x: x.std(1, keepdims=True), id="std-keepdims"),
    pytest.param(lambda x: torch.logsumexp(x, 1), id="torch.logsumexp"),
    pytest.param(lambda x: x.logsumexp((0, 2), keepdim=True), id="logsumexp-dims"),
    pytest.param(lambda x: (x * 300).logsumexp(-1, keepdims=True), id="logsumexp-large"),
    pytest.param(lambda x: torch.cumsum(x, 1), id="torch.cumsum"),
    pytest.param(lambda x: x.cumsum(-1), id="cumsum"),
    pytest.param(torch.prod, id="torch.prod"),
    pytest.param(lambda x: torch.prod(x, 1), id="torch.prod-dim"),
    pytest.param(lambda x: x.prod(-1, keepdims=True), id="prod-keepdims"),
]


@pytest.mark.parametrize("fn", REDUCTIONS)
def test_reduction_matches_torch(fn):
    check_against_torch(fn, spread(3, 4, 2))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.norm(),
        lambda x: x.norm(1, 0),
        lambda x: x.norm(float("inf"), 1),
        lambda x: torch.linalg.vector_norm(x, 3, 1),
        lambda x: x.std(1),
        lambda x: torch.std(x),
    ],
    ids=["p2", "p1", "inf", "p3", "std-dim", "std"],
)
def test_norm_and_std_at_zero_and_at_ties_follow_torch(fn):
    check_against_torch(fn, torch.zeros(2, 3, dtype=torch.float64))
    check_against_torch(fn, torch.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, -2.0]], dtype=torch.float64))


@pytest.mark.parametrize(
    "fn",
    [torch.prod, lambda x: x.prod(0), lambda x: x.prod(1, keepdim=True)],
    ids=["all", "0", "1"],
)
def test_prod_with_zeros_follows_torch(fn):
    check_against_torch(fn, torch.tensor([[0.0, 2.0, 3.0], [0.0, 0.0, -2.0]], dtype=torch.float64))
    check_against_torch(fn, torch.tensor([[1.5, 2.0, 0.0], [4.0, 0.5, -2.0]], dtype=torch.float64))
    check_against_torch(fn, torch.tensor([[7.0]], dtype=torch.float64))


# --- Matrix products -----------------------------------------------------------------------------

PRODUCTS = [
    pytest.param(torch.matmul, (2, 3), (3, 4), id="torch.matmul"),
    pytest.param(torch.mm, (2, 3), (3, 4), id="torch.mm"),
    pytest.param(torch.bmm, (2, 2, 3), (2, 3, 4), id="torch.bmm"),
    pytest.param(torch.mv, (2, 3), (3,), id="torch.mv"),
    pytest.param(torch.dot, (3,), (3,), id="torch.dot"),
    pytest.param(torch.outer, (3,), (4,), id="torch.outer"),
    pytest.param(lambda a, b: a.mm(b), (2, 3), (3, 4), id="mm"),
]


@pytest.mark.parametrize(("fn", "a_shape", "b_shape"), PRODUCTS)
def test_matrix_product_matches_torch(fn, a_shape, b_shape):
    check_against_torch(fn, spread(*a_shape), spread(*b_shape, seed=1))


def test_matrix_product_of_the_wrong_dimensions_names_the_function():
    with pytest.raises(ShapeError, match=r"bmm: expected operands of 3 and 3 dimensions"):
        torch.bmm(Variable(torch.randn(2, 3)), Variable(torch.randn(3, 4)))


# --- Shapes, joins, selections -------------------------------------------------------------------

SHAPES = [
    pytest.param(lambda a, b: torch.cat([a, b]), id="torch.cat"),
    pytest.param(lambda a, b: torch.cat((a, b), dim=1), id="torch.cat-dim"),
    pytest.param(lambda a, b: torch.concat([a, b], 2), id="torch.concat"),
    pytest.param(lambda a, b: torch.stack([a, b], 1), id="torch.stack"),
    pytest.param(lambda a, b: torch.reshape(a, (4, -1)) * 2, id="torch.reshape"),
    pytest.param(lambda a, b: torch.transpose(a, 0, 2), id="torch.transpose"),
    pytest.param(lambda a, b: torch.swapaxes(a, 0, 1), id="torch.swapaxes"),
    pytest.param(lambda a, b: torch.permute(a, (2, 0, 1)), id="torch.permute"),
    pytest.param(lambda a, b: torch.unsqueeze(a, 1), id="torch.unsqueeze"),
    pytest.param(lambda a, b: torch.squeeze(a[:, :1]), id="torch.squeeze"),
    pytest.param(lambda a, b: torch.t(a[0]), id="torch.t"),
    pytest.param(lambda a, b: torch.flatten(a), id="torch.flatten"),
    pytest.param(lambda a, b: torch.flatten(a, 1), id="torch.flatten-start"),
    pytest.param(lambda a, b: torch.softmax(a, -1), id="torch.softmax"),
    pytest.param(lambda a, b: torch.log_softmax(a, dim=1), id="torch.log_softmax"),
    pytest.param(lambda a, b: a.softmax(0, dtype=torch.float32).double(), id="softmax-dtype"),
    pytest.param(lambda a, b: torch.split(a, 2, 1)[1] * 3, id="torch.split"),
    pytest.param(
        lambda a, b: sum(p.sum() * i for i, p in enumerate(a.split([1, 3], 1))), id="split"
    ),
    pytest.param(lambda a, b: torch.chunk(a, 2, dim=-1)[0], id="torch.chunk"),
    pytest.param(lambda a, b: sum(p * i for i, p in enumerate(a.chunk(3))), id="chunk"),
    pytest.param(lambda a, b: sum(p * i for i, p in enumerate(torch.unbind(a, 1))), id="unbind"),
    pytest.param(lambda a, b: torch.gather(a, 1, torch.tensor([[[0], [3]]] * 3)), id="gather"),
    pytest.param(lambda a, b: a.gather(2, torch.tensor([[[1, 1]] * 4] * 3)), id="gather-repeat"),
    pytest.param(lambda a, b: torch.masked_fill(a, a > 0, 0.0), id="torch.masked_fill"),
    pytest.param(lambda a, b: a.masked_fill(b < 0, b.sum()), id="masked_fill-0d-variable"),
    pytest.param(lambda a, b: torch.clone(a) * a, id="torch.clone"),
]


@pytest.mark.parametrize("fn", SHAPES)
def test_shape_function_matches_torch(fn):
    check_against_torch(fn, spread(3, 4, 2), spread(3, 4, 2, seed=1))


def test_bigram_style_program_matches_torch():
    """makemore's bigram: one-hot rows, exp, normalise, pick the labels' probabilities, mean NLL."""
    xs, ys = torch.tensor([0, 3, 1, 2, 3]), torch.tensor([3, 1, 2, 0, 0])

    def loss(weights):
        logits = F.one_hot(xs, 4).double() @ weights
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
        return -probs[torch.arange(5), ys].log().mean() + 0.01 * (weights**2).mean()

    check_against_torch(loss, spread(4, 4))


FUNCTIONAL = [
    pytest.param(lambda x, w: F.relu(x), id="F.relu"),
    pytest.param(lambda x, w: F.softmax(x, dim=1), id="F.softmax"),
    pytest.param(lambda x, w: F.log_softmax(x, 1), id="F.log_softmax"),
    pytest.param(lambda x, w: F.linear(x, w), id="F.linear"),
    pytest.param(lambda x, w: F.mse_loss(x, w), id="F.mse_loss"),
    pytest.param(lambda x, w: F.cross_entropy(x, torch.tensor([1, 0, 2])), id="F.cross_entropy"),
    pytest.param(
        lambda x, w: F.cross_entropy(x, torch.tensor([1, 0, 2]), reduction="sum"),
        id="F.cross_entropy-sum",
    ),
]


@pytest.mark.parametrize("fn", FUNCTIONAL)
def test_torch_nn_functional_runs_autogradlib_functions(fn):
    check_against_torch(fn, spread(3, 4), spread(3, 4, seed=1))


# --- Functions that give no gradient -------------------------------------------------------------

NOT_DIFFERENTIABLE = [
    pytest.param(lambda x, y: torch.eq(x, y), id="torch.eq"),
    pytest.param(lambda x, y: torch.gt(x, 0), id="torch.gt"),
    pytest.param(lambda x, y: torch.greater_equal(x, y), id="torch.greater_equal"),
    pytest.param(lambda x, y: torch.argmax(x), id="torch.argmax"),
    pytest.param(lambda x, y: torch.argmax(x, 1, keepdim=True), id="torch.argmax-keepdim"),
    pytest.param(lambda x, y: x.argmax(dim=1, keepdims=True), id="argmax-keepdims"),
    pytest.param(lambda x, y: torch.argmin(x, dim=0), id="torch.argmin"),
    pytest.param(lambda x, y: torch.isnan(x.log()), id="torch.isnan"),
    pytest.param(lambda x, y: torch.isfinite(1 / (x - x)), id="torch.isfinite"),
    pytest.param(lambda x, y: torch.isinf(1 / (x - x)), id="torch.isinf"),
    pytest.param(lambda x, y: torch.isclose(x, y), id="torch.isclose"),
    pytest.param(lambda x, y: (x > 0).all(), id="all"),
    pytest.param(lambda x, y: (x > 0).any(1, keepdims=True), id="any-keepdims"),
    pytest.param(lambda x, y: torch.all(x > y, dim=0), id="torch.all"),
    pytest.param(lambda x, y: torch.zeros_like(x), id="torch.zeros_like"),
    pytest.param(lambda x, y: torch.ones_like(x, dtype=torch.int64), id="torch.ones_like"),
    pytest.param(lambda x, y: torch.full_like(x, 7.0), id="torch.full_like"),
    pytest.param(lambda x, y: x.new_zeros(2, 3), id="new_zeros"),
    pytest.param(lambda x, y: x.new_ones((2,), dtype=torch.float32), id="new_ones"),
    pytest.param(lambda x, y: x.new_full((2, 2), 3.5), id="new_full"),
    pytest.param(lambda x, y: x.new_tensor([1.0, 2.0]), id="new_tensor"),
]


@pytest.mark.parametrize("fn", NOT_DIFFERENTIABLE)
def test_function_without_gradient_gives_a_plain_variable_like_torch(fn):
    x = spread(3, 4)
    y = x.clone()
    y[0] = 0.5
    expected = fn(x.clone().requires_grad_(True), y)
    actual = fn(Variable(x), Variable(y, requires_grad=False))
    assert isinstance(actual, Variable)
    assert not actual.requires_grad and actual.grad_op is None
    assert actual.dtype == expected.dtype
    torch.testing.assert_close(actual.tensor, expected, equal_nan=True)


def test_random_like_factories_draw_torchs_numbers():
    x = torch.randn(3, 4, dtype=torch.float64)
    for factory in (torch.randn_like, torch.rand_like):
        torch.manual_seed(5)
        expected = factory(x)
        torch.manual_seed(5)
        actual = factory(Variable(x))
        assert not actual.requires_grad
        assert torch.equal(actual.tensor, expected)
    assert torch.empty_like(Variable(x)).shape == (3, 4)


def test_factories_with_requires_grad_make_a_leaf():
    x = Variable(torch.randn(2, 3))
    for made in (torch.zeros_like(x, requires_grad=True), x.new_ones(2, requires_grad=True)):
        assert made.requires_grad and made.is_leaf
        made.sum().backward()
        assert made.grad is not None


def test_functions_returning_python_values_match_torch():
    x = spread(3, 4)
    variable = Variable(x)
    assert torch.numel(variable) == 12
    assert torch.is_floating_point(variable) and variable.is_floating_point()
    assert torch.allclose(variable, x + 1e-12) and not torch.allclose(variable, x + 1)
    assert torch.allclose(x, variable)
    assert torch.equal(variable, Variable(x.clone())) and not torch.equal(variable, x * 2)
    assert variable.element_size() == 8 and variable.float().element_size() == 4
    assert x[0, 0] in variable and Variable(x[1, 1]) in variable and 5.0 not in variable


# --- Plain tensors on the left: reflected operators and comparisons ------------------------------


def test_tensor_operators_with_a_variable_on_the_right_run_on_autogradlib():
    constant = spread(2, 3)
    for fn in (
        lambda x: constant + x,
        lambda x: constant - x,
        lambda x: constant * x,
        lambda x: constant / x,
        lambda x: constant.abs() ** x,
        lambda x: constant @ x.t(),
        lambda x: constant.sub(x).mul(x),
    ):
        check_against_torch(fn, spread(2, 3, seed=1))
    x = Variable(spread(2, 3, seed=1))
    for compare in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"):
        result = getattr(constant, compare)(x)
        assert isinstance(result, Variable)
        assert torch.equal(result.tensor, getattr(constant, compare)(x.tensor))


def test_indexing_a_tensor_with_a_variable_gives_the_selected_values():
    table = torch.arange(10.0)
    index = Variable(torch.tensor([3, 1, 3]))
    assert torch.equal(table[index].tensor, table[index.tensor])


# --- Errors: what is not supported says so --------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda v: torch.cumprod(v, 0), "torch.cumprod"),
        (lambda v: torch.einsum("ij->i", v), "einsum"),
        (lambda v: torch.kron(v, v), "torch.kron"),
        (lambda v: torch.Tensor.unique(v), "torch.Tensor.unique"),
        (lambda v: torch.nn.functional.hardswish(v), "torch.nn.functional.hardswish"),
    ],
    ids=["cumprod", "einsum", "kron", "Tensor.unique", "F.hardswish"],
)
def test_unsupported_torch_function_raises_naming_it(call, name):
    with pytest.raises(TypeError, match=rf"{name}.*not supported on Autogradlib Variables"):
        call(Variable(torch.randn(2, 3)))


@pytest.mark.parametrize(
    "update",
    [
        lambda tensor, v: tensor.__setitem__(0, v[1]),
        lambda tensor, v: tensor.__setitem__(v > 1, v[v > 1]),
        lambda tensor, v: tensor.add_(v, alpha=2),
        lambda tensor, v: tensor.mul_(v),
        lambda tensor, v: tensor.copy_(v),
        lambda tensor, v: tensor.masked_fill_(v > 1, 5.0),
        lambda tensor, v: tensor.lerp_(v, 0.5),
    ],
    ids=["setitem", "setitem-mask", "add_", "mul_", "copy_", "masked_fill_", "lerp_"],
)
def test_a_tensor_updated_in_place_with_a_variable_takes_its_values_as_in_torch(update):
    values = torch.tensor([0.5, 2.0, 3.0])
    expected, tensor = torch.ones(3), torch.ones(3)
    alias = tensor
    update(expected, values)
    result = update(tensor, Variable(values, requires_grad=False))
    assert torch.equal(tensor, expected) and alias is tensor
    assert result is None or result is tensor
    with autogradlib.no_grad():  # as tutorials update buffers from parameters
        update(tensor, Variable(values))


@pytest.mark.parametrize(
    "update",
    [
        lambda tensor, v: tensor.__setitem__(0, v[1]),
        lambda tensor, v: tensor.add_(v),
        lambda tensor, v: tensor.__iadd__(v),
        lambda tensor, v: tensor.copy_(v),
    ],
    ids=["setitem", "add_", "+=", "copy_"],
)
def test_a_tensor_updated_in_place_with_a_variable_that_requires_grad_is_refused(update):
    tensor = torch.ones(3)
    with pytest.raises(RuntimeError, match=r"torch.Tensor.\w+_?: a torch tensor cannot be updated"):
        update(tensor, Variable(torch.tensor([0.5, 2.0, 3.0])))
    assert torch.equal(tensor, torch.ones(3))


def test_out_and_unknown_keywords_are_refused_naming_the_function():
    variable = Variable(torch.randn(3))
    with pytest.raises(TypeError, match=r"torch.exp on Variables: .*'out'.*outside the graph"):
        torch.exp(variable, out=torch.empty(3))
    with pytest.raises(TypeError, match=r"torch.div on Variables: .*rounding_mode"):
        torch.div(variable, 2, rounding_mode="floor")


def test_softmax_takes_a_dtype_as_torch():
    tensor = torch.randn(2, 3)
    for function in (F.softmax, F.log_softmax):
        ours = function(Variable(tensor), 1, dtype=torch.float64)
        assert ours.dtype == torch.float64
        assert torch.allclose(ours.tensor, function(tensor, 1, dtype=torch.float64))


def test_matrix_norms_are_refused_with_what_to_use_instead():
    variable = Variable(torch.randn(3, 3))
    with pytest.raises(ValueError, match=r"linalg.norm: matrix norms .*vector_norm"):
        torch.linalg.norm(variable, ord=2)
    with pytest.raises(ValueError, match=r"norm: p='nuc'"):
        variable.norm("nuc")


# --- gradcheck of the new operators -------------------------------------------------------------

GRADCHECK = [
    (torch.sin, [spread(2, 3)]),
    (torch.cos, [spread(2, 3)]),
    (torch.log1p, [spread(2, 3, positive=True)]),
    (torch.expm1, [spread(2, 3)]),
    (lambda c, a, b: torch.where(c > 0, a, b), [spread(2, 3), spread(2, 3, seed=1), spread(3)]),
    (torch.maximum, [spread(2, 3), spread(2, 3, seed=1)]),
    (torch.minimum, [spread(2, 1), spread(3, seed=1)]),
    (lambda x: x.norm(), [spread(2, 3)]),
    (lambda x: x.norm(1, dim=1, keepdim=True), [spread(2, 3)]),
    (lambda x: x.norm(3, dim=0), [spread(2, 3)]),
    (lambda x: x.norm(float("inf"), dim=1), [spread(2, 3)]),
    (lambda x: x.gather(1, torch.tensor([[2, 2], [0, 1]])), [spread(2, 3)]),
    (lambda x, v: x.masked_fill(x > 0, v), [spread(2, 3), torch.tensor(0.5)]),
    (lambda x: x.var(1), [spread(2, 3)]),
    (lambda x: x.std(), [spread(2, 3)]),
    (lambda x: x.logsumexp(1), [spread(2, 3)]),
    (lambda x: x.cumsum(0), [spread(3, 2)]),
    (lambda x: x.prod(), [spread(2, 3)]),
    (lambda x: x.prod(1, keepdim=True), [spread(2, 3)]),
]


@pytest.mark.parametrize(("fn", "inputs"), GRADCHECK, ids=[str(i) for i in range(len(GRADCHECK))])
def test_new_operator_passes_gradcheck(fn, inputs):
    assert gradcheck(fn, *inputs)


def test_step_functions_pass_back_zero_like_torch():
    x = Variable(spread(2, 3))
    (x.round() + x.sign() + x.floor()).sum().backward()
    assert torch.equal(x.grad, torch.zeros(2, 3, dtype=torch.float64))


# --- The everyday Tensor surface -----------------------------------------------------------------


def test_format_of_a_0d_variable_formats_its_number_like_torch():
    value = torch.tensor(-1.23456)
    loss = Variable(value)
    assert f"{loss:.4f}" == f"{value:.4f}" == "-1.2346"
    assert format(loss, "+.2f") == "-1.23"
    assert f"{loss}" == f"{value}"  # torch formats a 0-d tensor's number even without a spec
    with pytest.raises(TypeError):
        format(Variable(torch.ones(2)), ".2f")  # torch refuses a spec on a 1-D tensor too


def test_numpy_asarray_gives_the_values():
    x = torch.randn(2, 3)
    array = np.asarray(Variable(x))
    assert array.dtype == np.float32 and array.shape == (2, 3)
    np.testing.assert_array_equal(array, x.numpy())
    assert np.asarray(Variable(x), dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.array(Variable(x)) + 1, x.numpy() + 1)


def test_type_names_and_casts_like_torch():
    x = Variable(torch.randn(2, 3))
    assert x.type() == "torch.FloatTensor"
    assert x.double().type() == "torch.DoubleTensor" and x.long().type() == "torch.LongTensor"
    cast = x.type("torch.DoubleTensor")
    assert cast.dtype == torch.float64
    (cast * 2).sum().backward()
    assert x.grad.dtype == torch.float32
    torch.testing.assert_close(x.grad, torch.full((2, 3), 2.0))
    assert x.type(torch.int64).dtype == torch.int64


def test_to_another_variable_or_tensor_takes_its_dtype():
    x = Variable(torch.randn(2))
    assert x.to(Variable(torch.zeros(1, dtype=torch.float64))).dtype == torch.float64
    assert x.to(torch.zeros(1, dtype=torch.float16)).dtype == torch.float16
    assert x.type_as(Variable(torch.zeros(1, dtype=torch.float64))).dtype == torch.float64


KEEPDIMS_METHODS = ["sum", "mean", "prod", "max", "min", "argmax", "argmin", "all", "any", "std"]


@pytest.mark.parametrize("method", [*KEEPDIMS_METHODS, "var", "logsumexp"])
@few
@given(data=st.data())
def test_keepdims_is_keepdim_where_torch_accepts_it(method, data):
    x = data.draw(float_tensors(data.draw(shapes(1, 3))))
    dim = data.draw(st.integers(-x.dim(), x.dim() - 1))
    expected = getattr(x, method)(dim, keepdims=True)
    actual = getattr(Variable(x), method)(dim, keepdims=True)
    expected = expected[0] if isinstance(expected, tuple) else expected
    actual = actual[0] if isinstance(actual, tuple) else actual
    torch.testing.assert_close(actual.tensor, expected, equal_nan=True)


def test_split_chunk_and_unbind_pieces_have_torchs_shapes():
    x = torch.randn(5, 4)
    variable = Variable(x)
    for pieces, expected in (
        (variable.split(2), x.split(2)),
        (variable.split([1, 3], dim=1), x.split([1, 3], dim=1)),
        (variable.chunk(3, 1), x.chunk(3, 1)),
        (variable.unbind(-1), x.unbind(-1)),
    ):
        assert len(pieces) == len(expected)
        for piece, part in zip(pieces, expected, strict=True):
            assert torch.equal(piece.tensor, part)


# --- torch's grad mode, and what stays off the hot path ------------------------------------------


@pytest.mark.parametrize(
    "context",
    [torch.no_grad, torch.inference_mode, lambda: torch.set_grad_enabled(False)],
    ids=["no_grad", "inference_mode", "set_grad_enabled"],
)
def test_torch_grad_mode_stops_the_recording_as_in_torch(context):
    w = Variable(torch.randn(3))
    with context():
        assert not autogradlib.is_grad_enabled()
        y = torch.exp(w) * 2 + w
    assert not y.requires_grad and y.grad_op is None
    assert autogradlib.is_grad_enabled()
    assert (w * 2).requires_grad


def test_a_training_step_never_goes_through_torch_function(monkeypatch):
    calls = []
    original = Variable.__torch_function__.__func__

    def counting(cls, func, types, args=(), kwargs=None):
        calls.append(func)
        return original(cls, func, types, args, kwargs)

    monkeypatch.setattr(Variable, "__torch_function__", classmethod(counting))
    inputs, targets = torch.randn(20, 2), torch.randn(20, 2)
    model = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 2), nn.Softmax(dim=1))
    scale = Variable(torch.zeros(()))
    optimizer = optim.SGD([*model.parameters(), scale], lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(inputs), targets) * torch.exp(scale)
        loss.backward()
        optimizer.step()
    # The one call is the program's own torch.exp: the library's operators never make one.
    assert calls == [torch.exp, torch.exp]
