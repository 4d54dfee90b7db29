"""Optimizers against torch.optim, step for step in float64 on the reference network."""

import math

import pytest
import torch

from autogradlib import Variable, nn, optim
from autogradlib.data import make_disk_dataset, one_hot, standardize

DOUBLE = torch.float64
STEPS = 20
ATOL = 1e-12

CONFIGURATIONS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-6, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True}),
    ("RMSprop", {"lr": 0.001, "weight_decay": 0.1, "maximize": True}),
]
# Indexes into CONFIGURATIONS of the optimizers added later, for the state-dict tests.
ADAMW, RMSPROP_CENTERED_MOMENTUM = 11, 17


def disk_batch() -> tuple[torch.Tensor, torch.Tensor]:
    inputs, labels = make_disk_dataset(64, torch.Generator().manual_seed(1), DOUBLE)
    return standardize(inputs)[0], one_hot(labels, 2, DOUBLE)


def reference_network(seed: int = 0) -> nn.Sequential:
    generator = torch.Generator().manual_seed(seed)
    sizes = [(2, 25), (25, 25), (25, 25), (25, 2)]
    layers = []
    for inputs, outputs in sizes:
        layers += [nn.Linear(inputs, outputs, dtype=DOUBLE, generator=generator), nn.ReLU()]
    layers[-1] = nn.Softmax(dim=1)
    return nn.Sequential(*layers)


def torch_twin(model: nn.Sequential) -> torch.nn.Sequential:
    """torch's reference network with `model`'s weights."""
    tn = torch.nn
    layers = [tn.Linear(2, 25), tn.ReLU(), tn.Linear(25, 25), tn.ReLU(), tn.Linear(25, 25)]
    twin = tn.Sequential(*layers, tn.ReLU(), tn.Linear(25, 2), tn.Softmax(dim=1)).double()
    twin.load_state_dict(model.state_dict())
    return twin


def train(model, optimizer, loss_function, steps: int) -> None:
    inputs, targets = disk_batch()
    for _ in range(steps):
        optimizer.zero_grad()
        loss_function(model(inputs), targets).backward()
        optimizer.step()


def assert_same_parameters(model: nn.Module, twin: torch.nn.Module, atol: float = ATOL) -> None:
    pairs = zip(model.parameters(), twin.parameters(), strict=True)
    for variable, tensor in pairs:
        torch.testing.assert_close(variable.tensor, tensor.detach(), rtol=0, atol=atol)


@pytest.mark.parametrize(("name", "options"), CONFIGURATIONS, ids=str)
def test_optimizer_matches_torch_for_20_steps(name, options):
    model = reference_network()
    twin = torch_twin(model)
    train(model, getattr(optim, name)(model.parameters(), **options), nn.MSELoss(), STEPS)
    train(twin, getattr(torch.optim, name)(twin.parameters(), **options), torch.nn.MSELoss(), STEPS)
    assert not torch.equal(model[0].weight.tensor, reference_network()[0].weight.tensor)
    assert_same_parameters(model, twin)


@pytest.mark.parametrize(("name", "options"), CONFIGURATIONS, ids=str)
def test_given_the_same_gradients_the_update_is_bit_identical_to_torch(name, options):
    model = reference_network()
    twin = torch_twin(model)
    ours = getattr(optim, name)(model.parameters(), **options)
    theirs = getattr(torch.optim, name)(twin.parameters(), **options)
    generator = torch.Generator().manual_seed(2)
    for _ in range(5):
        for variable, tensor in zip(model.parameters(), twin.parameters(), strict=True):
            grad = torch.randn(tensor.shape, dtype=DOUBLE, generator=generator)
            variable.grad, tensor.grad = grad, grad.clone()
        ours.step()
        theirs.step()
    assert_same_parameters(model, twin, atol=0)


