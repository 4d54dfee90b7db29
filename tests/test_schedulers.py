"""Learning-rate schedulers against torch.optim.lr_scheduler: the same rates, epoch by epoch, the
same state dicts both ways, and checkpoints that carry them."""

import math

import pytest
import torch

import autogradlib
from autogradlib import Variable, experiment, optim
from autogradlib.optim import lr_scheduler

EPOCHS = 25


def optimizers(name: str = "SGD"):
    """Ours and torch's, each with two parameter groups of different learning rates."""
    ours = getattr(optim, name)(
        [{"params": [Variable(torch.zeros(2))]}, {"params": [Variable(torch.zeros(3))], "lr": 0.5}],
        lr=0.1,
    )
    theirs = getattr(torch.optim, name)(
        [
            {"params": [torch.zeros(2, requires_grad=True)]},
            {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.5},
        ],
        lr=0.1,
    )
    return ours, theirs


class Warmup:
    """A callable object: its attributes are in LambdaLR's state dict, as in torch."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def __call__(self, epoch: int) -> float:
        return min(1.0, (epoch + 1) / self.epochs)


SCHEDULERS = [
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [3, 7, 7, 15], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 0.95**epoch}),
    ("LambdaLR", {"lr_lambda": Warmup(5)}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.5, "end_factor": 0.1, "total_iters": 8}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 30}),
    (
        "OneCycleLR",
        {
            "max_lr": [1.0, 2.0],
            "epochs": 6,
            "steps_per_epoch": 5,
            "anneal_strategy": "linear",
            "three_phase": True,
            "pct_start": 0.4,
        },
    ),
]
# Stable test ids (a lambda's repr changes from one process to the next).
SCHEDULER_IDS = [f"{name}-{index}" for index, (name, _) in enumerate(SCHEDULERS)]


def schedulers(name, options, optimizer_name: str = "SGD"):
    ours_optimizer, their_optimizer = optimizers(optimizer_name)
    ours = getattr(lr_scheduler, name)(ours_optimizer, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(their_optimizer, **options)
    return ours, theirs


def step_both(ours, theirs, epochs: int) -> None:
    for _ in range(epochs):
        ours.optimizer.step()
        theirs.optimizer.step()
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert [g["lr"] for g in ours.optimizer.param_groups] == theirs.get_last_lr()


@pytest.mark.parametrize(("name", "options"), SCHEDULERS, ids=SCHEDULER_IDS)
def test_scheduler_gives_torchs_learning_rates_epoch_by_epoch(name, options):
    ours, theirs = schedulers(name, options)
    assert ours.get_last_lr() == theirs.get_last_lr()
    step_both(ours, theirs, EPOCHS)
    assert ours.get_last_lr() != [0.1, 0.5] or name == "LambdaLR"  # the schedule moved
    assert ours.state_dict() == theirs.state_dict()


@pytest.mark.parametrize(("name", "options"), SCHEDULERS, ids=SCHEDULER_IDS)
def test_scheduler_state_dict_moves_to_torch_and_back_mid_schedule(name, options):
    ours, theirs = schedulers(name, options)
    step_both(ours, theirs, 6)
    # torch's state into a fresh one of ours, and ours into a fresh one of torch's.
    ours_again, theirs_again = schedulers(name, options)
    ours_again.optimizer.load_state_dict(theirs.optimizer.state_dict())
    ours_again.load_state_dict(theirs.state_dict())
    theirs_again.optimizer.load_state_dict(ours.optimizer.state_dict())
    theirs_again.load_state_dict(ours.state_dict())
    step_both(ours_again, theirs, 8)
    step_both(ours, theirs_again, 8)


@pytest.mark.parametrize("optimizer_name", ["SGD", "Adam", "RMSprop"])
def test_one_cycle_cycles_momentum_or_beta1_as_torch(optimizer_name):
    ours, theirs = schedulers("OneCycleLR", {"max_lr": 0.5, "total_steps": 12}, optimizer_name)
    key = "betas" if optimizer_name == "Adam" else "momentum"
    for _ in range(12):
        step_both(ours, theirs, 1)
        mine = [group[key] for group in ours.optimizer.param_groups]
        assert mine == [group[key] for group in theirs.optimizer.param_groups]
    with pytest.raises(ValueError, match="Tried to step 13 times"):
        ours.step()


def test_deprecated_step_with_an_epoch_uses_the_closed_form_as_torch():
    for name, options in SCHEDULERS:
        if name == "LambdaLR":
            continue
        ours, theirs = schedulers(name, options)
        ours.optimizer.step()
        theirs.optimizer.step()
        for epoch in (3, 9, 4):
            with pytest.warns(UserWarning, match="epoch parameter"):
                ours.step(epoch)
            with pytest.warns(UserWarning, match="epoch parameter"):
                theirs.step(epoch)
            assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-15), name


PLATEAU = [
    {},
    {"patience": 2, "factor": 0.5},
    {"mode": "max", "patience": 1, "threshold": 0.1, "threshold_mode": "abs", "cooldown": 2},
    {"patience": 0, "min_lr": [0.02, 0.3], "eps": 1e-3},
    {"mode": "max", "threshold_mode": "rel", "patience": 3, "min_lr": 0.05},
]


@pytest.mark.parametrize("options", PLATEAU, ids=str)
def test_reduce_lr_on_plateau_follows_torch(options):
    ours_optimizer, their_optimizer = optimizers()
    ours = lr_scheduler.ReduceLROnPlateau(ours_optimizer, **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(their_optimizer, **options)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.94, 0.96, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85] * 3
    for epoch, metric in enumerate(metrics):
        ours.step(metric)
        theirs.step(torch.tensor(metric, dtype=torch.float64))
        assert ours.get_last_lr() == theirs.get_last_lr(), epoch
        if epoch == 17:
            ours_state, their_state = ours.state_dict(), theirs.state_dict()
            assert ours_state == their_state
            ours.load_state_dict(their_state)
    assert ours.get_last_lr() != [0.1, 0.5]


def test_stepping_the_scheduler_before_the_optimizer_warns_as_torch():
    ours, theirs = schedulers("StepLR", {"step_size": 2})
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        ours.step()
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        theirs.step()
    assert ours.get_last_lr() == theirs.get_last_lr()


def test_invalid_arguments_raise_as_torch():
    optimizer, _ = optimizers()
    with pytest.raises(ValueError, match="start_factor"):
        lr_scheduler.LinearLR(optimizer, start_factor=0)
    with pytest.raises(ValueError, match=r"factor 1\.5"):
        lr_scheduler.ReduceLROnPlateau(optimizer, factor=1.5)
    with pytest.raises(ValueError, match="mode 'up'"):
        lr_scheduler.ReduceLROnPlateau(optimizer, mode="up")
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        lr_scheduler.LambdaLR(optimizer, [lambda epoch: 1.0])
    with pytest.raises(TypeError, match="not an Optimizer"):
        lr_scheduler.StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)]), 2)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optimizer, 2, last_epoch=3)


@pytest.mark.parametrize(
    ("name", "options"),
    [("MultiStepLR", {"milestones": [2, 5]}), ("CosineAnnealingLR", {"T_max": 6})],
    ids=str,
)
def test_scheduler_state_round_trips_through_a_checkpoint(tmp_path, name, options):
    ours, _ = schedulers(name, options, "Adam")
    ours.optimizer.step()
    for _ in range(3):
        ours.step()
    path = tmp_path / "checkpoint.pt"
    autogradlib.save(
        {"optimizer": ours.optimizer.state_dict(), "scheduler": ours.state_dict()}, path
    )
    saved = autogradlib.load(path)
    resumed, _ = schedulers(name, options, "Adam")
    resumed.optimizer.load_state_dict(saved["optimizer"])
    resumed.load_state_dict(saved["scheduler"])
    for _ in range(5):
        ours.step()
        resumed.step()
        assert resumed.get_last_lr() == ours.get_last_lr()
    plateau = lr_scheduler.ReduceLROnPlateau(ours.optimizer)
    autogradlib.save({"scheduler": plateau.state_dict()}, path)
    assert autogradlib.load(path)["scheduler"]["best"] == math.inf


def test_the_experiment_checkpoints_and_resumes_a_scheduler(monkeypatch, tmp_path):
    started = experiment.start_run

    def start_run_with_a_schedule(config, index):
        state, dataset = started(config, index)
        state.scheduler = lr_scheduler.StepLR(state.optimizer, step_size=2, gamma=0.5)
        return state, dataset

    monkeypatch.setattr(experiment, "start_run", start_run_with_a_schedule)
    config = experiment.Config(epochs=4, repeats=1, train_points=50, test_points=20, hidden=4)
    loss_function = autogradlib.nn.MSELoss()
    uninterrupted, dataset = experiment.start_run(config, 0)
    for _ in range(4):
        experiment.train_epoch(uninterrupted, dataset, config, loss_function)
    first, dataset = experiment.start_run(config, 0)
    for _ in range(3):
        experiment.train_epoch(first, dataset, config, loss_function)
    autogradlib.save(experiment.checkpoint_document(config, [], first, 1), tmp_path / "c.pt")
    _, document = experiment.read_checkpoint(tmp_path / "c.pt")
    resumed, dataset = experiment.resume_run(config, document["run"])
    assert resumed.scheduler.get_last_lr() == [0.1 * 0.5] == first.scheduler.get_last_lr()
    experiment.train_epoch(resumed, dataset, config, loss_function)
    assert resumed.scheduler.get_last_lr() == uninterrupted.scheduler.get_last_lr() == [0.025]
    for ours, expected in zip(
        resumed.model.parameters(), uninterrupted.model.parameters(), strict=True
    ):
        assert torch.equal(ours.tensor, expected.tensor)
