"""Variable.register_hook against torch.Tensor.register_hook."""

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
