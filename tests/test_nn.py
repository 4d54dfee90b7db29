"""Modules and losses against torch.nn: same weights through load_state_dict, float64."""

import collections

import pytest
import torch
from oracle import check_against_torch

from autogradlib import ShapeError, Variable, nn
from autogradlib.nn import functional as F

DOUBLE = torch.float64
ATOL = 1e-10


def reference_network(generator: torch.Generator, softmax: bool = True) -> nn.Sequential:
    """The seed's 2-25-25-25-2 network, in float64."""
    sizes = [(2, 25), (25, 25), (25, 25), (25, 2)]
    layers = []
    for index, (inputs, outputs) in enumerate(sizes):
        layers.append(nn.Linear(inputs, outputs, dtype=DOUBLE, generator=generator))
        if index < len(sizes) - 1:
            layers.append(nn.ReLU())
    if softmax:
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


def torch_reference_network(softmax: bool = True) -> torch.nn.Sequential:
    """The same architecture in torch.nn."""
    tn = torch.nn
    layers = [tn.Linear(2, 25), tn.ReLU(), tn.Linear(25, 25), tn.ReLU(), tn.Linear(25, 25)]
    layers += [tn.ReLU(), tn.Linear(25, 2)] + ([tn.Softmax(dim=1)] if softmax else [])
    return tn.Sequential(*layers).double()


