"""Gradients of gradients: every operator's second and third derivatives against torch.autograd's
(Hessian-vector products, float64) and through gradgradcheck; create_graph's rules and errors."""

import pytest
import torch
import torch.nn.functional as torch_functional

import autogradlib
from autogradlib import (
    Variable,
    gradgradcheck,
    nn,
    operators as ops,
)
from autogradlib.nn import functional as our_functional

DOUBLE = torch.float64


def F(value):
    """torch.nn.functional for torch tensors, autogradlib.nn.functional for Variables."""
    return torch_functional if isinstance(value, torch.Tensor) else our_functional


def library(value):
    return torch if isinstance(value, torch.Tensor) else autogradlib


def where(condition, a, b):
    if isinstance(a, torch.Tensor):
        return torch.where(condition, a, b)
    return ops.Where.apply(condition, a, b)


def draw(*shape, low=-2.0, high=2.0, seed=0, avoid_zero=False):
    generator = torch.Generator().manual_seed(seed)
    tensor = torch.rand(shape, dtype=DOUBLE, generator=generator) * (high - low) + low
    if avoid_zero:
        tensor = torch.where(tensor.abs() < 0.2, tensor.sign() * 0.2 + (tensor == 0) * 0.2, tensor)
    return tensor


LABELS = torch.tensor([0, 2])
MASK = torch.tensor([[True, False, True], [False, True, True]])

