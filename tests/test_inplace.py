"""In-place operations with PyTorch's semantics: under no_grad() they update the tensor, while
recording they are part of the graph (non-leaves) or refused (leaves, views), and a saved tensor
changed in place before backward makes backward raise, as PyTorch's version counter does. Then
what is never quietly ignored: torch Parameters on a Module, torch tensors that require grad."""

import math

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, strategies as st
from oracle import check_against_torch, float_tensors, moderate, shapes

import autogradlib
from autogradlib import GraphError, Variable, gradcheck, nn, no_grad, optim
from autogradlib.nn import functional as F

DOUBLE = torch.float64


def randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


def away_from_zero(*shape, seed: int = 0) -> torch.Tensor:
    """Divisors: magnitudes in [0.5, 1.5], either sign."""
    values = randn(*shape, seed=seed)
    return values.sign() * (0.5 + values.abs().remainder(1.0))


def zeros_like(value):
    """Zeros that require no grad: a torch tensor for torch, a Variable for Autogradlib."""
    if isinstance(value, torch.Tensor):
        return torch.zeros_like(value.detach())
    return Variable(torch.zeros_like(value.tensor), requires_grad=False)


def zero_d(value):
    """The value's first element as a 0-d operand of the same library (fill_'s value)."""
    return value[0, 0] * 1


# --- Recording on non-leaves: values and gradients as torch.autograd's ---------------------------
# Each fn runs once on torch leaves and once on Variables; `y = x * 2` makes the non-leaf.

RECORDED = {
    "+= tensor": lambda x, z: _then(x * 2, lambda y: y.__iadd__(z)),
    "-= tensor": lambda x, z: _then(x * 2, lambda y: y.__isub__(z)),
    "*= tensor": lambda x, z: _then(x * 2, lambda y: y.__imul__(z)),
    "/= tensor": lambda x, z: _then(x * 2, lambda y: y.__itruediv__(z)),
    "+= number": lambda x, z: _then(x * z, lambda y: y.__iadd__(1.5)),
    "*= number": lambda x, z: _then(x * z, lambda y: y.__imul__(-3)),
    "/= number": lambda x, z: _then(x * z, lambda y: y.__itruediv__(4)),
    "add_ alpha": lambda x, z: _then(x * 2, lambda y: y.add_(z, alpha=0.5)),
    "sub_ alpha": lambda x, z: _then(x * 2, lambda y: y.sub_(z, alpha=3)),
    "mul_": lambda x, z: _then(x * 2, lambda y: y.mul_(z)),
    "div_": lambda x, z: _then(x * x, lambda y: y.div_(z)),
    "clamp_": lambda x, z: _then(x * z, lambda y: y.clamp_(-0.5, 0.7)),
    "clamp_ min": lambda x, z: _then(x * z, lambda y: y.clamp_(min=0.1)),
    "clamp_ max": lambda x, z: _then(x * z, lambda y: y.clamp_(max=0.1)),
    "relu_": lambda x, z: _then(x * z, lambda y: y.relu_()),
    "copy_": lambda x, z: _then(x * 2, lambda y: y.copy_(z)),
    "fill_ number": lambda x, z: _then(x * z, lambda y: y.fill_(0.25)),
    "fill_ 0-d": lambda x, z: _then(x * 2, lambda y: y.fill_(zero_d(x * z))),
    "zero_": lambda x, z: _then(x * z, lambda y: y.zero_()) + x,
    "x[i] = number": lambda x, z: _then(x * z, lambda y: y.__setitem__(1, 5.0)),
    "x[slice] = tensor": lambda x, z: _then(
        x * 2, lambda y: y.__setitem__((slice(1, 3), 0), z[0, :2])
    ),
    "x[mask] = tensor": lambda x, z: _then(x * 2, lambda y: y.__setitem__(z > 0, (x * z)[z > 0])),
    "x[indices] = tensor": lambda x, z: _then(
        x * 2, lambda y: y.__setitem__(torch.tensor([2, 0]), z[:2] * 3)
    ),
    "data += tensor": lambda x, z: _then(zeros_like(x), lambda y: y.__iadd__(x * z)),
    "data[i] = tensor": lambda x, z: _then(zeros_like(x), lambda y: y.__setitem__(2, z[0])),
    "several, then used": lambda x, z: (
        _then(x * 2, lambda y: y.mul_(z).add_(x).clamp_(-1, 1).__imul__(z)).sum(1).exp()
    ),
}


