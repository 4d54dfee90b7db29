"""Variable.register_hook against torch.Tensor.register_hook."""

import pytest
import torch

from autogradlib import Variable

DOUBLE = torch.float64


def both(values):
    tensor = torch.tensor(values, dtype=DOUBLE)
    return tensor.clone().requires_grad_(), Variable(tensor.clone())


def test_leaf_hooks_run_on_every_pass_before_accumulation_in_registration_order():
    for x in both([1.0, 2.0]):
        seen = []
        x.register_hook(lambda grad, seen=seen: seen.append(("first", grad.clone())))
        x.register_hook(lambda grad, seen=seen: seen.append(("second", grad.clone())) or grad * 10)
        (x * 3).sum().backward()
        (x * 3).sum().backward()
        assert [name for name, _ in seen] == ["first", "second", "first", "second"]
        assert x.grad.tolist() == [60.0, 60.0]  # each pass's 3 became 30, then accumulated


def test_hook_on_an_intermediate_runs_once_with_the_summed_gradient():
    results = []
    for x in both([1.0, 2.0]):
        calls = []
        h = x * x
        h.register_hook(lambda grad, calls=calls: calls.append(grad.clone()))
        (h * 2 + h.exp()).sum().backward()
        assert len(calls) == 1
        results.append((calls[0], x.grad))
    torch.testing.assert_close(results[1][0], results[0][0])
    torch.testing.assert_close(results[1][1], results[0][1])


def test_a_hook_replaces_the_gradient_that_flows_on():
    results = []
    for x in both([1.0, -2.0]):
        h = x.exp()
        h.register_hook(lambda grad: grad.clamp(min=0.0) * 0.5)
        (h * torch.tensor([1.0, -1.0], dtype=DOUBLE)).sum().backward()
        results.append(x.grad)
    torch.testing.assert_close(results[1], results[0])


def test_remove_unregisters_a_hook():
    for x in both([1.0]):
        calls = []
        handle = x.register_hook(lambda grad, calls=calls: calls.append(1))
        handle.remove()
        handle.remove()  # twice is fine
        (x * 2).sum().backward()
        assert calls == []


def test_under_create_graph_an_intermediate_hook_gets_a_variable():
    x = Variable(torch.tensor([1.0, 2.0], dtype=DOUBLE))
    kinds = []
    h = x * x
    h.register_hook(lambda grad: kinds.append(type(grad).__name__))
    (h * h).sum().backward(create_graph=True)
    assert kinds == ["Variable"]


def test_hooks_run_in_grad_too():
    from autogradlib import grad

    x = Variable(torch.tensor([1.0, 2.0], dtype=DOUBLE))
    x.register_hook(lambda g: g * 2)
    (result,) = grad((x * 3).sum(), x)
    assert result.tolist() == [6.0, 6.0]


# --- Module hooks, against torch.nn's ------------------------------------------------------------


def networks():
    from autogradlib import nn

    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3), torch.nn.Tanh()
    ).double()
    model = nn.Sequential(
        nn.Linear(2, 4, dtype=DOUBLE), nn.ReLU(), nn.Linear(4, 3, dtype=DOUBLE), nn.Tanh()
    )
    model.load_state_dict(reference.state_dict())
    return reference, model


def value(x):
    return x.tensor if isinstance(x, Variable) else x.detach()


def record_all_hooks(model, log):
    for name, module in [("model", model), ("0", model[0]), ("2", model[2])]:
        module.register_forward_pre_hook(lambda m, args, name=name: log.append(("pre", name)))
        module.register_forward_hook(
            lambda m, args, out, name=name: log.append(("forward", name, value(out).clone()))
        )
        module.register_full_backward_hook(
            lambda m, gin, gout, name=name: log.append(
                (
                    "backward",
                    name,
                    None if gin[0] is None else value(gin[0]).clone(),
                    value(gout[0]).clone(),
                )
            )
        )


def test_module_hooks_fire_like_torch_through_a_sequential():
    reference, model = networks()
    inputs = torch.randn(5, 2, dtype=DOUBLE)
    logs = []
    for network, x in ((reference, inputs.clone().requires_grad_()), (model, Variable(inputs))):
        log = []
        record_all_hooks(network, log)
        network(x).pow(2).sum().backward()
        logs.append(log)
    expected, actual = logs
    assert [entry[:2] for entry in actual] == [entry[:2] for entry in expected]
    for mine, theirs in zip(actual, expected, strict=True):
        for a, b in zip(mine[2:], theirs[2:], strict=True):
            if b is None:
                assert a is None
            else:
                torch.testing.assert_close(a, b)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_full_backward_hook_on_the_first_layer_with_data_input_and_replacement():
    reference, model = networks()
    inputs = torch.randn(5, 2, dtype=DOUBLE)
    grads = []
    for network, x in ((reference, inputs), (model, Variable(inputs, requires_grad=False))):
        seen = []
        network[0].register_full_backward_hook(lambda m, gin, gout, seen=seen: seen.append(gin))
        network[2].register_full_backward_hook(lambda m, gin, gout: (gin[0] * 2,))
        network(x).sum().backward()
        assert seen == [(None,)]
        grads.append(value(network[0].weight.grad))
    torch.testing.assert_close(grads[1], grads[0])


def test_forward_hooks_replace_inputs_and_outputs_and_handles_remove_them():
    reference, model = networks()
    inputs = torch.randn(3, 2, dtype=DOUBLE)
    outputs = []
    for network, x in ((reference, inputs), (model, Variable(inputs, requires_grad=False))):
        pre = network.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        post = network[2].register_forward_hook(lambda m, args, out: out + 1)
        outputs.append(value(network(x)))
        pre.remove()
        post.remove()
        outputs.append(value(network(x)))
    torch.testing.assert_close(outputs[2], outputs[0])
    torch.testing.assert_close(outputs[3], outputs[1])


def test_a_module_without_hooks_runs_as_a_chain_and_one_with_hooks_splits_it():
    from autogradlib import operators as ops

    _, model = networks()
    x = Variable(torch.randn(3, 2, dtype=DOUBLE), requires_grad=False)
    assert isinstance(model(x).grad_op, ops.Chain)
    model[1].register_forward_hook(lambda m, args, out: None)
    assert not isinstance(model(x).grad_op, ops.Chain)
