"""autogradlib.jit's rewrites of a plan: unused calls dropped, constants folded, never shared."""

import re

import pytest
import torch

from autogradlib import Variable, jit, nn, no_grad, optim


def replayed_calls(step) -> list[str]:
    """The names of the functions a jitted function's plans call, in order."""
    names = []
    for plans in step.plans.values():
        for plan in plans:
            for constant in re.findall(r"\b(c\d+)\(", plan.source):
                names.append(getattr(plan.__globals__[constant], "__name__", constant))
    return names


def reference_step():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Softmax(dim=1))
    model.to(torch.float64)
    chosen = optim.SGD(model.parameters(), lr=0.1)
    loss_function = nn.MSELoss()

    def step(inputs, targets):
        chosen.zero_grad()
        loss_function(model(inputs), targets).backward()
        chosen.step()

    inputs = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    targets = torch.rand(6, 2, generator=generator, dtype=torch.float64)
    return model, step, inputs, targets


def test_a_loss_nobody_reads_is_not_computed_and_the_training_equals_eager():
    model, step, inputs, targets = reference_step()
    eager_model, eager_step, _, _ = reference_step()
    jitted = jit(step)
    for _ in range(5):
        jitted(inputs, targets)
        eager_step(inputs, targets)
    calls = replayed_calls(jitted)
    # The gradient of the mean starts from ones_like(loss) * 2 / n: a constant now.
    assert "mean" not in calls and "square" not in calls and "ones_like" not in calls
    assert "addmm" in calls and "softmax" in calls
    assert "_addmm_activation" in calls and "relu" not in calls  # Linear then ReLU: one call
    for ours, theirs in zip(model.parameters(), eager_model.parameters(), strict=True):
        assert torch.equal(ours.tensor, theirs.tensor)
        assert torch.equal(ours.grad, theirs.grad)


def test_an_unused_random_call_still_draws_from_the_generator():
    def run(use_jit):
        torch.manual_seed(0)

        def step(inputs):
            torch.rand(3)  # unused, but the next draw depends on it
            return inputs + torch.rand(3)

        run_step = jit(step) if use_jit else step
        return torch.stack([run_step(torch.zeros(3)) for _ in range(5)])

    jitted = run(True)
    assert torch.equal(jitted, run(False))
    assert len(set(jitted[:, 0].tolist())) == 5


def test_a_constant_the_step_changes_in_place_is_made_again_each_call():
    @jit
    def scaled(inputs):
        scale = torch.ones(3, dtype=inputs.dtype)
        scale[0] = (scale * inputs).sum()  # folded once, scale would grow on every replay
        return inputs * scale

    for _ in range(4):
        assert scaled(torch.ones(3)).tolist() == [3.0, 1.0, 1.0]


def test_returned_constants_and_their_views_are_fresh_each_call():
    @jit
    def made(inputs):
        zeros = torch.zeros(4)
        return zeros, zeros[:2], inputs.sum() + torch.ones(())

    @jit
    def viewed(inputs):
        zeros = torch.zeros(4)
        return inputs + zeros[:2], zeros[2:]

    for _ in range(4):
        zeros, view, total = made(torch.ones(2))
        assert torch.equal(zeros, torch.zeros(4)) and torch.equal(view, torch.zeros(2))
        zeros.add_(1)  # the caller owns what it gets: the next call does not see this
        assert total.item() == 3.0
        _, half = viewed(torch.ones(2))
        assert torch.equal(half, torch.zeros(2))
        half.add_(1)


def test_a_folded_constant_is_not_shared_with_a_gradient():
    weight = nn.Linear(2, 1).weight

    @jit
    def seed_gradient(inputs):
        weight.grad = torch.zeros(1, 2)  # a Variable's gradient: the caller may change it
        return inputs * 2

    for _ in range(4):
        seed_gradient(torch.ones(2))
        assert torch.equal(weight.grad, torch.zeros(1, 2))
        weight.grad.add_(1)


def test_what_a_replay_leaves_behaves_as_an_eager_steps_tensors():
    # Gradients, parameters and the returned loss: changed in place by the caller, clipped,
    # then an eager step; versions advance as in eager mode (torch's in-place bookkeeping).
    def run(use_jit):
        model, step, inputs, targets = reference_step()

        def returning(inputs, targets):
            step(inputs, targets)
            return model[0].weight.grad.sum()

        run_step = jit(returning) if use_jit else returning
        versions, totals = [], []
        for _ in range(4):
            before = model[0].weight.tensor._version
            total = run_step(inputs, targets)
            versions.append(model[0].weight.tensor._version - before)
            totals.append(total.add_(1).item())
            for param in model.parameters():
                assert not torch.is_inference(param.grad)
                param.grad.mul_(2)
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        returning(inputs, targets)
        return versions, totals, [param.tensor for param in model.parameters()]

    jit_versions, jit_totals, jit_params = run(True)
    eager_versions, eager_totals, eager_params = run(False)
    assert jit_versions == eager_versions and jit_totals == eager_totals
    for ours, theirs in zip(jit_params, eager_params, strict=True):
        assert torch.equal(ours, theirs)