def _then(y, change):
    """Change y in place; return y (not what change returned: the alias must see it)."""
    result = change(y)
    assert result is None or result is y, "an in-place operation must return its own Variable"
    return y


@pytest.mark.parametrize("name", list(RECORDED))
def test_recorded_inplace_matches_torch(name):
    x, z = randn(3, 4), away_from_zero(3, 4, seed=1)
    check_against_torch(RECORDED[name], x, z)


@pytest.mark.parametrize("name", list(RECORDED))
def test_recorded_inplace_numerical_gradient(name):
    x, z = randn(3, 4), away_from_zero(3, 4, seed=1)
    # Away from the kinks of relu and clamp, where central differences are meaningless.
    x = x + x.sign() * 0.2
    assert gradcheck(RECORDED[name], x, z)


@st.composite
def target_and_operand_shapes(draw):
    """A shape, and a shape that broadcasts to it without growing it (what += accepts)."""
    target = draw(shapes(0, 3, 1, 3))
    kept = target[draw(st.integers(0, len(target))) :]
    ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
    return target, tuple(1 if one else size for size, one in zip(kept, ones, strict=True))


@moderate
@given(st.data())
def test_inplace_broadcasts_like_torch(data):
    target, operand = data.draw(target_and_operand_shapes())
    x = data.draw(float_tensors(target))
    z = data.draw(float_tensors(operand, avoid=(0.0,), gap=0.25))
    operation = data.draw(st.sampled_from(["__iadd__", "__isub__", "__imul__", "__itruediv__"]))
    check_against_torch(lambda x, z: _then(x * 2, lambda y: getattr(y, operation)(z)), x, z)


def test_inplace_changes_every_alias_and_keeps_the_object():
    x = Variable(randn(3))
    y = x * 2
    alias = y
    y += x
    y.mul_(3)
    assert alias is y and alias.grad_op.label == "Mul_"
    torch.testing.assert_close(alias.tensor, x.tensor * 9)
    alias.sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x.tensor, 9.0))


def test_data_variable_becomes_part_of_the_graph():
    """`buffer = zeros; buffer[i] = h` makes buffer a non-leaf, as torch's CopySlices."""
    x = Variable(randn(3))
    buffer = Variable(torch.zeros(2, 3, dtype=DOUBLE), requires_grad=False)
    buffer[0] = x.exp()
    buffer[1] = x * x
    assert buffer.requires_grad and not buffer.is_leaf
    buffer.sum().backward()
    torch.testing.assert_close(x.grad, x.tensor.exp() + 2 * x.tensor)


def test_retain_grad_follows_the_new_value():
    def fn(x, z):
        y = x * 2
        y.retain_grad()
        y.mul_(z)
        (y * y).sum().backward()
        return y.grad

    x, z = randn(3), randn(3, seed=1)
    torch_x, torch_z = x.clone().requires_grad_(), z.clone()
    torch.testing.assert_close(fn(Variable(x), z), fn(torch_x, torch_z))


def test_mul_by_itself_uses_the_value_before_the_change():
    """PyTorch refuses y.mul_(y) at backward; here the operand is copied first, so d(y*y) = 2y."""
    x = Variable(randn(3))
    y = x * 1
    y.mul_(y)
    y.sum().backward()
    torch.testing.assert_close(x.grad, 2 * x.tensor)


# --- Under no_grad(), or with nothing that requires grad: only the tensor changes ----------------

