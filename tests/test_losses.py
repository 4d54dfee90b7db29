"""The losses against torch.nn's in float64 (values, input and target gradients), and gradcheck."""

import pytest
import torch
from hypothesis import given, strategies as st
from oracle import check_against_torch, float_tensors, moderate, shapes

from autogradlib import DTypeError, ShapeError, Variable, gradcheck, nn
from autogradlib.nn import functional as F

DOUBLE = torch.float64
REDUCTIONS = ["mean", "sum", "none"]
TF = torch.nn.functional


def both(ours, theirs):
    """One function for check_against_torch: torch's on torch tensors, ours on Variables."""

    def fn(*args):
        return theirs(*args) if isinstance(args[0], torch.Tensor) else ours(*args)

    return fn


def randn(*shape, seed=0):
    return torch.randn(shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


def rand(*shape, seed=0):
    return torch.rand(shape, dtype=DOUBLE, generator=torch.Generator().manual_seed(seed))


def class_indices(shape, classes, seed=0):
    return torch.randint(classes, shape, generator=torch.Generator().manual_seed(seed))


# --- Elementwise losses: L1, smooth L1, Huber, BCE, BCE with logits ------------------------------

ELEMENTWISE = {
    "l1": (lambda r: lambda x, y: F.l1_loss(x, y, reduction=r),
           lambda r: lambda x, y: TF.l1_loss(x, y, reduction=r)),
    "smooth_l1": (lambda r: lambda x, y: F.smooth_l1_loss(x, y, reduction=r, beta=0.7),
                  lambda r: lambda x, y: TF.smooth_l1_loss(x, y, reduction=r, beta=0.7)),
    "smooth_l1_beta_0": (lambda r: lambda x, y: F.smooth_l1_loss(x, y, reduction=r, beta=0.0),
                         lambda r: lambda x, y: TF.smooth_l1_loss(x, y, reduction=r, beta=0.0)),
    "huber": (lambda r: lambda x, y: F.huber_loss(x, y, r, 1.5),
              lambda r: lambda x, y: TF.huber_loss(x, y, r, 1.5)),
    "bce_with_logits": (
        lambda r: lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=r),
        lambda r: lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction=r),
    ),
}  # fmt: skip


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@moderate
@given(data=st.data())
def test_elementwise_loss_matches_torch(name, reduction, data):
    shape = data.draw(shapes())
    x, target = data.draw(float_tensors(shape)), data.draw(float_tensors(shape))
    ours, theirs = ELEMENTWISE[name]
    check_against_torch(both(ours(reduction), theirs(reduction)), x, target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@moderate
@given(data=st.data())
def test_binary_cross_entropy_matches_torch(reduction, data):
    shape = data.draw(shapes())
    x = data.draw(float_tensors(shape, low=0.01, high=0.99))
    target = data.draw(float_tensors(shape, low=0.0, high=1.0))
    fn = both(
        lambda x, y: F.binary_cross_entropy(x, y, reduction=reduction),
        lambda x, y: TF.binary_cross_entropy(x, y, reduction=reduction),
    )
    check_against_torch(fn, x, target)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_weight_and_probabilities_of_0_and_1_match_torch(reduction):
    x = torch.tensor([[0.0, 0.3, 1.0], [0.5, 1e-3, 0.999]], dtype=DOUBLE)
    target = torch.tensor([[0.0, 1.0, 1.0], [0.2, 1.0, 0.0]], dtype=DOUBLE)
    weight = torch.tensor([0.5, 2.0, 1.0], dtype=DOUBLE)
    ours = F.binary_cross_entropy(Variable(x), target, weight, reduction=reduction)
    theirs = TF.binary_cross_entropy(x, target, weight, reduction=reduction)
    torch.testing.assert_close(ours.tensor, theirs, rtol=1e-12, atol=1e-12)
    inner = x[:, 1:2].clone()  # away from 0 and 1, where torch's own gradient is clamped
    check_against_torch(
        both(
            lambda x, y: F.binary_cross_entropy(x, y, weight[1:2], reduction=reduction),
            lambda x, y: TF.binary_cross_entropy(x, y, weight[1:2], reduction=reduction),
        ),
        inner,
        target[:, 1:2].clone(),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("weight", "pos_weight"),
    [(None, None), (True, None), (None, True), (True, True)],
    ids=["plain", "weight", "pos_weight", "both"],
)
def test_binary_cross_entropy_with_logits_weights_match_torch(weight, pos_weight, reduction):
    x, target = randn(4, 3) * 4, rand(4, 3, seed=1)
    weight = rand(4, 1, seed=2) + 0.5 if weight else None
    pos_weight = rand(3, seed=3) * 3 if pos_weight else None

    def ours(x, y):
        return F.binary_cross_entropy_with_logits(
            x, y, weight, reduction=reduction, pos_weight=pos_weight
        )

    def theirs(x, y):
        return TF.binary_cross_entropy_with_logits(
            x, y, weight, reduction=reduction, pos_weight=pos_weight
        )

    check_against_torch(both(ours, theirs), x, target)
    module = nn.BCEWithLogitsLoss(weight, reduction=reduction, pos_weight=pos_weight)
    torch_module = torch.nn.BCEWithLogitsLoss(weight, reduction=reduction, pos_weight=pos_weight)
    check_against_torch(both(module, torch_module), x, target)


# --- NLL and cross-entropy: (N, C, d1, ...), weights, ignore_index, label smoothing -------------

SHAPES = [(5, 3), (4, 3, 2), (2, 4, 3, 2), (3,)]


def index_target(shape, ignore_index=None):
    """Class indices for logits of `shape`, with every third position set to ignore_index."""
    target_shape = (shape[0], *shape[2:]) if len(shape) > 1 else ()
    target = class_indices(target_shape, class_count(shape), seed=4)
    if ignore_index is not None and target.dim():
        target.view(-1)[::3] = ignore_index
    elif ignore_index is not None and ignore_index >= 0:
        target.fill_((ignore_index + 1) % class_count(shape))  # one position: keep it counted
    return target


def class_count(shape) -> int:
    return shape[1] if len(shape) > 1 else shape[0]


NLL_OPTIONS = [
    {},
    {"weight": True},
    {"ignore_index": -100},
    {"ignore_index": 1, "weight": True},
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", NLL_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_nll_loss_matches_torch(shape, options, reduction):
    ignore_index = options.get("ignore_index")
    target = index_target(shape, ignore_index)
    weight = rand(class_count(shape), seed=5) + 0.5 if options.get("weight") else None
    keywords = {
        "reduction": reduction,
        "ignore_index": -100 if ignore_index is None else ignore_index,
    }
    fn = both(
        lambda x: F.nll_loss(x, target, weight, **keywords),
        lambda x: TF.nll_loss(x, target, weight, **keywords),
    )
    check_against_torch(fn, randn(*shape).log_softmax(min(1, len(shape) - 1)))
    module, torch_module = nn.NLLLoss(weight, **keywords), torch.nn.NLLLoss(weight, **keywords)
    with_target = both(lambda x: module(x, target), lambda x: torch_module(x, target))
    check_against_torch(with_target, randn(*shape))


CROSS_ENTROPY_OPTIONS = [
    {},
    {"weight": True},
    {"label_smoothing": 0.2},
    {"weight": True, "label_smoothing": 0.1},
    {"ignore_index": -100},
    {"ignore_index": 0, "weight": True, "label_smoothing": 0.3},
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CROSS_ENTROPY_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cross_entropy_with_class_indices_matches_torch(shape, options, reduction):
    options = dict(options)
    target = index_target(shape, options.get("ignore_index"))
    if options.pop("weight", False):
        options["weight"] = rand(class_count(shape), seed=5) + 0.5
    options["reduction"] = reduction
    fn = both(
        lambda x: F.cross_entropy(x, target, **options),
        lambda x: TF.cross_entropy(x, target, **options),
    )
    check_against_torch(fn, randn(*shape) * 2)
    module, torch_module = nn.CrossEntropyLoss(**options), torch.nn.CrossEntropyLoss(**options)
    with_target = both(lambda x: module(x, target), lambda x: torch_module(x, target))
    check_against_torch(with_target, randn(*shape))


PROBABILITY_OPTIONS = [
    {},
    {"weight": True},
    {"label_smoothing": 0.25},
    {"weight": True, "label_smoothing": 0.1},
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", PROBABILITY_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_cross_entropy_with_class_probabilities_matches_torch(shape, options, reduction):
    options = dict(options, reduction=reduction)
    if options.pop("weight", False):
        options["weight"] = rand(class_count(shape), seed=5) + 0.5
    target = rand(*shape, seed=6).softmax(min(1, len(shape) - 1))
    fn = both(
        lambda x, y: F.cross_entropy(x, y, **options),
        lambda x, y: TF.cross_entropy(x, y, **options),
    )
    check_against_torch(fn, randn(*shape), target)  # the target's gradient too


def test_cross_entropy_with_every_position_ignored_is_nan_like_torch():
    logits, target = randn(3, 4), torch.full((3,), -100)
    ours = F.cross_entropy(Variable(logits), target)
    assert torch.isnan(ours.tensor) and torch.isnan(TF.cross_entropy(logits, target))
    assert F.cross_entropy(Variable(logits), target, reduction="sum").item() == 0


# --- gradcheck: every new loss against central differences --------------------------------------

GRADCHECKS = {
    "l1": (lambda x, y: F.l1_loss(x, y), (randn(3, 4), randn(3, 4, seed=1))),
    "smooth_l1": (
        lambda x, y: F.smooth_l1_loss(x, y, beta=0.5, reduction="sum"),
        (randn(3, 4), randn(3, 4, seed=1)),
    ),
    "huber": (lambda x, y: F.huber_loss(x, y, "none", 0.8), (randn(3, 4), randn(3, 4, seed=1))),
    "bce": (
        lambda x, y: F.binary_cross_entropy(x, y, rand(3, 4, seed=2)),
        (rand(3, 4) * 0.9 + 0.05, rand(3, 4, seed=1)),
    ),
    "bce_with_logits": (
        lambda x, y: F.binary_cross_entropy_with_logits(
            x, y, rand(4, seed=2), pos_weight=rand(4, seed=3) * 2
        ),
        (randn(3, 4), rand(3, 4, seed=1)),
    ),
    "nll": (
        lambda x: F.nll_loss(x, index_target((4, 3, 2), 2), rand(3, seed=2), ignore_index=2),
        (randn(4, 3, 2),),
    ),
    "cross_entropy_indices": (
        lambda x: F.cross_entropy(
            x, index_target((4, 3, 2), 1), rand(3, seed=2), ignore_index=1, label_smoothing=0.2
        ),
        (randn(4, 3, 2),),
    ),
    "cross_entropy_probabilities": (
        lambda x, y: F.cross_entropy(x, y, rand(3, seed=2), label_smoothing=0.1),
        (randn(4, 3, 2), rand(4, 3, 2, seed=1)),
    ),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_loss_passes_gradcheck(name):
    fn, inputs = GRADCHECKS[name]
    assert gradcheck(fn, *inputs)


# --- Modules, one_hot, errors --------------------------------------------------------------------

MODULES = [
    ("L1Loss", {"reduction": "sum"}),
    ("SmoothL1Loss", {"beta": 0.5}),
    ("HuberLoss", {"delta": 2.0}),
    ("BCELoss", {"weight": torch.ones(3, dtype=DOUBLE)}),
    ("BCEWithLogitsLoss", {"pos_weight": torch.ones(3, dtype=DOUBLE)}),
    ("NLLLoss", {"ignore_index": 2}),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "weight": torch.ones(3, dtype=DOUBLE)}),
]


@pytest.mark.parametrize(("name", "options"), MODULES, ids=str)
def test_loss_modules_print_and_save_what_torch_does(name, options):
    ours, theirs = getattr(nn, name)(**options), getattr(torch.nn, name)(**options)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for key, tensor in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], tensor)


@pytest.mark.parametrize("name", ["L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "MSELoss"])
def test_loss_modules_equal_torch_modules(name):
    x, target = rand(4, 3) * 0.8 + 0.1, rand(4, 3, seed=1)
    module, torch_module = getattr(nn, name)(), getattr(torch.nn, name)()
    check_against_torch(both(module, torch_module), x, target)


def test_one_hot_is_torchs():
    labels = torch.tensor([[0, 2], [1, 4]])
    assert torch.equal(F.one_hot(labels), TF.one_hot(labels))
    assert torch.equal(F.one_hot(labels, 6), TF.one_hot(labels, 6))
    assert F.one_hot(labels).dtype == torch.int64
    with pytest.raises(ValueError, match="smaller than num_classes"):
        F.one_hot(labels, 3)
    with pytest.raises(DTypeError, match="int64"):
        F.one_hot(labels.float())


def test_losses_refuse_bad_shapes_dtypes_values_and_trainable_weights():
    x = Variable(rand(4, 3))
    with pytest.raises(ShapeError, match=r"l1_loss.*\(4, 3\).*\(4,\)"):
        F.l1_loss(x, torch.zeros(4, dtype=DOUBLE))
    with pytest.raises(ShapeError, match=r"binary_cross_entropy_with_logits: pos_weight"):
        F.binary_cross_entropy_with_logits(x, rand(4, 3), pos_weight=torch.ones(4))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(x * 2, rand(4, 3))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(x, rand(4, 3) - 1)
    with pytest.raises(ValueError, match="weight requires grad"):
        F.binary_cross_entropy(x, rand(4, 3), Variable(torch.ones(3, dtype=DOUBLE)))
    with pytest.raises(ShapeError, match=r"nll_loss.*\(4, 3\).*\(5,\)"):
        F.nll_loss(x, torch.zeros(5, dtype=torch.long))
    with pytest.raises(DTypeError, match="integers"):
        F.nll_loss(x, torch.zeros(4))
    with pytest.raises(ShapeError, match="one value for each of the 3 classes"):
        F.cross_entropy(x, torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=DOUBLE))
    with pytest.raises(ShapeError, match=r"cross_entropy.*\(4, 3\).*\(4, 2\)"):
        F.cross_entropy(x, rand(4, 2))
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(x, rand(4, 3), beta=-1.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, torch.zeros(4, dtype=torch.long), label_smoothing=1.5)
