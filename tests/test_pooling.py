"""Pooling against torch.nn in float64: outputs and gradients over a table of arguments, numerical
gradchecks, the layers' repr, and errors."""

import pytest
import torch
import torch.nn.functional as torch_functional
from hypothesis import given, strategies as st
from oracle import check_against_torch, moderate

from autogradlib import ShapeError, Variable, gradcheck, nn
from autogradlib.nn import functional as F

DOUBLE = torch.float64


def functional(value):
    """torch's nn.functional for torch tensors, ours for Variables: one fn runs on both."""
    return torch_functional if isinstance(value, torch.Tensor) else F


def random(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


def with_ties(*shape) -> torch.Tensor:
    """Small whole numbers: windows hold several equal maxima, as after a ReLU."""
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 3, shape, generator=generator).to(DOUBLE)


# input shape, max_pool2d's keyword arguments
MAX_POOL_TABLE = [
    pytest.param((2, 3, 8, 8), {"kernel_size": 2}, id="k2"),
    pytest.param((2, 2, 7, 9), {"kernel_size": 3, "stride": 2, "padding": 1}, id="k3-s2-p1"),
    pytest.param((2, 2, 7, 8), {"kernel_size": (2, 3), "stride": 1}, id="overlapping"),
    pytest.param((1, 2, 7, 7), {"kernel_size": 2, "ceil_mode": True}, id="ceil"),
    pytest.param(
        (1, 2, 8, 7),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        id="ceil-padded",
    ),
    pytest.param((2, 1, 9, 8), {"kernel_size": 2, "dilation": (2, 1)}, id="dilation"),
    pytest.param((1, 3, 5, 5), {"kernel_size": 5}, id="global"),
    pytest.param((3, 6, 5), {"kernel_size": 2, "stride": (1, 2)}, id="unbatched"),
]


@pytest.mark.parametrize(("shape", "options"), MAX_POOL_TABLE)
def test_max_pool2d_matches_torch_in_output_and_gradient(shape, options):
    check_against_torch(lambda x: functional(x).max_pool2d(x, **options), random(*shape))


@pytest.mark.parametrize(("shape", "options"), MAX_POOL_TABLE[:4])
def test_max_pool2d_sends_the_gradient_of_ties_where_torch_does(shape, options):
    check_against_torch(lambda x: functional(x).max_pool2d(x, **options), with_ties(*shape))


