"""Activations, Embedding, Dropout2d, Identity, Unflatten, ModuleList, ModuleDict and the Module
helpers against torch.nn, in float64; and a torch.nn model definition run with only its imports
changed."""

import pytest
import torch
from hypothesis import given, strategies as st
from oracle import check_against_torch, few, float_tensors, shapes

import autogradlib
from autogradlib import ShapeError, Variable, gradcheck, nn
from autogradlib.nn import functional as F

DOUBLE = torch.float64
ATOL = 1e-12


def functional(value):
    """torch's functional module for torch tensors, ours for Variables."""
    return torch.nn.functional if isinstance(value, torch.Tensor) else F


def randn(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


# --- Activations ---------------------------------------------------------------------------------

ACTIVATIONS = [
    pytest.param(lambda f, x: f.gelu(x), id="gelu"),
    pytest.param(lambda f, x: f.gelu(x, approximate="tanh"), id="gelu-tanh"),
    pytest.param(lambda f, x: f.leaky_relu(x), id="leaky_relu"),
    pytest.param(lambda f, x: f.leaky_relu(x, 0.3), id="leaky_relu-0.3"),
    pytest.param(lambda f, x: f.leaky_relu(x, negative_slope=-2.0), id="leaky_relu-negative"),
    pytest.param(lambda f, x: f.silu(x), id="silu"),
    pytest.param(lambda f, x: f.elu(x), id="elu"),
    pytest.param(lambda f, x: f.elu(x, alpha=0.5), id="elu-0.5"),
]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@given(data=st.data())
@few
def test_functional_activation_matches_torch_on_drawn_tensors(activation, data):
    values = data.draw(float_tensors(data.draw(shapes(0, 3)), low=-6.0, high=6.0))
    check_against_torch(lambda x: activation(functional(x), x), values, atol=ATOL, rtol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_functional_activation_at_zero_and_far_out_matches_torch(activation):
    # The kink (the gradient is taken from torch's side) and values where exp overflows.
    values = torch.tensor([0.0, -0.0, 1e-8, -1e-8, 40.0, -40.0, 800.0, -800.0], dtype=DOUBLE)
    check_against_torch(lambda x: activation(functional(x), x), values, atol=ATOL, rtol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_functional_activation_passes_gradcheck(activation):
    values = randn(3, 4) + 0.05  # away from 0, where leaky_relu and elu have kinks
    assert gradcheck(lambda x: activation(F, x), values)


LAYERS = [
    pytest.param("GELU", (), id="GELU"),
    pytest.param("GELU", ("tanh",), id="GELU-tanh"),
    pytest.param("LeakyReLU", (), id="LeakyReLU"),
    pytest.param("LeakyReLU", (0.2,), id="LeakyReLU-0.2"),
    pytest.param("SiLU", (), id="SiLU"),
    pytest.param("ELU", (), id="ELU"),
    pytest.param("ELU", (2.0,), id="ELU-2"),
    pytest.param("Identity", (), id="Identity"),
]


@pytest.mark.parametrize(("name", "args"), LAYERS)
def test_activation_layer_matches_torch_and_prints_as_torch(name, args):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    values = randn(4, 5) * 3
    x, torch_x = Variable(values.clone()), values.clone().requires_grad_()
    output, expected = ours(x), theirs(torch_x)
    torch.testing.assert_close(output.tensor, expected.detach(), rtol=1e-12, atol=ATOL)
    grad_output = randn(4, 5, seed=1)
    output.backward(grad_output)
    expected.backward(grad_output)
    torch.testing.assert_close(x.grad, torch_x.grad, rtol=1e-12, atol=ATOL)


def test_activation_arguments_are_checked():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("sigmoid")
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(Variable(randn(2)), approximate="fast")
    with pytest.raises(ValueError, match="inplace=True is not supported"):
        nn.LeakyReLU(inplace=True)
    with pytest.raises(ValueError, match="elu: inplace=True"):
        F.elu(Variable(randn(2)), inplace=True)
    assert repr(nn.Identity(54, unused="argument")) == "Identity()"


# --- Embedding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
def test_embedding_initialisation_draws_what_torch_draws(padding_idx):
    torch.manual_seed(7)
    theirs = torch.nn.Embedding(6, 4, padding_idx=padding_idx)
    torch.manual_seed(7)
    ours = nn.Embedding(6, 4, padding_idx=padding_idx)
    torch.testing.assert_close(ours.weight.tensor, theirs.weight.detach(), rtol=0, atol=0)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    if padding_idx is not None:
        assert ours.weight.tensor[padding_idx].abs().sum() == 0


@pytest.mark.parametrize("padding_idx", [None, 2, -2])
@pytest.mark.parametrize("index_shape", [(5,), (2, 3), (2, 1, 4), ()])
def test_embedding_matches_torch_and_gives_the_padding_row_no_gradient(padding_idx, index_shape):
    indices = torch.randint(0, 5, index_shape, generator=torch.Generator().manual_seed(1))
    indices.view(-1)[:1] = 2  # a padding index and repeated indices
    weight = randn(5, 3)

    def run(w):
        return functional(w).embedding(indices, w, padding_idx=padding_idx)

    check_against_torch(run, weight, atol=ATOL, rtol=0)
    ours = nn.Embedding(5, 3, padding_idx=padding_idx, dtype=DOUBLE)
    ours.weight.tensor.copy_(weight)
    ours(indices).sum().backward()
    if padding_idx is not None:
        assert ours.weight.grad[padding_idx].abs().sum() == 0


def test_embedding_passes_gradcheck_and_loads_pretrained_vectors():
    indices = torch.tensor([[0, 2, 2], [1, 0, 3]])
    assert gradcheck(lambda w: F.embedding(indices, w), randn(4, 2))
    pretrained = randn(4, 2)
    ours = nn.Embedding.from_pretrained(pretrained)
    theirs = torch.nn.Embedding.from_pretrained(pretrained)
    assert repr(ours) == repr(theirs)
    assert not ours.weight.requires_grad
    torch.testing.assert_close(ours(indices).tensor, theirs(indices), rtol=0, atol=0)


def test_embedding_rejects_bad_indices_and_unsupported_options():
    layer = nn.Embedding(5, 2)
    for indices in ([1, 7], [-1, 2]):
        with pytest.raises(IndexError, match=r"Embedding: index out of range.*\(2,\) and \(5, 2\)"):
            layer(torch.tensor(indices))
    with pytest.raises(TypeError, match=r"integer tensor.*float"):
        layer(torch.tensor([1.0]))
    with pytest.raises(ValueError, match="max_norm"):
        nn.Embedding(5, 2, max_norm=1.0)
    with pytest.raises(ValueError, match="padding_idx 5"):
        nn.Embedding(5, 2, padding_idx=5)


# --- Dropout2d -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 6, 3, 2), (5, 7, 3)])
@pytest.mark.parametrize("p", [0.25, 0.5])
def test_dropout2d_draws_torchs_masks_and_drops_whole_channels(shape, p):
    values = randn(*shape).abs() + 1  # never 0, so a 0 output means dropped
    x = Variable(values)
    torch.manual_seed(3)
    output = nn.Dropout2d(p)(x)
    torch.manual_seed(3)
    with pytest.warns(UserWarning) if len(shape) == 3 else _no_warning():
        expected = torch.nn.Dropout2d(p)(values)
    torch.testing.assert_close(output.tensor, expected, rtol=0, atol=0)
    output.backward(torch.ones(shape, dtype=DOUBLE))
    torch.testing.assert_close(x.grad, (expected != 0).to(DOUBLE) / (1 - p))
    dropped = (output.tensor == 0).flatten(2)
    assert torch.equal(dropped.all(2), dropped.any(2))  # a channel is dropped whole or not at all


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_dropout2d_in_eval_and_at_the_extremes():
    values = randn(2, 3, 2, 2)
    layer = nn.Dropout2d(0.5).eval()
    assert layer(values) is values
    assert repr(layer) == repr(torch.nn.Dropout2d(0.5))
    x = Variable(values)
    F.dropout2d(x, p=1.0).sum().backward()
    assert x.grad.abs().sum() == 0
    assert F.dropout2d(x, p=0.0) is x
    with pytest.raises(ShapeError, match=r"dropout2d.*\(2, 3\).*use dropout"):
        F.dropout2d(Variable(randn(2, 3)))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


# --- Unflatten -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dim", "sizes", "shape"),
    [(1, (2, 5), (3, 10)), (-1, (2, -1), (3, 4, 6)), (0, [3, 1], (3, 2)), (-2, (1, 4), (2, 4, 3))],
)
def test_unflatten_matches_torch(dim, sizes, shape):
    ours, theirs = nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes)
    assert repr(ours) == repr(theirs)
    check_against_torch(lambda x: (ours if isinstance(x, Variable) else theirs)(x), randn(*shape))


def test_unflatten_names_the_layer_and_the_shape():
    with pytest.raises(
        ShapeError, match=r"Unflatten\(dim=1, unflattened_size=\(2, 4\)\).*\(3, 10\)"
    ):
        nn.Unflatten(1, (2, 4))(Variable(randn(3, 10)))


# --- ModuleList and ModuleDict -------------------------------------------------------------------


def build_list(library):
    tn = library.nn if library is torch else library
    return tn.ModuleList([tn.Linear(2, 2), tn.ReLU(), tn.ReLU(), tn.ReLU(), tn.Tanh()])


def test_module_list_behaves_as_torchs():
    ours, theirs = build_list(nn), build_list(torch)
    assert repr(ours) == repr(theirs)
    for model in (ours, theirs):
        tn = nn if model is ours else torch.nn
        model.append(tn.Linear(2, 3))
        model.extend([tn.Sigmoid(), tn.Linear(3, 1)])
        model.insert(1, tn.Identity())
        model[2] = tn.GELU()
        model += [tn.SiLU()]
        del model[3]
        model.pop(-2)
    assert repr(ours) == repr(theirs)
    assert len(ours) == len(theirs) == 8
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert type(ours[1:3]) is nn.ModuleList and len(ours[1:3]) == 2
    assert isinstance(ours[-1], nn.SiLU)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    with pytest.raises(IndexError, match="index 9 is out of range"):
        ours[9]
    with pytest.raises(TypeError, match="str is not a Module subclass"):
        ours.append("Linear")
    with pytest.raises(TypeError, match="iterable of modules"):
        ours.extend(nn.ReLU())


def test_module_dict_behaves_as_torchs():
    ours = nn.ModuleDict({"conv": nn.Linear(2, 2), "act": nn.ReLU()})
    theirs = torch.nn.ModuleDict({"conv": torch.nn.Linear(2, 2), "act": torch.nn.ReLU()})
    for model in (ours, theirs):
        tn = nn if model is ours else torch.nn
        model["head"] = tn.Linear(2, 1)
        model.update([("act", tn.Tanh()), ("extra", tn.Identity())])
        del model["conv"]
        model.pop("extra")
    assert repr(ours) == repr(theirs)
    assert list(ours) == list(theirs) == list(ours.keys()) == ["act", "head"]
    assert [type(m).__name__ for m in ours.values()] == ["Tanh", "Linear"]
    assert [k for k, _ in ours.items()] == ["act", "head"] and "head" in ours and len(ours) == 2
    assert ours.head is ours["head"]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["head.weight", "head.bias"]
    with pytest.raises(KeyError):
        ours["missing"]
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = ours.missing
    with pytest.raises(TypeError, match="list is not a Module subclass"):
        ours["bad"] = []
    ours.clear()
    assert len(ours) == 0 and repr(ours) == "ModuleDict()"


# --- Module helpers, compared with torch.nn.Module on the same structure -------------------------

STRUCTURE = """
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)
        self.norm = nn.BatchNorm1d(3)
        self.register_buffer("scratch", torch.zeros(2), persistent=False)


class Tree(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(2, 3)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.heads = nn.ModuleDict({"a": nn.Linear(3, 1), "b": nn.Sequential(nn.Tanh())})
        self.add_module("extra", nn.Sequential(nn.Linear(3, 3), nn.ReLU()))
        self.register_module("tail", nn.Identity())
        self.register_parameter("scale", nn.Parameter(torch.ones(3)))
        self.register_parameter("unused", None)
        self.extra.add_module("final", nn.Sigmoid())
"""


def build(library):
    """The STRUCTURE classes with `nn` from torch.nn or from Autogradlib (Parameter = Variable)."""
    namespace = {"torch": torch}
    if library is torch:
        namespace["nn"] = torch.nn
    else:

        class Namespace:
            pass

        ours = Namespace()
        ours.__dict__.update(vars(nn))
        ours.Parameter = Variable
        namespace["nn"] = ours
    exec(STRUCTURE, namespace)
    return namespace["Tree"]()


def names(pairs) -> list:
    return [name for name, _ in pairs]


def kinds(modules) -> list:
    return [type(module).__name__ for module in modules]


def test_module_walkers_match_torch_on_the_same_structure():
    ours, theirs = build(autogradlib), build(torch)
    assert repr(ours) == repr(theirs)
    assert names(ours.named_parameters()) == names(theirs.named_parameters())
    assert names(ours.named_modules()) == names(theirs.named_modules())
    assert names(ours.named_modules(prefix="m")) == names(theirs.named_modules(prefix="m"))
    assert names(ours.named_children()) == names(theirs.named_children())
    assert names(ours.named_buffers()) == names(theirs.named_buffers())
    assert names(ours.named_buffers(prefix="m")) == names(theirs.named_buffers(prefix="m"))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [type(m).__name__ for m in ours.modules()] == [
        type(m).__name__ for m in theirs.modules()
    ]
    assert [type(m).__name__ for m in ours.children()] == [
        type(m).__name__ for m in theirs.children()
    ]
    assert len(list(ours.buffers())) == len(list(theirs.buffers())) == 8
    visited = {id(ours): [], id(theirs): []}
    for model in (ours, theirs):
        model.apply(lambda module, model=model: visited[id(model)].append(type(module).__name__))
    assert visited[id(ours)] == visited[id(theirs)]


def test_state_dicts_with_buffers_move_both_ways_and_give_the_same_outputs():
    ours, theirs = build(autogradlib).double(), build(torch).double()
    ours.load_state_dict(theirs.state_dict())
    x = randn(5, 3)
    for model in (ours, theirs):
        for block in model.blocks:
            block.norm(block.linear(x if model is theirs else Variable(x)))
    back = build(torch).double()
    back.load_state_dict(ours.state_dict())
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(back.state_dict()[key], value, rtol=0, atol=ATOL, msg=key)
    state = dict(theirs.state_dict())
    del state["blocks.0.norm.running_var"]
    state["other"] = torch.zeros(1)
    assert ours.load_state_dict(state, strict=False) == theirs.load_state_dict(state, strict=False)
    with pytest.raises(nn.StateDictError, match=r"blocks.0.norm.running_var.*\n.*other"):
        ours.load_state_dict(state)


def test_get_submodule_parameter_and_buffer_match_torch():
    ours, theirs = build(autogradlib), build(torch)
    for target in ("", "stem", "blocks", "blocks.1", "blocks.1.norm", "heads.b.0", "extra.final"):
        assert (
            type(ours.get_submodule(target)).__name__ == type(theirs.get_submodule(target)).__name__
        )
    assert ours.get_parameter("blocks.0.linear.weight") is ours.blocks[0].linear.weight
    assert ours.get_parameter("scale") is ours.scale
    assert ours.get_buffer("blocks.1.norm.running_mean") is ours.blocks[1].norm.running_mean
    for model in (ours, theirs):
        with pytest.raises(AttributeError, match="has no attribute `missing`"):
            model.get_submodule("blocks.missing")
        with pytest.raises(AttributeError, match=r"`weight` is not an nn\.Module"):
            model.get_submodule("stem.weight")
        with pytest.raises(AttributeError, match=r"`norm` is not an nn\.Parameter"):
            model.get_parameter("blocks.0.norm")
        with pytest.raises(AttributeError, match=r"`weight` is not a buffer"):
            model.get_buffer("stem.weight")


def test_add_module_and_register_parameter_check_names_as_torch():
    ours, theirs = build(autogradlib), build(torch)
    cases = [
        (lambda m, tn: m.add_module("a.b", tn.ReLU()), KeyError, r't contain "\."'),
        (lambda m, tn: m.add_module("", tn.ReLU()), KeyError, "t be empty string"),
        (lambda m, tn: m.add_module("scale", tn.ReLU()), KeyError, "already exists"),
        (lambda m, tn: m.add_module(3, tn.ReLU()), TypeError, "should be a string"),
        (lambda m, tn: m.add_module("x", "ReLU"), TypeError, "is not a Module subclass"),
        (lambda m, tn: m.register_parameter("stem", None), KeyError, "already exists"),
        (lambda m, tn: m.register_parameter("a.b", None), KeyError, r't contain "\."'),
        (lambda m, tn: m.register_parameter("p", torch.ones(1)), TypeError, "cannot assign"),
    ]
    for action, error, message in cases:
        for model, tn in ((ours, nn), (theirs, torch.nn)):
            with pytest.raises(error, match=message):
                action(model, tn)
    with pytest.raises(ValueError, match="non-leaf"):
        ours.register_parameter("p", Variable(torch.ones(1)) * 2)
    ours.add_module("stem", nn.Linear(2, 4))  # replacing a child is allowed, as in torch
    assert ours.stem.out_features == 4


# --- A torch.nn model definition, verbatim, with only its imports changed ------------------------

MODEL = """
class TextAndImageNet(nn.Module):
    def __init__(self, vocabulary=20, width=8, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, width, padding_idx=0)
        self.norm = nn.LayerNorm(width)
        self.blocks = nn.ModuleList(
            [
                nn.Sequential(nn.Linear(width, width), nn.BatchNorm1d(width), nn.GELU())
                for _ in range(2)
            ]
        )
        self.heads = nn.ModuleDict(
            {
                "main": nn.Linear(width, classes),
                "aux": nn.Sequential(nn.Linear(width, 4), nn.SiLU(), nn.Unflatten(1, (2, 2))),
            }
        )
        self.act = nn.LeakyReLU(0.2)
        self.elu = nn.ELU(alpha=0.5)
        self.skip = nn.Identity()
        self.drop = nn.Dropout2d(0.25)
        self.image_norm = nn.BatchNorm2d(2, momentum=None)

    def forward(self, tokens, images):
        h = self.norm(self.embed(tokens)).mean(1)
        for block in self.blocks:
            h = self.act(block(h)) + self.skip(h)
        picture = F.gelu(self.drop(self.image_norm(images)), approximate="tanh").mean((2, 3))
        return self.heads["main"](self.elu(h)), self.heads["aux"](h), F.silu(picture)
"""


def build_model(library):
    namespace = {"torch": torch}
    if library is torch:
        exec("import torch.nn as nn\nimport torch.nn.functional as F", namespace)
    else:
        exec("import autogradlib.nn as nn\nimport autogradlib.nn.functional as F", namespace)
    exec(MODEL, namespace)
    return namespace["TextAndImageNet"]().double()


def test_a_torch_model_definition_runs_unchanged_and_matches_torch():
    ours, theirs = build_model(autogradlib), build_model(torch)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict(theirs.state_dict())
    generator = torch.Generator().manual_seed(0)
    for step, training in enumerate((True, True, False)):
        ours.train(training)
        theirs.train(training)
        tokens = torch.randint(0, 20, (6, 5), generator=generator)
        images = torch.randn(6, 2, 4, 4, dtype=DOUBLE, generator=generator)
        torch.manual_seed(step)  # the same Dropout2d masks
        outputs = ours(tokens, Variable(images, requires_grad=False))
        torch.manual_seed(step)
        expected = theirs(tokens, images)
        for output, reference in zip(outputs, expected, strict=True):
            torch.testing.assert_close(output.tensor, reference.detach(), rtol=0, atol=1e-10)
        sum(output.sum() * (index + 1) for index, output in enumerate(outputs)).backward()
        sum(output.sum() * (index + 1) for index, output in enumerate(expected)).backward()
        for name, parameter in theirs.named_parameters():
            torch.testing.assert_close(
                ours.get_parameter(name).grad, parameter.grad, rtol=0, atol=1e-10, msg=name
            )
        ours.zero_grad()
        theirs.zero_grad()
    back = build_model(torch)
    back.load_state_dict(ours.state_dict())
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(back.state_dict()[key], value, rtol=0, atol=1e-10, msg=key)


def test_sequential_add_module_adds_a_layer_as_torchs():
    ours = nn.Sequential(nn.Linear(2, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3))
    ours.add_module("norm", nn.BatchNorm1d(3))
    theirs.add_module("norm", torch.nn.BatchNorm1d(3))
    ours.register_module("act", nn.SiLU())
    theirs.register_module("act", torch.nn.SiLU())
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(ours) == 3 and isinstance(ours[1], nn.BatchNorm1d)
    assert ours.double()(Variable(randn(4, 2))).shape == (4, 3)
