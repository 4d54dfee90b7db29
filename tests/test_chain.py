"""Sequential records runs of built-in layers as one ChainOperator: same values, same gradients,
same errors as layer by layer, and torch's results in float64."""

import itertools

import pytest
import torch
from hypothesis import given, strategies as st
from oracle import moderate

from autogradlib import Variable, detect_anomaly, gradcheck, nn, no_grad, operators as ops
from autogradlib.errors import DTypeError, GraphError, ShapeError
from autogradlib.operators.fused import TALL

ACTIVATIONS = {
    "relu": (nn.ReLU, torch.relu),
    "tanh": (nn.Tanh, torch.tanh),
    "sigmoid": (nn.Sigmoid, torch.sigmoid),
}


@st.composite
def networks(draw):
    """Layer specs of a small float64 network, its input shape and which leaves need grad."""
    widths = draw(st.lists(st.integers(1, 6), min_size=2, max_size=5))
    layers = []
    for fan_in, fan_out in itertools.pairwise(widths):
        layers.append(("linear", fan_in, fan_out, draw(st.booleans())))
        if draw(st.booleans()):
            layers.append((draw(st.sampled_from(sorted(ACTIVATIONS))),))
    if draw(st.booleans()):
        layers.append(
            (draw(st.sampled_from(["softmax", "log_softmax"])), draw(st.sampled_from([-1, 1])))
        )
    rows = draw(st.sampled_from([1, 3, 8, TALL + 3]))
    shape = (rows, widths[0]) if draw(st.booleans()) else (2, rows, widths[0])
    if len(shape) == 3 and layers[-1][0] in ("softmax", "log_softmax"):
        layers[-1] = (layers[-1][0], -1)  # dim 1 of a 3-D input would mix rows
    return layers, shape, draw(st.booleans()), draw(st.integers(0, 2**16))


def build(layers, seed: int, frozen: bool):
    """The network in Autogradlib and the same computation in torch, sharing weights."""
    generator = torch.Generator().manual_seed(seed)
    ours, theirs, leaves = [], [], []
    for index, spec in enumerate(layers):
        kind = spec[0]
        if kind == "linear":
            _, fan_in, fan_out, bias = spec
            layer = nn.Linear(fan_in, fan_out, bias, dtype=torch.float64, generator=generator)
            if bias:
                layer.bias.tensor.normal_(generator=generator)
            if frozen and index == 0:
                layer.weight.requires_grad_(False)  # a frozen first weight, as in fine-tuning
            ours.append(layer)
            weight = layer.weight.tensor.clone().requires_grad_(layer.weight.requires_grad)
            bias_tensor = layer.bias.tensor.clone().requires_grad_() if bias else None
            leaves.append((layer.weight, weight))
            if bias:
                leaves.append((layer.bias, bias_tensor))
            theirs.append(lambda x, w=weight, b=bias_tensor: torch.nn.functional.linear(x, w, b))
        elif kind in ACTIVATIONS:
            module, function = ACTIVATIONS[kind]
            ours.append(module())
            theirs.append(function)
        else:
            dim = spec[1]
            ours.append(nn.Softmax(dim) if kind == "softmax" else nn.LogSoftmax(dim))
            theirs.append(lambda x, kind=kind, dim=dim: getattr(torch, kind)(x, dim))
    return nn.Sequential(*ours), theirs, leaves


@moderate
@given(networks())
def test_a_chained_sequential_gives_torchs_values_and_gradients(network):
    layers, shape, input_needs_grad, seed = network
    model, functions, leaves = build(layers, seed, frozen=seed % 3 == 0)
    data = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x = Variable(data.clone(), requires_grad=input_needs_grad)
    torch_input = data.clone().requires_grad_(input_needs_grad)
    expected = torch_input
    for function in functions:
        expected = function(expected)

    output = model(x)
    torch.testing.assert_close(output.tensor, expected.detach())
    if len(layers) > 1 and output.requires_grad:
        assert isinstance(output.grad_op, ops.Chain)
    if not expected.requires_grad:
        assert not output.requires_grad
        return
    gradient = torch.randn(expected.shape, dtype=torch.float64)
    expected.backward(gradient)
    output.backward(gradient)
    if input_needs_grad:
        torch.testing.assert_close(x.grad, torch_input.grad)
    for ours, theirs in leaves:
        if theirs.requires_grad:
            torch.testing.assert_close(ours.grad, theirs.grad)
            assert ours.grad.is_contiguous()
        else:
            assert ours.grad is None


