"""BatchNorm1d, BatchNorm2d, LayerNorm and their functional forms against torch.nn, in float64."""

import pytest
import torch
from hypothesis import given, strategies as st
from oracle import check_against_torch, few

from autogradlib import ShapeError, Variable, gradcheck, nn
from autogradlib.nn import functional as F

DOUBLE = torch.float64
ATOL = 1e-12


def functional(value):
    """torch's functional module for torch tensors, ours for Variables."""
    return torch.nn.functional if isinstance(value, torch.Tensor) else F


def randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


def twins(name: str, *args, **kwargs) -> tuple[nn.Module, torch.nn.Module]:
    """Our layer and torch's, built with the same arguments, holding the same random weights."""
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.copy_(randn(*parameter.shape, seed=parameter.numel()))
    ours = getattr(nn, name)(*args, **kwargs).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def assert_same_step(ours, theirs, values: torch.Tensor, seed: int) -> None:
    """One forward and backward on both: output, input, weight and bias gradients, state dict."""
    x = Variable(values.clone())
    torch_x = values.clone().requires_grad_()
    output = ours(x)
    expected = theirs(torch_x)
    torch.testing.assert_close(output.tensor, expected.detach(), rtol=0, atol=ATOL)
    grad_output = randn(*expected.shape, seed=seed)
    output.backward(grad_output)
    expected.backward(grad_output)
    torch.testing.assert_close(x.grad, torch_x.grad, rtol=0, atol=ATOL)
    for name, parameter in theirs.named_parameters():
        torch.testing.assert_close(
            ours.get_parameter(name).grad, parameter.grad, rtol=0, atol=ATOL, msg=name
        )
    assert_same_state(ours, theirs)


def assert_same_state(ours, theirs) -> None:
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(our_state) == list(their_state)
    for key, value in their_state.items():
        assert our_state[key].dtype == value.dtype, key
        torch.testing.assert_close(our_state[key], value, rtol=0, atol=ATOL, msg=key)


# --- BatchNorm: a table of cases, several training steps, then eval ------------------------------

BATCH_NORM_CASES = [
    pytest.param("BatchNorm1d", (8, 3), {}, id="1d-NC"),
    pytest.param("BatchNorm1d", (5, 3, 7), {}, id="1d-NCL-odd"),
    pytest.param("BatchNorm1d", (1, 3, 4), {}, id="1d-batch-of-1"),
    pytest.param("BatchNorm1d", (2, 3), {"momentum": None}, id="1d-cumulative-batch-2"),
    pytest.param("BatchNorm1d", (6, 3), {"affine": False, "eps": 1e-3}, id="1d-no-affine"),
    pytest.param("BatchNorm1d", (6, 3, 2), {"bias": False}, id="1d-no-bias"),
    pytest.param("BatchNorm2d", (4, 3, 5, 5), {}, id="2d"),
    pytest.param("BatchNorm2d", (1, 3, 3, 2), {"momentum": 0.3}, id="2d-batch-of-1"),
    pytest.param("BatchNorm2d", (3, 5, 7, 1), {"momentum": None}, id="2d-cumulative-odd"),
    pytest.param("BatchNorm2d", (4, 3, 4, 4), {"track_running_stats": False}, id="2d-no-stats"),
    pytest.param(
        "BatchNorm2d", (2, 3, 3, 3), {"affine": False, "track_running_stats": False}, id="2d-bare"
    ),
    pytest.param("BatchNorm2d", (4, 3, 5, 5), {"channels_last": True}, id="2d-channels-last"),
    pytest.param(
        "BatchNorm2d", (1, 6, 3, 3), {"channels_last": True, "momentum": None}, id="2d-cl-batch-1"
    ),
]