@st.composite
def pooling_cases(draw, dilated: bool):
    """Random but valid pooling arguments: (input shape, keyword arguments)."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(
        draw(st.integers(max(1, r - 2 * p), r + 5)) for r, p in zip(reach, padding, strict=True)
    )
    options = {
        "kernel_size": kernel,
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "padding": padding,
        "ceil_mode": draw(st.booleans()),
    }
    if dilated:
        options["dilation"] = dilation
    else:
        options["count_include_pad"] = draw(st.booleans())
    return (*draw(st.sampled_from([(), (2,)])), 2, *size), options


@moderate
@given(case=pooling_cases(dilated=True))
def test_max_pool2d_matches_torch_on_drawn_arguments(case):
    shape, options = case
    check_against_torch(lambda x: functional(x).max_pool2d(x, **options), random(*shape))


@moderate
@given(case=pooling_cases(dilated=False))
def test_avg_pool2d_matches_torch_on_drawn_arguments(case):
    shape, options = case
    check_against_torch(lambda x: functional(x).avg_pool2d(x, **options), random(*shape))


def test_max_pool2d_of_a_channels_last_input_matches_torch():
    x = random(2, 3, 7, 6).to(memory_format=torch.channels_last)
    check_against_torch(lambda x: functional(x).max_pool2d(x, 3, 2, 1), x)


def test_max_pool2d_returns_torchs_indices_when_asked():
    x = random(2, 3, 6, 6)
    output, indices = F.max_pool2d(x, 2, return_indices=True)
    expected, expected_indices = torch_functional.max_pool2d(x, 2, return_indices=True)
    torch.testing.assert_close(output.tensor, expected)
    assert torch.equal(indices, expected_indices)
    layer_output, layer_indices = nn.MaxPool2d(3, 1, 1, return_indices=True)(Variable(x))
    expected, expected_indices = torch.nn.MaxPool2d(3, 1, 1, return_indices=True)(x)
    torch.testing.assert_close(layer_output.tensor, expected)
    assert torch.equal(layer_indices, expected_indices)


# input shape, avg_pool2d's keyword arguments
AVG_POOL_TABLE = [
    pytest.param((2, 3, 8, 8), {"kernel_size": 2}, id="k2"),
    pytest.param((2, 2, 7, 9), {"kernel_size": 3, "stride": 2, "padding": 1}, id="k3-s2-p1"),
    pytest.param(
        (2, 2, 7, 9),
        {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
        id="exclude-pad",
    ),
    pytest.param((2, 2, 7, 8), {"kernel_size": (2, 3), "stride": 1}, id="overlapping"),
    pytest.param((1, 2, 7, 7), {"kernel_size": 2, "ceil_mode": True}, id="ceil"),
    pytest.param(
        (1, 2, 8, 7),
        {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        id="ceil-padded",
    ),
    pytest.param(
        (1, 2, 8, 7),
        {
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "ceil_mode": True,
            "count_include_pad": False,
        },
        id="ceil-padded-exclude",
    ),
    pytest.param((1, 2, 7, 6), {"kernel_size": 3, "stride": 3}, id="leftover-rows"),
    pytest.param((2, 2, 6, 6), {"kernel_size": 2, "divisor_override": 3}, id="divisor"),
    pytest.param((3, 6, 5), {"kernel_size": 2, "stride": (1, 2)}, id="unbatched"),
]


@pytest.mark.parametrize(("shape", "options"), AVG_POOL_TABLE)
def test_avg_pool2d_matches_torch_in_output_and_gradient(shape, options):
    check_against_torch(lambda x: functional(x).avg_pool2d(x, **options), random(*shape))


def test_avg_pool2d_of_a_channels_last_input_matches_torch():
    x = random(2, 3, 7, 6).to(memory_format=torch.channels_last)
    check_against_torch(lambda x: functional(x).avg_pool2d(x, 3, 2, 1), x)


ADAPTIVE_TABLE = [
    pytest.param((2, 3, 7, 5), 1, id="global"),
    pytest.param((2, 3, 7, 5), (3, 2), id="uneven"),
    pytest.param((2, 3, 6, 6), (3, 3), id="even"),
    pytest.param((2, 3, 7, 5), (None, 2), id="none-entry"),
    pytest.param((1, 2, 4, 3), (6, 5), id="larger-than-input"),
    pytest.param((3, 7, 5), 2, id="unbatched"),
]


@pytest.mark.parametrize(("shape", "output_size"), ADAPTIVE_TABLE)
def test_adaptive_avg_pool2d_matches_torch_in_output_and_gradient(shape, output_size):
    x = random(*shape)
    check_against_torch(lambda x: functional(x).adaptive_avg_pool2d(x, output_size), x)


def test_global_adaptive_avg_pool2d_is_bit_identical_to_torchs_in_float32():
    x = torch.randn(4, 8, 5, 7, generator=torch.Generator().manual_seed(0))
    expected = torch_functional.adaptive_avg_pool2d(x, 1)
    assert torch.equal(F.adaptive_avg_pool2d(x, (1, 1)).tensor, expected)


def test_pooling_passes_gradcheck():
    x = random(1, 2, 5, 6)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), x)
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), x)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (4, 4)), x)


# --- The layers ----------------------------------------------------------------------------------

LAYERS = [
    pytest.param(nn.MaxPool2d, torch.nn.MaxPool2d, (2,), {}, id="max"),
    pytest.param(
        nn.MaxPool2d,
        torch.nn.MaxPool2d,
        ((3, 2),),
        {"stride": 1, "padding": 1, "dilation": 1, "ceil_mode": True},
        id="max-everything",
    ),
    pytest.param(nn.AvgPool2d, torch.nn.AvgPool2d, (2,), {}, id="avg"),
    pytest.param(
        nn.AvgPool2d,
        torch.nn.AvgPool2d,
        (3,),
        {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
        id="avg-all",
    ),
    pytest.param(nn.AdaptiveAvgPool2d, torch.nn.AdaptiveAvgPool2d, ((None, 3),), {}, id="adapt"),
    pytest.param(nn.AdaptiveAvgPool2d, torch.nn.AdaptiveAvgPool2d, (2,), {}, id="adaptive-int"),
]


@pytest.mark.parametrize(("ours", "theirs", "args", "options"), LAYERS)
def test_pooling_layer_repr_output_and_gradient_match_torch(ours, theirs, args, options):
    layer, expected = ours(*args, **options), theirs(*args, **options)
    assert repr(layer) == repr(expected)
    assert layer.state_dict() == {}
    check_against_torch(
        lambda x: (layer if isinstance(x, Variable) else expected)(x), random(2, 3, 7, 6)
    )


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer", [nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(2)], ids=repr
)
def test_pooling_rejects_inputs_that_are_neither_3d_nor_4d(layer):
    with pytest.raises(ShapeError, match=rf"{type(layer).__name__}\(.*3-D.*4-D.*\(8, 8\)"):
        layer(torch.randn(8, 8))


def test_window_larger_than_the_padded_input_names_the_shapes():
    with pytest.raises(ShapeError, match=r"MaxPool2d\(kernel_size=5.*window \(5, 5\).*\(4, 6\)"):
        nn.MaxPool2d(5, padding=(0, 1))(torch.randn(1, 1, 4, 4))
    with pytest.raises(ShapeError, match=r"avg_pool2d: the window \(3, 3\)"):
        F.avg_pool2d(torch.randn(1, 2, 2), 3)


def test_padding_over_half_the_window_is_refused_as_torch_refuses_it():
    for options in ({"padding": 2}, {"padding": 2, "dilation": 3}):
        with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half of kernel_"):
            F.max_pool2d(torch.randn(1, 1, 9, 9), 2, **options)
        with pytest.raises(RuntimeError):
            torch_functional.max_pool2d(torch.randn(1, 1, 9, 9), 2, **options)
