"""Convolution against torch.nn in float64: outputs and every gradient over a table of arguments,
numerical gradchecks, the layers' initialisation, repr, state dict and errors."""

import math

import pytest
import torch
import torch.nn.functional as torch_functional
from hypothesis import given, strategies as st
from oracle import check_against_torch, moderate

from autogradlib import ShapeError, Variable, gradcheck, nn
from autogradlib.nn import functional as F
from autogradlib.operators import convolution

DOUBLE = torch.float64
# torch's own conv2d warns that it copies the input for an even kernel under padding="same".
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


@pytest.fixture(params=["by-convolution", "by-unfolding"])
def weight_gradient_path(request, monkeypatch):
    """Each of the two ways the weight's gradient is computed, whatever the channel count."""
    channels = 0 if request.param == "by-convolution" else 1_000_000
    monkeypatch.setattr(convolution, "UNFOLD_CHANNELS", channels)


def functional(value):
    """torch's nn.functional for torch tensors, ours for Variables: one fn runs on both."""
    return torch_functional if isinstance(value, torch.Tensor) else F


def random(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


# input shape, weight shape, conv2d's keyword arguments
CONV2D_TABLE = [
    pytest.param((2, 3, 7, 7), (4, 3, 3, 3), {}, id="plain"),
    pytest.param((2, 3, 8, 9), (4, 3, 3, 3), {"stride": 2, "padding": 1}, id="stride2-pad1"),
    pytest.param((1, 2, 10, 11), (3, 2, 3, 3), {"stride": 3, "padding": 1}, id="stride3-leftover"),
    pytest.param((2, 2, 9, 8), (3, 2, 2, 3), {"stride": (3, 2)}, id="stride-over-kernel"),
    pytest.param((2, 3, 7, 6), (2, 3, 3, 3), {"padding": "same"}, id="same-odd"),
    pytest.param((2, 2, 6, 5), (3, 2, 4, 2), {"padding": "same"}, id="same-even-kernel"),
    pytest.param((2, 2, 9, 7), (3, 2, 3, 2), {"padding": "same", "dilation": 2}, id="same-dil"),
    pytest.param((2, 2, 6, 6), (3, 2, 3, 3), {"padding": "valid"}, id="valid"),
    pytest.param((2, 3, 9, 8), (4, 3, 3, 2), {"dilation": (2, 1), "padding": (2, 1)}, id="dil"),
    pytest.param((2, 4, 6, 7), (6, 2, 3, 3), {"groups": 2, "padding": 1}, id="groups2"),
    pytest.param((2, 4, 7, 7), (8, 1, 3, 3), {"groups": 4, "stride": 2}, id="depthwise"),
    pytest.param(
        (2, 6, 11, 9),
        (6, 2, 3, 2),
        {"groups": 3, "stride": (2, 3), "dilation": (1, 2)},
        id="groups-stride-dil",
    ),
    pytest.param((1, 1, 5, 5), (2, 1, 5, 5), {}, id="kernel-fills-input"),
    pytest.param((3, 4, 5, 5), (2, 4, 1, 1), {}, id="1x1"),
    pytest.param((1, 3, 6, 6), (4, 3, 3, 3), {"padding": 1}, id="batch-of-1"),
    pytest.param((3, 6, 5), (4, 3, 3, 3), {"padding": 1}, id="unbatched"),
    pytest.param((3, 6, 5), (4, 3, 2, 2), {"padding": "same"}, id="unbatched-same-even"),
]


@pytest.mark.usefixtures("weight_gradient_path")
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize(("input_shape", "weight_shape", "options"), CONV2D_TABLE)
def test_conv2d_matches_torch_in_output_and_every_gradient(
    input_shape, weight_shape, options, bias
):
    x, weight = random(*input_shape), random(*weight_shape, seed=1)
    operands = (x, weight, random(weight_shape[0], seed=2)) if bias else (x, weight)
    check_against_torch(lambda *a: functional(a[0]).conv2d(*a, **options), *operands)


@pytest.mark.usefixtures("weight_gradient_path")
@st.composite
def conv2d_cases(draw):
    """Random but valid conv2d arguments: (input shape, weight shape, keyword arguments)."""
    groups = draw(st.integers(1, 3))
    in_channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(
        draw(st.integers(0, (k - 1) * d)) for k, d in zip(kernel, dilation, strict=True)
    )
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    size = tuple(
        draw(st.integers(max(1, r - 2 * p), r + 4)) for r, p in zip(reach, padding, strict=True)
    )
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return (*batch, in_channels, *size), (out_channels, in_channels // groups, *kernel), options


@pytest.mark.usefixtures("weight_gradient_path")
@moderate
@given(case=conv2d_cases())
def test_conv2d_matches_torch_on_drawn_arguments(case):
    input_shape, weight_shape, options = case
    operands = (random(*input_shape), random(*weight_shape, seed=1), random(weight_shape[0]))
    check_against_torch(lambda *a: functional(a[0]).conv2d(*a, **options), *operands)


def test_conv2d_of_a_channels_last_input_matches_torch():
    x = random(2, 4, 7, 6).to(memory_format=torch.channels_last)
    weight, bias = random(6, 2, 3, 3, seed=1), random(6, seed=2)
    check_against_torch(
        lambda *a: functional(a[0]).conv2d(*a, stride=2, padding=1, groups=2), x, weight, bias
    )


def test_conv2d_of_a_plain_tensor_input_gives_the_weight_its_gradient():
    x, weight = random(2, 3, 5, 5), Variable(random(4, 3, 3, 3, seed=1))
    output = F.conv2d(x, weight, stride=2)
    assert output.grad_op.needs_input_grad == [False, True]
    output.sum().backward()
    theirs = weight.tensor.clone().requires_grad_()
    torch.conv2d(x, theirs, stride=2).sum().backward()
    torch.testing.assert_close(weight.grad, theirs.grad)


CONV1D_TABLE = [
    pytest.param((2, 3, 9), (4, 3, 3), {}, id="plain"),
    pytest.param((2, 4, 10), (6, 2, 3), {"stride": 3, "padding": 1, "groups": 2}, id="stride"),
    pytest.param((2, 2, 8), (3, 2, 4), {"padding": "same", "dilation": 3}, id="same-dil"),
    pytest.param((3, 7), (2, 3, 2), {"padding": "same"}, id="unbatched-same-even"),
]


@pytest.mark.parametrize(("input_shape", "weight_shape", "options"), CONV1D_TABLE)
@pytest.mark.usefixtures("weight_gradient_path")
def test_conv1d_matches_torch_in_output_and_every_gradient(input_shape, weight_shape, options):
    operands = (random(*input_shape), random(*weight_shape, seed=1), random(weight_shape[0]))
    check_against_torch(lambda *a: functional(a[0]).conv1d(*a, **options), *operands)


@pytest.mark.usefixtures("weight_gradient_path")
@pytest.mark.parametrize(
    ("input_shape", "weight_shape", "options"),
    [
        ((1, 2, 5, 4), (2, 1, 2, 3), {"stride": 2, "padding": 1, "groups": 2}),
        ((2, 1, 4, 5), (1, 1, 2, 2), {"padding": "same", "dilation": (1, 2)}),
    ],
)
def test_conv2d_passes_gradcheck(input_shape, weight_shape, options):
    operands = (random(*input_shape), random(*weight_shape, seed=1), random(weight_shape[0]))
    assert gradcheck(lambda *a: F.conv2d(*a, **options), *operands)


@pytest.mark.usefixtures("weight_gradient_path")
def test_conv1d_passes_gradcheck():
    operands = (random(2, 2, 6), random(3, 2, 3, seed=1), random(3, seed=2))
    assert gradcheck(lambda *a: F.conv1d(*a, stride=2, dilation=2, padding=1), *operands)


# --- The layers ----------------------------------------------------------------------------------

LAYER_ARGUMENTS = [
    pytest.param(nn.Conv2d, torch.nn.Conv2d, (3, 8, 3), {}, id="2d-default"),
    pytest.param(
        nn.Conv2d,
        torch.nn.Conv2d,
        (4, 6, (3, 2)),
        {"stride": 2, "padding": (1, 0), "dilation": (1, 2), "groups": 2, "bias": False},
        id="2d-everything",
    ),
    pytest.param(nn.Conv2d, torch.nn.Conv2d, (2, 4, 4), {"padding": "same"}, id="2d-same"),
    pytest.param(nn.Conv2d, torch.nn.Conv2d, (2, 4, 3), {"padding": "valid"}, id="2d-valid"),
    pytest.param(nn.Conv1d, torch.nn.Conv1d, (3, 5, 3), {"padding": 1}, id="1d"),
]


@pytest.mark.parametrize(("ours", "theirs", "args", "options"), LAYER_ARGUMENTS)
def test_layer_initialisation_repr_and_state_dict_match_torch(ours, theirs, args, options):
    torch.manual_seed(0)
    expected = theirs(*args, **options)
    torch.manual_seed(0)
    layer = ours(*args, **options)
    assert repr(layer) == repr(expected)
    state = layer.state_dict()
    assert list(state) == list(expected.state_dict())
    for key, value in expected.state_dict().items():
        assert torch.equal(state[key], value), f"{key} is not bit-identical to torch's"


@pytest.mark.parametrize(("ours", "theirs", "args", "options"), LAYER_ARGUMENTS)
def test_layer_matches_torch_after_loading_its_state_dict_both_ways(ours, theirs, args, options):
    expected = theirs(*args, **options).double()
    layer = ours(*args, **options, dtype=DOUBLE)
    layer.load_state_dict(expected.state_dict())
    dims = 2 if ours is nn.Conv2d else 1
    x = random(2, args[0], *(7,) * dims)
    output = layer(Variable(x.clone()))
    torch_input = x.clone().requires_grad_()
    torch_output = expected(torch_input)
    torch.testing.assert_close(output.tensor, torch_output.detach())
    grad_output = random(*torch_output.shape, seed=3)
    output.backward(grad_output)
    torch_output.backward(grad_output)
    for name, parameter in expected.named_parameters():
        torch.testing.assert_close(getattr(layer, name).grad, parameter.grad)

    # And back: random weights of ours into a fresh torch layer.
    for parameter in layer.parameters():
        parameter.tensor.copy_(random(*parameter.shape, seed=4))
    fresh = theirs(*args, **options).double()
    fresh.load_state_dict(layer.state_dict())
    torch.testing.assert_close(fresh(x), layer(x).tensor)


def test_conv2d_seeded_with_a_generator_draws_what_torch_draws_from_the_global_one():
    layer = nn.Conv2d(2, 3, 3, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(5)
    expected = torch.nn.Conv2d(2, 3, 3)
    assert torch.equal(layer.weight.tensor, expected.weight.detach())
    assert torch.equal(layer.bias.tensor, expected.bias.detach())


def test_conv2d_parameters_are_leaves_named_weight_and_bias():
    layer = nn.Conv2d(2, 3, 3)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert all(p.is_leaf and p.requires_grad for p in layer.parameters())
    assert nn.Conv2d(2, 3, 3, bias=False).bias is None


def test_conv2d_bias_bound_is_one_over_root_fan_in():
    layer = nn.Conv2d(4, 64, 3)
    bound = 1 / math.sqrt(4 * 9)
    assert float(layer.bias.tensor.abs().max()) <= bound
    assert float(layer.bias.tensor.abs().max()) > bound / 2


# --- Bad input -----------------------------------------------------------------------------------


def test_wrong_channel_count_names_the_layer_and_the_shapes():
    layer = nn.Conv2d(3, 4, 3)
    with pytest.raises(ShapeError, match=r"Conv2d\(3, 4.*\(2, 5, 8, 8\).*5 channels"):
        layer(torch.randn(2, 5, 8, 8))


def test_kernel_larger_than_the_padded_input_names_the_shapes():
    with pytest.raises(ShapeError, match=r"Conv2d.*kernel \(5, 5\).*padded input \(4, 6\)"):
        nn.Conv2d(1, 1, 5, padding=(0, 1))(torch.randn(1, 1, 4, 4))
    with pytest.raises(ShapeError, match=r"conv1d.*kernel \(3,\) \(spanning \(5,\)"):
        F.conv1d(torch.randn(1, 1, 4), torch.randn(1, 1, 3), dilation=2)


@pytest.mark.parametrize("shape", [(8, 8), (1, 2, 1, 8, 8)])
def test_conv2d_rejects_inputs_that_are_neither_3d_nor_4d(shape):
    with pytest.raises(ShapeError, match=r"Conv2d\(1, 1.*3-D \(unbatched\) or 4-D"):
        nn.Conv2d(1, 1, 3)(torch.randn(shape))


def test_bad_arguments_are_refused_as_torch_refuses_them():
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="strided"):
        F.conv2d(torch.randn(1, 1, 5, 5), torch.randn(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="invalid padding string 'full'"):
        nn.Conv2d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match="padding_mode 'reflect' is not supported"):
        nn.Conv2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ShapeError, match=r"bias of shape \(3,\)"):
        F.conv2d(torch.randn(1, 1, 5, 5), torch.randn(2, 1, 3, 3), torch.randn(3))


def test_drawing_of_a_conv_network_shows_one_box_per_layer_and_parameters_as_leaves():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3),
        nn.AvgPool2d(2),
    )  # fmt: skip
    output = model(torch.randn(2, 1, 8, 8))
    dot = output.draw_graph(dict(model.named_parameters()))
    labels = [line.split("label=")[1] for line in dot.body if "label=" in line]
    operators = [label.split()[0] for label in labels if "lightgrey" in label]
    assert sorted(operators) == ["AvgPool2d", "Conv2d", "Conv2d", "MaxPool2d", "ReLU"]
    leaves = [label.split('"')[1] for label in labels if "lightblue" in label]
    assert sorted(leaves) == [
        "0.bias\n(4)", "0.weight\n(4, 1, 3, 3)", "3.bias\n(8)", "3.weight\n(8, 4, 3, 3)",
    ]  # fmt: skip


