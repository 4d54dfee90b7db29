"""The backward engine: regression tests for the 2018 design's defects, then its contract."""

import sys
from collections import Counter

import pytest
import torch
from oracle import check_against_torch

import autogradlib
from autogradlib import (
    DTypeError,
    GradOperator,
    GraphError,
    ShapeError,
    Variable,
    gradcheck,
    no_grad,
    operators as ops,
)

PYTHON_DEFAULT_RECURSION_LIMIT = 1000


def leaf(*values) -> Variable:
    return Variable(torch.tensor(values, dtype=torch.float64))


@pytest.fixture
def pass_grad_calls(monkeypatch) -> Counter:
    """Counts, per operator instance, how often its pass_grad runs."""
    calls = Counter()
    operator_classes = {getattr(ops, name) for name in ops.__all__}
    for cls in operator_classes:
        # Patch only where pass_grad is defined, so inherited ones are not counted twice.
        if "pass_grad" not in cls.__dict__:
            continue

        def counting(self, grad_output, original=cls.pass_grad):
            calls[self] += 1
            return original(self, grad_output)

        monkeypatch.setattr(cls, "pass_grad", counting)
    return calls


# --- The 2018 design's defects -------------------------------------------------------------------


def test_diamond_gives_each_path_its_gradient_and_runs_each_operator_once(pass_grad_calls):
    a = leaf(1.5)
    b = a + a
    c = b + b
    c.sum().backward()
    assert a.grad.tolist() == [4.0]
    assert len(pass_grad_calls) == 3
    assert set(pass_grad_calls.values()) == {1}


def test_node_used_in_many_places_runs_once(pass_grad_calls):
    x = leaf(0.5, -1.0)
    shared = x.exp()
    total = shared
    for weight in range(2, 50):
        total = total + shared * float(weight)
    total.sum().backward()
    torch.testing.assert_close(x.grad, x.tensor.exp() * sum(range(1, 50)))
    assert pass_grad_calls[shared.grad_op] == 1
    assert set(pass_grad_calls.values()) == {1}


def test_nested_sharing_is_linear_not_exponential(pass_grad_calls):
    # Re-walking each path would run the first operator 2**40 times.
    x = leaf(1.0)
    value = x
    for _ in range(40):
        value = value + value
    value.sum().backward()
    assert x.grad.tolist() == [2.0**40]
    assert set(pass_grad_calls.values()) == {1}


def test_chain_of_100000_operations_backpropagates_without_recursion():
    limit = sys.getrecursionlimit()
    assert limit <= PYTHON_DEFAULT_RECURSION_LIMIT
    x = Variable(torch.tensor(0.5, dtype=torch.float64))
    value = x
    for step in range(100_000):
        value = value * 1.0 if step % 2 else value + 1.0
    value.backward()
    assert x.grad.item() == 1.0
    assert value.item() == 50_000.5
    assert sys.getrecursionlimit() == limit


@pytest.mark.parametrize("exponent", [3, 0.5])
def test_pow_gradient_is_p_times_x_to_the_p_minus_1(exponent):
    base = torch.tensor([0.5, 1.0, 2.0, 3.5], dtype=torch.float64)
    check_against_torch(lambda x: x**exponent, base)
    x = Variable(base)
    (x**exponent).sum().backward()
    torch.testing.assert_close(x.grad, exponent * base ** (exponent - 1))


def relu_consumed_twice(x):
    rectified = x.relu()
    return rectified * 3.0 + rectified * rectified


def relu_beside_its_input(x):
    # Add hands the same gradient tensor to both branches; ReLU must not zero it in place.
    hidden = x * 1.0
    return hidden.relu() + hidden


def test_relu_output_consumed_twice_keeps_both_gradients():
    values = torch.tensor([-2.0, -0.5, 0.5, 2.0], dtype=torch.float64)
    check_against_torch(relu_consumed_twice, values)


def test_relu_does_not_edit_a_gradient_shared_with_another_branch():
    values = torch.tensor([-2.0, -0.5, 0.5, 2.0], dtype=torch.float64)
    check_against_torch(relu_beside_its_input, values)
    gradient = torch.ones(4, dtype=torch.float64)
    Variable(values).relu().backward(gradient)
    assert gradient.tolist() == [1.0] * 4


# --- Leaves, intermediates and the graph's lifetime ----------------------------------------------


def test_leaf_gradient_accumulates_over_backward_calls():
    x = leaf(1.0, 2.0)
    (x * x).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_zero_grad_starts_accumulation_afresh():
    x = leaf(1.0, 2.0)
    (x * x).sum().backward()
    x.zero_grad()
    (x * 3.0).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_intermediate_results_keep_no_gradient_unless_retained():
    x = leaf(1.0, -2.0)
    hidden = x * 3.0
    kept = hidden.exp()
    kept.retain_grad()
    kept.sum().backward()
    assert hidden.grad is None
    assert kept.retains_grad
    assert kept.grad.tolist() == [1.0, 1.0]
    torch.testing.assert_close(x.grad, 3.0 * (3.0 * x.tensor).exp())


