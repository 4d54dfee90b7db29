"""Second and third derivatives of the operators added after tests/test_higher_order.py's table
(losses, activations, normalisation, convolution, pooling, in-place, ...), with its helpers; and
the check that every operator in autogradlib.operators is covered or raises a clear error."""

import pytest
import torch
from test_higher_order import (
    CASES as FIRST_CASES,
    DOUBLE,
    F,
    as_tensor,
    check_orders_against_torch,
    derivatives,
    draw,
    leaves_for_torch,
    leaves_for_us,
    our_grad,
    our_network,
    torch_grad,
    torch_network,
)

import autogradlib
from autogradlib import GradOperator, Variable, gradgradcheck, operators as ops
from autogradlib.errors import GraphError

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

LABELS = torch.tensor([0, 2, 1])
IGNORED = torch.tensor([0, -100, 2])
WORDS = torch.tensor([[0, 2], [3, 2]])
CLASS_WEIGHT = torch.tensor([0.5, 2.0, 1.5], dtype=DOUBLE)


def set_item(a, b):
    out = a * 1
    out[0] = b * b
    return out**2


def fill(a):
    out = a * 1
    out.fill_(2.0)
    return out * a


RUNNING_MEAN = torch.tensor([0.1, -0.2], dtype=DOUBLE)
RUNNING_VAR = torch.tensor([0.5, 2.0], dtype=DOUBLE)


def batch_norm(x, weight=None, bias=None, training=True):
    """Ours on Variables; on torch tensors the same formula written out, because torch's own
    batch_norm has a wrong third derivative (torch 2.13: it disagrees with this formula and with
    finite differences of its own second derivative); orders 1 and 2 are compared with it below."""
    if not isinstance(x, torch.Tensor):
        return F(x).batch_norm(x, None, None, weight, bias, training=True)
    dims = (0, *range(2, x.dim()))
    shape = (1, -1) + (1,) * (x.dim() - 2)
    mean = x.mean(dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dims, keepdim=True)
    output = (x - mean) / (var + 1e-5).sqrt()
    if weight is not None:
        output = output * weight.reshape(shape)
    return output if bias is None else output + bias.reshape(shape)


def layer_norm(x, shape, weight=None, bias=None):
    """Ours on Variables; on torch tensors the formula written out (see batch_norm)."""
    if not isinstance(x, torch.Tensor):
        return F(x).layer_norm(x, shape, weight, bias)
    dims = tuple(range(x.dim() - len(shape), x.dim()))
    mean = x.mean(dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dims, keepdim=True)
    output = (x - mean) / (var + 1e-5).sqrt()
    if weight is not None:
        output = output * weight
    return output if bias is None else output + bias


def batch_norm_eval(x, w, b):
    return F(x).batch_norm(x, RUNNING_MEAN, RUNNING_VAR, w, b, training=False) ** 2