UNRECORDED = {
    "-=": lambda p, u: p.__isub__(u * 0.1),
    "+=": lambda p, u: p.__iadd__(u),
    "*=": lambda p, u: p.__imul__(u),
    "/=": lambda p, u: p.__itruediv__(2.0),
    "add_": lambda p, u: p.add_(u, alpha=-0.1),
    "sub_": lambda p, u: p.sub_(u, alpha=0.1),
    "mul_": lambda p, u: p.mul_(0.5),
    "div_": lambda p, u: p.div_(u.abs() + 1),
    "zero_": lambda p, u: p.zero_(),
    "fill_": lambda p, u: p.fill_(1.5),
    "copy_": lambda p, u: p.copy_(u[0]),
    "clamp_": lambda p, u: p.clamp_(-0.2, 0.3),
    "clip_": lambda p, u: p.clip_(max=0.0),
    "relu_": lambda p, u: p.relu_(),
    "uniform_": lambda p, u: p.uniform_(-1, 1, generator=torch.Generator().manual_seed(3)),
    "normal_": lambda p, u: p.normal_(2.0, 0.5, generator=torch.Generator().manual_seed(3)),
    "p[i] = number": lambda p, u: p.__setitem__((0, 1), 7.0),
    "p[mask] = tensor": lambda p, u: p.__setitem__(u > 0, u[u > 0]),
}


@pytest.mark.parametrize("name", list(UNRECORDED))
def test_inplace_under_no_grad_matches_torch(name):
    change = UNRECORDED[name]
    start, update = randn(2, 3), randn(2, 3, seed=1)
    expected = start.clone().requires_grad_()
    with torch.no_grad():
        returned = change(expected, update)
    assert returned is None or returned is expected
    parameter = Variable(start.clone())
    alias = parameter
    with no_grad():
        returned = change(parameter, Variable(update, requires_grad=False))
    assert returned is None or returned is parameter
    torch.testing.assert_close(alias.tensor, expected.detach(), rtol=0, atol=0)
    assert parameter.is_leaf and parameter.requires_grad


@pytest.mark.parametrize("name", list(UNRECORDED))
def test_inplace_on_data_records_nothing(name):
    """With recording on, a Variable that needs no grad, changed by one that needs none either."""
    start, update = randn(2, 3), randn(2, 3, seed=1)
    expected = start.clone()
    UNRECORDED[name](expected, update)
    data = Variable(start.clone(), requires_grad=False)
    UNRECORDED[name](data, Variable(update, requires_grad=False))
    torch.testing.assert_close(data.tensor, expected, rtol=0, atol=0)
    assert data.grad_op is None and not data.requires_grad


def test_plain_tensor_operands_under_no_grad():
    """p.grad is a plain tensor: `p -= lr * p.grad`, `p.grad.zero_()` (and a torch Parameter's
    values, copied in under no_grad) work as in the tutorials."""
    parameter = Variable(randn(3))
    (parameter * parameter).sum().backward()
    with no_grad():
        parameter -= 0.5 * parameter.grad
        parameter.grad.zero_()
    torch.testing.assert_close(parameter.tensor, torch.zeros(3, dtype=DOUBLE))
    assert torch.equal(parameter.grad, torch.zeros(3, dtype=DOUBLE))
    source = torch.nn.Parameter(randn(3, seed=2))
    with no_grad():
        parameter.copy_(source)
    assert torch.equal(parameter.tensor, source.detach()) and not parameter.tensor.requires_grad


# --- The tutorials' manual update loops give PyTorch's numbers ----------------------------------


def polynomial_fit(library, leaf, steps: int = 300):
    """PyTorch's 'Learning PyTorch with Examples', autograd section: fit sin with a cubic
    (pytorch/tutorials beginner_source/examples_autograd/polynomial_autograd.py), fewer steps."""
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=DOUBLE)
    y = torch.sin(x)
    generator = torch.Generator().manual_seed(0)
    a, b, c, d = (leaf(torch.randn((), dtype=DOUBLE, generator=generator)) for _ in range(4))
    learning_rate = 1e-6
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with library.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return loss.item(), [value.item() for value in (a, b, c, d)]


def test_polynomial_tutorial_loop():
    ours = polynomial_fit(autogradlib, Variable)
    theirs = polynomial_fit(torch, lambda tensor: tensor.requires_grad_())
    assert ours[0] == pytest.approx(theirs[0], rel=1e-10)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-10)