def test_a_tensor_that_requires_torch_grad_is_replayed_with_torchs_autograd():
    @jit
    def doubled(inputs):
        return (inputs * 2).sign() * 2

    for _ in range(4):
        inputs = torch.ones(3, requires_grad=True)
        output = doubled(inputs)
        assert output.requires_grad  # as torch would make it: the user's own torch graph
        assert doubled(torch.ones(3)).requires_grad is False


def test_arguments_of_another_dtype_kind_or_grad_mode_find_their_own_plan():
    def scaled(inputs):
        return (inputs * (torch.ones_like(inputs) / 3)).sum(0)  # a constant of inputs' shape

    def values(result):
        return result.tensor if isinstance(result, Variable) else result

    jitted = jit(scaled, max_recordings=20)
    ones = torch.ones(2, 3)
    cases = [ones, ones[:1], ones.double(), Variable(ones), Variable(ones, requires_grad=False)]
    for _ in range(3):
        for inputs in cases:  # each one after another: its signature differs from the last
            expected = values(scaled(inputs))
            result = jitted(inputs)
            assert type(result) is type(inputs) and torch.equal(values(result), expected)
    for _ in range(3):
        with no_grad():
            assert torch.equal(jitted(ones), scaled(ones))
        assert torch.equal(jitted(ones), scaled(ones))
    assert jitted.recordings == len(cases) + 1


def test_a_variable_that_requires_grad_or_not_finds_its_own_plan():
    weight = Variable(torch.ones(3))

    @jit
    def backward(inputs):
        (inputs * weight).sum().backward()

    for _ in range(3):
        for requires_grad in (True, False):
            inputs = Variable(torch.full((3,), 2.0), requires_grad=requires_grad)
            weight.grad = None
            backward(inputs)
            assert torch.equal(weight.grad, inputs.tensor)
            assert (inputs.grad is not None) == requires_grad