@pytest.mark.parametrize(("name", "shape", "options"), BATCH_NORM_CASES)
def test_batch_norm_matches_torch_in_training_steps_and_in_eval(name, shape, options):
    options = dict(options)
    channels_last = options.pop("channels_last", False)
    ours, theirs = twins(name, shape[1], **options)
    for step in range(4):
        values = randn(*shape, seed=10 + step) * (step + 1) + step  # statistics that move
        if channels_last:
            values = values.contiguous(memory_format=torch.channels_last)
        assert_same_step(ours, theirs, values, seed=20 + step)
    if options.get("track_running_stats", True):
        assert int(ours.num_batches_tracked) == 4
    ours.eval()
    theirs.eval()
    assert_same_step(ours, theirs, randn(*shape, seed=30) + 1, seed=31)
    ours.train()
    theirs.train()
    assert_same_step(ours, theirs, randn(*shape, seed=32), seed=33)


def test_batch_norm_keeps_the_running_tensors_in_place_and_in_the_state_dict():
    layer = nn.BatchNorm2d(2)
    running_mean, counter = layer.running_mean, layer.num_batches_tracked
    state = layer.state_dict()
    layer(Variable(torch.randn(3, 2, 4, 4) + 5))
    assert layer.running_mean is running_mean and layer.num_batches_tracked is counter
    assert state["running_mean"].abs().min() > 0.1 and int(state["num_batches_tracked"]) == 1
    assert state["num_batches_tracked"].dtype == torch.int64
    assert list(state) == list(torch.nn.BatchNorm2d(2).state_dict())


def test_batch_norm_updates_running_statistics_without_recording_too():
    from autogradlib import no_grad

    ours, theirs = twins("BatchNorm1d", 3)
    values = randn(5, 3, seed=1)
    with no_grad():
        output = ours(values)
    expected = theirs(values)
    assert not output.requires_grad
    torch.testing.assert_close(output.tensor, expected.detach(), rtol=0, atol=ATOL)
    assert_same_state(ours, theirs)


def test_batch_norm_state_dict_moves_both_ways_after_training():
    ours, theirs = twins("BatchNorm2d", 4, momentum=None)
    for step in range(3):
        theirs(randn(2, 4, 3, 3, seed=step) + step)
        ours(Variable(randn(2, 4, 3, 3, seed=100 + step)))
    fresh_ours = nn.BatchNorm2d(4, momentum=None).double()
    fresh_ours.load_state_dict(theirs.state_dict())
    fresh_theirs = torch.nn.BatchNorm2d(4, momentum=None).double()
    fresh_theirs.load_state_dict(ours.state_dict())
    assert_same_state(fresh_ours, theirs)
    assert_same_state(ours, fresh_theirs)
    for model, reference in ((fresh_ours, theirs), (ours, fresh_theirs)):
        assert_same_step(model.eval(), reference.eval(), randn(2, 4, 3, 3, seed=9), seed=8)
        # The counter goes on from the loaded value: momentum=None needs it.
        assert_same_step(model.train(), reference.train(), randn(2, 4, 3, 3, seed=7), seed=6)


def test_batch_norm_moves_to_float64_keeping_its_integer_counter():
    layer = nn.BatchNorm1d(3).double()
    assert layer.running_mean.dtype == DOUBLE and layer.weight.dtype == DOUBLE
    assert layer.num_batches_tracked.dtype == torch.int64


def test_batch_norm_reset_parameters_as_torch():
    ours, theirs = twins("BatchNorm1d", 3)
    ours(Variable(randn(4, 3)))
    theirs(randn(4, 3))
    ours.reset_parameters()
    theirs.reset_parameters()
    assert_same_state(ours, theirs)


@pytest.mark.parametrize(
    "options", [{}, {"momentum": None}, {"affine": False}, {"track_running_stats": False}]
)
def test_batch_norm_repr_matches_torch(options):
    assert repr(nn.BatchNorm2d(16, **options)) == repr(torch.nn.BatchNorm2d(16, **options))
    assert repr(nn.BatchNorm1d(3, eps=1e-3, bias=False)) == repr(
        torch.nn.BatchNorm1d(3, eps=1e-3, bias=False)
    )