def mnist_like_data():
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(256, 20, dtype=DOUBLE, generator=generator)
    labels = (inputs[:, :5].argmax(1) + (inputs[:, 5] > 0).long() * 5) % 10
    return inputs, labels


def nn_tutorial_from_scratch(leaf, epochs: int = 3):
    """PyTorch's 'What is torch.nn really?' first loop: hand-written weights, log_softmax and
    negative log-likelihood, `weights -= weights.grad * lr; weights.grad.zero_()`
    (pytorch/tutorials beginner_source/nn_tutorial.py), on random data instead of MNIST."""
    inputs, labels = mnist_like_data()
    generator = torch.Generator().manual_seed(1)
    weights = leaf(torch.randn(20, 10, dtype=DOUBLE, generator=generator) / math.sqrt(20))
    bias = leaf(torch.zeros(10, dtype=DOUBLE))

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    lr, batch_size = 0.5, 64
    for _ in range(epochs):
        for start in range(0, len(inputs), batch_size):
            xb, yb = inputs[start : start + batch_size], labels[start : start + batch_size]
            loss = nll(model(xb), yb)
            loss.backward()
            with no_grad() if isinstance(weights, Variable) else torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    return loss.item(), weights.tensor if isinstance(weights, Variable) else weights.detach()


def test_nn_tutorial_from_scratch_loop():
    ours_loss, ours_weights = nn_tutorial_from_scratch(Variable)
    theirs_loss, theirs_weights = nn_tutorial_from_scratch(lambda tensor: tensor.requires_grad_())
    assert ours_loss == pytest.approx(theirs_loss, rel=1e-10)
    torch.testing.assert_close(ours_weights, theirs_weights)


def nn_tutorial_module_loop(modules, functional, grad_mode, epochs: int = 3):
    """The same tutorial refactored with nn.Module: `for p in model.parameters(): p -= p.grad * lr`
    then `model.zero_grad()`."""
    inputs, labels = mnist_like_data()
    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10)
    ).double()
    model = modules.Sequential(modules.Linear(20, 16), modules.ReLU(), modules.Linear(16, 10))
    model.double().load_state_dict(reference.state_dict())
    lr, batch_size = 0.5, 64
    for _ in range(epochs):
        for start in range(0, len(inputs), batch_size):
            xb, yb = inputs[start : start + batch_size], labels[start : start + batch_size]
            loss = functional.cross_entropy(model(xb), yb)
            loss.backward()
            with grad_mode():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()
    return loss.item(), [value.clone() for value in model.state_dict().values()]


def test_nn_tutorial_module_loop():
    ours = nn_tutorial_module_loop(nn, F, no_grad)
    theirs = nn_tutorial_module_loop(torch.nn, TF, torch.no_grad)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-10)
    for mine, reference in zip(ours[1], theirs[1], strict=True):
        torch.testing.assert_close(mine, reference)


# --- .data ---------------------------------------------------------------------------------------


def test_data_setter_replaces_the_tensor():
    parameter = Variable(randn(2, 3))
    alias = parameter
    replacement = randn(4, seed=1)
    parameter.data = replacement
    assert alias.tensor is replacement and alias.shape == (4,) and alias.is_leaf
    parameter.data -= 1.0  # the tutorial's `p.data -= lr * p.grad`, outside no_grad()
    torch.testing.assert_close(alias.tensor, randn(4, seed=1) - 1.0)
    parameter.data = torch.nn.Parameter(randn(2))  # detached: torch's tape is not ours
    assert not parameter.tensor.requires_grad


def test_data_setter_refuses_what_is_not_a_tensor():
    parameter = Variable(randn(2))
    with pytest.raises(TypeError, match=r"data: expected a torch.Tensor, got list"):
        parameter.data = [1.0, 2.0]
    with pytest.raises(TypeError, match=r"must be floating-point, got torch.int64"):
        parameter.data = torch.ones(2, dtype=torch.int64)


# --- Refused while recording: leaves that require grad, views ------------------------------------