def twin_networks(softmax: bool = True) -> tuple[nn.Sequential, torch.nn.Sequential]:
    """Our reference network and torch's, holding the same weights."""
    ours = reference_network(torch.Generator().manual_seed(0), softmax)
    theirs = torch_reference_network(softmax)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def random_inputs(rows: int = 32, seed: int = 1) -> torch.Tensor:
    return torch.randn(rows, 2, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


def assert_same_gradients(ours: nn.Module, theirs: torch.nn.Module) -> None:
    ours_named = dict(ours.named_parameters())
    theirs_named = dict(theirs.named_parameters())
    assert list(ours_named) == list(theirs_named)
    for name, variable in ours_named.items():
        torch.testing.assert_close(variable.grad, theirs_named[name].grad, rtol=0, atol=ATOL)


# --- The reference network and the losses --------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reference_network_with_mse_matches_torch(reduction):
    ours, theirs = twin_networks()
    inputs = random_inputs()
    labels = (inputs.square().sum(1) < 1).long()
    targets = torch.stack([1 - labels, labels], 1).to(DOUBLE)
    loss = nn.MSELoss(reduction)(ours(inputs), targets)
    expected = torch.nn.MSELoss(reduction=reduction)(theirs(inputs), targets)
    torch.testing.assert_close(loss.tensor, expected.detach(), rtol=0, atol=ATOL)
    loss.sum().backward()
    expected.sum().backward()
    assert_same_gradients(ours, theirs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("soft_targets", [False, True])
def test_reference_network_with_cross_entropy_on_logits_matches_torch(reduction, soft_targets):
    ours, theirs = twin_networks(softmax=False)
    inputs = random_inputs()
    targets = (inputs[:, 0] > 0).long()
    if soft_targets:
        targets = torch.rand(32, 2, dtype=DOUBLE, generator=torch.Generator().manual_seed(3))
        targets = targets / targets.sum(1, keepdim=True)
    loss = nn.CrossEntropyLoss(reduction=reduction)(ours(inputs), targets)
    expected = torch.nn.CrossEntropyLoss(reduction=reduction)(theirs(inputs), targets)
    torch.testing.assert_close(loss.tensor, expected.detach(), rtol=0, atol=ATOL)
    loss.sum().backward()
    expected.sum().backward()
    assert_same_gradients(ours, theirs)


def test_cross_entropy_accepts_int32_class_indices():
    logits = Variable(torch.randn(4, 3, dtype=DOUBLE))
    targets = torch.tensor([0, 2, 1, 2], dtype=torch.int32)
    loss = F.cross_entropy(logits, targets)
    expected = torch.nn.functional.cross_entropy(logits.tensor, targets.long())
    torch.testing.assert_close(loss.tensor, expected, rtol=0, atol=ATOL)


def test_losses_reject_mismatched_shapes_and_unknown_reductions():
    prediction = Variable(torch.zeros(4, 1, dtype=DOUBLE))
    with pytest.raises(ShapeError, match=r"\(4, 1\).*\(4,\)"):
        nn.MSELoss()(prediction, torch.zeros(4, dtype=DOUBLE))
    with pytest.raises(ShapeError, match="cross_entropy"):
        nn.CrossEntropyLoss()(Variable(torch.zeros(4, 3, dtype=DOUBLE)), torch.zeros(5).long())
    with pytest.raises(ValueError, match="'average'"):
        nn.MSELoss(reduction="average")


# --- Activations and functional forms ------------------------------------------------------------

ACTIVATIONS = [
    (nn.ReLU(), torch.nn.ReLU()),
    (nn.Tanh(), torch.nn.Tanh()),
    (nn.Sigmoid(), torch.nn.Sigmoid()),
    (nn.Softmax(dim=0), torch.nn.Softmax(dim=0)),
    (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
    (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
    (nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0)),
]


@pytest.mark.parametrize(("ours", "theirs"), ACTIVATIONS, ids=lambda module: repr(module))
def test_activation_matches_torch(ours, theirs):
    generator = torch.Generator().manual_seed(2)
    values = torch.randn(5, 4, dtype=DOUBLE, generator=generator)
    grad_output = torch.randn(5, 4, dtype=DOUBLE, generator=generator)
    x = Variable(values)
    output = ours(x)
    output.backward(grad_output)
    torch_x = values.clone().requires_grad_()
    expected = theirs(torch_x)
    expected.backward(grad_output)
    torch.testing.assert_close(output.tensor, expected.detach(), rtol=0, atol=ATOL)
    torch.testing.assert_close(x.grad, torch_x.grad, rtol=0, atol=ATOL)
    assert repr(ours) == repr(theirs)


FUNCTIONS = [
    (lambda x, w, b: F.linear(x, w, b), torch.nn.functional.linear),
    (lambda x, w, b: F.linear(x, w), lambda x, w, b: torch.nn.functional.linear(x, w)),
    (lambda x, w, b: F.relu(x @ w.t()), lambda x, w, b: torch.nn.functional.relu(x @ w.t())),
    (lambda x, w, b: F.sigmoid(x), lambda x, w, b: torch.sigmoid(x)),
    (lambda x, w, b: F.tanh(x), lambda x, w, b: torch.tanh(x)),
    (lambda x, w, b: F.softmax(x, 1), lambda x, w, b: torch.nn.functional.softmax(x, 1)),
    (lambda x, w, b: F.log_softmax(x, 0), lambda x, w, b: torch.nn.functional.log_softmax(x, 0)),
    (
        lambda x, w, b: F.mse_loss(x, b.expand(4, 3), reduction="sum"),
        lambda x, w, b: torch.nn.functional.mse_loss(x, b.expand(4, 3), reduction="sum"),
    ),
    (
        lambda x, w, b: F.cross_entropy(x, torch.tensor([0, 2, 1, 2])),
        lambda x, w, b: torch.nn.functional.cross_entropy(x, torch.tensor([0, 2, 1, 2])),
    ),
]


@pytest.mark.parametrize(("ours", "theirs"), FUNCTIONS)
def test_functional_matches_torch_in_value_and_every_gradient(ours, theirs):
    generator = torch.Generator().manual_seed(4)
    shapes = [(4, 3), (3, 3), (3,)]  # input, weight, bias
    tensors = [torch.randn(*shape, dtype=DOUBLE, generator=generator) for shape in shapes]
    variables = [Variable(tensor) for tensor in tensors]
    torch_tensors = [tensor.clone().requires_grad_() for tensor in tensors]
    output = ours(*variables)
    expected = theirs(*torch_tensors)
    torch.testing.assert_close(output.tensor, expected.detach(), rtol=0, atol=ATOL)
    grad_output = torch.randn(expected.shape, dtype=DOUBLE, generator=generator)
    output.backward(grad_output)
    expected.backward(grad_output)
    for variable, torch_tensor in zip(variables, torch_tensors, strict=True):
        if torch_tensor.grad is None:
            assert variable.grad is None
        else:
            torch.testing.assert_close(variable.grad, torch_tensor.grad, rtol=0, atol=ATOL)


def test_linear_function_rejects_mismatched_weight():
    with pytest.raises(ShapeError, match=r"\(4, 3\).*\(2, 5\)"):
        F.linear(Variable(torch.zeros(4, 3)), Variable(torch.zeros(2, 5)))


# --- Dropout -------------------------------------------------------------------------------------


def test_dropout_in_training_zeroes_or_scales_and_gradient_follows_the_mask():
    dropout = nn.Dropout(0.25)
    values = torch.rand(100, 100, dtype=DOUBLE) + 1  # never 0, so a 0 output means dropped
    x = Variable(values)
    torch.manual_seed(5)
    output = dropout(x)
    output.sum().backward()
    kept = output.tensor != 0
    torch.testing.assert_close(output.tensor[kept], values[kept] / 0.75)
    torch.testing.assert_close(x.grad, kept.to(DOUBLE) / 0.75)
    assert 0.2 < 1 - kept.to(DOUBLE).mean().item() < 0.3
    torch.manual_seed(5)
    expected = torch.nn.functional.dropout(values, 0.25)
    torch.testing.assert_close(output.tensor, expected, rtol=0, atol=0)


def test_dropout_in_eval_is_the_identity():
    dropout = nn.Dropout(0.5).eval()
    x = Variable(torch.rand(10, 10, dtype=DOUBLE))
    assert dropout(x) is x
    assert dropout.train().training


def test_dropout_extremes_and_seeded_generator():
    x = Variable(torch.rand(6, 6, dtype=DOUBLE) + 1)
    assert torch.equal(F.dropout(x, 1.0).tensor, torch.zeros(6, 6, dtype=DOUBLE))
    assert F.dropout(x, 0.0) is x
    first = F.dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    second = F.dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first.tensor, second.tensor)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_rejects_probability_outside_unit_interval(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)


# --- Parameter discovery -------------------------------------------------------------------------


class Net(nn.Module):
    """A Variable, a Module, a list and a dict of Modules, a tied weight, a buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(2, 3)
        self.layers = [nn.Linear(3, 3), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3)]
        self.heads = {"a": nn.Linear(3, 1), "b": nn.Sigmoid()}
        self.scale = Variable(torch.ones(1))
        self.decoder = nn.Linear(3, 2)
        self.decoder.weight = self.encoder.weight
        self.sizes = [2, 3]  # not members: ignored
        self.register_buffer("count", torch.zeros(1, dtype=torch.long))


class TorchNet(torch.nn.Module):
    """Net, in torch.nn."""

    def __init__(self) -> None:
        super().__init__()
        tn = torch.nn
        self.encoder = tn.Linear(2, 3)
        self.layers = tn.ModuleList([tn.Linear(3, 3), tn.Linear(3, 3), tn.Tanh(), tn.Linear(3, 3)])
        self.heads = tn.ModuleDict({"a": tn.Linear(3, 1), "b": tn.Sigmoid()})
        self.scale = tn.Parameter(torch.ones(1))
        self.decoder = tn.Linear(3, 2)
        self.decoder.weight = self.encoder.weight
        self.register_buffer("count", torch.zeros(1, dtype=torch.long))


TorchNet.__name__ = "Net"  # so that both print as 'Net(...)'


def test_parameters_are_found_in_attributes_lists_and_dicts_once_each():
    net = Net()
    expected = [net.scale, net.encoder.weight, net.encoder.bias]
    for layer in (net.layers[0], net.layers[1], net.layers[3], net.heads["a"]):
        expected += [layer.weight, layer.bias]
    expected.append(net.decoder.bias)  # decoder.weight is encoder.weight, counted once
    assert [id(p) for p in net.parameters()] == [id(p) for p in expected]
    assert [id(p) for p in net.params()] == [id(p) for p in expected]


def test_named_parameters_state_dict_and_modules_are_named_as_torch_names_them():
    net, torch_net = Net(), TorchNet()
    assert [name for name, _ in net.named_parameters()] == [
        name for name, _ in torch_net.named_parameters()
    ]
    assert list(net.state_dict()) == list(torch_net.state_dict())
    assert [name for name, _ in net.named_buffers()] == ["count"]
    torch_modules = [name for name, module in torch_net.named_modules()]
    containers = ["layers", "heads"]  # ModuleList and ModuleDict: no module of ours
    assert [name for name, _ in net.named_modules()] == [
        name for name in torch_modules if name not in containers
    ]
    assert [name for name, _ in net.named_children()] == [
        "encoder", "layers.0", "layers.1", "layers.2", "layers.3", "heads.a", "heads.b", "decoder"
    ]  # fmt: skip
    assert len(list(net.modules())) == len(list(net.named_modules()))


def test_repr_of_a_custom_module_matches_torch():
    assert repr(Net()) == repr(TorchNet())


def test_reference_network_names_and_repr_match_torch():
    ours, theirs = twin_networks()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    assert repr(ours).startswith(
        "Sequential(\n  (0): Linear(in_features=2, out_features=25, bias=True)\n  (1): ReLU()\n"
    )
    assert repr(nn.Dropout(0.5)) == repr(torch.nn.Dropout(0.5)) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Linear(3, 2, bias=False)) == repr(torch.nn.Linear(3, 2, bias=False))
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())
    nested = nn.Sequential(ours, nn.Dropout(0.1), ours)
    assert repr(nested) == repr(torch.nn.Sequential(theirs, torch.nn.Dropout(0.1), theirs))
    assert repr(nn.MSELoss()) == repr(torch.nn.MSELoss())
    assert repr(nn.CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss())


def test_named_parameters_without_recursion_or_deduplication():
    net = Net()
    assert [name for name, _ in net.named_parameters(recurse=False)] == ["scale"]
    names = [name for name, _ in net.named_parameters(remove_duplicate=False)]
    assert "decoder.weight" in names and len(names) == len(set(names)) == 13


def test_a_module_holding_its_parent_is_walked_once():
    parent = Net()
    child = nn.Linear(3, 3)
    child.owner = parent
    parent.child = child
    names = [name for name, _ in parent.named_parameters()]
    assert names[-2:] == ["child.weight", "child.bias"]
    assert len(parent.state_dict()) == len(TorchNet().state_dict()) + 2


def test_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Net must implement forward"):
        Net()(torch.zeros(1))


# --- State dicts ---------------------------------------------------------------------------------


def test_state_dict_moves_from_torch_to_ours_in_place():
    ours = reference_network(torch.Generator().manual_seed(0))
    torch.manual_seed(6)
    theirs = torch_reference_network()
    variables = list(ours.parameters())
    result = ours.load_state_dict(theirs.state_dict())
    assert result == ([], [])
    assert [id(p) for p in ours.parameters()] == [id(p) for p in variables]
    for variable, tensor in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(variable.tensor, tensor)
    inputs = random_inputs()
    torch.testing.assert_close(ours(inputs).tensor, theirs(inputs).detach(), rtol=0, atol=ATOL)


def test_state_dict_moves_from_ours_to_torch():
    ours = reference_network(torch.Generator().manual_seed(8))
    theirs = torch_reference_network()
    theirs.load_state_dict(ours.state_dict())
    state = ours.state_dict()
    assert all(type(value) is torch.Tensor for value in state.values())
    assert state["0.weight"].shape == (25, 2) and state["0.bias"].shape == (25,)
    for name, tensor in theirs.state_dict().items():
        assert torch.equal(tensor, state[name])


def test_loading_torch_parameters_keeps_our_tensors_off_torchs_tape():
    ours = reference_network(torch.Generator().manual_seed(0))
    theirs = torch_reference_network()
    ours.load_state_dict(theirs.state_dict(keep_vars=True))  # torch Parameters, requiring grad
    for variable, parameter in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert not variable.tensor.requires_grad and variable.tensor.grad_fn is None
        assert torch.equal(variable.tensor, parameter.detach())


def test_state_dict_prefix_is_prepended_as_torch_prepends_it():
    ours = reference_network(torch.Generator().manual_seed(0))
    theirs = torch_reference_network()
    assert list(ours.state_dict(prefix="net.")) == list(theirs.state_dict(prefix="net."))
    assert "net.0.weight" in ours.state_dict(prefix="net.")


def test_state_dict_includes_persistent_buffers_only():
    net = Net()
    net.register_buffer("scratch", torch.zeros(2), persistent=False)
    assert "count" in net.state_dict() and "scratch" not in net.state_dict()
    assert [name for name, _ in net.named_buffers()] == ["count", "scratch"]
    net.load_state_dict({**net.state_dict(), "count": torch.tensor([5])})
    assert net.count.item() == 5


def test_register_buffer_rejects_bad_names_and_values():
    net = Net()
    with pytest.raises(KeyError, match="already exists"):
        net.register_buffer("encoder", torch.zeros(1))
    with pytest.raises(KeyError, match="invalid"):
        net.register_buffer("a.b", torch.zeros(1))
    with pytest.raises(TypeError, match="Variable"):
        net.register_buffer("extra", Variable(torch.zeros(1)))


def broken_state_dict(model: nn.Module) -> dict:
    """A state dict with a missing key, an unexpected key and a mis-shaped entry."""
    state = dict(model.state_dict())
    del state["2.bias"]
    state["9.weight"] = torch.zeros(1)
    state["0.weight"] = torch.zeros(3, 3, dtype=DOUBLE)
    return state


def test_load_state_dict_names_every_missing_unexpected_and_misshaped_entry():
    ours = reference_network(torch.Generator().manual_seed(0))
    before = [p.tensor.clone() for p in ours.parameters()]
    with pytest.raises(nn.StateDictError) as caught:
        ours.load_state_dict(broken_state_dict(ours))
    message = str(caught.value)
    assert 'Missing key(s) in state_dict: "2.bias".' in message
    assert 'Unexpected key(s) in state_dict: "9.weight".' in message
    assert "size mismatch for 0.weight" in message and "[3, 3]" in message and "[25, 2]" in message
    assert caught.value.missing_keys == ["2.bias"]
    assert caught.value.unexpected_keys == ["9.weight"]
    assert isinstance(caught.value, RuntimeError)
    # Nothing was copied: a failed load leaves the model as it was.
    assert all(torch.equal(p.tensor, b) for p, b in zip(ours.parameters(), before, strict=True))


def test_load_state_dict_not_strict_returns_what_torch_returns():
    ours, theirs = twin_networks()
    state = dict(ours.state_dict())
    del state["2.bias"]
    state["9.weight"] = torch.zeros(1)
    result = ours.load_state_dict(state, strict=False)
    assert result == theirs.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["9.weight"]
    with pytest.raises(nn.StateDictError, match=r"size mismatch for 0\.weight") as caught:
        ours.load_state_dict(broken_state_dict(ours), strict=False)
    assert "Missing" not in str(caught.value)


def test_load_state_dict_rejects_values_that_are_not_tensors():
    ours = nn.Linear(2, 1)
    with pytest.raises(nn.StateDictError, match=r'"bias".*float'):
        ours.load_state_dict({"weight": torch.zeros(1, 2), "bias": 0.5})


# --- Layers --------------------------------------------------------------------------------------


def test_wrong_feature_size_names_the_layer_and_the_input_shape():
    layer = nn.Linear(2, 25)
    with pytest.raises(ShapeError) as caught:
        layer(torch.zeros(4, 3))
    assert "Linear(in_features=2, out_features=25, bias=True)" in str(caught.value)
    assert "(4, 3)" in str(caught.value)
    model = nn.Sequential(nn.ReLU(), nn.Linear(2, 25))
    with pytest.raises(ShapeError, match=r"^Sequential layer \(1\): Linear\(in_features=2"):
        model(torch.zeros(4, 3))


@pytest.mark.parametrize(
    ("in_features", "out_features", "bias", "dtype"),
    [(3, 4, True, None), (1, 1, True, None), (7, 2, False, None), (200, 30, True, DOUBLE)],
)
def test_linear_draws_torchs_weights_from_the_global_generator(
    in_features, out_features, bias, dtype
):
    torch.manual_seed(0)
    ours = nn.Linear(in_features, out_features, bias, dtype=dtype)
    after_ours = torch.rand(3)
    torch.manual_seed(0)
    theirs = torch.nn.Linear(in_features, out_features, bias, dtype=dtype)
    assert torch.equal(torch.rand(3), after_ours)  # the same number of draws, too
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, tensor in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], tensor), key


def test_a_seeded_sequential_is_bit_identical_to_torchs_and_so_is_its_training():
    torch.manual_seed(3)
    ours = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    torch.manual_seed(3)
    tn = torch.nn
    theirs = tn.Sequential(tn.Linear(2, 8), tn.ReLU(), tn.Linear(8, 8), tn.Tanh(), tn.Linear(8, 2))
    for key, tensor in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], tensor), key
    generated = nn.Linear(3, 4, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(1)
    assert torch.equal(generated.weight.tensor, torch.nn.Linear(3, 4).weight.detach())
    assert nn.Linear(2, 3, bias=False).bias is None


def test_linear_reset_parameters_and_empty_layers_behave_as_torchs():
    layer = nn.Linear(3, 2)
    torch.manual_seed(5)
    layer.reset_parameters()
    torch.manual_seed(5)
    assert torch.equal(layer.weight.tensor, torch.nn.Linear(3, 2).weight.detach())
    with pytest.warns(UserWarning, match="zero-element"):
        empty = nn.Linear(0, 2)
    assert empty.weight.shape == (2, 0) and torch.equal(empty.bias.tensor, torch.zeros(2))


def test_sequential_indexing_slicing_iteration_and_append():
    model = reference_network(torch.Generator().manual_seed(0))
    theirs = torch_reference_network()
    assert len(model) == 8
    assert list(model) == [model[index] for index in range(8)] and model[-1] is model[7]
    assert isinstance(model[2:4], nn.Sequential) and model[2:4][0] is model[2]
    assert repr(model[2:4]) == repr(theirs[2:4])
    with pytest.raises(IndexError):
        model[8]
    model.append(nn.Tanh())
    assert len(model) == 9 and repr(model[8]) == "Tanh()"
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), len)
    named = nn.Sequential(
        collections.OrderedDict([("hidden", nn.Linear(2, 3)), ("act", nn.Tanh())])
    )
    assert [name for name, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias"]


def test_to_float64_keeps_the_same_variables_and_moves_gradients_and_buffers():
    net = Net()
    variables = list(net.parameters())
    net.encoder.weight.grad = torch.ones(3, 2)
    assert net.to(DOUBLE) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in variables]
    assert all(p.dtype == DOUBLE for p in net.parameters())
    assert net.encoder.weight.grad.dtype == DOUBLE
    assert net.count.dtype == torch.long  # integer buffers keep their dtype
    with pytest.raises(TypeError, match="floating"):
        net.to(torch.int32)
    assert net.to("cpu", torch.float32).scale.dtype == torch.float32


def test_train_eval_and_zero_grad_reach_every_module():
    net = Net()
    assert all(module.training for module in net.modules())
    net.eval()
    assert not any(module.training for module in net.modules())
    net.train()
    assert all(module.training for module in net.modules())
    for variable in net.parameters():
        variable.grad = torch.ones_like(variable.tensor)
    net.zero_grad()
    assert all(variable.grad is None for variable in net.parameters())


def test_apply_visits_children_before_parents():
    visited = []
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Tanh()))
    model.apply(lambda module: visited.append(type(module).__name__))
    assert visited == ["Linear", "Tanh", "Sequential", "Sequential"]


# --- Initialisers --------------------------------------------------------------------------------

INITIALISERS = [
    ("trunc_normal_", {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 3.0}),
    ("trunc_normal_", {"mean": 0.0, "std": 1.0, "a": 1.0, "b": 1.5}),  # the other method
    ("orthogonal_", {"gain": 1.5}),
    ("xavier_normal_", {}),
    ("xavier_uniform_", {"gain": 2.0}),
    ("kaiming_uniform_", {"a": 5**0.5}),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("uniform_", {"a": -1.0, "b": 2.0}),
    ("normal_", {"mean": 1.0, "std": 3.0}),
]


@pytest.mark.parametrize(("name", "options"), INITIALISERS)
def test_initialiser_draws_what_torch_draws_from_the_same_generator(name, options):
    ours = Variable(torch.empty(5, 4, 3, dtype=DOUBLE))
    theirs = torch.empty(5, 4, 3, dtype=DOUBLE)
    result = getattr(nn.init, name)(ours, **options, generator=torch.Generator().manual_seed(10))
    getattr(torch.nn.init, name)(theirs, **options, generator=torch.Generator().manual_seed(10))
    assert result is ours
    assert torch.equal(ours.tensor, theirs)


def test_orthogonal_init_of_a_wide_matrix_matches_torch():
    ours, theirs = Variable(torch.empty(3, 7, dtype=DOUBLE)), torch.empty(3, 7, dtype=DOUBLE)
    nn.init.orthogonal_(ours, generator=torch.Generator().manual_seed(1))
    torch.nn.init.orthogonal_(theirs, generator=torch.Generator().manual_seed(1))
    assert torch.equal(ours.tensor, theirs)


def test_constant_initialisers_work_on_variables_and_tensors():
    tensor = nn.init.ones_(torch.empty(2, 3))
    variable = nn.init.constant_(Variable(torch.empty(2, 3)), 0.5)
    assert torch.equal(tensor, torch.ones(2, 3))
    assert torch.equal(variable.tensor, torch.full((2, 3), 0.5))
    assert torch.equal(nn.init.zeros_(variable).tensor, torch.zeros(2, 3))


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("linear", None)],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert nn.init.calculate_gain(nonlinearity, param) == expected


def test_fans_need_two_dimensions():
    assert nn.init.calculate_fan_in_and_fan_out(torch.empty(5, 4, 3)) == (12, 15)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_normal_(torch.empty(5))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


def test_requires_grad_freezes_a_model_so_backward_leaves_its_parameters_alone():
    frozen = nn.Linear(3, 2)
    trained = nn.Linear(2, 1)
    assert frozen.requires_grad_(False) is frozen
    trained(frozen(Variable(torch.randn(4, 3)))).sum().backward()
    assert all(parameter.grad is None for parameter in frozen.parameters())
    assert all(parameter.grad is not None for parameter in trained.parameters())


# --- Softmax's implicit dim, Flatten ------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4), (2, 3, 4, 5)], ids=str)
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
def test_softmax_without_dim_chooses_and_warns_as_torch(name, shape):
    x = torch.randn(shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        expected = getattr(torch.nn, name)()(x)
    layer = getattr(nn, name)()
    assert repr(layer) == repr(getattr(torch.nn, name)()) == f"{name}(dim=None)"
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        torch.testing.assert_close(layer(Variable(x)).tensor, expected, rtol=0, atol=1e-15)
    function = {"Softmax": F.softmax, "LogSoftmax": F.log_softmax}[name]
    with pytest.warns(UserWarning, match="include dim=X"):
        torch.testing.assert_close(function(Variable(x)).tensor, expected, rtol=0, atol=1e-15)


def test_softmax_without_dim_inside_a_chain_matches_torch():
    x = torch.randn(4, 3, dtype=DOUBLE, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 5, dtype=DOUBLE), nn.ReLU(), nn.Softmax())
    torch.manual_seed(0)
    tn = torch.nn
    theirs = tn.Sequential(tn.Linear(3, 5, dtype=DOUBLE), tn.ReLU(), tn.Softmax())
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        output = ours(Variable(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        expected = theirs(x)
    assert output.grad_op.label == "Sequential"  # recorded as one chain
    torch.testing.assert_close(output.tensor, expected.detach(), rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("shape", "start_dim", "end_dim"),
    [((2, 3, 4), 1, -1), ((2, 3, 4, 5), 0, 2), ((2, 3, 4, 5), 2, -1), ((4, 2), 1, -1)],
)
def test_flatten_matches_torch(shape, start_dim, end_dim):
    ours, theirs = nn.Flatten(start_dim, end_dim), torch.nn.Flatten(start_dim, end_dim)
    assert repr(ours) == repr(theirs)
    x = torch.randn(shape, dtype=DOUBLE)
    check_against_torch(lambda x: ours(x) if isinstance(x, Variable) else theirs(x), x)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


# --- nn.utils: gradient clipping and parameter vectors ------------------------------------------


def twin_gradients(seed: int = 0):
    """Our network and torch's with the same weights and the same gradients."""
    generator = torch.Generator().manual_seed(seed)
    ours, theirs = twin_networks()
    for variable, tensor in zip(ours.parameters(), theirs.parameters(), strict=True):
        grad = torch.randn(tensor.shape, dtype=DOUBLE, generator=generator)
        variable.grad, tensor.grad = grad, grad.clone()
    return ours, theirs


@pytest.mark.parametrize(
    ("max_norm", "norm_type"), [(0.5, 2.0), (100.0, 2.0), (1.0, 1), (0.3, float("inf")), (2, 3.0)]
)
def test_clip_grad_norm_returns_and_scales_as_torch(max_norm, norm_type):
    ours, theirs = twin_gradients()
    list(ours.parameters())[3].grad = None
    list(theirs.parameters())[3].grad = None
    total = nn.utils.clip_grad_norm_(ours.parameters(), max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type)
    assert isinstance(total, torch.Tensor)
    torch.testing.assert_close(total, expected, rtol=0, atol=1e-14)
    for variable, tensor in zip(ours.parameters(), theirs.parameters(), strict=True):
        if tensor.grad is None:
            assert variable.grad is None
        else:
            torch.testing.assert_close(variable.grad, tensor.grad, rtol=0, atol=1e-15)


def test_clip_grad_norm_never_writes_into_a_shared_gradient_and_can_refuse_nonfinite():
    ours, _ = twin_gradients()
    first = next(ours.parameters())
    shared = first.grad
    before = shared.clone()
    nn.utils.clip_grad_norm_(ours.parameters(), 0.1)
    assert torch.equal(shared, before) and not torch.equal(first.grad, before)
    first.grad = torch.full_like(first.grad, float("nan"))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(ours.parameters(), 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0


def test_clip_grad_value_and_parameter_vectors_match_torch():
    ours, theirs = twin_gradients()
    nn.utils.clip_grad_value_(ours.parameters(), 0.5)
    torch.nn.utils.clip_grad_value_(theirs.parameters(), 0.5)
    for variable, tensor in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(variable.grad, tensor.grad)
    vector = nn.utils.parameters_to_vector(ours.parameters())
    assert torch.equal(vector.tensor, torch.nn.utils.parameters_to_vector(theirs.parameters()))
    ours.zero_grad()
    vector.sum().backward()  # differentiable, as torch's
    assert torch.equal(ours[0].weight.grad, torch.ones(25, 2, dtype=DOUBLE))
    nn.utils.vector_to_parameters(vector.tensor * 2, ours.parameters())
    assert torch.equal(ours[0].weight.tensor, theirs[0].weight.detach() * 2)