def test_retained_gradient_matches_torch():
    values = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    torch_x = values.clone().requires_grad_()
    torch_hidden = torch_x.sigmoid()
    torch_hidden.retain_grad()
    (torch_hidden * torch_hidden).sum().backward()
    x = Variable(values)
    hidden = x.sigmoid()
    hidden.retain_grad()
    (hidden * hidden).sum().backward()
    torch.testing.assert_close(hidden.grad, torch_hidden.grad)


def test_retain_graph_allows_a_second_backward():
    x = leaf(1.0, 2.0)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    torch.testing.assert_close(x.grad, 2 * first)


def test_second_backward_through_a_released_graph_raises_graph_error():
    x = leaf(1.0, 2.0)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(GraphError, match=r"released.*retain_graph=True"):
        y.backward()


def test_backward_on_a_result_that_needs_no_grad_raises_graph_error():
    x = Variable(torch.ones(2), requires_grad=False)
    with pytest.raises(GraphError, match="does not require grad"):
        (x * 2).sum().backward()


def test_backward_on_a_non_scalar_without_gradient_raises_shape_error():
    x = leaf(1.0, 2.0)
    with pytest.raises(ShapeError, match=r"one-element output.*\(2,\)"):
        (x * 2).backward()


def test_backward_with_a_gradient_of_the_wrong_shape_raises_shape_error():
    x = leaf(1.0, 2.0)
    with pytest.raises(ShapeError, match=r"gradient has shape \(3,\).*shape \(2,\)"):
        (x * 2).backward(torch.ones(3, dtype=torch.float64))


def test_backward_with_a_gradient_scales_every_leaf_gradient():
    x = leaf(1.0, 2.0)
    (x * x).backward(torch.tensor([10.0, 100.0], dtype=torch.float64))
    assert x.grad.tolist() == [20.0, 400.0]


def test_backward_on_a_leaf_gives_it_the_gradient():
    x = leaf(1.0, 2.0)
    gradient = torch.tensor([3.0, 4.0], dtype=torch.float64)
    x.backward(gradient)
    x.grad.add_(1)
    assert gradient.tolist() == [3.0, 4.0]


# --- Recording, or not ---------------------------------------------------------------------------


def test_no_grad_as_context_manager_records_nothing():
    x = leaf(1.0, 2.0)
    with no_grad():
        y = x * 2 + 1
    assert not y.requires_grad
    assert y.grad_op is None
    assert autogradlib.is_grad_enabled()
    assert (x * 2).requires_grad


def test_no_grad_as_decorator_records_nothing():
    @no_grad()
    def double(x):
        return x * 2

    x = leaf(1.0, 2.0)
    y = double(x)
    assert not y.requires_grad
    assert y.grad_op is None
    assert (x * 2).grad_op is not None


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(ValueError), no_grad():
        raise ValueError
    assert autogradlib.is_grad_enabled()


def test_backward_works_with_torch_grad_disabled_globally():
    # Recording follows torch's grad mode as ported code expects (see test_torch_functions.py),
    # but a graph recorded before torch's grad was switched off still runs backward.
    values = torch.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=torch.float64)
    x = Variable(values)
    output = (x @ x.t()).softmax(1).log().sum()
    expected_x = values.clone().requires_grad_(True)
    (expected_x @ expected_x.t()).softmax(1).log().sum().backward()
    previous = torch.is_grad_enabled()
    torch.set_grad_enabled(False)
    try:
        output.backward()
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(previous)
    torch.testing.assert_close(x.grad, expected_x.grad)


def test_operand_without_requires_grad_gets_no_gradient(monkeypatch):
    returned = []
    original = ops.Mul.pass_grad

    def recording(self, grad_output):
        grads = original(self, grad_output)
        returned.append((list(self.needs_input_grad), grads))
        return grads

    monkeypatch.setattr(ops.Mul, "pass_grad", recording)
    x = leaf(1.0, 2.0)
    data = Variable(torch.tensor([3.0, 4.0], dtype=torch.float64), requires_grad=False)
    (x * data).sum().backward()
    assert data.grad is None
    assert x.grad.tolist() == [3.0, 4.0]
    [(needs_input_grad, grads)] = returned
    assert needs_input_grad == [True, False]
    assert grads[1] is None


def operand_pair(first_needs_grad: bool, shape_a=(2, 3), shape_b=(2, 3)):
    a = Variable(torch.rand(shape_a, dtype=torch.float64) + 0.5, requires_grad=first_needs_grad)
    b = Variable(torch.rand(shape_b, dtype=torch.float64) + 0.5, requires_grad=not first_needs_grad)
    return a, b