LEAF_CHANGES = {
    "+=": lambda p: p.__iadd__(1),
    "-=": lambda p: p.__isub__(1),
    "add_": lambda p: p.add_(1),
    "zero_": lambda p: p.zero_(),
    "normal_": lambda p: p.normal_(),
    "copy_": lambda p: p.copy_(torch.ones(3)),
    "relu_": lambda p: p.relu_(),
    "p[0] = 1": lambda p: p.__setitem__(0, 1.0),
}


@pytest.mark.parametrize("name", list(LEAF_CHANGES))
def test_leaf_that_requires_grad_refuses_inplace_while_recording(name):
    expected = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        LEAF_CHANGES[name](expected)
    parameter = Variable(torch.ones(3))
    with pytest.raises(GraphError, match=r"a leaf Variable that requires grad .* `with no_grad"):
        LEAF_CHANGES[name](parameter)
    assert torch.equal(parameter.tensor, torch.ones(3)) and parameter.is_leaf


def test_to_without_change_is_the_variable_itself():
    """As in torch, x.double() of a float64 x is x, so changing it in place is changing x."""
    x = Variable(randn(3))
    assert x.double() is x and x.to(DOUBLE) is x and x.float() is not x
    with pytest.raises(GraphError, match="a leaf Variable"):
        x.double().add_(1)


VIEW_CHANGES = {
    "v = y[0]; v += 1": lambda y: y[0].__iadd__(1),
    "y[0] += 1": lambda y: y.__getitem__(0).__iadd__(1),  # what Python runs for y[0] += 1 first
    "y.t().mul_(2)": lambda y: y.t().mul_(2),
    "y.view(-1).relu_()": lambda y: y.view(-1).relu_(),
    "y[1:][0] = 5": lambda y: y[1:].__setitem__(0, 5.0),
}


@pytest.mark.parametrize("name", list(VIEW_CHANGES))
def test_inplace_on_a_view_while_recording_is_refused(name):
    x = Variable(randn(2, 3))
    y = x * 2
    with pytest.raises(GraphError, match=r"in-place operation on a view .* out-of-place"):
        VIEW_CHANGES[name](y)
    torch.testing.assert_close(y.tensor, x.tensor * 2)  # refused before any change


def test_inplace_on_a_view_under_no_grad_changes_the_base():
    x = Variable(randn(2, 3))
    with no_grad():
        row = x[0]
        row += 1
    torch.testing.assert_close(x.tensor[0], randn(2, 3)[0] + 1)


def test_view_made_before_its_base_changed_is_refused_at_backward():
    """PyTorch rebuilds v's history after y changes; here backward refuses the stale one."""
    x = Variable(randn(2, 3))
    y = x * 2
    v = y[0]
    y.mul_(3)
    with pytest.raises(GraphError, match="Index saved output_view, a tensor of shape \\(3,\\)"):
        v.sum().backward()


def test_chain_output_in_transposed_layout_takes_inplace():
    """A chain's tall output is a transposed view of its own product (see ChainOperator): in-place
    operations on it are recorded as on any output, with torch's gradients."""
    torch.manual_seed(0)
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    reference = reference.double()
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    model.load_state_dict(reference.state_dict())
    inputs, shift = randn(600, 3), randn(2, seed=1)
    expected = reference(inputs)
    expected.mul_(shift).relu_()
    expected.sum().backward()
    output = model(inputs)
    assert output.tensor._is_view()  # the layout this test is about
    output.mul_(shift).relu_()
    output.sum().backward()
    torch.testing.assert_close(output.tensor, expected.detach())
    for (name, parameter), (_, torch_parameter) in zip(
        model.named_parameters(), reference.named_parameters(), strict=True
    ):
        torch.testing.assert_close(parameter.grad, torch_parameter.grad, msg=name)


# --- Saved tensors changed in place: backward raises, as PyTorch's version counter does ---------


def assert_both_refuse_backward(fn, match: str):
    """fn(leaf, no_grad) builds a graph and returns the output; torch and we must both refuse."""
    expected_leaf = randn(4, 3).requires_grad_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        fn(expected_leaf, torch.no_grad).sum().backward()
    leaf = Variable(randn(4, 3))
    output = fn(leaf, no_grad)
    with pytest.raises(GraphError, match="modified by an inplace operation: " + match):
        output.sum().backward()


