"""Every operator against torch (the oracle) on hypothesis-drawn shapes, then through gradcheck."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, strategies as st
from oracle import (
    broadcastable_shapes,
    check_against_torch,
    few,
    float_tensors,
    moderate,
    shapes,
)

import autogradlib
from autogradlib import Variable, gradcheck, operators as ops

# Element ranges for float_tensors.
ANY = {}
NONZERO = {"avoid": (0.0,), "gap": 0.25}
POSITIVE = {"low": 0.1, "high": 3.0}
EXPONENT = {"low": -2.0, "high": 2.0}
WIDE = {"low": -30.0, "high": 30.0}
LARGE_LOGITS = {"low": -1000.0, "high": 1000.0}


def library(value):
    """torch for torch tensors, autogradlib for Variables: lets one fn call cat, stack, ..."""
    return torch if isinstance(value, torch.Tensor) else autogradlib


def axes(ndim: int):
    """The dimension numbers, negative ones included, that a tensor of `ndim` dimensions takes."""
    return st.integers(-max(ndim, 1), max(ndim, 1) - 1)


# --- + - * / ** and their method forms -----------------------------------------------------------

BINARY = [
    pytest.param(lambda a, b: a + b, ANY, ANY, id="a+b"),
    pytest.param(lambda a, b: a - b, ANY, ANY, id="a-b"),
    pytest.param(lambda a, b: a * b, ANY, ANY, id="a*b"),
    pytest.param(lambda a, b: a / b, ANY, NONZERO, id="a/b"),
    pytest.param(lambda a, b: a**b, POSITIVE, EXPONENT, id="a**b"),
    pytest.param(lambda a, b: a.add(b), ANY, ANY, id="add"),
    pytest.param(lambda a, b: a.sub(b), ANY, ANY, id="sub"),
    pytest.param(lambda a, b: a.mul(b), ANY, ANY, id="mul"),
    pytest.param(lambda a, b: a.div(b), ANY, NONZERO, id="div"),
    pytest.param(lambda a, b: a.pow(b), POSITIVE, EXPONENT, id="pow"),
]

BROADCAST_PATTERNS = [
    pytest.param((2, 3), (2, 3), id="equal"),
    pytest.param((2, 3), (), id="0d-right"),
    pytest.param((), (2, 3), id="0d-left"),
    pytest.param((), (), id="both-0d"),
    pytest.param((4, 2, 3), (3,), id="missing-leading-right"),
    pytest.param((3,), (4, 2, 3), id="missing-leading-left"),
    pytest.param((2, 3), (2, 1), id="size-1-right"),
    pytest.param((1, 3), (2, 3), id="size-1-left"),
    pytest.param((2, 1, 3), (1, 4, 1), id="size-1-both"),
    pytest.param((4, 1, 3), (2, 1), id="missing-and-size-1"),
]


@pytest.mark.parametrize(("fn", "a_range", "b_range"), BINARY)
@moderate
@given(data=st.data())
def test_binary_operator_matches_torch(fn, a_range, b_range, data):
    a_shape, b_shape = data.draw(broadcastable_shapes())
    a = data.draw(float_tensors(a_shape, **a_range))
    b = data.draw(float_tensors(b_shape, **b_range))
    check_against_torch(fn, a, b)


@pytest.mark.parametrize(("a_shape", "b_shape"), BROADCAST_PATTERNS)
@pytest.mark.parametrize(("fn", "a_range", "b_range"), BINARY[:5])
@few
@given(data=st.data())
def test_binary_operator_broadcasts_like_torch(fn, a_range, b_range, a_shape, b_shape, data):
    a = data.draw(float_tensors(a_shape, **a_range))
    b = data.draw(float_tensors(b_shape, **b_range))
    check_against_torch(fn, a, b)


NUMBER_FORMS = [
    pytest.param(lambda x: 2.5 + x, ANY, id="number+x"),
    pytest.param(lambda x: 2.5 - x, ANY, id="number-x"),
    pytest.param(lambda x: 2.5 * x, ANY, id="number*x"),
    pytest.param(lambda x: 2.5 / x, NONZERO, id="number/x"),
    pytest.param(lambda x: 2.5**x, ANY, id="number**x"),
    pytest.param(lambda x: x + 2.5, ANY, id="x+number"),
    pytest.param(lambda x: x - 2, ANY, id="x-int"),
    pytest.param(lambda x: x * -3, ANY, id="x*int"),
    pytest.param(lambda x: x / 2.5, ANY, id="x/number"),
    pytest.param(lambda x: -x, ANY, id="-x"),
    pytest.param(lambda x: x.neg(), ANY, id="neg"),
    pytest.param(lambda x: 1 - x * 2 + x / 4, ANY, id="expression"),
]


@pytest.mark.parametrize(("fn", "x_range"), NUMBER_FORMS)
@moderate
@given(data=st.data())
def test_number_and_variable_match_torch(fn, x_range, data):
    x = data.draw(float_tensors(data.draw(shapes()), **x_range))
    check_against_torch(fn, x)


TENSOR_FORMS = [
    pytest.param(lambda c, x: c + x, ANY, ANY, id="tensor+x"),
    pytest.param(lambda c, x: c - x, ANY, ANY, id="tensor-x"),
    pytest.param(lambda c, x: c * x, ANY, ANY, id="tensor*x"),
    pytest.param(lambda c, x: c / x, ANY, NONZERO, id="tensor/x"),
    pytest.param(lambda c, x: c**x, POSITIVE, EXPONENT, id="tensor**x"),
    pytest.param(lambda c, x: x + c, ANY, ANY, id="x+tensor"),
    pytest.param(lambda c, x: x - c, ANY, ANY, id="x-tensor"),
    pytest.param(lambda c, x: x * c, ANY, ANY, id="x*tensor"),
    pytest.param(lambda c, x: x / c, NONZERO, ANY, id="x/tensor"),
    pytest.param(lambda c, x: x**c, EXPONENT, POSITIVE, id="x**tensor"),
]


@pytest.mark.parametrize(("fn", "constant_range", "x_range"), TENSOR_FORMS)
@moderate
@given(data=st.data())
def test_tensor_and_variable_match_torch(fn, constant_range, x_range, data):
    constant_shape, x_shape = data.draw(broadcastable_shapes())
    constant = data.draw(float_tensors(constant_shape, **constant_range))
    x = data.draw(float_tensors(x_shape, **x_range))
    check_against_torch(lambda x: fn(constant, x), x)


# --- Powers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("exponent", [3, 2, 1, 0, -1, -2, 0.5, -0.5, 1.5, 3.0, 0.0])
@moderate
@given(data=st.data())
def test_pow_with_number_exponent_matches_torch(exponent, data):
    fractional = exponent != int(exponent)
    base_range = POSITIVE if fractional else NONZERO if exponent < 0 else ANY
    base = data.draw(float_tensors(data.draw(shapes()), **base_range))
    check_against_torch(lambda x: x**exponent, base)
    check_against_torch(lambda x: x.pow(exponent), base)


def test_pow_at_zero_base_follows_torch():
    base = torch.tensor([0.0, 0.0, 0.0, 2.0, 1.5], dtype=torch.float64)
    exponent = torch.tensor([0.0, 2.0, 3.0, 0.0, 2.0], dtype=torch.float64)
    check_against_torch(lambda base, exponent: base**exponent, base, exponent)
    check_against_torch(lambda base: base**exponent, base)
    check_against_torch(lambda exponent: base**exponent, exponent)


# --- Matrix products -----------------------------------------------------------------------------

MATMUL_KINDS = {
    "vector@vector": lambda n, k, m, batch_a, batch_b: ((k,), (k,)),
    "vector@matrix": lambda n, k, m, batch_a, batch_b: ((k,), (k, m)),
    "matrix@vector": lambda n, k, m, batch_a, batch_b: ((n, k), (k,)),
    "matrix@matrix": lambda n, k, m, batch_a, batch_b: ((n, k), (k, m)),
    "batched@batched": lambda n, k, m, batch_a, batch_b: ((*batch_a, n, k), (*batch_b, k, m)),
    "batched@matrix": lambda n, k, m, batch_a, batch_b: ((*batch_a, n, k), (k, m)),
    "matrix@batched": lambda n, k, m, batch_a, batch_b: ((n, k), (*batch_b, k, m)),
    "vector@batched": lambda n, k, m, batch_a, batch_b: ((k,), (*batch_b, k, m)),
    "batched@vector": lambda n, k, m, batch_a, batch_b: ((*batch_a, n, k), (k,)),
}

MATMUL_FORMS = [
    pytest.param(lambda a, b: a @ b, id="@"),
    pytest.param(lambda a, b: a.matmul(b), id="matmul"),
]


@st.composite
def matmul_operands(draw, kind: str):
    n, k, m = draw(st.tuples(*[st.integers(1, 4)] * 3))
    batch_a, batch_b = draw(broadcastable_shapes(max_dims=2, max_side=3))
    a_shape, b_shape = MATMUL_KINDS[kind](n, k, m, batch_a, batch_b)
    return draw(float_tensors(a_shape)), draw(float_tensors(b_shape))


@pytest.mark.parametrize("fn", MATMUL_FORMS)
@pytest.mark.parametrize("kind", MATMUL_KINDS)
@moderate
@given(data=st.data())
def test_matmul_matches_torch(kind, fn, data):
    a, b = data.draw(matmul_operands(kind))
    check_against_torch(fn, a, b)


@pytest.mark.parametrize("kind", MATMUL_KINDS)
@few
@given(data=st.data())
def test_matmul_with_tensor_on_either_side_matches_torch(kind, data):
    a, b = data.draw(matmul_operands(kind))
    check_against_torch(lambda b: a @ b, b)
    check_against_torch(lambda a: a @ b, a)


# --- Element-wise functions ----------------------------------------------------------------------

ELEMENTWISE = [
    pytest.param(lambda x: x.exp(), ANY, id="exp"),
    pytest.param(lambda x: x.log(), POSITIVE, id="log"),
    pytest.param(lambda x: x.sqrt(), POSITIVE, id="sqrt"),
    pytest.param(lambda x: x.square(), ANY, id="square"),
    pytest.param(lambda x: x.abs(), ANY, id="abs"),
    pytest.param(lambda x: x.relu(), ANY, id="relu"),
    pytest.param(lambda x: x.sigmoid(), WIDE, id="sigmoid"),
    pytest.param(lambda x: x.tanh(), WIDE, id="tanh"),
    pytest.param(lambda x: x.clamp(-1.0, 1.5), ANY, id="clamp"),
    pytest.param(lambda x: x.clamp(min=-0.5), ANY, id="clamp-min"),
    pytest.param(lambda x: x.clamp(max=0.5), ANY, id="clamp-max"),
    pytest.param(lambda x: x.clamp(0, 1), ANY, id="clamp-int-bounds"),
]


@pytest.mark.parametrize(("fn", "x_range"), ELEMENTWISE)
@moderate
@given(data=st.data())
def test_elementwise_function_matches_torch(fn, x_range, data):
    # Exact kinks (0 for abs and relu, the bounds of clamp) are welcome: PyTorch's convention there
    # is the reference.
    x = data.draw(float_tensors(data.draw(shapes()), **x_range))
    check_against_torch(fn, x)


def test_elementwise_functions_at_their_kinks_follow_torch():
    x = torch.tensor([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], dtype=torch.float64)
    for fn in (
        lambda x: x.abs(),
        lambda x: x.relu(),
        lambda x: x.clamp(-1.0, 1.0),
        lambda x: x.clamp(min=0.5),
        lambda x: x.clamp(max=-0.5),
    ):
        check_against_torch(fn, x)


CASTS = [
    pytest.param(lambda x: x.to(torch.float32), id="to-float32"),
    pytest.param(lambda x: x.to(dtype=torch.float32) * 3, id="to-dtype-keyword"),
    pytest.param(lambda x: x.float().double(), id="float-double"),
    pytest.param(lambda x: x.to(torch.float64), id="to-same-dtype"),
    pytest.param(lambda x: x.to("cpu"), id="to-device"),
    pytest.param(lambda x: x.to(torch.int64), id="to-int64"),
]


@pytest.mark.parametrize("fn", CASTS)
@few
@given(data=st.data())
def test_to_matches_torch(fn, data):
    check_against_torch(fn, data.draw(float_tensors(data.draw(shapes()))))


# --- Reductions and normalisations ---------------------------------------------------------------


@st.composite
def reduction_dims(draw, ndim: int):
    """None, one dimension, or a tuple of distinct dimensions (some of them negative)."""
    kind = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none", "int"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(axes(ndim))
    dims = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    flips = draw(st.lists(st.booleans(), min_size=len(dims), max_size=len(dims)))
    return tuple(dim - ndim if flip else dim for dim, flip in zip(dims, flips, strict=True))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@moderate
@given(data=st.data(), keepdim=st.booleans())
def test_sum_and_mean_match_torch(reduction, keepdim, data):
    x = data.draw(float_tensors(data.draw(shapes())))
    dim = data.draw(reduction_dims(x.dim()))
    check_against_torch(lambda x: getattr(x, reduction)(dim=dim, keepdim=keepdim), x)


def test_sum_and_mean_without_arguments_match_torch():
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    check_against_torch(lambda x: x.sum(), x)
    check_against_torch(lambda x: x.mean(), x)
    check_against_torch(lambda x: x.sum(1), x)
    check_against_torch(lambda x: x.mean(-1, True), x)


def tie_prone(tensors):
    """Round to integers so that maxima and minima are often tied."""
    return tensors.map(torch.round)


@pytest.mark.parametrize("reduction", ["max", "min"])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@moderate
@given(data=st.data())
def test_max_and_min_of_all_elements_match_torch(reduction, ties, data):
    values = float_tensors(data.draw(shapes()))
    x = data.draw(tie_prone(values) if ties else values)
    check_against_torch(lambda x: getattr(x, reduction)(), x)


@pytest.mark.parametrize("reduction", ["max", "min"])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@moderate
@given(data=st.data(), keepdim=st.booleans())
def test_max_and_min_along_a_dimension_match_torch(reduction, ties, keepdim, data):
    values = float_tensors(data.draw(shapes(min_dims=1)))
    x = data.draw(tie_prone(values) if ties else values)
    dim = data.draw(axes(x.dim()))
    ours = check_against_torch(lambda x: getattr(x, reduction)(dim, keepdim=keepdim).values, x)
    expected = getattr(x, reduction)(dim, keepdim=keepdim)
    actual = getattr(Variable(x), reduction)(dim, keepdim=keepdim)
    assert torch.equal(actual.indices, expected.indices)
    assert torch.equal(actual[0].tensor, ours.tensor)


def test_max_and_min_share_the_gradient_of_tied_elements_like_torch():
    x = torch.tensor([[1.0, 3.0, 3.0], [3.0, 0.0, 0.0]], dtype=torch.float64)
    for fn in (
        lambda x: x.max(),
        lambda x: x.min(),
        lambda x: x.max(1).values,
        lambda x: x.min(0, keepdim=True).values,
    ):
        check_against_torch(fn, x)


def test_max_and_min_of_all_elements_send_the_gradient_to_nans_like_torch():
    nan = float("nan")
    for values in ([1.0, nan, 2.0], [nan, 0.0, nan]):
        for reduction in ("max", "min"):
            # check_against_torch would compare the NaN outputs as unequal.
            expected = torch.tensor(values, dtype=torch.float64, requires_grad=True)
            getattr(expected, reduction)().backward()
            x = Variable(torch.tensor(values, dtype=torch.float64))
            output = getattr(x, reduction)()
            output.backward()
            assert output.tensor.isnan()
            torch.testing.assert_close(x.grad, expected.grad)


@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
@pytest.mark.parametrize("x_range", [ANY, LARGE_LOGITS], ids=["small", "large"])
@moderate
@given(data=st.data())
def test_softmax_and_log_softmax_match_torch(function, x_range, data):
    x = data.draw(float_tensors(data.draw(shapes(min_dims=1)), **x_range))
    dim = data.draw(axes(x.dim()))
    check_against_torch(lambda x: getattr(x, function)(dim), x)
    check_against_torch(lambda x: getattr(x, function)(dim=dim), x)


@pytest.mark.parametrize("function", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax_are_stable_for_large_logits(function):
    x = torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]], dtype=torch.float64)
    output = check_against_torch(lambda x: getattr(x, function)(1), x)
    assert torch.isfinite(output.tensor).all()


# --- Shapes --------------------------------------------------------------------------------------


@moderate
@given(data=st.data())
def test_t_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes(max_dims=2))))
    check_against_torch(lambda x: x.t(), x)


@moderate
@given(data=st.data())
def test_transpose_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes(min_dims=1))))
    dim0, dim1 = data.draw(axes(x.dim())), data.draw(axes(x.dim()))
    check_against_torch(lambda x: x.transpose(dim0, dim1), x)


@moderate
@given(data=st.data())
def test_permute_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes())))
    dims = data.draw(st.permutations(range(x.dim())))
    check_against_torch(lambda x: x.permute(tuple(dims)), x)
    if dims:  # torch takes no empty argument list
        check_against_torch(lambda x: x.permute(*dims), x)


@st.composite
def reshape_targets(draw, shape: tuple):
    """A new shape with the same number of elements, perhaps with one -1."""
    count = 1
    for size in shape:
        count *= size
    target = list(draw(st.sampled_from([(count,), (1, count, 1), tuple(reversed(shape))])))
    target = list(draw(st.permutations(target)))
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


@pytest.mark.parametrize("method", ["reshape", "view"])
@moderate
@given(data=st.data())
def test_reshape_and_view_match_torch(method, data):
    x = data.draw(float_tensors(data.draw(shapes())))
    target = data.draw(reshape_targets(tuple(x.shape)))
    check_against_torch(lambda x: getattr(x, method)(target), x)
    if target:
        check_against_torch(lambda x: getattr(x, method)(*target), x)


@moderate
@given(data=st.data())
def test_unsqueeze_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes(max_dims=3))))
    dim = data.draw(st.integers(-x.dim() - 1, x.dim()))
    check_against_torch(lambda x: x.unsqueeze(dim), x)


@moderate
@given(data=st.data())
def test_squeeze_matches_torch(data):
    # Sides of 1 or 2, so that there is usually something to squeeze.
    x = data.draw(float_tensors(data.draw(shapes(max_side=2))))
    dim = data.draw(axes(x.dim()))
    check_against_torch(lambda x: x.squeeze(), x)
    check_against_torch(lambda x: x.squeeze(dim), x)


@st.composite
def expand_targets(draw, shape: tuple):
    """Sizes for expand: new leading dimensions, size-1 dimensions stretched, -1 for kept ones."""
    leading = draw(shapes(max_dims=2, max_side=3))
    kept = []
    for size in shape:
        if size == 1:
            kept.append(draw(st.sampled_from([1, 2, 3, -1])))
        else:
            kept.append(draw(st.sampled_from([size, -1])))
    return (*leading, *kept)


@moderate
@given(data=st.data())
def test_expand_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes(max_dims=3, max_side=2))))
    sizes = data.draw(expand_targets(tuple(x.shape)))
    check_against_torch(lambda x: x.expand(sizes), x)
    if sizes:
        check_against_torch(lambda x: x.expand(*sizes), x)


@moderate
@given(data=st.data())
def test_flatten_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes())))
    start = data.draw(axes(x.dim()))
    end = data.draw(
        axes(x.dim()).filter(lambda end: end % max(x.dim(), 1) >= start % max(x.dim(), 1))
    )
    check_against_torch(lambda x: x.flatten(), x)
    check_against_torch(lambda x: x.flatten(start, end), x)


@moderate
@given(data=st.data())
def test_repeat_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes(max_dims=3, max_side=3))))
    extra = data.draw(st.integers(0, 2))
    sizes = data.draw(
        st.lists(st.integers(1, 3), min_size=x.dim() + extra, max_size=x.dim() + extra)
    )
    check_against_torch(lambda x: x.repeat(sizes), x)
    if sizes:
        check_against_torch(lambda x: x.repeat(*sizes), x)


# --- Indexing ------------------------------------------------------------------------------------

MASK = torch.tensor([[True, False, True, False, True]] * 2 + [[False] * 5] * 2)

INDICES = [
    pytest.param(1, id="int"),
    pytest.param(-1, id="negative-int"),
    pytest.param(slice(1, 3), id="slice"),
    pytest.param((slice(None), 2), id="column"),
    pytest.param((slice(None, None, 2), slice(1, None)), id="strided-slices"),
    pytest.param((None, 1), id="None"),
    pytest.param((Ellipsis, 0), id="Ellipsis"),
    pytest.param((1, Ellipsis, None), id="int-Ellipsis-None"),
    pytest.param((0, 1, 2), id="one-element"),
    pytest.param(torch.tensor([0, 2, 2, 0, 2]), id="index-tensor-with-duplicates"),
    pytest.param(torch.tensor([[1, 1], [3, 0]]), id="2d-index-tensor"),
    pytest.param((slice(None), torch.tensor([4, 4, 0])), id="index-tensor-on-dim-1"),
    pytest.param((torch.tensor([0, 0, 3]), torch.tensor([1, 1, 2])), id="paired-index-tensors"),
    pytest.param([0, 0, 2], id="list-with-duplicates"),
    pytest.param(torch.tensor([True, False, True, True]), id="mask-on-dim-0"),
    pytest.param((slice(None), torch.tensor([False, True, True, False, True])), id="mask-on-dim-1"),
    pytest.param(MASK, id="mask-on-two-dims"),
    pytest.param((torch.tensor([3, 3, 1]), slice(1, 4), 0), id="mixed-tensor-slice-int"),
    pytest.param((Ellipsis, torch.tensor([2, 0, 2])), id="mixed-Ellipsis-tensor"),
    pytest.param((1, torch.tensor([0, 0]), None), id="mixed-int-tensor-None"),
]


@pytest.mark.parametrize("index", INDICES)
@few
@given(data=st.data())
def test_indexing_matches_torch(index, data):
    x = data.draw(float_tensors((4, 5, 3)))
    check_against_torch(lambda x: x[index], x)


@moderate
@given(data=st.data())
def test_indexing_with_drawn_index_tensor_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes(min_dims=1))))
    size = x.shape[0]
    positions = data.draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=8))
    check_against_torch(lambda x: x[torch.tensor(positions)], x)


@moderate
@given(data=st.data())
def test_indexing_with_drawn_mask_matches_torch(data):
    x = data.draw(float_tensors(data.draw(shapes(min_dims=1))))
    check_against_torch(lambda x: x[x > 0], x)
    mask = data.draw(st.lists(st.booleans(), min_size=x.numel(), max_size=x.numel()))
    check_against_torch(lambda x: x[torch.tensor(mask).reshape(x.shape)], x)


# --- cat and stack -------------------------------------------------------------------------------


@moderate
@given(data=st.data())
def test_cat_matches_torch(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    dim = data.draw(axes(len(shape)))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))
    pieces = []
    for size in sizes:
        piece_shape = list(shape)
        piece_shape[dim] = size
        pieces.append(data.draw(float_tensors(piece_shape)))
    check_against_torch(lambda *pieces: library(pieces[0]).cat(list(pieces), dim), *pieces)
    constant = pieces[0].clone()
    check_against_torch(lambda *pieces: library(pieces[0]).cat((constant, *pieces), dim), *pieces)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_skips_a_1d_empty_operand_like_torch(dim):
    empty, x = torch.zeros(0, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    check_against_torch(lambda empty, x: library(x).cat([empty, x, empty], dim), empty, x)
    check_against_torch(lambda x: library(x).cat([torch.zeros(0, dtype=x.dtype), x], dim), x)


@moderate
@given(data=st.data())
def test_stack_matches_torch(data):
    shape = data.draw(shapes(max_dims=3))
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    count = data.draw(st.integers(1, 4))
    pieces = [data.draw(float_tensors(shape)) for _ in range(count)]
    check_against_torch(lambda *pieces: library(pieces[0]).stack(pieces, dim=dim), *pieces)


# --- Fused operators -----------------------------------------------------------------------------


def linear(x, weight, bias=None):
    if isinstance(x, torch.Tensor):
        return F.linear(x, weight, bias)
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


def mse_loss(x, target, reduction):
    if isinstance(x, torch.Tensor):
        return F.mse_loss(x, target, reduction=reduction)
    return ops.MSELoss.apply(x, target, reduction=reduction)


def cross_entropy(logits, target, reduction):
    if isinstance(logits, torch.Tensor):
        return F.cross_entropy(logits, target, reduction=reduction)
    return ops.CrossEntropyLoss.apply(logits, target, reduction=reduction)


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@moderate
@given(data=st.data())
def test_linear_matches_torch(with_bias, data):
    batch = data.draw(shapes(max_dims=2, max_side=3))  # 1-D, 2-D and 3-D inputs
    in_features, out_features = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x = data.draw(float_tensors((*batch, in_features)))
    weight = data.draw(float_tensors((out_features, in_features)))
    if with_bias:
        bias = data.draw(float_tensors((out_features,)))
        check_against_torch(linear, x, weight, bias)
    else:
        check_against_torch(linear, x, weight)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@moderate
@given(data=st.data())
def test_mse_loss_matches_torch(reduction, data):
    shape = data.draw(shapes())
    x, target = data.draw(float_tensors(shape)), data.draw(float_tensors(shape))
    check_against_torch(lambda x, target: mse_loss(x, target, reduction), x, target)
    check_against_torch(lambda x: mse_loss(x, target, reduction), x)


@st.composite
def logits_and_classes(draw, logits_range=ANY):
    count, classes = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    logits = draw(float_tensors((count, classes), **logits_range))
    labels = draw(st.lists(st.integers(0, classes - 1), min_size=count, max_size=count))
    return logits, torch.tensor(labels)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("logits_range", [ANY, LARGE_LOGITS], ids=["small", "large"])
@moderate
@given(data=st.data())
def test_cross_entropy_with_class_indices_matches_torch(reduction, logits_range, data):
    logits, labels = data.draw(logits_and_classes(logits_range))
    check_against_torch(lambda logits: cross_entropy(logits, labels, reduction), logits)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@moderate
@given(data=st.data())
def test_cross_entropy_with_class_probabilities_matches_torch(reduction, data):
    logits, _ = data.draw(logits_and_classes())
    probabilities = data.draw(float_tensors(logits.shape, low=0.0, high=1.0))
    check_against_torch(
        lambda logits, target: cross_entropy(logits, target, reduction), logits, probabilities
    )


# --- gradcheck, every operator -------------------------------------------------------------------


def kink_free(*shape, seed: int = 0, positive: bool = False) -> torch.Tensor:
    """float64 values with magnitudes in [0.2, 0.5] or [0.7, 1.0]: at least 0.1 away from the
    kinks of abs, relu and clamp(-0.6, 0.6), and, being continuous, almost surely without ties."""
    generator = torch.Generator().manual_seed(seed)
    magnitude = 0.2 + 0.3 * torch.rand(shape, generator=generator, dtype=torch.float64)
    magnitude += 0.5 * torch.randint(0, 2, shape, generator=generator)
    if positive:
        return magnitude
    return magnitude * (torch.randint(0, 2, shape, generator=generator) * 2 - 1)


LABELS = torch.tensor([2, 0, 2])
PROBABILITIES = kink_free(3, 4, seed=9, positive=True)


def case(fn, *inputs, id: str):
    return pytest.param(fn, inputs, id=id)


GRADCHECK_CASES = [
    case(lambda a, b: a + b, kink_free(2, 3), kink_free(3, seed=1), id="add"),
    case(lambda a, b: a - b, kink_free(2, 1), kink_free(3, seed=1), id="sub"),
    case(lambda a, b: a * b, kink_free(2, 3), kink_free(1, 3, seed=1), id="mul"),
    case(lambda a, b: a / b, kink_free(2, 3), kink_free(3, seed=1), id="div"),
    case(lambda a, b: a**b, kink_free(2, 3, positive=True), kink_free(3), id="pow"),
    case(lambda x: x**3, kink_free(2, 3), id="pow-3"),
    case(lambda x: x**0.5, kink_free(2, 3, positive=True), id="pow-0.5"),
    case(lambda x: x**-1, kink_free(2, 3), id="pow-minus-1"),
    case(lambda x: x**0, kink_free(2, 3), id="pow-0"),
    case(lambda x: 2.0**x, kink_free(2, 3), id="number**x"),
    case(lambda x: 1.5 - x / 2.0, kink_free(2, 3), id="reflected"),
    case(lambda x: -x, kink_free(2, 3), id="neg"),
    case(lambda x: x.clone() * x, kink_free(2, 3), id="clone"),
    case(lambda x: x.t().contiguous(), kink_free(2, 3), id="contiguous"),
    case(lambda a, b: a @ b, kink_free(3), kink_free(3, seed=1), id="matmul-1d-1d"),
    case(lambda a, b: a @ b, kink_free(3), kink_free(3, 2, seed=1), id="matmul-1d-2d"),
    case(lambda a, b: a @ b, kink_free(2, 3), kink_free(3, seed=1), id="matmul-2d-1d"),
    case(lambda a, b: a @ b, kink_free(2, 3), kink_free(3, 2, seed=1), id="matmul-2d-2d"),
    case(
        lambda a, b: a @ b, kink_free(2, 1, 2, 3), kink_free(2, 3, 2, seed=1), id="matmul-batched"
    ),
    case(lambda x: x.exp(), kink_free(2, 3), id="exp"),
    case(lambda x: x.log(), kink_free(2, 3, positive=True), id="log"),
    case(lambda x: x.sqrt(), kink_free(2, 3, positive=True), id="sqrt"),
    case(lambda x: x.square(), kink_free(2, 3), id="square"),
    case(lambda x: x.abs(), kink_free(2, 3), id="abs"),
    case(lambda x: x.relu(), kink_free(2, 3), id="relu"),
    case(lambda x: x.sigmoid(), kink_free(2, 3), id="sigmoid"),
    case(lambda x: x.tanh(), kink_free(2, 3), id="tanh"),
    case(lambda x: x.clamp(-0.6, 0.6), kink_free(3, 4), id="clamp"),
    case(lambda x: x.clamp(min=-0.6), kink_free(3, 4), id="clamp-min"),
    case(lambda x: x.clamp(max=0.6), kink_free(3, 4), id="clamp-max"),
    case(lambda x: x.to(torch.float64) * 1.0, kink_free(2, 3), id="to"),
    case(lambda x: x.sum(), kink_free(2, 3), id="sum"),
    case(lambda x: x.sum(dim=(0, 2), keepdim=True), kink_free(2, 3, 2), id="sum-dims"),
    case(lambda x: x.mean(), kink_free(2, 3), id="mean"),
    case(lambda x: x.mean(-1), kink_free(2, 3), id="mean-dim"),
    case(lambda x: x.max(), kink_free(2, 3), id="max"),
    case(lambda x: x.min(), kink_free(2, 3), id="min"),
    case(lambda x: x.max(1).values, kink_free(2, 3), id="max-dim"),
    case(lambda x: x.min(0, keepdim=True).values, kink_free(2, 3), id="min-dim"),
    case(lambda x: x.softmax(1), kink_free(2, 3), id="softmax"),
    case(lambda x: x.log_softmax(0), kink_free(2, 3), id="log_softmax"),
    case(lambda x: x.t(), kink_free(2, 3), id="t"),
    case(lambda x: x.transpose(0, 2), kink_free(2, 3, 2), id="transpose"),
    case(lambda x: x.permute(2, 0, 1), kink_free(2, 3, 2), id="permute"),
    case(lambda x: x.reshape(3, -1), kink_free(2, 3, 2), id="reshape"),
    case(lambda x: x.view(-1), kink_free(2, 3), id="view"),
    case(lambda x: x.unsqueeze(1), kink_free(2, 3), id="unsqueeze"),
    case(lambda x: x.squeeze(), kink_free(2, 1, 3), id="squeeze"),
    case(lambda x: x.squeeze(1), kink_free(2, 1, 3), id="squeeze-dim"),
    case(lambda x: x.expand(2, 2, 3), kink_free(2, 1, 3), id="expand"),
    case(lambda x: x.flatten(1), kink_free(2, 3, 2), id="flatten"),
    case(lambda x: x.repeat(2, 1, 2), kink_free(2, 3), id="repeat"),
    case(lambda x: x[1:, ::2], kink_free(3, 4), id="getitem-slices"),
    case(lambda x: x[None, ..., 1], kink_free(3, 4), id="getitem-None-Ellipsis"),
    case(lambda x: x[torch.tensor([2, 0, 2])], kink_free(3, 4), id="getitem-duplicates"),
    case(lambda x: x[x > 0], kink_free(3, 4), id="getitem-mask"),
    case(lambda x: x[torch.tensor([1, 1]), 1:], kink_free(3, 4), id="getitem-mixed"),
    case(lambda a, b: autogradlib.cat([a, b], 1), kink_free(2, 1), kink_free(2, 3), id="cat"),
    case(lambda a, b: autogradlib.stack([a, b], -1), kink_free(2, 3), kink_free(2, 3), id="stack"),
    case(linear, kink_free(2, 3), kink_free(4, 3, seed=1), id="linear-no-bias"),
    case(linear, kink_free(2, 2, 3), kink_free(4, 3, seed=1), kink_free(4, seed=2), id="linear-3d"),
    *[
        case(
            lambda x, target, reduction=reduction: mse_loss(x, target, reduction),
            kink_free(2, 3),
            kink_free(2, 3, seed=1),
            id=f"mse-{reduction}",
        )
        for reduction in REDUCTIONS
    ],
    *[
        case(
            lambda logits, target, reduction=reduction: cross_entropy(logits, target, reduction),
            kink_free(3, 4),
            target,
            id=f"cross-entropy-{kind}-{reduction}",
        )
        for reduction in REDUCTIONS
        for kind, target in [("indices", LABELS), ("probabilities", PROBABILITIES)]
    ],
]


@pytest.mark.parametrize(("fn", "inputs"), GRADCHECK_CASES)
def test_operator_passes_gradcheck(fn, inputs):
    assert gradcheck(fn, *inputs)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: x.clone() * x,
        lambda x, y: x.t().contiguous().view(-1),
        lambda x, y: x.contiguous(),
        lambda x, y: x.view_as(y.t()),
        lambda x, y: x.reshape_as(y.t()),
        lambda x, y: x[:1].expand_as(y),
    ],
    ids=["clone", "contiguous-copy", "contiguous-same", "view_as", "reshape_as", "expand_as"],
)
def test_copies_and_shape_matching_methods_match_torch(fn):
    x = torch.randn(3, 4, dtype=torch.float64)
    y = torch.randn(4, 3, dtype=torch.float64).t().contiguous()
    check_against_torch(fn, x, y)


def test_clone_makes_new_memory_and_integer_conversions_leave_the_graph():
    x = Variable(torch.randn(2, 3))
    copy = x.clone()
    assert copy.tensor.data_ptr() != x.tensor.data_ptr()
    assert copy.grad_op is not None
    assert x.t().contiguous().tensor.is_contiguous()
    conversions = ((x.long(), torch.int64), (x.int(), torch.int32), (x.bool(), torch.bool))
    for converted, dtype in conversions:
        assert converted.dtype == dtype
        assert not converted.requires_grad
