"""How low a step of the reference network can go from Python: microseconds per step of a
hand-written step (the same tensor operations as Autogradlib's operators, written out with no
objects at all), the same under torch.inference_mode(), the same with buffers allocated once, the
floor, Autogradlib, autogradlib.jit and PyTorch eager.

.venv/bin/python scripts/hand_written_step.py [batch_size] [epochs]      (see docs/performance.md)
"""

import copy
import statistics
import sys
import time

import torch

from autogradlib import jit, nn, optim
from autogradlib_bench import benchmark

ROUNDS = 7


def hand_written_trainer(weights, parameters, batches):
    """The reference step written out: addmm, relu, softmax, MSE and their gradients, one SGD."""

    def train() -> None:
        for inputs, targets in batches:
            hidden, activations = inputs, [inputs]
            for index, (weight, bias) in enumerate(weights):
                hidden = torch.addmm(bias, hidden, weight.t())
                if index < len(weights) - 1:
                    hidden = hidden.relu()
                activations.append(hidden)
            if hidden.numel() >= 512:  # the formula the Softmax operator picks
                exponentials = (hidden - hidden.amax(1, keepdim=True)).exp_()
                outputs = exponentials.div_(exponentials.sum(1, keepdim=True))
            else:
                outputs = hidden.softmax(1)
            difference = outputs - targets
            difference.square().mean()
            grad = difference.mul_(2 / difference.numel())
            weighted = grad * outputs
            grad = weighted.addcmul_(outputs, weighted.sum(1, keepdim=True), value=-1)
            grads = []
            for index in reversed(range(len(weights))):
                layer_input = activations[index]
                grads += [grad.t().mm(layer_input), grad.sum(0)]
                if index > 0:
                    grad = grad.mm(weights[index][0]).mul_(layer_input.sign())
            torch._foreach_add_(parameters, grads, alpha=-benchmark.LEARNING_RATE)

    return train


def hand_written_with_buffers_trainer(weights, parameters, batches):
    """The same step with every result written into a buffer allocated once (out= variants,
    in-place relu), the loss left out (nothing reads it) and the product's relu in place: the
    fewest allocations and calls a plan of these operations could make."""
    buffers: dict[int, tuple] = {}

    def allocate(rows: int, like: torch.Tensor) -> tuple:
        widths = [weight.shape[0] for weight, _ in weights]
        empty = [like.new_empty(rows, width) for width in widths]
        masks = [like.new_empty(rows, width) for width in widths]
        grad_inputs = [like.new_empty(rows, weight.shape[1]) for weight, _ in weights]
        grad_weights = [torch.empty_like(weight) for weight, _ in weights]
        grad_biases = [torch.empty_like(bias) for _, bias in weights]
        scratch = (like.new_empty(rows, widths[-1]), like.new_empty(rows, widths[-1]),
                   like.new_empty(rows, 1))  # fmt: skip
        return empty, masks, grad_inputs, grad_weights, grad_biases, scratch

    def train() -> None:
        for inputs, targets in batches:
            rows = inputs.shape[0]
            if rows not in buffers:
                buffers[rows] = allocate(rows, inputs)
            hiddens, masks, grad_inputs, grad_weights, grad_biases, scratch = buffers[rows]
            hidden, activations, last = inputs, [inputs], len(weights) - 1
            for index, (weight, bias) in enumerate(weights):
                hidden = torch.addmm(bias, hidden, weight.t(), out=hiddens[index])
                if index < last:
                    hidden.relu_()
                activations.append(hidden)
            outputs, difference, row_sums = scratch
            torch.softmax(hidden, 1, out=outputs)
            torch.sub(outputs, targets, out=difference).mul_(2 / difference.numel())
            weighted = difference.mul_(outputs)
            torch.sum(weighted, 1, keepdim=True, out=row_sums)
            grad = weighted.addcmul_(outputs, row_sums, value=-1)
            grads = []
            for index in reversed(range(len(weights))):
                layer_input = activations[index]
                torch.mm(grad.t(), layer_input, out=grad_weights[index])
                torch.sum(grad, 0, out=grad_biases[index])
                grads += [grad_weights[index], grad_biases[index]]
                if index > 0:
                    grad = torch.mm(grad, weights[index][0], out=grad_inputs[index])
                    grad.mul_(torch.sign(layer_input, out=masks[index - 1]))
            torch._foreach_add_(parameters, grads, alpha=-benchmark.LEARNING_RATE)

    return train


