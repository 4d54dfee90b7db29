"""autogradlib.jit: replays equal eager Autogradlib, and never a stale or silently wrong replay."""

import json
import re
import threading
import warnings

import pytest
import torch

import autogradlib
from autogradlib import Variable, cli, data, experiment, jit, nn, no_grad, optim
from autogradlib.jit import JitError


def reference_setup(dtype=torch.float64, optimizer="sgd", points=1000, seed=0):
    """The reference network, its data and an optimizer, all from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    inputs, labels = data.make_disk_dataset(points, generator)
    (inputs,) = data.standardize(inputs)
    targets = data.one_hot(labels, 2)
    model = experiment.disk_classifier([2, 25, 25, 25, 2], generator)
    model.to(dtype)
    if optimizer == "sgd":
        chosen = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        chosen = optim.Adam(model.parameters(), lr=0.01)
    return model, chosen, inputs.to(dtype), targets.to(dtype), generator


def train(use_jit, epochs=20, dtype=torch.float64, optimizer="sgd", change_lr_at=None):
    """Train the reference network; returns the losses and the final parameters."""
    model, chosen, inputs, targets, generator = reference_setup(dtype, optimizer)
    loss_function = nn.MSELoss()

    def step(batch_inputs, batch_targets):
        chosen.zero_grad()
        loss = loss_function(model(batch_inputs), batch_targets)
        loss.backward()
        chosen.step()
        return loss

    run = jit(step) if use_jit else step
    losses = []
    for epoch in range(epochs):
        if epoch == change_lr_at:
            for group in chosen.param_groups:
                group["lr"] = group["lr"] / 10
        for batch in data.batches(inputs, targets, 100, generator=generator):
            losses.append(run(*batch).tensor.clone())
    return torch.stack(losses), [param.tensor.clone() for param in model.parameters()]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float64_training_equals_eager(optimizer):
    # Adam's step counter and bias correction, momentum buffers made on the first step, and a
    # learning rate changed by hand halfway all take effect.
    eager_losses, eager_params = train(False, optimizer=optimizer, change_lr_at=10)
    jit_losses, jit_params = train(True, optimizer=optimizer, change_lr_at=10)
    torch.testing.assert_close(jit_losses, eager_losses, rtol=0, atol=1e-10)
    for ours, theirs in zip(jit_params, eager_params, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-10)


def test_float32_training_within_rounding():
    eager_losses, eager_params = train(False, epochs=5, dtype=torch.float32)
    jit_losses, jit_params = train(True, epochs=5, dtype=torch.float32)
    torch.testing.assert_close(jit_losses, eager_losses)
    for ours, theirs in zip(jit_params, eager_params, strict=True):
        torch.testing.assert_close(ours, theirs)


def test_learning_rate_change_is_not_frozen():
    # Without the change, the runs differ: the change is data, not a recorded constant.
    changed, _ = train(True, epochs=4, change_lr_at=3)
    unchanged, _ = train(True, epochs=4)
    assert not torch.equal(changed[-10:], unchanged[-10:])
    eager, _ = train(False, epochs=4, change_lr_at=3)
    torch.testing.assert_close(changed, eager, rtol=0, atol=1e-12)


def simple_model(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)), generator


@pytest.mark.parametrize(
    ("read", "called"),
    [
        (lambda loss: loss.item(), "item()"),
        (lambda loss: bool(loss > 1), "__bool__()"),
        (lambda loss: float(loss), "__float__()"),
        (lambda loss: loss.tolist(), "tolist()"),
        (lambda loss: (loss.tensor > 0).nonzero(), "nonzero()"),
    ],
)
def test_reading_a_value_while_recording_raises_naming_call_and_line(read, called):
    model, _ = simple_model()

    @jit
    def step(inputs):
        loss = model(inputs).sum()
        read(loss)
        return loss

    inputs = torch.randn(2, 3)
    step(inputs)  # eager
    with pytest.raises(JitError, match=re.escape(called) + r".*test_jit.py:\d+ in <lambda>"):
        step(inputs)
    with pytest.raises(JitError):  # never a replay of what it could not record
        step(inputs)


def test_if_on_a_loss_raises_and_reading_the_result_after_the_call_is_fine():
    model, _ = simple_model()

    @jit
    def step(inputs):
        loss = model(inputs).sum()
        if loss > 1:
            loss = loss * 2
        return loss

    step(torch.randn(2, 3))
    with pytest.raises(JitError, match="__bool__"):
        step(torch.randn(2, 3))

    @jit
    def fine(inputs):
        return model(inputs).sum()

    values = [fine(torch.full((2, 3), float(k))).item() for k in range(4)]
    with no_grad():
        expected = [model(torch.full((2, 3), float(k))).sum().item() for k in range(4)]
    assert values == pytest.approx(expected, abs=1e-6)


def test_random_operations_draw_fresh_numbers_as_eager():
    def run(use_jit):
        torch.manual_seed(3)
        generator = torch.Generator().manual_seed(0)
        model = experiment.disk_classifier([2, 8, 2], generator)
        model = nn.Sequential(model[0], nn.Dropout(0.5), *list(model)[1:])
        chosen = optim.SGD(model.parameters(), lr=0.1)

        def step(inputs):
            chosen.zero_grad()
            noise = torch.rand(inputs.shape)
            loss = (model(inputs + noise) ** 2).mean()
            loss.backward()
            chosen.step()
            return loss

        run_step = jit(step) if use_jit else step
        inputs = torch.randn(16, 2, generator=generator)
        return torch.stack([run_step(inputs).tensor for _ in range(6)])

    jitted = run(True)
    torch.testing.assert_close(jitted, run(False), rtol=0, atol=0)
    assert len(set(jitted.tolist())) == 6  # a different mask and noise every step


def counted_step():
    model, _ = simple_model()
    chosen = optim.SGD(model.parameters(), lr=0.1)
    log = []

    @jit
    def step(inputs):
        chosen.zero_grad()
        loss = model(inputs).pow(2).mean()
        loss.backward()
        chosen.step()
        log.append("side effect")
        return loss

    return model, chosen, step, log


def test_side_effects_happen_only_while_recording_and_returned_values_are_fresh():
    model, _, step, log = counted_step()
    inputs = torch.randn(5, 3)
    losses = [step(inputs) for _ in range(5)]
    assert log == ["side effect", "side effect"]  # the eager first call and the recording
    values = [loss.item() for loss in losses]
    assert len(set(values)) == 5 and values == sorted(values, reverse=True)
    assert all(param.grad is not None for param in model.parameters())


def test_gradients_are_written_back_on_replay():
    model, _, step, _ = counted_step()
    inputs = torch.randn(5, 3)
    for _ in range(3):
        step(inputs)
    expected = {name: param.grad.clone() for name, param in model.named_parameters()}
    before = {name: param.tensor.clone() for name, param in model.named_parameters()}
    step(inputs)
    for name, param in model.named_parameters():
        # this step's gradient, which SGD used: p_new = p_old - 0.1 * grad
        torch.testing.assert_close(before[name] - 0.1 * param.grad, param.tensor)
        assert not torch.equal(param.grad, expected[name])


def test_train_eval_switch_takes_effect():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))

    @jit
    def forward(inputs):
        with no_grad():
            return model(inputs)

    inputs = torch.ones(4, 3)
    for _ in range(3):
        forward(inputs)
    model.eval()
    with no_grad():
        expected = model(inputs).tensor
    for _ in range(3):
        torch.testing.assert_close(forward(inputs).tensor, expected)


def test_a_frozen_or_replaced_parameter_takes_effect():
    model, _, step, _ = counted_step()
    inputs = torch.randn(5, 3)
    for _ in range(3):
        step(inputs)
    frozen = model[0].weight
    frozen.requires_grad = False
    kept = frozen.tensor.clone()
    for _ in range(3):
        step(inputs)
    torch.testing.assert_close(frozen.tensor, kept, rtol=0, atol=0)
    replacement = Variable(torch.zeros(1, 4))
    model[2].weight = replacement
    for _ in range(3):
        output = step(inputs)
    # The replacement is used: the optimizer does not know it, so it stays zero, and the
    # output is the bias alone; the last loss was computed with it.
    assert torch.equal(replacement.tensor, torch.zeros(1, 4))
    bias = model[2].bias.tensor
    with no_grad():
        torch.testing.assert_close(model(inputs).tensor, bias.expand(5, 1))
    assert output.item() != 0


def test_evaluation_under_no_grad():
    model, _ = simple_model()

    @jit
    def evaluate(inputs):
        with no_grad():
            return model(inputs).tensor.argmax(1), model(inputs)

    for _ in range(4):
        inputs = torch.randn(6, 3)
        indices, outputs = evaluate(inputs)
        with no_grad():
            torch.testing.assert_close(outputs.tensor, model(inputs).tensor)
        assert torch.equal(indices, outputs.tensor.argmax(1))
        assert not outputs.requires_grad


def test_a_new_signature_records_a_new_plan_and_too_many_warn():
    model, _ = simple_model()
    step = jit(lambda inputs: model(inputs).sum(), max_recordings=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for rows in (1, 2):
            for _ in range(3):
                step(torch.randn(rows, 3))
    assert step.recordings == 2
    with pytest.warns(UserWarning, match="recorded 3 times") as caught:
        for _ in range(2):
            step(torch.randn(3, 3))
    assert caught[0].filename == __file__  # the warning names the caller's line
    for rows in (1, 2, 3):
        inputs = torch.randn(rows, 3)
        torch.testing.assert_close(step(inputs).tensor, model(inputs).sum().tensor)
    with no_grad():  # the grad mode is part of the signature
        step(torch.randn(1, 3))
    assert step.recordings == 3


def test_what_it_cannot_record_says_so():
    model, _ = simple_model()
    chosen = optim.SGD(model.parameters(), lr=0.1)

    @jit
    def with_closure(inputs):
        def closure():
            return model(inputs).sum()

        return chosen.step(closure)

    with_closure(torch.randn(2, 3))
    with pytest.raises(JitError, match="closure"):
        with_closure(torch.randn(2, 3))

    @jit
    def returns_a_number(inputs):
        return model(inputs), 3.5

    returns_a_number(torch.randn(2, 3))
    with pytest.raises(JitError, match="returns a float"):
        returns_a_number(torch.randn(2, 3))


def test_train_with_jit_gives_eager_numbers(tmp_path, capsys):
    results = {}
    for flag in ([], ["--jit"]):
        out = tmp_path / ("jit" if flag else "eager")
        arguments = ["--epochs", "5", "--repeats", "1", "--quiet", "--out", str(out), *flag]
        assert cli.main(["train", *arguments]) == 0
        document = json.loads((out / "results.json").read_text())
        results[bool(flag)] = [{k: v for k, v in run.items() if k != "seconds"}
                               for run in document["runs"]]  # fmt: skip
    assert results[True] == results[False]
    capsys.readouterr()


def test_jit_with_several_processes_is_refused(capsys):
    assert cli.main(["train", "--jit", "--nproc", "2", "--epochs", "1"]) == 2
    assert "--jit: trains in one process only" in capsys.readouterr().err


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_a_conv_network_with_a_scheduler_equals_eager(optimizer):
    # Batch norm's running statistics, dropout, pooling, cross-entropy, and a StepLR stepped
    # between calls, as in eager mode, to the last bit.
    def run(use_jit):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Dropout(0.2), nn.Linear(4 * 3 * 3, 3),
        )  # fmt: skip
        model.to(torch.float64)
        chosen = getattr(optim, optimizer)(model.parameters(), lr=0.01)
        scheduler = optim.lr_scheduler.StepLR(chosen, step_size=2, gamma=0.5)
        loss_function = nn.CrossEntropyLoss()

        def step(inputs, labels):
            chosen.zero_grad()
            loss = loss_function(model(inputs), labels)
            loss.backward()
            chosen.step()
            return loss

        run_step = jit(step) if use_jit else step
        generator = torch.Generator().manual_seed(1)
        inputs = torch.randn(8, 1, 8, 8, generator=generator, dtype=torch.float64)
        labels = torch.randint(0, 3, (8,), generator=generator)
        losses = []
        for _ in range(6):
            losses += [run_step(inputs, labels).tensor for _ in range(3)]
            scheduler.step()
        return torch.stack(losses), model.state_dict()

    jit_losses, jit_state = run(True)
    eager_losses, eager_state = run(False)
    torch.testing.assert_close(jit_losses, eager_losses, rtol=0, atol=0)
    for name, value in eager_state.items():
        torch.testing.assert_close(jit_state[name], value, rtol=0, atol=0)


def test_values_made_from_shapes_alone_may_be_read():
    model, _ = simple_model()

    @jit
    def step(inputs):
        count = torch.arange(inputs.shape[0]).sum()  # no data in it: the signature fixes it
        return model(inputs).sum() / int(count)

    for _ in range(3):
        inputs = torch.randn(4, 3)
        with no_grad():
            torch.testing.assert_close(step(inputs).tensor, model(inputs).sum().tensor / 6)


def test_gradients_accumulated_over_calls_as_eager():
    # Three calls per update: the first finds no gradient, the next two add to it; two plans.
    def run(use_jit):
        torch.manual_seed(0)
        model, _ = simple_model()
        chosen = optim.SGD(model.parameters(), lr=0.1)

        def accumulate(inputs):
            loss = model(inputs).pow(2).mean()
            loss.backward()
            return loss

        step = jit(accumulate) if use_jit else accumulate
        generator = torch.Generator().manual_seed(0)
        losses = []
        for _ in range(6):
            chosen.zero_grad()
            for _ in range(3):
                losses.append(step(torch.randn(4, 3, generator=generator)).tensor)
            chosen.step()
        return torch.stack(losses), [param.tensor for param in model.parameters()], step

    jit_losses, jit_params, step = run(True)
    eager_losses, eager_params, _ = run(False)
    torch.testing.assert_close(jit_losses, eager_losses, rtol=0, atol=0)
    for ours, theirs in zip(jit_params, eager_params, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    assert step.recordings == 2


def test_a_scheduler_stepped_inside_the_function_takes_effect():
    def run(use_jit):
        torch.manual_seed(0)
        model, _ = simple_model()
        chosen = optim.SGD(model.parameters(), lr=0.1)
        scheduler = optim.lr_scheduler.StepLR(chosen, step_size=2, gamma=0.5)
        inputs = torch.randn(4, 3)

        def step():
            chosen.zero_grad()
            loss = model(inputs).pow(2).mean()
            loss.backward()
            chosen.step()
            scheduler.step()
            return loss

        run_step = jit(step) if use_jit else step
        losses = torch.stack([run_step().tensor for _ in range(8)])
        return losses, chosen.param_groups[0]["lr"]

    jit_losses, jit_lr = run(True)
    eager_losses, eager_lr = run(False)
    torch.testing.assert_close(jit_losses, eager_losses, rtol=0, atol=0)
    assert jit_lr == eager_lr == 0.1 * 0.5**4


def test_a_plateau_scheduler_given_a_tensor_cannot_be_recorded():
    model, _ = simple_model()
    chosen = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(chosen)

    @jit
    def step(inputs):
        chosen.zero_grad()
        loss = model(inputs).pow(2).mean()
        loss.backward()
        chosen.step()
        scheduler.step(loss)
        return loss

    step(torch.randn(4, 3))
    with pytest.raises(JitError, match=r"ReduceLROnPlateau\.step"):
        step(torch.randn(4, 3))


def test_a_step_that_sets_module_state_anew_cannot_be_recorded():
    model, _ = simple_model()
    model.eval()

    @jit
    def step(inputs):
        model.train()  # a replay would not do it
        return model(inputs).sum()

    step(torch.randn(2, 3))  # eager
    model.eval()
    with pytest.raises(JitError, match=r"set Sequential\.training to a new bool"):
        step(torch.randn(2, 3))


def test_a_jitted_method_finds_the_model_on_its_object():
    class Trainer:
        def __init__(self) -> None:
            torch.manual_seed(0)
            self.model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.Linear(8, 1))
            self.optimizer = optim.SGD(self.model.parameters(), lr=0.1)

        @jit
        def step(self, inputs):
            self.optimizer.zero_grad()
            loss = self.model(inputs).pow(2).mean()
            loss.backward()
            self.optimizer.step()
            return loss

    trainer = Trainer()
    inputs = torch.randn(4, 3)
    for _ in range(3):
        trainer.step(inputs)
    trainer.model.eval()  # dropout off: a guard sees it, so the loss is eager's
    with no_grad():
        expected = trainer.model(inputs).pow(2).mean().item()
    assert trainer.step(inputs).item() == expected


def test_a_gradient_penalty_and_a_gradient_hook_replay_as_eager():
    # create_graph=True through autogradlib.grad, and a hook that doubles a gradient.
    def run(use_jit):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
        model.to(torch.float64)
        chosen = optim.Adam(model.parameters(), lr=0.01)
        model[0].weight.register_hook(lambda grad: grad * 2)

        def step(inputs):
            chosen.zero_grad()
            inputs = Variable(inputs)
            output = model(inputs).sum()
            (input_grad,) = autogradlib.grad(output, [inputs], create_graph=True)
            loss = output + (input_grad**2).sum()
            loss.backward()
            chosen.step()
            return loss

        run_step = jit(step) if use_jit else step
        generator = torch.Generator().manual_seed(1)
        batches = [torch.randn(5, 3, generator=generator, dtype=torch.float64) for _ in range(6)]
        return torch.stack([run_step(batch).tensor for batch in batches])

    torch.testing.assert_close(run(True), run(False), rtol=0, atol=0)


def test_a_tensor_read_from_a_closure_and_replaced_there_is_not_stale():
    model, _ = simple_model()
    batch = torch.randn(4, 3)

    @jit
    def forward():
        with no_grad():
            return model(batch)

    for _ in range(4):
        batch = torch.randn(4, 3)  # a new tensor in the closure: the plans' guards see it
        with no_grad():
            expected = model(batch).tensor
        torch.testing.assert_close(forward().tensor, expected)
    batch.mul_(2)  # the same tensor changed in place: read by reference
    with no_grad():
        expected = model(batch).tensor
    torch.testing.assert_close(forward().tensor, expected)


def test_a_call_from_a_second_thread_while_one_runs_is_refused():
    """A plan's buffers serve every call: two threads at once would mix them."""
    started, release = threading.Event(), threading.Event()

    @jit
    def slow(inputs):
        started.set()
        release.wait(10)
        return inputs * 2

    first = threading.Thread(target=slow, args=(torch.ones(2),))
    first.start()
    assert started.wait(10)
    try:
        with pytest.raises(JitError, match="called from a second thread"):
            slow(torch.ones(2))
    finally:
        release.set()
        first.join()
    torch.testing.assert_close(slow(torch.ones(2)), torch.full((2,), 2.0))  # usable after