# (id, fn, inputs): fn runs unchanged on torch tensors and on Variables; float inputs are leaves.
CASES = [
    ("add", lambda a, b: a + b, (draw(2, 3), draw(3, seed=1))),
    ("sub", lambda a, b: a - b, (draw(2, 3), draw(2, 1, seed=1))),
    ("mul", lambda a, b: a * b, (draw(2, 3), draw(3, seed=1))),
    ("mul-self", lambda a: a * a * a, (draw(2, 3),)),
    ("div", lambda a, b: a / b, (draw(2, 3), draw(2, 3, low=0.5, seed=1))),
    ("neg", lambda a: -a * a, (draw(2, 3),)),
    ("pow-tensor", lambda a, b: a**b, (draw(2, 3, low=0.5), draw(2, 3, seed=1))),
    ("pow-number", lambda a: a**3, (draw(2, 3),)),
    ("pow-half", lambda a: a**0.5, (draw(2, 3, low=0.5),)),
    ("pow-zero", lambda a: a**0 * a, (draw(2, 3),)),
    ("rpow", lambda a: 2.0**a, (draw(2, 3),)),
    ("square", lambda a: a.square(), (draw(2, 3),)),
    ("matmul-2d", lambda a, b: a @ b, (draw(2, 3), draw(3, 4, seed=1))),
    ("matmul-1d-2d", lambda a, b: a @ b, (draw(3), draw(3, 2, seed=1))),
    ("matmul-2d-1d", lambda a, b: a @ b, (draw(2, 3), draw(3, seed=1))),
    ("matmul-1d-1d", lambda a, b: a @ b, (draw(3), draw(3, seed=1))),
    ("matmul-batched", lambda a, b: a @ b, (draw(2, 2, 3), draw(3, 2, seed=1))),
    ("exp", lambda a: a.exp(), (draw(2, 3),)),
    ("log", lambda a: a.log(), (draw(2, 3, low=0.5),)),
    ("sqrt", lambda a: a.sqrt(), (draw(2, 3, low=0.5),)),
    ("abs", lambda a: a.abs() * a, (draw(2, 3, avoid_zero=True),)),
    ("sign", lambda a: a.sign() * a * a, (draw(2, 3, avoid_zero=True),)),
    ("relu", lambda a: a.relu() * a, (draw(2, 3, avoid_zero=True),)),
    ("sigmoid", lambda a: a.sigmoid(), (draw(2, 3),)),
    ("tanh", lambda a: a.tanh(), (draw(2, 3),)),
    ("clamp", lambda a: a.clamp(-1.0, 1.0) * a, (draw(2, 3),)),
    ("clamp-min", lambda a: a.clamp(min=0.3) ** 2, (draw(2, 3),)),
    ("where", lambda a, b: where(a > 0, a * b, b * b), (draw(2, 3), draw(2, 3, seed=1))),
    ("to", lambda a: a.to(DOUBLE) * a, (draw(2, 3),)),
    ("sum", lambda a: a.sum() * a, (draw(2, 3),)),
    ("sum-dim", lambda a: a.sum(1, keepdim=True) * a, (draw(2, 3),)),
    ("mean", lambda a: a.mean(0) * a, (draw(2, 3),)),
    ("max", lambda a: a.max() * a, (draw(2, 3),)),
    ("min", lambda a: a.min() * a, (draw(2, 3),)),
    ("max-dim", lambda a: a.max(1).values.unsqueeze(1) * a, (draw(2, 3),)),
    ("min-dim", lambda a: a.min(0, keepdim=True).values * a, (draw(2, 3),)),
    ("softmax", lambda a: a.softmax(1), (draw(2, 3),)),
    ("softmax-dim0", lambda a: a.softmax(0), (draw(2, 3),)),
    ("log-softmax", lambda a: a.log_softmax(1), (draw(2, 3),)),
    ("transpose", lambda a: a.t() @ a, (draw(2, 3),)),
    ("permute", lambda a: a.permute(1, 0) * a.t(), (draw(2, 3),)),
    ("reshape", lambda a: a.reshape(3, 2) * a.reshape(3, 2), (draw(2, 3),)),
    ("view", lambda a: a.view(6) * a.view(6), (draw(2, 3),)),
    ("unsqueeze-squeeze", lambda a: a.unsqueeze(0).squeeze(0) * a, (draw(2, 3),)),
    ("expand", lambda a: a.expand(2, 3) * a.expand(2, 3), (draw(1, 3),)),
    ("repeat", lambda a: a.repeat(2, 1) ** 2, (draw(2, 3),)),
    ("clone", lambda a: a.clone() * a, (draw(2, 3),)),
    ("index-basic", lambda a: a[1:, ::2] ** 2, (draw(3, 3),)),
    ("index-tensor", lambda a: a[torch.tensor([0, 0, 2])] ** 2, (draw(3, 2),)),
    ("index-mask", lambda a: a[MASK] ** 2, (draw(2, 3),)),
    ("cat", lambda a, b: library(a).cat([a * b, b], 1) ** 2, (draw(2, 3), draw(2, 3, seed=1))),
    ("stack", lambda a, b: library(a).stack([a, b * a], 0) ** 2, (draw(3), draw(3, seed=1))),
    ("linear", lambda x, w, b: F(x).linear(x, w, b) ** 2, (draw(4, 3), draw(2, 3), draw(2))),
    ("linear-3d", lambda x, w: F(x).linear(x, w) ** 2, (draw(2, 2, 3), draw(2, 3, seed=1))),
    ("mse", lambda x, y: F(x).mse_loss(x * x, y), (draw(2, 3), draw(2, 3, seed=1))),
    ("mse-sum", lambda x, y: F(x).mse_loss(x, y * y, reduction="sum"), (draw(2, 3), draw(2, 3))),
    ("mse-none", lambda x, y: F(x).mse_loss(x, y, reduction="none") ** 2, (draw(2, 3), draw(2, 3))),
    ("cross-entropy", lambda x, labels: F(x).cross_entropy(x, labels), (draw(2, 3), LABELS)),
    (
        "cross-entropy-probabilities",
        lambda x, p: F(x).cross_entropy(x, p.softmax(1), reduction="sum"),
        (draw(2, 3), draw(2, 3, seed=1)),
    ),
    (
        "cross-entropy-none",
        lambda x, labels: F(x).cross_entropy(x, labels, reduction="none") ** 2,
        (draw(2, 3), LABELS),
    ),
]


def leaves_for_torch(inputs):
    return [
        value.clone().requires_grad_() if value.is_floating_point() else value for value in inputs
    ]


def leaves_for_us(inputs):
    return [Variable(value.clone()) if value.is_floating_point() else value for value in inputs]


def derivatives(fn, leaves, grad_fn, make_leaf, orders=3):
    """[first, second, third] derivatives along fixed random directions: the vjp with v, then
    the gradient of <vjp, u> (a Hessian-vector product), then of <that, w>. v counts as an
    input from the second order on, so linear functions are covered too."""
    generator = torch.Generator().manual_seed(1)
    floats = [leaf for leaf in leaves if not isinstance(leaf, torch.Tensor) or leaf.requires_grad]
    output = fn(*leaves)
    v = make_leaf([torch.randn(output.shape, dtype=DOUBLE, generator=generator)])[0]
    wrt = floats
    results = []
    current = grad_fn(output, wrt, v, create_graph=True)
    results.append(current)
    wrt = [*floats, v]
    for _ in range(orders - 1):
        directions = [torch.randn(leaf.shape, dtype=DOUBLE, generator=generator) for leaf in floats]
        pairs = [(g, d) for g, d in zip(current, directions, strict=False) if g is not None]
        total = sum((g * d).sum() for g, d in pairs) if pairs else None
        if total is None or not total.requires_grad:
            current = [None] * len(wrt)
        else:
            current = grad_fn(total, wrt, None, create_graph=True)
        results.append(current)
    return results