def jit_trainer(model, batches_by_epoch):
    """The same loop with its step under autogradlib.jit."""
    optimizer = optim.SGD(model.parameters(), lr=benchmark.LEARNING_RATE)
    loss_function = nn.MSELoss()

    @jit
    def step(batch_inputs, batch_targets):
        optimizer.zero_grad()
        loss_function(model(batch_inputs), batch_targets).backward()
        optimizer.step()

    def train() -> None:
        for epoch in batches_by_epoch:
            for batch_inputs, batch_targets in epoch:
                step(batch_inputs, batch_targets)

    return train


def main(batch_size: int, epochs: int) -> None:
    torch.set_num_threads(1)
    workload = benchmark.Workload(batch_size=batch_size, epochs=epochs)
    _, _, batches_by_epoch, ours, theirs = benchmark.prepare(workload)
    batches = [batch for epoch in batches_by_epoch for batch in epoch]
    weights, parameters = benchmark.floor_parameters(ours)
    hand_written = hand_written_trainer(weights, parameters, batches)

    def hand_written_in_inference_mode() -> None:
        with torch.inference_mode():
            hand_written()

    with_buffers = hand_written_with_buffers_trainer(weights, parameters, batches)

    def with_buffers_in_inference_mode() -> None:
        with torch.inference_mode():
            with_buffers()

    def floor() -> None:
        for batch_inputs, batch_targets in batches:
            layers, outputs = benchmark.floor_forward(weights, batch_inputs)
            loss_operator, loss = benchmark.floor_loss(outputs, batch_targets)
            grads = benchmark.floor_backward(layers, loss_operator, loss)
            torch._foreach_add_(parameters, grads, alpha=-benchmark.LEARNING_RATE)

    def library_trainer(model, optimizer, loss_function):
        def train() -> None:
            benchmark.train_loop(model, optimizer, loss_function, batches_by_epoch)

        return train

    trainers = {
        "hand-written": hand_written,
        "hand-written, inference mode": hand_written_in_inference_mode,
        "hand-written, buffers, inference": with_buffers_in_inference_mode,
        "jit": jit_trainer(copy.deepcopy(ours), batches_by_epoch),
        "floor": floor,
        "Autogradlib": library_trainer(ours, optim.SGD(ours.parameters(), lr=0.1), nn.MSELoss()),
        "PyTorch eager": library_trainer(
            theirs, torch.optim.SGD(theirs.parameters(), lr=0.1), torch.nn.MSELoss()
        ),
    }
    seconds = {name: [] for name in trainers}
    for _ in range(ROUNDS):
        for name, train in trainers.items():
            started = time.perf_counter()
            train()
            seconds[name].append(time.perf_counter() - started)
    reference = seconds["PyTorch eager"]
    print(f"batch {batch_size}, {len(batches)} steps a run, {ROUNDS} rounds, one thread:")
    for name, times in seconds.items():
        ratios = [mine / theirs for mine, theirs in zip(times, reference, strict=True)]
        ratio = statistics.median(ratios)
        per_step = statistics.median(times) / len(batches) * 1e6
        print(f"{name:30s} {per_step:7.1f} us per step, {ratio:.3f} of PyTorch eager")


if __name__ == "__main__":
    arguments = [int(argument) for argument in sys.argv[1:]]
    main(*(arguments + [100, 60][len(arguments) :]))
