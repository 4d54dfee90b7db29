"""Long runs: memory and the number of live operators stay flat over 10,000 training steps, each
step's graph is freed by reference counting alone (no cycles), and a graph 100,000 operations deep
runs forward and backward without touching the recursion limit."""

import gc
import sys
import tracemalloc
import weakref
from collections.abc import Callable

import torch

from autogradlib import GradOperator, Variable, data, experiment, nn, optim

PYTHON_DEFAULT_RECURSION_LIMIT = 1000


def reference_training() -> Callable[[], Variable]:
    """A function that makes one SGD step of the reference network (2-25-25-25-2, batch 100)
    and returns the step's loss."""
    generator = torch.Generator().manual_seed(0)
    model = experiment.build_model(experiment.Config(), generator)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    loss_function = nn.MSELoss()
    inputs, labels = data.make_disk_dataset(1000, generator)
    batches = list(data.batches(inputs, data.one_hot(labels, 2), 100, generator=generator))
    steps = 0

    def step() -> Variable:
        nonlocal steps
        batch_inputs, batch_targets = batches[steps % len(batches)]
        steps += 1
        optimizer.zero_grad()
        loss = loss_function(model(batch_inputs), batch_targets)
        loss.backward()
        optimizer.step()
        return loss

    return step


def live_operators() -> int:
    # type() rather than isinstance(): some of torch's objects warn when asked their __class__.
    return sum(issubclass(type(thing), GradOperator) for thing in gc.get_objects())


def graph_operators(root: Variable) -> list[GradOperator]:
    """Every operator of root's graph."""
    found, pending = {}, [root.grad_op]
    while pending:
        operator = pending.pop()
        if operator is None or id(operator) in found:
            continue
        found[id(operator)] = operator
        pending.extend(source for source in operator.sources() if isinstance(source, GradOperator))
    return list(found.values())


def test_10000_steps_keep_python_memory_and_live_operators_flat():
    step = reference_training()
    tracemalloc.start()
    try:
        for _ in range(2_000):  # warm-up: caches, free lists, the optimizer's state
            step()
        gc.collect()
        memory_after_warm_up = tracemalloc.get_traced_memory()[0]
        operators_after_warm_up = live_operators()
        for _ in range(8_000):
            step()
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - memory_after_warm_up
        operators_at_the_end = live_operators()
    finally:
        tracemalloc.stop()
    # A leak of a single small object per step would add several hundred kilobytes.
    assert growth < 32_000, f"Python memory grew by {growth} bytes over 8,000 steps"
    assert operators_at_the_end == operators_after_warm_up


def test_backward_releases_what_operators_saved_and_reference_counting_frees_the_graph():
    step = reference_training()
    gc.collect()
    gc.disable()  # whatever is freed below is freed by reference counting: no cycle is involved
    try:
        loss = step()
        operators = graph_operators(loss)
        # The Sequential of built-in layers is recorded as one ChainOperator of 8 stages.
        assert sorted(operator.label for operator in operators) == ["MSELoss", "Sequential"]
        (chain,) = [operator for operator in operators if operator.label == "Sequential"]
        assert [label for label, _ in chain.stage_labels()] == ["Linear", "ReLU"] * 3 + [
            "Linear",
            "Softmax",
        ]
        # After backward each operator keeps its place in the graph, but no tensor it saved.
        assert all(operator.released for operator in operators)
        saved = [value for operator in operators for value in vars(operator).values()]
        assert not [value for value in saved if torch.is_tensor(value)]
        alive = [weakref.ref(operator) for operator in operators]
        del operators, chain
        loss = step()  # the training loop's next step drops the previous loss
        assert [ref for ref in alive if ref() is not None] == []
        assert loss.grad_op is not None
    finally:
        gc.enable()


def test_a_graph_100000_operations_deep_with_two_paths_at_every_level():
    limit = sys.getrecursionlimit()
    assert limit <= PYTHON_DEFAULT_RECURSION_LIMIT
    start = torch.tensor([0.3, -1.2], dtype=torch.float64)
    x = Variable(start)
    value = x
    for _ in range(25_000):  # four operators a level: value feeds both a Mul and a Tanh
        value = value * 0.5 + value.tanh() * 0.5
    value.sum().backward()

    theirs = start.clone().requires_grad_()
    their_value = theirs
    for _ in range(25_000):
        their_value = their_value * 0.5 + their_value.tanh() * 0.5
    (their_gradient,) = torch.autograd.grad(their_value.sum(), theirs)

    torch.testing.assert_close(value.tensor, their_value.detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close(x.grad, their_gradient, rtol=1e-10, atol=1e-300)
    assert x.grad.abs().min() > 0  # gradients that survived 25,000 levels, not underflowed zeros
    del value  # freeing 100,000 linked operators must not recurse either
    assert sys.getrecursionlimit() == limit


def test_1000_steps_of_a_gradient_penalty_loop_keep_memory_and_live_operators_flat():
    from autogradlib import grad

    generator = torch.Generator().manual_seed(0)
    model = experiment.build_model(experiment.Config(), generator)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    inputs, labels = data.make_disk_dataset(200, generator)
    targets = data.one_hot(labels, 2)
    batches = list(data.batches(inputs, targets, 50, generator=generator))

    def step(index: int) -> None:
        batch_inputs, batch_targets = batches[index % len(batches)]
        x = Variable(batch_inputs)
        optimizer.zero_grad()
        outputs = model(x)
        (input_gradient,) = grad(outputs.sum(), x, create_graph=True)
        loss = ((outputs - batch_targets) ** 2).mean() + 0.1 * (input_gradient**2).sum(1).mean()
        loss.backward()
        optimizer.step()

    tracemalloc.start()
    gc.disable()  # each step's graphs must be freed by reference counting alone
    try:
        for index in range(300):
            step(index)
        gc.collect()  # also empties the interpreter's free lists, which tracemalloc counts
        memory_after_warm_up = tracemalloc.get_traced_memory()[0]
        operators_after_warm_up = live_operators()
        for index in range(700):
            step(index)
        unreachable = gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - memory_after_warm_up
        operators_at_the_end = live_operators()
    finally:
        gc.enable()
        tracemalloc.stop()
    assert unreachable == 0, f"{unreachable} objects were left in reference cycles"
    assert growth < 32_000, f"Python memory grew by {growth} bytes over 700 steps"
    assert operators_at_the_end == operators_after_warm_up