def torch_grad(output, inputs, grad_output, create_graph):
    return torch.autograd.grad(
        output, inputs, grad_output, create_graph=create_graph, allow_unused=True
    )


def our_grad(output, inputs, grad_output, create_graph):
    return autogradlib.grad(
        output, inputs, grad_output, create_graph=create_graph, allow_unused=True
    )


def as_tensor(value, like):
    if value is None:
        return torch.zeros_like(like)
    return value.tensor if isinstance(value, Variable) else value.detach()


def check_orders_against_torch(fn, inputs):
    """First, second and third derivatives of fn at inputs equal torch.autograd's."""
    expected = derivatives(fn, leaves_for_torch(inputs), torch_grad, leaves_for_torch)
    actual = derivatives(fn, leaves_for_us(inputs), our_grad, leaves_for_us)
    for order, (ours, theirs) in enumerate(zip(actual, expected, strict=True), start=1):
        for index, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
            if reference is None and mine is None:
                continue
            like = reference if reference is not None else as_tensor(mine, torch.zeros(()))
            torch.testing.assert_close(
                as_tensor(mine, like),
                as_tensor(reference, as_tensor(mine, like)),
                atol=1e-9,
                rtol=1e-7,
                msg=lambda message, order=order, index=index: (
                    f"order {order}, input {index}: {message}"
                ),
            )


@pytest.mark.parametrize(("fn", "inputs"), [pytest.param(f, i, id=n) for n, f, i in CASES])
def test_derivatives_up_to_third_order_match_torch(fn, inputs):
    check_orders_against_torch(fn, inputs)


@pytest.mark.parametrize(("fn", "inputs"), [pytest.param(f, i, id=n) for n, f, i in CASES])
def test_gradgradcheck_passes_for_every_operator(fn, inputs):
    assert gradgradcheck(fn, inputs)


def torch_network():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(2, 5),
        torch.nn.ReLU(),
        torch.nn.Linear(5, 4),
        torch.nn.Tanh(),
        torch.nn.Linear(4, 3),
        torch.nn.Sigmoid(),
        torch.nn.Linear(3, 2),
        torch.nn.Softmax(dim=1),
    ).double()


def our_network(reference):
    model = nn.Sequential(
        nn.Linear(2, 5, dtype=DOUBLE),
        nn.ReLU(),
        nn.Linear(5, 4, dtype=DOUBLE),
        nn.Tanh(),
        nn.Linear(4, 3, dtype=DOUBLE),
        nn.Sigmoid(),
        nn.Linear(3, 2, dtype=DOUBLE),
        nn.Softmax(dim=1),
    )
    model.load_state_dict(reference.state_dict())
    return model


@pytest.mark.parametrize("rows", [4, 600])  # 600: the chain's transposed layout
def test_a_sequential_chain_has_torch_second_and_third_derivatives(rows):
    reference = torch_network()
    model = our_network(reference)
    inputs = draw(rows, 2)
    targets = draw(rows, 2, seed=3)
    out = model(Variable(inputs, requires_grad=False))
    assert isinstance(out.grad_op, ops.Chain)
    torch_leaves = [inputs.clone().requires_grad_(), *reference.parameters()]
    expected = derivatives(
        lambda x, *_: torch_functional.mse_loss(reference(x), targets),
        torch_leaves,
        torch_grad,
        leaves_for_torch,
    )
    actual = derivatives(
        lambda x, *_: our_functional.mse_loss(model(x), targets),
        [Variable(inputs.clone()), *model.parameters()],
        our_grad,
        leaves_for_us,
    )
    for ours, theirs in zip(actual, expected, strict=True):
        for mine, reference_grad in zip(ours, theirs, strict=True):
            like = as_tensor(reference_grad, torch.zeros(()))
            torch.testing.assert_close(as_tensor(mine, like), like)


def test_chain_gradgradcheck_with_respect_to_the_input():
    model = our_network(torch_network())
    assert gradgradcheck(lambda x: model(x), (draw(3, 2),))