def test_output_saved_by_exp_then_changed():
    def fn(x, grad_mode):
        y = x.exp()
        y += 1
        return y

    assert_both_refuse_backward(fn, "Exp saved output, a tensor of shape \\(4, 3\\), at version 0")


def test_relu_twice_in_place():
    def fn(x, grad_mode):
        y = x * 1
        y.relu_()
        return y.relu_()

    assert_both_refuse_backward(fn, "ReLU_ saved output, .* at version 1; it is now at version 2")


def test_operand_saved_by_mul_then_changed_under_no_grad():
    def fn(x, grad_mode):
        y = x * x
        with grad_mode():
            x.mul_(2)
        return y

    assert_both_refuse_backward(fn, "Mul saved a, a tensor of shape \\(4, 3\\)")


def sequential(library):
    torch.manual_seed(0)
    layers = library.Linear(3, 5), library.ReLU(), library.Linear(5, 2), library.Sigmoid()
    return library.Sequential(*layers).double()


def test_inplace_on_a_sequential_output_that_its_last_layer_saved():
    def fn(x, grad_mode):
        model = sequential(torch.nn if isinstance(x, torch.Tensor) else nn)
        output = model(x)
        return output.relu_()

    assert_both_refuse_backward(fn, "Sequential saved output of its stage 3 \\(Sigmoid\\)")


def test_parameter_changed_between_forward_and_backward():
    def fn(x, grad_mode):
        model = sequential(torch.nn if isinstance(x, torch.Tensor) else nn)
        output = model(x)
        with grad_mode():
            for parameter in model.parameters():
                parameter -= 0.1
        return output

    assert_both_refuse_backward(fn, "Sequential saved weight of its stage 0 \\(Linear\\)")


def test_bias_changed_between_forward_and_backward_as_in_torch():
    """No layer saves a bias (addmm does not either): torch lets the change through, so do we."""
    inputs = randn(4, 3)
    model, reference = sequential(nn), sequential(torch.nn)
    model.load_state_dict(reference.state_dict())
    gradients = []
    for network, grad_mode in ((model, no_grad), (reference, torch.no_grad)):
        output = network(inputs)
        with grad_mode():
            network[2].bias += 1
        output.sum().backward()
        gradients.append([parameter.grad for parameter in network.parameters()])
    for mine, expected in zip(*gradients, strict=True):
        torch.testing.assert_close(mine, expected)


def test_input_batch_changed_between_forward_and_backward():
    inputs = randn(4, 3)
    reference = sequential(torch.nn)
    output = reference(inputs)
    inputs.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        output.sum().backward()
    model = sequential(nn)
    output = model(inputs)
    inputs.mul_(2)
    with pytest.raises(GraphError, match="Sequential saved x of its stage 0 \\(Linear\\)"):
        output.sum().backward()


def test_optimizer_step_between_forward_and_backward():
    model = sequential(nn)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loss = model(randn(4, 3)).sum()
    loss.backward(retain_graph=True)
    optimizer.step()
    with pytest.raises(GraphError, match="modified by an inplace operation: Sequential saved"):
        loss.backward()


def test_weight_of_a_linear_layer_called_alone_changed_between_forward_and_backward():
    """A Linear outside a Sequential checks its operands' versions only (keeps_operands_only)."""

    def fn(x, grad_mode):
        torch.manual_seed(0)
        layer = (torch.nn if isinstance(x, torch.Tensor) else nn).Linear(3, 2).double()
        output = layer(x)
        with grad_mode():
            layer.weight.mul_(2)
        return output

    assert_both_refuse_backward(fn, "Linear saved weight, a tensor of shape \\(2, 3\\)")


@pytest.mark.parametrize("loss", ["MSELoss", "SmoothL1Loss", "HuberLoss"])
def test_loss_target_changed_between_forward_and_backward(loss):
    """The losses of x - y check only their operands (keeps_operands_only), the target too."""

    def fn(x, grad_mode):
        target = torch.ones(4, 3, dtype=DOUBLE)
        output = getattr(torch.nn if isinstance(x, torch.Tensor) else nn, loss)()(x * 2, target)
        target.add_(1)
        return output

    assert_both_refuse_backward(fn, f"{loss} saved target, a tensor of shape \\(4, 3\\)")


