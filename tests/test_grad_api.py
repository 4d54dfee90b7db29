"""backward(gradient, retain_graph, create_graph, inputs) and autogradlib.grad, against PyTorch's
semantics; create_graph's errors for operators that cannot be differentiated again."""

import pytest
import torch

import autogradlib
from autogradlib import GradOperator, GraphError, Variable, nn

DOUBLE = torch.float64


def pair(*shape, seed=0):
    """The same random float64 values as a torch leaf and as one of ours."""
    tensor = torch.randn(shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))
    return tensor.clone().requires_grad_(), Variable(tensor.clone())


def test_plain_backward_leaves_tensors_and_create_graph_leaves_variables():
    _, x = pair(3)
    (x * x).sum().backward()
    assert type(x.grad) is torch.Tensor
    x.grad = None
    (x * x).sum().backward(create_graph=True)
    assert isinstance(x.grad, Variable) and x.grad.requires_grad


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_grad_can_be_differentiated_again_like_torch():
    expected_x, x = pair(4)
    for leaf in (expected_x, x):
        (leaf.exp() * leaf.tanh()).sum().backward(create_graph=True)
        gradient = leaf.grad
        leaf.grad = None
        (gradient * gradient).sum().backward()
    torch.testing.assert_close(x.grad, expected_x.grad)


def test_create_graph_implies_retain_graph_and_plain_backward_releases():
    _, x = pair(3)
    y = (x.exp() * x).sum()
    y.backward(create_graph=True)
    y.backward()  # the graph was retained
    with pytest.raises(GraphError, match="retain_graph=True"):
        y.backward()


def test_backward_inputs_limits_which_leaves_accumulate():
    (ta, tb), (a, b) = zip(pair(3), pair(3, seed=1), strict=True)
    for first, second in ((ta, tb), (a, b)):
        (first * second).sum().backward(inputs=[second])
    assert a.grad is None and ta.grad is None
    torch.testing.assert_close(b.grad, tb.grad)


def test_grad_returns_gradients_without_accumulating():
    (ta, tb), (a, b) = zip(pair(2, 3), pair(3, seed=1), strict=True)
    expected = torch.autograd.grad((ta * tb).pow(2).sum(), [ta, tb])
    actual = autogradlib.grad((a * b).pow(2).sum(), [a, b])
    assert a.grad is None and b.grad is None
    for mine, theirs in zip(actual, expected, strict=True):
        assert type(mine) is torch.Tensor
        torch.testing.assert_close(mine, theirs)


def test_grad_accepts_one_variable_grad_outputs_and_several_outputs():
    tx, x = pair(3)
    v = torch.tensor([1.0, -2.0, 0.5], dtype=DOUBLE)
    (expected,) = torch.autograd.grad([tx.exp(), tx * 3], [tx], [v, v])
    (actual,) = autogradlib.grad([x.exp(), x * 3], x, [v, v])
    torch.testing.assert_close(actual, expected)


def test_grad_with_respect_to_an_intermediate_variable():
    tx, x = pair(3)
    th, h = tx.tanh(), x.tanh()
    expected = torch.autograd.grad((th * th * tx).sum(), [th, tx])
    actual = autogradlib.grad((h * h * x).sum(), [h, x])
    for mine, theirs in zip(actual, expected, strict=True):
        torch.testing.assert_close(mine, theirs)


def test_grad_of_an_unused_input_is_an_error_unless_allowed():
    _, x = pair(3)
    _, unused = pair(2)
    with pytest.raises(GraphError, match=r"input 1 \(shape \(2,\)\) was not used.*allow_unused"):
        autogradlib.grad(x.sum(), [x, unused])
    assert autogradlib.grad(x.sum(), [x, unused], allow_unused=True)[1] is None


def test_grad_outputs_that_require_grad_give_the_double_vjp_trick_its_jvp():
    # jvp = d/dv <J^T v, u>: the vjp's graph includes v when v requires grad.
    tx, x = pair(3)
    tv, v = pair(3, seed=1)
    u = torch.randn(3, dtype=DOUBLE)
    (tvjp,) = torch.autograd.grad(tx.tanh() * 2, tx, tv, create_graph=True)
    (vjp,) = autogradlib.grad(x.tanh() * 2, x, v, create_graph=True)
    (expected,) = torch.autograd.grad(tvjp, tv, u)
    (actual,) = autogradlib.grad(vjp, v, u)
    torch.testing.assert_close(actual, expected)