class LeNet:
    """A torch.nn model definition, written once: `module` is torch.nn or autogradlib.nn."""

    @staticmethod
    def build(module):
        return module.Sequential(
            module.Conv2d(1, 4, 3, padding=1),
            module.ReLU(),
            module.MaxPool2d(2),
            module.Conv2d(4, 6, 3, padding="same", groups=2),
            module.ReLU(),
            module.AvgPool2d(2, ceil_mode=True),
            module.Conv2d(6, 8, 2, stride=1, bias=False),
            module.AdaptiveAvgPool2d(1),
        )


def test_a_conv_network_fed_by_a_dataloader_matches_torch_in_loss_and_every_gradient():
    torch.manual_seed(0)
    theirs = LeNet.build(torch.nn).double()
    ours = LeNet.build(nn).double()
    ours.load_state_dict(theirs.state_dict())
    images = torch.randn(10, 1, 9, 9, dtype=DOUBLE, generator=torch.Generator().manual_seed(1))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images), batch_size=4)
    for (batch,) in loader:
        expected = theirs(batch).square().sum()
        expected.backward()
        loss = ours(batch).square().sum()
        loss.backward()
        torch.testing.assert_close(loss.tensor, expected.detach())
    for name, parameter in theirs.named_parameters():
        torch.testing.assert_close(dict(ours.named_parameters())[name].grad, parameter.grad)


def test_reset_parameters_draws_what_torch_draws():
    layer, expected = nn.Conv1d(4, 6, 3, groups=2), torch.nn.Conv1d(4, 6, 3, groups=2)
    torch.manual_seed(3)
    expected.reset_parameters()
    torch.manual_seed(3)
    layer.reset_parameters()
    assert torch.equal(layer.weight.tensor, expected.weight.detach())
    assert torch.equal(layer.bias.tensor, expected.bias.detach())