def test_bias_of_a_linear_layer_called_alone_changed_as_in_torch():
    inputs = randn(4, 3)
    torch.manual_seed(0)
    layer, reference = nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    layer.load_state_dict(reference.state_dict())
    gradients = []
    for network, grad_mode in ((layer, no_grad), (reference, torch.no_grad)):
        output = network(inputs)
        with grad_mode():
            network.bias += 1
        output.sum().backward()
        gradients.append([parameter.grad for parameter in network.parameters()])
    for mine, expected in zip(*gradients, strict=True):
        torch.testing.assert_close(mine, expected)


def test_unchanged_saved_tensors_pass_and_versions_are_checked_on_every_backward():
    x = Variable(randn(3))
    y = x.exp()
    y.sum().backward(retain_graph=True)
    torch.testing.assert_close(x.grad, x.tensor.exp())
    with no_grad():
        y.zero_()
    with pytest.raises(GraphError, match="Exp saved output"):
        y.sum().backward()


# --- Nothing quietly ignored: torch Parameters on a Module, raw tensors that require grad --------


class WithTorchParameter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.scale = torch.nn.Parameter(torch.randn(3, dtype=DOUBLE, generator=generator))
        self.offset = torch.randn(3, dtype=DOUBLE, generator=generator)  # not a parameter

    def forward(self, x):
        return x * self.scale + self.offset


def test_torch_parameter_on_a_module_is_taken_in_and_trained():
    model = WithTorchParameter()
    assert [name for name, _ in model.named_parameters()] == ["scale"]
    assert isinstance(model.scale, Variable) and model.scale.is_leaf and model.scale.requires_grad
    assert isinstance(model.offset, torch.Tensor)
    generator = torch.Generator().manual_seed(0)
    scale = torch.nn.Parameter(torch.randn(3, dtype=DOUBLE, generator=generator))
    offset = torch.randn(3, dtype=DOUBLE, generator=generator)
    before = model.scale.tensor.clone()
    torch_optimizer = torch.optim.SGD([scale], lr=0.1)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    inputs = randn(5, 3, seed=1)
    for _ in range(3):
        optimizer.zero_grad()
        model(inputs).pow(2).sum().backward()
        optimizer.step()
        torch_optimizer.zero_grad()
        (inputs * scale + offset).pow(2).sum().backward()
        torch_optimizer.step()
    assert not torch.equal(model.scale.tensor, before)
    torch.testing.assert_close(model.scale.tensor, scale.detach())


def test_buffer_that_requires_grad_stays_a_buffer():
    module = nn.Module()
    module.register_buffer("running", torch.ones(2, requires_grad=True))
    assert isinstance(module.running, torch.Tensor) and list(module.parameters()) == []
    assert list(module.state_dict()) == ["running"]


def test_raw_tensor_that_requires_grad_is_refused_as_an_operand():
    model = sequential(nn)
    inputs = randn(4, 3).requires_grad_()
    with pytest.raises(GraphError, match=r"operand 0 is a torch.Tensor with requires_grad=True"):
        model(inputs)
    with pytest.raises(GraphError, match=r"wrap it as x = Variable\(tensor\) and read x.grad"):
        Variable(randn(3)) * torch.ones(3, dtype=DOUBLE, requires_grad=True)
    with no_grad():  # nothing is recorded, so its values serve as they are
        output = model(inputs)
    assert not output.requires_grad and not output.tensor.requires_grad


def test_wrapped_input_gets_its_gradient():
    """The saliency-map pattern: the input wrapped in a Variable gets torch's .grad."""
    model, reference = sequential(nn), sequential(torch.nn)
    model.load_state_dict(reference.state_dict())
    inputs = randn(4, 3)
    image = Variable(inputs)
    model(image).sum().backward()
    expected = inputs.clone().requires_grad_()
    reference(expected).sum().backward()
    torch.testing.assert_close(image.grad, expected.grad)