# (id, fn, inputs), as in test_higher_order.CASES.
CASES = [
    ("to-copy", lambda a: a.to(DOUBLE, copy=True) * a, (draw(2, 3),)),
    ("sin", lambda a: a.sin(), (draw(2, 3),)),
    ("cos", lambda a: a.cos(), (draw(2, 3),)),
    ("log1p", lambda a: a.log1p(), (draw(2, 3, low=-0.5),)),
    ("expm1", lambda a: a.expm1(), (draw(2, 3),)),
    ("round", lambda a: a.round() * a * a, (draw(2, 3),)),
    ("floor", lambda a: a.floor() * a * a, (draw(2, 3),)),
    ("ceil", lambda a: a.ceil() * a * a, (draw(2, 3),)),
    ("trunc", lambda a: a.trunc() * a * a, (draw(2, 3),)),
    ("maximum", lambda a, b: torch.maximum(a, b) ** 3, (draw(2, 3), draw(2, 3, seed=1))),
    ("minimum", lambda a, b: torch.minimum(a, b) ** 3, (draw(2, 3), draw(3, seed=1))),
    ("norm", lambda a: a.norm() * a, (draw(2, 3),)),
    ("norm-dim", lambda a: a.norm(dim=1), (draw(2, 3),)),
    ("cumsum", lambda a: a.cumsum(1) ** 2, (draw(2, 3),)),
    ("prod", lambda a: a.prod() * a, (draw(2, 3, avoid_zero=True),)),
    ("prod-dim", lambda a: a.prod(1), (draw(2, 3, avoid_zero=True),)),
    ("gather", lambda a: a.gather(1, torch.tensor([[0, 0], [2, 1]])) ** 2, (draw(2, 3),)),
    ("gelu", lambda a: F(a).gelu(a), (draw(2, 3),)),
    ("gelu-tanh", lambda a: F(a).gelu(a, approximate="tanh"), (draw(2, 3),)),
    ("leaky-relu", lambda a: F(a).leaky_relu(a, 0.1) * a, (draw(2, 3, avoid_zero=True),)),
    ("silu", lambda a: F(a).silu(a), (draw(2, 3),)),
    ("elu", lambda a: F(a).elu(a, 0.7), (draw(2, 3, avoid_zero=True),)),
    ("layer-norm", lambda x: layer_norm(x, (3,)) ** 2, (draw(2, 3),)),
    (
        "layer-norm-affine",
        lambda x, w, b: layer_norm(x, (2, 3), w, b) ** 2,
        (draw(2, 2, 3), draw(2, 3, seed=1), draw(2, 3, seed=2)),
    ),
    (
        "batch-norm-train",
        lambda x, w, b: batch_norm(x, w, b) ** 2,
        (draw(3, 2, 2), draw(2, seed=1), draw(2, seed=2)),
    ),
    ("batch-norm-eval", batch_norm_eval, (draw(3, 2, 2), draw(2, seed=1), draw(2, seed=2))),
    (
        "batch-norm-no-affine",
        lambda x: batch_norm(x) ** 2,
        (draw(3, 2),),
    ),
    # x made by another operator (not a leaf): rebuilt from what forward kept of it
    ("batch-norm-train-of-tanh", lambda x: batch_norm(x.tanh()) ** 2, (draw(3, 2, 2),)),
    (
        "batch-norm-eval-of-tanh",
        lambda x, w, b: batch_norm_eval(x.tanh(), w, b),
        (draw(3, 2, 2), draw(2, seed=1), draw(2, seed=2)),
    ),
    ("layer-norm-of-tanh", lambda x: layer_norm(x.tanh(), (3,)) ** 2, (draw(2, 3),)),
    (
        "conv1d-same-even-kernel-of-tanh",
        lambda x, w: F(x).conv1d(x.tanh(), w, padding="same") ** 2,
        (draw(2, 2, 4), draw(2, 2, 2, seed=1)),
    ),
    (
        "conv2d-unbatched-of-tanh",
        lambda x, w: F(x).conv2d(x.tanh(), w) ** 2,
        (draw(2, 3, 3), draw(1, 2, 2, 2, seed=1)),
    ),
    ("embedding", lambda w: F(w).embedding(WORDS, w) ** 2, (draw(4, 2),)),
    ("embedding-padding", lambda w: F(w).embedding(WORDS, w, padding_idx=2) ** 2, (draw(4, 2),)),
    (
        "bce",
        lambda x, y: F(x).binary_cross_entropy(x.sigmoid(), y.sigmoid()),
        (draw(2, 3), draw(2, 3, seed=1)),
    ),
    (
        "bce-weight-none",
        lambda x: F(x).binary_cross_entropy(x, x * 0.5 + 0.25, CLASS_WEIGHT, reduction="none"),
        (draw(2, 3, low=0.1, high=0.9),),
    ),
    (
        "bce-logits",
        lambda x, y: F(x).binary_cross_entropy_with_logits(
            x, y.sigmoid(), CLASS_WEIGHT, pos_weight=CLASS_WEIGHT * 2
        ),
        (draw(2, 3), draw(2, 3, seed=1)),
    ),
    (
        "bce-logits-sum",
        lambda x, y: F(x).binary_cross_entropy_with_logits(x * x, y.sigmoid(), reduction="sum"),
        (draw(2, 3), draw(2, 3, seed=1)),
    ),
    ("l1", lambda x, y: F(x).l1_loss(x * x, y), (draw(2, 3), draw(2, 3, seed=1))),
    (
        "smooth-l1",
        lambda x, y: F(x).smooth_l1_loss(x, y, beta=0.5, reduction="sum"),
        (draw(2, 3), draw(2, 3, seed=1)),
    ),
    (
        "huber",
        lambda x, y: F(x).huber_loss(x, y, delta=0.8, reduction="none") ** 2,
        (draw(2, 3), draw(2, 3, seed=1)),
    ),
    ("nll", lambda x: F(x).nll_loss(x.log_softmax(1), LABELS), (draw(3, 3),)),
    (
        "nll-weight",
        lambda x: F(x).nll_loss(x * x, IGNORED, CLASS_WEIGHT, reduction="sum"),
        (draw(3, 3),),
    ),
    (
        "cross-entropy-options",
        lambda x: F(x).cross_entropy(x, IGNORED, CLASS_WEIGHT, label_smoothing=0.2),
        (draw(3, 3),),
    ),
    (
        "cross-entropy-probabilities-smoothed",
        lambda x, p: F(x).cross_entropy(x, p.softmax(1), CLASS_WEIGHT, label_smoothing=0.1),
        (draw(3, 3), draw(3, 3, seed=1)),
    ),
    (
        "conv1d",
        lambda x, w, b: F(x).conv1d(x, w, b, stride=2, padding=1) ** 2,
        (draw(2, 2, 5), draw(3, 2, 2, seed=1), draw(3, seed=2)),
    ),
    (
        "conv2d",
        lambda x, w, b: F(x).conv2d(x, w, b, padding=1) ** 2,
        (draw(1, 2, 3, 3), draw(2, 2, 2, 2, seed=1), draw(2, seed=2)),
    ),
    (
        "conv2d-stride-dilation-groups",
        lambda x, w: F(x).conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=2, groups=2) ** 2,
        (draw(1, 4, 5, 4), draw(2, 2, 2, 2, seed=1)),
    ),
    (
        "conv2d-same-unbatched",
        lambda x, w: F(x).conv2d(x, w, padding="same") ** 2,
        (draw(5, 3, 3), draw(1, 5, 2, 2, seed=1)),
    ),
    ("max-pool", lambda x: F(x).max_pool2d(x, 2, 1) ** 2, (draw(1, 2, 3, 3),)),
    (
        "max-pool-padded",
        lambda x: F(x).max_pool2d(x, 3, 2, padding=1, dilation=2) ** 2,
        (draw(2, 4, 4),),
    ),
    ("avg-pool", lambda x: F(x).avg_pool2d(x, 2, 1) ** 2, (draw(1, 2, 3, 3),)),
    (
        "avg-pool-padded",
        lambda x: F(x).avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False) ** 2,
        (draw(1, 1, 4, 5),),
    ),
    ("adaptive-avg-pool", lambda x: F(x).adaptive_avg_pool2d(x, (2, 1)) ** 2, (draw(1, 2, 3, 3),)),
    ("adaptive-avg-pool-1", lambda x: F(x).adaptive_avg_pool2d(x, 1) ** 2, (draw(1, 2, 3, 3),)),
    ("add_", lambda a, b: (a * 1).add_(b, alpha=2) ** 2, (draw(2, 3), draw(3, seed=1))),
    ("sub_", lambda a, b: (a * 1).sub_(b) ** 2, (draw(2, 3), draw(2, 3, seed=1))),
    ("mul_", lambda a, b: (a * 1).mul_(b) ** 2, (draw(2, 3), draw(2, 3, seed=1))),
    ("div_", lambda a, b: (a * 1).div_(b) ** 2, (draw(2, 3), draw(2, 3, low=0.5, seed=1))),
    ("clamp_", lambda a: (a * 1).clamp_(-1.0, 1.0) * a, (draw(2, 3),)),
    ("relu_", lambda a: (a * 1).relu_() * a, (draw(2, 3, avoid_zero=True),)),
    ("zero_", lambda a: (a * 1).zero_() + a * a, (draw(2, 3),)),
    ("fill_", fill, (draw(2, 3),)),
    ("copy_", lambda a, b: (a * 1).copy_(b * b) * a, (draw(2, 3), draw(3, seed=1))),
    ("setitem", set_item, (draw(2, 3), draw(3, seed=1))),
]