def test_parameter_groups_and_parameters_without_gradient_match_torch():
    model = reference_network()
    twin = torch_twin(model)

    def groups(network):
        layers = list(network)
        return [
            {"params": layers[0].parameters(), "lr": 0.2},
            {"params": [p for layer in layers[1:] for p in layer.parameters()]},
        ]

    ours = optim.SGD(groups(model), lr=0.05, momentum=0.9)
    theirs = torch.optim.SGD(groups(twin), lr=0.05, momentum=0.9)
    inputs, targets = disk_batch()
    for network, optimizer, loss_function in [
        (model, ours, nn.MSELoss()),
        (twin, theirs, torch.nn.MSELoss()),
    ]:
        for _ in range(5):
            optimizer.zero_grad()
            loss_function(network(inputs), targets).backward()
            network[2].bias.grad = None  # skipped by the step, as torch skips it
            optimizer.step()
    assert [group["lr"] for group in ours.param_groups] == [0.2, 0.05]
    assert torch.equal(model[2].bias.tensor, reference_network()[2].bias.tensor)
    assert_same_parameters(model, twin)


def test_step_never_writes_into_gradients():
    model = reference_network()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, maximize=True)
    adam = optim.Adam(model.parameters(), lr=0.1, weight_decay=0.1)
    inputs, targets = disk_batch()
    nn.MSELoss()(model(inputs), targets).backward()
    grads = [variable.grad.clone() for variable in model.parameters()]
    for _ in range(3):
        optimizer.step()
        adam.step()
    for variable, grad in zip(model.parameters(), grads, strict=True):
        assert torch.equal(variable.grad, grad)


@pytest.mark.parametrize(
    ("name", "options"),
    [CONFIGURATIONS[index] for index in (3, 8, ADAMW, RMSPROP_CENTERED_MOMENTUM)],
    ids=str,
)
def test_state_dict_round_trip_continues_as_if_uninterrupted(name, options):
    uninterrupted = reference_network()
    train(
        uninterrupted, getattr(optim, name)(uninterrupted.parameters(), **options), nn.MSELoss(), 20
    )

    first = reference_network()
    optimizer = getattr(optim, name)(first.parameters(), **options)
    train(first, optimizer, nn.MSELoss(), 10)
    # A module's state dict holds its live tensors, as torch's does; an optimizer's is a snapshot.
    saved_model = {name: tensor.clone() for name, tensor in first.state_dict().items()}
    saved_optimizer = optimizer.state_dict()
    train(first, optimizer, nn.MSELoss(), 3)

    resumed = reference_network(seed=1)
    resumed.load_state_dict(saved_model)
    resumed_optimizer = getattr(optim, name)(resumed.parameters(), lr=1.0)
    resumed_optimizer.load_state_dict(saved_optimizer)
    assert resumed_optimizer.param_groups[0]["lr"] == options["lr"]
    train(resumed, resumed_optimizer, nn.MSELoss(), 10)
    for variable, expected in zip(resumed.parameters(), uninterrupted.parameters(), strict=True):
        assert torch.equal(variable.tensor, expected.tensor)


@pytest.mark.parametrize(
    ("name", "options"),
    [CONFIGURATIONS[index] for index in (2, 9, ADAMW, RMSPROP_CENTERED_MOMENTUM)],
    ids=str,
)
def test_optimizer_state_dict_moves_to_torch_and_back(name, options):
    model = reference_network()
    optimizer = getattr(optim, name)(model.parameters(), **options)
    train(model, optimizer, nn.MSELoss(), 5)
    state = optimizer.state_dict()
    assert sorted(state) == ["param_groups", "state"]
    assert state["param_groups"][0]["params"] == list(range(8))

    twin = torch_twin(model)
    theirs = getattr(torch.optim, name)(twin.parameters(), **options)
    theirs.load_state_dict(state)
    assert sorted(theirs.state_dict()["state"][0]) == sorted(state["state"][0])
    train(model, optimizer, nn.MSELoss(), 5)
    train(twin, theirs, torch.nn.MSELoss(), 5)
    assert_same_parameters(model, twin)

    back = reference_network()
    back.load_state_dict(twin.state_dict())
    back_optimizer = getattr(optim, name)(back.parameters(), **options)
    back_optimizer.load_state_dict(theirs.state_dict())
    train(back, back_optimizer, nn.MSELoss(), 5)
    train(twin, theirs, torch.nn.MSELoss(), 5)
    assert_same_parameters(back, twin)


def test_load_state_dict_rejects_a_different_layout():
    model = reference_network()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    other = optim.SGD(list(model.parameters())[:2], lr=0.1)
    with pytest.raises(ValueError, match="group of 2 parameters"):
        optimizer.load_state_dict(other.state_dict())