SKIPPABLE_GRADIENTS = [
    pytest.param(lambda a, b: a - b, id="sub"),
    pytest.param(lambda a, b: a * b, id="mul"),
    pytest.param(lambda a, b: a / b, id="div"),
    pytest.param(lambda a, b: a**b, id="pow"),
    pytest.param(lambda a, b: a @ b.t(), id="matmul"),
    pytest.param(lambda a, b: ops.Linear.apply(a, b), id="linear"),
    pytest.param(lambda a, b: ops.MSELoss.apply(a, b), id="mse"),
    pytest.param(lambda a, b: ops.CrossEntropyLoss.apply(a, b.softmax(1)), id="cross-entropy"),
]


@pytest.mark.parametrize("first_needs_grad", [True, False])
@pytest.mark.parametrize("fn", SKIPPABLE_GRADIENTS)
def test_operators_compute_only_the_gradients_needed(fn, first_needs_grad, monkeypatch):
    a, b = operand_pair(first_needs_grad)
    output = fn(a, b)
    operator = output.grad_op
    returned = []
    original = type(operator).pass_grad

    def recording(self, grad_output):
        returned.append(original(self, grad_output))
        return returned[-1]

    monkeypatch.setattr(type(operator), "pass_grad", recording)
    output.sum().backward()
    [grads] = returned
    assert operator.needs_input_grad == [first_needs_grad, not first_needs_grad]
    assert [grad is not None for grad in grads] == operator.needs_input_grad
    assert (a.grad is not None, b.grad is not None) == (first_needs_grad, not first_needs_grad)


GRAPHS_HANDING_ONE_GRADIENT_TO_TWO_LEAVES = [
    pytest.param(lambda a, b: a + b, id="add"),
    pytest.param(lambda a, b: a - (-b), id="sub"),
    pytest.param(lambda a, b: a.reshape(6) + b.reshape(6), id="reshape"),
    pytest.param(lambda a, b: autogradlib.cat([a, b]).reshape(2, 2, 3).sum(0), id="cat"),
    pytest.param(lambda a, b: autogradlib.stack([a, b]).sum(0), id="stack"),
    pytest.param(lambda a, b: a.expand(2, 3) + b, id="expand"),
]


@pytest.mark.parametrize("fn", GRAPHS_HANDING_ONE_GRADIENT_TO_TWO_LEAVES)
def test_leaves_receiving_the_same_gradient_do_not_share_it(fn):
    a = Variable(torch.zeros(2, 3, dtype=torch.float64))
    b = Variable(torch.zeros(2, 3, dtype=torch.float64))
    output = fn(a, b)
    gradient = torch.ones(output.shape, dtype=torch.float64)
    output.backward(gradient)
    expected_b = b.grad.clone()
    a.grad.mul_(100)
    assert torch.equal(b.grad, expected_b)
    assert torch.equal(gradient, torch.ones_like(gradient))


# --- User-defined operators ----------------------------------------------------------------------


class Square(GradOperator):
    """a**2;  dL/da = dL/d(out) * 2a."""

    def forward(self, a):
        self.a = a
        return a * a

    def pass_grad(self, grad_output):
        return (grad_output * 2 * self.a,)


class Sin(GradOperator):
    """sin(a);  dL/da = dL/d(out) * cos(a)."""

    def forward(self, a):
        self.a = a
        return a.sin()

    def pass_grad(self, grad_output):
        return grad_output * self.a.cos()  # a bare tensor, as PyTorch allows for one operand


class ScaledSum(GradOperator):
    """a + scale * b;  dL/da = dL/d(out), dL/db = scale * dL/d(out)."""

    def forward(self, a, b, scale=1.0):
        self.scale = scale
        return a + scale * b

    def pass_grad(self, grad_output):
        return grad_output, grad_output * self.scale if self.needs_input_grad[1] else None


@pytest.mark.parametrize(
    ("operator", "torch_fn"),
    [(Square, lambda x: x * x), (Sin, torch.sin)],
    ids=["square", "sin"],
)
def test_user_defined_operator_matches_torch_and_passes_gradcheck(operator, torch_fn):
    values = torch.tensor([[0.3, -1.2, 2.0], [0.7, 0.0, -0.4]], dtype=torch.float64)
    check_against_torch(
        lambda x: torch_fn(x) if isinstance(x, torch.Tensor) else operator.apply(x), values
    )
    assert gradcheck(operator.apply, values)
    assert operator.label == operator.__name__