# --- F.batch_norm --------------------------------------------------------------------------------

FUNCTIONAL_CASES = [
    pytest.param({"training": True}, id="training"),
    pytest.param({"training": True, "momentum": 0.5}, id="training-momentum"),
    pytest.param({"training": False}, id="eval"),
    pytest.param({"training": True, "weight_only": True}, id="weight-only"),
    pytest.param({"training": True, "bias_only": True}, id="bias-only"),
    pytest.param({"training": True, "no_stats": True}, id="no-running-stats"),
]


@pytest.mark.parametrize("case", FUNCTIONAL_CASES)
def test_functional_batch_norm_matches_torch(case):
    values, weight, bias = randn(4, 3, 2, 5, seed=1), randn(3, seed=2), randn(3, seed=3)
    stats = {name: (randn(3, seed=4), randn(3, seed=5).exp()) for name in ("ours", "theirs")}
    if case.get("no_stats"):
        stats = {"ours": (None, None), "theirs": (None, None)}

    def run(x, w, b):
        mean, var = stats["theirs" if isinstance(x, torch.Tensor) else "ours"]
        return functional(x).batch_norm(
            x,
            mean,
            var,
            None if case.get("bias_only") else w,
            None if case.get("weight_only") else b,
            training=case["training"],
            momentum=case.get("momentum", 0.1),
            eps=1e-4,
        )

    check_against_torch(run, values, weight, bias, atol=ATOL, rtol=0)
    if not case.get("no_stats"):
        for ours, theirs in zip(stats["ours"], stats["theirs"], strict=True):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=ATOL)


@given(
    shape=st.tuples(st.integers(2, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    dims=st.integers(2, 4),
    training=st.booleans(),
)
@few
def test_functional_batch_norm_on_drawn_shapes_matches_torch(shape, dims, training):
    shape = shape[:dims]
    values = randn(*shape, seed=sum(shape))
    weight, bias = randn(shape[1], seed=1), randn(shape[1], seed=2)
    mean, var = randn(shape[1], seed=3), randn(shape[1], seed=4).exp()

    def run(x, w, b):
        return functional(x).batch_norm(x, mean.clone(), var.clone(), w, b, training=training)

    check_against_torch(run, values, weight, bias, atol=1e-10, rtol=0)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_passes_gradcheck(training):
    mean, var = randn(3, seed=4), randn(3, seed=5).exp()

    def run(x, w, b):
        return F.batch_norm(x, mean.clone(), var.clone(), w, b, training=training)

    assert gradcheck(run, randn(3, 3, 2, 2), randn(3, seed=1), randn(3, seed=2))
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), randn(4, 3))


# --- LayerNorm -----------------------------------------------------------------------------------

LAYER_NORM_CASES = [
    pytest.param(5, (4, 5), {}, id="int"),
    pytest.param((5,), (2, 3, 5), {}, id="tuple-3d"),
    pytest.param((3, 5), (2, 3, 5), {"eps": 1e-3}, id="two-dims"),
    pytest.param((2, 3, 5), (2, 3, 5), {}, id="whole-input"),
    pytest.param(7, (1, 7), {"elementwise_affine": False}, id="no-affine"),
    pytest.param(4, (3, 4), {"bias": False}, id="no-bias"),
    pytest.param(1, (3, 1), {}, id="single-feature"),
]


@pytest.mark.parametrize(("normalized_shape", "shape", "options"), LAYER_NORM_CASES)
def test_layer_norm_matches_torch(normalized_shape, shape, options):
    ours, theirs = twins("LayerNorm", normalized_shape, **options)
    assert repr(ours) == repr(theirs)
    assert_same_step(ours, theirs, randn(*shape, seed=3) * 3 + 1, seed=4)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), trailing=st.integers(1, 4))