INVALID = [
    ("SGD", {"lr": -0.1}, "lr -0.1"),
    ("SGD", {"lr": math.nan}, "lr nan"),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, "momentum -0.5"),
    ("SGD", {"lr": 0.1, "weight_decay": -1}, "weight_decay -1"),
    ("SGD", {"lr": 0.1, "dampening": -1}, "dampening -1"),
    ("SGD", {"lr": 0.1, "nesterov": True}, "nesterov"),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "dampening 0.1"),
    ("Adam", {"lr": -1e-3}, "lr -0.001"),
    ("Adam", {"lr": math.inf}, "lr inf"),
    ("Adam", {"betas": (1.0, 0.999)}, r"betas\[0\] 1.0"),
    ("Adam", {"betas": (0.9, -0.1)}, r"betas\[1\] -0.1"),
    ("Adam", {"betas": (0.9,)}, "betas"),
    ("Adam", {"eps": -1e-8}, "eps -1e-08"),
    ("Adam", {"weight_decay": -0.1}, "weight_decay -0.1"),
    ("Adam", {"lr": "0.1"}, "lr '0.1'"),
    ("AdamW", {"weight_decay": -0.1}, "AdamW: invalid weight_decay -0.1"),
    ("RMSprop", {"alpha": -0.5}, "RMSprop: invalid alpha -0.5"),
    ("RMSprop", {"momentum": -0.5}, "momentum -0.5"),
    ("RMSprop", {"eps": math.nan}, "eps nan"),
]


@pytest.mark.parametrize(("name", "options", "named"), INVALID, ids=str)
def test_invalid_hyperparameters_raise_value_error_naming_them(name, options, named):
    with pytest.raises(ValueError, match=named):
        getattr(optim, name)(reference_network().parameters(), **options)


def test_invalid_hyperparameter_in_a_group_is_rejected_too():
    model = reference_network()
    with pytest.raises(ValueError, match="lr -1"):
        optim.SGD([{"params": model.parameters(), "lr": -1}], lr=0.1)


def test_params_must_be_distinct_leaf_variables():
    model = reference_network()
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="Variables"):
        optim.SGD([torch.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([model[0].weight, model[0].weight], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([model[0].weight * 2])


def test_zero_grad_sets_gradients_to_none_and_step_returns_the_closure_loss():
    model = reference_network()
    optimizer = optim.Adam(model.parameters())
    inputs, targets = disk_batch()

    def closure():
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(inputs), targets)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert isinstance(loss, Variable) and model[0].weight.grad is not None
    optimizer.zero_grad()
    assert all(variable.grad is None for variable in model.parameters())


def test_optimizer_made_before_to_still_updates_the_moved_parameters():
    model = reference_network().to(torch.float32)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    model.to(DOUBLE)
    inputs, targets = disk_batch()
    nn.MSELoss()(model(inputs), targets).backward()
    before = model[0].weight.tensor.clone()
    optimizer.step()
    assert model[0].weight.dtype == DOUBLE
    assert not torch.equal(model[0].weight.tensor, before)


def test_torch_adamw_state_loaded_into_adam_keeps_decoupled_weight_decay():
    model = reference_network()
    twin = torch_twin(model)
    theirs = torch.optim.AdamW(twin.parameters(), lr=0.01, weight_decay=0.1)
    train(twin, theirs, torch.nn.MSELoss(), 3)
    model.load_state_dict(twin.state_dict())
    optimizer = optim.Adam(model.parameters())
    optimizer.load_state_dict(theirs.state_dict())
    assert optimizer.param_groups[0]["decoupled_weight_decay"] is True
    train(model, optimizer, nn.MSELoss(), 5)
    train(twin, theirs, torch.nn.MSELoss(), 5)
    assert_same_parameters(model, twin)


def test_adamw_and_rmsprop_defaults_are_torchs():
    model = reference_network()
    twin = torch_twin(model)
    for name in ("AdamW", "RMSprop"):
        ours = getattr(optim, name)(model.parameters()).param_groups[0]
        theirs = getattr(torch.optim, name)(twin.parameters()).param_groups[0]
        assert {key: value for key, value in theirs.items() if key in ours} | {
            "params": None
        } == ours | {"params": None}