def optimizer_run(use_jit, change, zero_grad_to_none=True):
    """Six steps of a small network with Adam, `change(model, optimizer)` after the third."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    extra = Variable(torch.ones(4, 1))
    chosen = optim.Adam(model.parameters(), lr=0.01)

    def step(inputs):
        chosen.zero_grad(set_to_none=zero_grad_to_none)
        loss = (model(inputs) + model[0](inputs) @ extra).pow(2).mean()
        loss.backward()
        chosen.step()
        return loss

    run_step = jit(step) if use_jit else step
    inputs = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    losses = []
    for index in range(6):
        if index == 3:
            change(model, chosen, extra)
        losses.append(run_step(inputs).tensor)
    return torch.stack(losses), [param.tensor for param in [*model.parameters(), extra]]


def add_group(model, chosen, extra):
    chosen.add_param_group({"params": [extra], "lr": 0.1})


def load_state_with_another_rate(model, chosen, extra):
    state = chosen.state_dict()
    state["param_groups"][0]["lr"] = 0.1
    chosen.load_state_dict(state)  # new group dicts


def nothing(model, chosen, extra):
    pass


@pytest.mark.parametrize("change", [add_group, load_state_with_another_rate, nothing])
@pytest.mark.parametrize("zero_grad_to_none", [True, False])
def test_the_optimizers_update_in_the_replay_follows_its_groups(change, zero_grad_to_none):
    jit_losses, jit_params = optimizer_run(True, change, zero_grad_to_none)
    eager_losses, eager_params = optimizer_run(False, change, zero_grad_to_none)
    assert torch.equal(jit_losses, eager_losses)
    for ours, theirs in zip(jit_params, eager_params, strict=True):
        assert torch.equal(ours, theirs)
    if change is add_group:
        assert not torch.equal(jit_params[-1], torch.ones(4, 1))  # the new group is updated


def test_a_parameters_cached_views_follow_a_new_tensor():
    # 600 rows: Linear multiplies in the transposed layout, with views (t, unsqueeze) of the
    # weight and the bias that a replay keeps while the parameter's tensor is the same.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    @jit
    def forward(inputs):
        return model(inputs).sum(0)

    inputs = torch.randn(600, 3)
    for value in (1.0, 2.0, 3.0):
        for _ in range(3):
            expected = model(inputs).sum(0).tensor  # as recorded: with grad, in a chain
            assert torch.equal(forward(inputs).tensor, expected)
        model[0].weight.tensor = torch.full((4, 3), value)  # new tensors of the same kind
        model[0].bias.tensor = torch.full((4,), value)
        model[2].weight.tensor.mul_(value)  # and one changed in place
    assert "_addmm_activation" in replayed_calls(forward)  # relu of the transposed product


def test_a_product_read_again_after_its_relu_is_not_fused():
    weight, bias = torch.randn(4, 3), torch.randn(4)

    def layer(inputs):
        product = torch.addmm(bias, inputs, weight.t())
        return product.relu(), product * 2, torch.addmm(bias, inputs, weight.t()).t().relu()

    jitted = jit(layer)
    for _ in range(3):
        inputs = torch.randn(5, 3)
        for ours, theirs in zip(jitted(inputs), layer(inputs), strict=True):
            assert torch.equal(ours, theirs)
    assert replayed_calls(jitted).count("_addmm_activation") == 1  # the second product only


def test_results_written_into_buffers_never_reach_the_caller():
    # Intermediates are written into buffers allocated once; what the caller keeps (a result,
    # a view of one, a gradient) is a new tensor on every call.
    torch.manual_seed(0)
    weight = Variable(torch.randn(3, 3))

    def step(inputs):
        weight.grad = None
        product = torch.mm(inputs, weight.tensor)
        signs = product.sign()
        (Variable(inputs) @ weight).sum().backward()
        return product.t(), signs * 2, (signs - 1).sum(1)

    jitted = jit(step)
    kept = []
    for index in range(5):
        inputs = torch.full((4, 3), float(index + 1))
        kept.append((inputs, jitted(inputs), weight.grad))
    for inputs, (view, doubled, total), grad in kept:
        expected_view, expected_doubled, expected_total = step(inputs)
        assert torch.equal(view, expected_view) and torch.equal(doubled, expected_doubled)
        assert torch.equal(total, expected_total) and torch.equal(grad, weight.grad)
    assert len({id(grad) for _, _, grad in kept}) == len(kept)
    assert "out=" in next(iter(jitted.plans.values()))[0].source  # signs: in a buffer


def test_a_transpose_of_a_transpose_is_the_tensor_and_a_repeated_one_is_shared():
    weight = torch.randn(3, 3)

    def transposes(inputs):
        twice = inputs.t().t()  # the inner transpose is then read by nobody
        first, second = inputs.t(), inputs.t()
        return torch.mm(twice, weight) + torch.mm(first, second), second

    jitted = jit(transposes)
    for _ in range(4):
        inputs = torch.randn(3, 3)
        total, second = jitted(inputs)
        expected_total, expected_second = transposes(inputs)
        assert torch.equal(total, expected_total) and torch.equal(second, expected_second)
        assert second is not inputs and second._base is inputs  # returned: a view of its own
    assert replayed_calls(jitted).count("t") == 2  # the first transpose, and the returned one


def test_a_transpose_left_unread_by_the_simplification_is_dropped():
    weight = torch.randn(3, 3)

    def twice(inputs):
        return torch.mm(inputs.t().t(), weight)

    jitted = jit(twice)
    for _ in range(3):
        inputs = torch.randn(3, 3)
        assert torch.equal(jitted(inputs), twice(inputs))
    assert "t" not in replayed_calls(jitted)


def test_an_unused_index_out_of_range_still_raises_as_in_eager():
    @jit
    def pick(inputs, indices):
        inputs[indices]  # unused, but it checks the indices
        return inputs * 2

    for _ in range(3):
        pick(torch.ones(3), torch.tensor([0, 2]))
    with pytest.raises(IndexError):
        pick(torch.ones(3), torch.tensor([0, 5]))


def test_a_sparse_intermediate_is_recorded_and_replayed():
    @jit
    def dense_sum(inputs):
        return (inputs.to_sparse() * 2).to_dense().sum(0)

    for _ in range(3):
        inputs = torch.randn(3, 4)
        assert torch.equal(dense_sum(inputs), (inputs * 2).sum(0))


def test_a_constant_filled_with_data_is_not_folded():
    @jit
    def filled(inputs):
        return torch.full_like(inputs, inputs.sum()) + 0  # the fill value is data

    for value in (1.0, 2.0, 3.0, 4.0):
        inputs = torch.full((2,), value)
        assert torch.equal(filled(inputs), torch.full((2,), 2 * value))


def test_a_call_writing_into_out_is_replayed():
    @jit
    def doubled(inputs):
        result = torch.empty(3)
        torch.mul(inputs, 2, out=result)
        return result

    for value in (1.0, 2.0, 3.0, 4.0):
        assert torch.equal(doubled(torch.full((3,), value)), torch.full((3,), 2 * value))


def test_an_unused_loss_that_checks_its_inputs_still_raises_as_in_eager():
    @jit
    def checked(inputs):
        torch.nn.functional.binary_cross_entropy(inputs, torch.zeros(2))  # inputs in [0, 1]
        return inputs * 2

    for _ in range(3):
        checked(torch.full((2,), 0.5))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        checked(torch.full((2,), 1.5))