def test_a_backward_inside_a_hook_does_not_disturb_the_outer_one():
    tx, x = pair(3)
    inner_results = []

    def nested(grad):
        inner = Variable(grad.clone())
        (g,) = autogradlib.grad((inner * inner).sum(), inner)
        inner_results.append(g)

    h = x * x
    h.register_hook(nested)
    (h.exp()).sum().backward()
    (tx * tx).exp().sum().backward()
    torch.testing.assert_close(x.grad, tx.grad)
    assert len(inner_results) == 1


def test_second_derivative_of_a_network_loss_matches_torch():
    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)
    ).double()
    model = nn.Sequential(nn.Linear(2, 4, dtype=DOUBLE), nn.Tanh(), nn.Linear(4, 1, dtype=DOUBLE))
    model.load_state_dict(reference.state_dict())
    tx, x = pair(5, 2)
    (tg,) = torch.autograd.grad(reference(tx).sum(), tx, create_graph=True)
    (g,) = autogradlib.grad(model(x).sum(), x, create_graph=True)
    tg.pow(2).sum().backward()
    g.pow(2).sum().backward()
    torch.testing.assert_close(x.grad, tx.grad)
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(ours.grad, theirs.grad)


class RawSin(GradOperator):
    """sin(a), with a pass_grad on raw tensors: cannot be differentiated again."""

    def forward(self, a):
        self.a = a
        return a.sin()

    def pass_grad(self, grad_output):
        return (grad_output.tensor * self.a.tensor.cos(),)


class DerivedSaved(GradOperator):
    """sin(a), saving cos(a) from forward: a derived tensor."""

    def forward(self, a):
        self.cosine = a.cos()
        return a.sin()

    def pass_grad(self, grad_output):
        return (grad_output * self.cosine,)


class RebuiltSaved(DerivedSaved):
    """The same, declaring how to rebuild cos(a) under create_graph."""

    def forward(self, a):
        self.a = a
        return super().forward(a)

    def rebuild_saved(self):
        self.cosine = self.a.cos() if isinstance(self.a, torch.Tensor) else cos(self.a)


class Cos(GradOperator):
    """cos(a);  dL/da = -dL/d(out) sin(a)."""

    def forward(self, a):
        self.a = a
        return a.cos()

    def pass_grad(self, grad_output):
        return (-grad_output * Sin.apply(self.a),)


class Sin(GradOperator):
    """sin(a);  dL/da = dL/d(out) cos(a): written with Variable operations, so any order works."""

    def forward(self, a):
        self.a = a
        return a.sin()

    def pass_grad(self, grad_output):
        return (grad_output * cos(self.a),)


def cos(a):
    return Cos.apply(a) if isinstance(a, Variable) else a.cos()


def test_a_raw_torch_pass_grad_is_an_error_under_create_graph_naming_the_operator():
    _, x = pair(3)
    with pytest.raises(GraphError, match=r"RawSin: pass_grad returned a torch.Tensor.*operand 0"):
        RawSin.apply(x).sum().backward(create_graph=True)


def test_a_derived_saved_tensor_is_an_error_under_create_graph_naming_it():
    _, x = pair(3)
    DerivedSaved.apply(x).sum().backward()  # first order is fine
    with pytest.raises(GraphError, match=r"DerivedSaved: saved tensor 'cosine'.*rebuild_saved"):
        DerivedSaved.apply(x).sum().backward(create_graph=True)


def test_user_operators_written_with_variable_operations_get_any_order_for_free():
    tx, x = pair(4)
    for build in (lambda a: Sin.apply(a), lambda a: RebuiltSaved.apply(a)):
        (first,) = autogradlib.grad(build(x).sum(), x, create_graph=True)
        (second,) = autogradlib.grad(first.sum(), x, create_graph=True)
        (third,) = autogradlib.grad(second.sum(), x)
        torch.testing.assert_close(first.tensor, tx.detach().cos())
        torch.testing.assert_close(second.tensor, -tx.detach().sin())
        torch.testing.assert_close(third, -tx.detach().cos())