def test_user_defined_operator_with_options_and_broadcasting_passes_gradcheck():
    a, b = torch.randn(2, 3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    assert gradcheck(lambda a, b: ScaledSum.apply(a, b, scale=-2.5), a, b)
    assert gradcheck(lambda a, b: ScaledSum.apply(a.exp(), b, scale=0.5).sum(), a, b)


def test_operator_returning_too_few_gradients_raises_graph_error():
    class Forgetful(ScaledSum):
        def pass_grad(self, grad_output):
            return (grad_output,)

    a, b = leaf(1.0), leaf(2.0)
    with pytest.raises(GraphError, match=r"Forgetful\.pass_grad returned 1 gradients for 2"):
        Forgetful.apply(a, b).backward()


def test_operator_returning_a_transposed_gradient_raises_shape_error():
    class Transposing(GradOperator):
        def forward(self, a):
            return a * 2

        def pass_grad(self, grad_output):
            return (grad_output.t().contiguous(),)

    x = Variable(torch.ones(2, 3, dtype=torch.float64))
    with pytest.raises(ShapeError, match=r"Transposing.*\(3, 2\).*\(2, 3\)"):
        Transposing.apply(x).sum().backward()


# --- Operand errors ------------------------------------------------------------------------------


def test_mixed_float_dtypes_raise_dtype_error():
    single = Variable(torch.ones(2, dtype=torch.float32))
    double = Variable(torch.ones(2, dtype=torch.float64))
    with pytest.raises(DTypeError, match=r"Add.*float32.*float64"):
        single + double
    with pytest.raises(DTypeError, match="MatMul"):
        single @ torch.ones(2, dtype=torch.float64)


@pytest.mark.parametrize(
    ("fn", "label"),
    [
        (lambda x: x + "one", "Add"),
        (lambda x: "one" + x, "Add"),
        (lambda x: x * [1.0, 2.0], "Mul"),
        (lambda x: x @ None, "MatMul"),
        (lambda x: x ** {2}, "Pow"),
    ],
    ids=["str-right", "str-left", "list", "None", "set"],
)
def test_operand_of_a_bad_type_raises_type_error_naming_the_operator(fn, label):
    with pytest.raises(TypeError, match=rf"^{label}: operand \d is a"):
        fn(leaf(1.0, 2.0))


@pytest.mark.parametrize(
    ("fn", "label", "shapes"),
    [
        (lambda a, b: a + b, "Add", r"\(2, 3\) and \(4,\)"),
        (lambda a, b: a * b, "Mul", r"\(2, 3\) and \(4,\)"),
        (lambda a, b: a @ b, "MatMul", r"\(2, 3\) and \(4,\)"),
    ],
    ids=["add", "mul", "matmul"],
)
def test_shape_mismatch_raises_shape_error_naming_operator_and_shapes(fn, label, shapes):
    a = Variable(torch.ones(2, 3))
    b = Variable(torch.ones(4))
    with pytest.raises(ShapeError, match=rf"^{label}: .*{shapes}"):
        fn(a, b)


def test_no_grad_and_enable_grad_work_as_bare_decorators_too():
    @autogradlib.no_grad
    def doubled(value):
        return value * 2

    @autogradlib.enable_grad
    def tripled(value):
        return value * 3

    x = Variable(torch.ones(2))
    assert not doubled(x).requires_grad
    with autogradlib.no_grad():
        assert tripled(x).requires_grad
    assert autogradlib.is_grad_enabled()


def test_float_leaves_require_grad_by_default_and_integer_ones_do_not():
    assert Variable(torch.randn(2)).requires_grad
    labels = Variable(torch.tensor([0, 1]))
    assert not labels.requires_grad
    assert not Variable(torch.randn(2), requires_grad=False).requires_grad
    with pytest.raises(autogradlib.DTypeError, match="int64"):
        Variable(torch.tensor([0, 1]), requires_grad=True)


def test_comparison_with_an_unsupported_operand_falls_back_like_torch():
    x = leaf(1.0, 2.0)
    assert (x == None) is False  # noqa: E711
    assert (x != None) is True  # noqa: E711
    assert x not in [None, "x"]
    with pytest.raises(TypeError):
        x < None  # noqa: B015


def test_transpose_properties_and_abs_match_torch():
    matrix, batch = (
        torch.randn(2, 3, dtype=torch.float64),
        torch.randn(4, 2, 3, dtype=torch.float64),
    )
    check_against_torch(lambda x: x.T, matrix)
    check_against_torch(lambda x: x.mT, batch)
    check_against_torch(lambda x: abs(x), matrix)


def test_an_operator_that_is_false_as_a_boolean_still_passes_gradients_on():
    class Empty(GradOperator):
        """a * 1, an operator that also looks empty: len() is 0."""

        def __len__(self):
            return 0

        def forward(self, a):
            return a * 1

        def pass_grad(self, grad_output):
            return (grad_output,)

    x = Variable(torch.randn(3))
    (Empty.apply(x) * 3).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((3,), 3.0))
