"""Long runs: memory and the number of live operators stay flat over 10,000 training steps, each
step's graph is freed by reference counting alone (no cycles), and a graph 100,000 operations deep
runs forward and backward without touching the recursion limit."""

import gc
import sys
import tracemalloc
import weakref
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from autogradlib import GradOperator, Variable, data, experiment, nn, no_grad, optim, tasks

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


class PeakLiveBytes(TorchDispatchMode):
    """The most bytes that tensors made by aten operators inside held at once (a storage counted
    once, however many tensors view it; freed when the last of them is)."""

    def __init__(self) -> None:
        super().__init__()
        self.holders: dict[int, set] = {}  # storage address -> ids of the tensors that hold it
        self.sizes: dict[int, int] = {}
        self.live = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(output):
            if isinstance(tensor, torch.Tensor):
                self.track(tensor)
        self.peak = max(self.peak, self.live)
        return output

    def track(self, tensor: torch.Tensor) -> None:
        address = tensor.untyped_storage().data_ptr()
        if address not in self.holders:
            self.holders[address] = set()
            self.sizes[address] = tensor.untyped_storage().nbytes()
            self.live += self.sizes[address]
        if id(tensor) not in self.holders[address]:
            self.holders[address].add(id(tensor))
            weakref.finalize(tensor, self.release, address, id(tensor))

    def release(self, address: int, tensor_id: int) -> None:
        holders = self.holders[address]
        holders.discard(tensor_id)
        if not holders:
            del self.holders[address]
            self.live -= self.sizes.pop(address)


def test_an_eval_forward_under_no_grad_peaks_no_higher_than_torch_nn():
    # The digits benchmark's final loss: one eval-mode pass over a large batch. Its peak was a
    # batch norm holding its input, x - mean and the output at once; torch.nn holds two.
    ours = tasks.seeded_lenet(0, nn)
    theirs = tasks.lenet(torch.nn)
    theirs.load_state_dict(ours.state_dict())
    ours.eval()
    theirs.eval()
    images = torch.randn(300, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    with no_grad(), PeakLiveBytes() as ours_peak:
        ours(images)
    with torch.no_grad(), PeakLiveBytes() as theirs_peak:
        theirs(images)
    per_channel_tensors = 1024  # the statistics' few small tensors
    assert ours_peak.peak <= theirs_peak.peak + per_channel_tensors, (
        ours_peak.peak,
        theirs_peak.peak,
    )


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