@few
def test_functional_layer_norm_on_drawn_shapes_matches_torch(shape, trailing):
    trailing = min(trailing, len(shape))
    normalized_shape = tuple(shape[len(shape) - trailing :])
    values = randn(*shape, seed=len(shape))
    weight, bias = randn(*normalized_shape, seed=1), randn(*normalized_shape, seed=2)

    def run(x, w, b):
        return functional(x).layer_norm(x, normalized_shape, w, b, eps=1e-5)

    check_against_torch(run, values, weight, bias, atol=1e-10, rtol=0)


def test_layer_norm_passes_gradcheck():
    def run(x, w, b):
        return F.layer_norm(x, (2, 3), w, b)

    assert gradcheck(run, randn(4, 2, 3), randn(2, 3, seed=1), randn(2, 3, seed=2))
    assert gradcheck(lambda x: F.layer_norm(x, 3), randn(2, 3))


# --- Bad input -----------------------------------------------------------------------------------


def test_bad_inputs_name_the_layer_and_the_shapes():
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(3.*\(N, C, H, W\).*\(4, 3, 5\)"):
        nn.BatchNorm2d(3)(Variable(torch.zeros(4, 3, 5)))
    with pytest.raises(ShapeError, match=r"BatchNorm2d\(3.*C = 3.*\(4, 2, 5, 5\)"):
        nn.BatchNorm2d(3)(Variable(torch.zeros(4, 2, 5, 5)))
    with pytest.raises(
        ShapeError, match=r"BatchNorm1d\(3.*\(N, C\) or \(N, C, L\).*\(4, 3, 1, 1\)"
    ):
        nn.BatchNorm1d(3)(Variable(torch.zeros(4, 3, 1, 1)))
    with pytest.raises(
        ShapeError, match=r"BatchNorm1d\(3.*more than 1 value per channel.*\(1, 3\)"
    ):
        nn.BatchNorm1d(3)(Variable(torch.zeros(1, 3)))
    with pytest.raises(ShapeError, match=r"LayerNorm\(\(4,\).*\(4,\).*\(2, 5\)"):
        nn.LayerNorm(4)(Variable(torch.zeros(2, 5)))
    with pytest.raises(ShapeError, match=r"LayerNorm\(\(2, 4\).*\(4,\)"):
        nn.LayerNorm((2, 4))(Variable(torch.zeros(4)))
    with pytest.raises(ShapeError, match=r"batch_norm.*\(4, 2\).*2 channels.*running_mean has 3"):
        F.batch_norm(Variable(torch.zeros(4, 2)), torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="running_mean and running_var must be given"):
        F.batch_norm(Variable(torch.zeros(4, 2)), None, None, training=False)
    with pytest.raises(ShapeError, match=r"layer_norm: weight has shape \(3,\).*\(4,\)"):
        F.layer_norm(Variable(torch.zeros(2, 4)), 4, Variable(torch.ones(3)))


def test_batch_norm_of_one_sample_works_in_eval_as_in_torch():
    ours, theirs = twins("BatchNorm1d", 3)
    ours.eval()
    theirs.eval()
    assert_same_step(ours, theirs, randn(1, 3), seed=1)


@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d"])
def test_batch_norm_in_float32_agrees_with_torch_to_float32_precision(name):
    shape = (16, 4, 5) if name == "BatchNorm1d" else (16, 4, 3, 3)
    theirs = getattr(torch.nn, name)(4)
    ours = getattr(nn, name)(4)
    values = torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 3 + 10
    for _ in range(3):
        x, torch_x = Variable(values.clone()), values.clone().requires_grad_()
        output, expected = ours(x), theirs(torch_x)
        torch.testing.assert_close(output.tensor, expected.detach())
        grad_output = torch.randn(shape, generator=torch.Generator().manual_seed(1))
        output.backward(grad_output)
        expected.backward(grad_output)
        torch.testing.assert_close(x.grad, torch_x.grad, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, atol=1e-4, rtol=1e-4)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, msg=key)