def test_input_gradient_matches_torch_at_tall_and_short_batches():
    for rows in (4, TALL, 2 * TALL):
        generator = torch.Generator().manual_seed(rows)
        layers = [("linear", 3, 5, True), ("relu",), ("linear", 5, 2, True), ("softmax", 1)]
        model, functions, leaves = build(layers, rows, frozen=False)
        data = torch.randn(rows, 3, dtype=torch.float64, generator=generator)
        x, theirs = Variable(data.clone()), data.clone().requires_grad_()
        expected = theirs
        for function in functions:
            expected = function(expected)
        gradient = torch.randn(rows, 2, dtype=torch.float64, generator=generator)
        model(x).backward(gradient)
        expected.backward(gradient)
        torch.testing.assert_close(x.grad, theirs.grad)
        assert x.grad.is_contiguous()
        for ours, reference in leaves:
            torch.testing.assert_close(ours.grad, reference.grad)


def test_a_tall_output_in_a_transposed_layout_can_still_be_viewed():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(TALL, 3)
    output = model(x)
    assert not output.tensor.is_contiguous()  # out^T = W x^T, handed on without a copy
    flat = output.view(-1)
    assert flat.shape == (2 * TALL,)
    torch.testing.assert_close(flat.tensor, model[2](model[1](model[0](x))).tensor.view(-1))
    flat.sum().backward()
    assert model[0].weight.grad.is_contiguous()


def test_the_chain_passes_gradcheck():
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=torch.float64),
        nn.Tanh(),
        nn.Linear(4, 2, dtype=torch.float64),
        nn.Softmax(1),
    )
    assert gradcheck(lambda x: model(x), torch.randn(5, 3, dtype=torch.float64))
    assert gradcheck(lambda x: model(x), torch.randn(TALL + 1, 3, dtype=torch.float64))


def reference_model() -> nn.Sequential:
    generator = torch.Generator().manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, 4, generator=generator),
        nn.ReLU(),
        nn.Linear(4, 2, generator=generator),
        nn.Softmax(1),
    )


def test_layers_of_other_kinds_split_the_sequential_into_runs():
    class Doubled(nn.Module):
        def forward(self, input):
            return input * 2

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), Doubled(), nn.Linear(3, 2), nn.Tanh())
    output = model(torch.randn(4, 2))
    assert isinstance(output.grad_op, ops.Chain)
    assert output.grad_op.stage_labels() == [("Linear", 2), ("Tanh", 0)]
    doubled = output.grad_op.sources()[0]
    assert doubled.label == "Mul"
    assert doubled.sources()[0].stage_labels() == [("Linear", 2), ("ReLU", 0)]