# Operators that cannot yet be differentiated twice: under create_graph=True they raise a GraphError
# naming them. (id, operator label, fn, inputs)
NOT_TWICE_DIFFERENTIABLE = []


@pytest.mark.parametrize(("fn", "inputs"), [pytest.param(f, i, id=n) for n, f, i in CASES])
def test_derivatives_up_to_third_order_match_torch(fn, inputs):
    check_orders_against_torch(fn, inputs)


@pytest.mark.parametrize(("fn", "inputs"), [pytest.param(f, i, id=n) for n, f, i in CASES])
def test_gradgradcheck_passes(fn, inputs):
    assert gradgradcheck(fn, inputs)


def torch_batch_norm(x, *parameters):
    return F(x).batch_norm(x, None, None, *parameters, training=True) ** 2


def torch_layer_norm(x, *parameters):
    return F(x).layer_norm(x, x.shape[1:], *parameters) ** 2


@pytest.mark.parametrize("fn", [torch_batch_norm, torch_layer_norm])
@pytest.mark.parametrize("affine", [False, True])
def test_normalisation_orders_1_and_2_match_torch_functional(fn, affine):
    inputs = (draw(3, 2, 2), draw(2, 2, seed=1), draw(2, 2, seed=2)) if affine else (draw(3, 2),)
    if affine and fn is torch_batch_norm:
        inputs = (inputs[0], draw(2, seed=1), draw(2, seed=2))

    expected = derivatives(fn, leaves_for_torch(inputs), torch_grad, leaves_for_torch, orders=2)
    actual = derivatives(fn, leaves_for_us(inputs), our_grad, leaves_for_us, orders=2)
    for ours, theirs in zip(actual, expected, strict=True):
        for mine, reference in zip(ours, theirs, strict=True):
            torch.testing.assert_close(as_tensor(mine, reference), reference.detach())


def recorded_operators(fn, inputs) -> set:
    """The operator classes that fn records, and that its first and second derivatives record."""
    leaves = leaves_for_us(inputs)
    floats = [leaf for leaf in leaves if isinstance(leaf, Variable)]
    outputs = [fn(*leaves)]
    grads = autogradlib.grad(
        outputs[0], floats, torch.ones(outputs[0].shape, dtype=DOUBLE), create_graph=True,
        allow_unused=True,
    )  # fmt: skip
    outputs += [grad for grad in grads if grad is not None and grad.requires_grad]
    if len(outputs) > 1:
        total = sum((grad * grad).sum() for grad in outputs[1:])
        grads = autogradlib.grad(total, floats, create_graph=True, allow_unused=True)
        outputs += [grad for grad in grads if grad is not None and grad.requires_grad]
    seen, stack = set(), [output.grad_op for output in outputs if output.grad_op is not None]
    while stack:
        operator = stack.pop()
        if operator not in seen:
            seen.add(operator)
            stack += [source for source in operator.inputs if isinstance(source, GradOperator)]
    return {type(operator) for operator in seen}


# Base classes that are only ever recorded as one of their subclasses.
BASE_CLASSES = {"Convolution": "recorded as Conv1d or Conv2d"}


def test_every_operator_is_covered_or_raises_a_clear_error():
    """A new operator must join a table of derivative cases (here or in test_higher_order), or
    NOT_TWICE_DIFFERENTIABLE with the GraphError it raises under create_graph."""
    found = set()
    for _, fn, inputs in [*FIRST_CASES, *CASES]:
        found |= recorded_operators(fn, inputs)
    model = our_network(torch_network())  # a Sequential's chain: see test_higher_order
    found |= recorded_operators(lambda x: model(x), (draw(3, 2),))
    covered = {name for name in ops.__all__ if getattr(ops, name) in found}
    failing = {name for name, *_ in NOT_TWICE_DIFFERENTIABLE}
    missing = set(ops.__all__) - covered - failing - set(BASE_CLASSES)
    assert not missing, f"operators with no higher-order test: {sorted(missing)}"
    assert not covered & failing, f"covered, yet listed as failing: {sorted(covered & failing)}"
    for name, fn, inputs in NOT_TWICE_DIFFERENTIABLE:
        with pytest.raises(GraphError, match=f"{getattr(ops, name).label}.*twice"):
            derivatives(fn, leaves_for_us(inputs), our_grad, leaves_for_us, orders=2)