def test_a_subclass_that_overrides_forward_is_called_as_itself():
    class NoisyLinear(nn.Linear):
        calls = 0

        def forward(self, input):
            NoisyLinear.calls += 1
            return super().forward(input)

    model = nn.Sequential(NoisyLinear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    model(torch.randn(4, 2))
    assert NoisyLinear.calls == 1


def test_appending_a_layer_is_seen_by_the_next_forward():
    model = reference_model()
    assert model(torch.randn(3, 2)).shape == (3, 2)
    model.append(nn.Linear(2, 5))
    output = model(torch.randn(3, 2))
    assert output.shape == (3, 5)
    assert output.grad_op.stage_labels()[-1] == ("Linear", 2)


def test_a_wrong_input_raises_the_layer_by_layer_error():
    model = reference_model()
    with pytest.raises(ShapeError, match=r"Sequential layer \(0\): Linear\(in_features=2"):
        model(torch.randn(3, 5))
    with pytest.raises(DTypeError, match=r"Sequential layer \(0\): Linear: operands"):
        model(torch.randn(3, 2, dtype=torch.float64))


def test_without_grad_or_under_anomaly_detection_each_layer_is_its_own_operator():
    model = reference_model()
    with no_grad():
        assert model(torch.randn(3, 2)).grad_op is None
    with detect_anomaly():
        output = model(torch.randn(3, 2))
    assert output.grad_op.label == "Softmax"


def test_retain_graph_lets_a_chain_run_backward_twice_and_then_releases_it():
    model = reference_model()
    x = Variable(torch.randn(3, 2))
    loss = model(x).square().sum()
    loss.backward(retain_graph=True)
    first = [parameter.grad.clone() for parameter in model.parameters()]
    loss.backward()
    for parameter, once in zip(model.parameters(), first, strict=True):
        torch.testing.assert_close(parameter.grad, 2 * once)
    with pytest.raises(GraphError, match="already released"):
        loss.backward()


def test_view_copies_a_layout_torch_cannot_view_but_still_rejects_a_wrong_size():
    x = Variable(torch.randn(2, 3, dtype=torch.float64))
    torch.testing.assert_close(x.t().view(-1).tensor, x.tensor.t().reshape(-1))
    assert gradcheck(lambda a: a.t().view(6), x.tensor)
    for viewed in (x, x.t()):
        with pytest.raises(ShapeError, match="View"):
            viewed.view(7)


def test_a_layer_used_twice_gets_both_uses_gradients():
    layer = nn.Linear(3, 3, dtype=torch.float64)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    x = torch.randn(5, 3, dtype=torch.float64)
    model(x).sum().backward()
    weight = layer.weight.tensor.clone().requires_grad_()
    bias = layer.bias.tensor.clone().requires_grad_()

    def twin(t):
        return torch.nn.functional.linear(t, weight, bias)

    twin(twin(x).relu()).sum().backward()
    torch.testing.assert_close(layer.weight.grad, weight.grad)
    torch.testing.assert_close(layer.bias.grad, bias.grad)


def test_a_nested_sequential_is_called_as_a_layer_and_chains_its_own_layers():
    inner = nn.Sequential(nn.Linear(3, 3), nn.Tanh())
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), inner, nn.Linear(3, 1), nn.Sigmoid())
    output = model(torch.randn(4, 2))
    labels = [output.grad_op.stage_labels()]
    source = output.grad_op.sources()[0]
    while source is not None:
        labels.append(source.stage_labels())
        source = source.sources()[0]
    assert labels == [
        [("Linear", 2), ("Sigmoid", 0)],
        [("Linear", 2), ("Tanh", 0)],
        [("Linear", 2), ("ReLU", 0)],
    ]
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "2.0.weight", "2.0.bias", "3.weight", "3.bias",
    ]  # fmt: skip


class Doubling:
    """A mixin in the usual shape of LoRA or logging mixins: it wraps the layer's forward."""

    def forward(self, input):
        return super().forward(input) * 2


class DoubledLinear(Doubling, nn.Linear):
    pass


def patched_models():
    """Sequentials whose Linear's forward is not the built-in one, in three ways."""
    mixin = nn.Sequential(DoubledLinear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    class PatchedLinear(nn.Linear):
        pass

    PatchedLinear.forward = lambda self, input: nn.Linear.forward(self, input) * 2
    patched_class = nn.Sequential(PatchedLinear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    patched_instance = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    first = patched_instance[0]
    patched_instance(torch.randn(2, 3))  # planned before the patch: it must still be seen
    first.forward = lambda input: nn.Linear.forward(first, input) * 2
    return [mixin, patched_class, patched_instance]


@pytest.mark.parametrize("model", patched_models(), ids=["mixin", "class", "instance"])
def test_a_layer_whose_forward_was_replaced_is_called_as_itself(model):
    x = torch.randn(5, 3)
    with no_grad():
        expected = model(x).tensor  # layer by layer: every forward is called
    output = model(x)
    torch.testing.assert_close(output.tensor, expected)
    first = model[0]
    torch.testing.assert_close(
        output.tensor, model[2](model[1](first.forward(Variable(x, requires_grad=False)))).tensor
    )
    if isinstance(output.grad_op, ops.Chain):  # the patched layer is never one of its stages
        assert output.grad_op.stage_labels() == [("ReLU", 0), ("Linear", 2)]


def test_a_failed_chain_leaves_no_trace_in_the_layers_error():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(ShapeError) as raised:
        model(torch.randn(TALL + 1, 4))
    error, seen = raised.value, []
    while error is not None:
        seen.append(str(error))
        error = error.__cause__ or error.__context__
    assert seen[0].startswith("Sequential layer (0): Linear(in_features=3")
    assert not [message for message in seen if message.startswith("Sequential:")]


def test_a_weight_of_another_width_is_used_as_torch_uses_it_with_or_without_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].weight = Variable(torch.randn(4, 5))
    x = torch.randn(6, 5)
    with no_grad():
        expected = model(x).tensor
    torch.testing.assert_close(model(x).tensor, expected)


def test_a_sequential_pickled_before_chains_existed_still_runs():
    model = reference_model()
    del model.__dict__["_runs"]  # what unpickling an older Sequential gives
    assert isinstance(model(torch.randn(3, 2)).grad_op, ops.Chain)