class RawLogitOperator(GradOperator):
    """A user's operator whose pass_grad calls a torch function Variables do not dispatch."""

    def forward(self, a):
        self.a = a
        return a.sigmoid().log()

    def pass_grad(self, grad_output):
        return (grad_output * torch.sigmoid(-torch.logit(self.a.sigmoid())),)


class TensorMethodOperator(GradOperator):
    """A user's operator whose pass_grad calls a tensor method that Variables lack."""

    def forward(self, a):
        self.a = a
        return a * 2

    def pass_grad(self, grad_output):
        return (grad_output.new_zeros(self.a.shape).index_add_(0, torch.tensor([0]), grad_output),)


@pytest.mark.parametrize("operator", [RawLogitOperator, TensorMethodOperator])
def test_a_pass_grad_that_fails_on_variables_raises_graph_error_naming_the_operator(operator):
    a = Variable(draw(1, 3))
    first = autogradlib.grad(operator.apply(a).sum(), a)[0]  # first order: plain tensors
    assert isinstance(first, torch.Tensor)
    with pytest.raises(GraphError, match=f"{operator.label}.*not twice differentiable"):
        autogradlib.grad(operator.apply(a).sum(), a, create_graph=True)


def conv_network(library):
    """A LeNet-like block in torch.nn or autogradlib.nn (the same definition)."""
    return library.Sequential(
        library.Conv2d(2, 3, 3, padding=1, dtype=DOUBLE),
        library.BatchNorm2d(3, dtype=DOUBLE),
        library.GELU(),
        library.MaxPool2d(2),
        library.Conv2d(3, 2, 2, dtype=DOUBLE),
        library.SiLU(),
        library.AdaptiveAvgPool2d(1),
        library.Flatten(),
        library.Linear(2, 3, dtype=DOUBLE),
    )


def test_a_gradient_penalty_on_a_conv_network_matches_torch():
    """WGAN-GP's penalty, (|d out / d x| - 1)^2, and its gradient with respect to the weights."""
    torch.manual_seed(0)
    reference = conv_network(torch.nn)
    model = conv_network(autogradlib.nn)
    model.load_state_dict(reference.state_dict())
    images = draw(2, 2, 6, 6)
    labels = torch.tensor([0, 2])

    def penalised_loss(network, x, grad_fn):
        output = network(x)
        (slopes,) = grad_fn(output.sum(), [x], None, create_graph=True)
        norms = (slopes.reshape(2, -1) ** 2).sum(1).sqrt()
        return F(output).cross_entropy(output, labels) + ((norms - 1) ** 2).mean()

    theirs = images.clone().requires_grad_()
    torch_loss = penalised_loss(reference, theirs, torch_grad)
    expected = torch.autograd.grad(torch_loss, [theirs, *reference.parameters()])
    ours = Variable(images.clone())
    our_loss = penalised_loss(model, ours, our_grad)
    actual = autogradlib.grad(our_loss, [ours, *model.parameters()])
    torch.testing.assert_close(our_loss.tensor, torch_loss.detach())
    for mine, reference_grad in zip(actual, expected, strict=True):
        torch.testing.assert_close(as_tensor(mine, reference_grad), reference_grad)
