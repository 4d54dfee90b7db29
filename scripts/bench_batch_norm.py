"""BatchNorm2d alone: one training forward and backward in Autogradlib and in PyTorch eager, at the
digits network's sizes, one thread, alternating rounds; CPU time of this process (steadier than
wall time on a shared machine). Prints microseconds per step and the ratio ours / torch.

PYTHONPATH=$PWD .venv/bin/python scripts/bench_batch_norm.py
"""

import statistics
import time

import torch

from autogradlib import Variable, nn

SHAPES = [(64, 8, 8, 8), (64, 16, 4, 4), (256, 8, 8, 8), (256, 16, 4, 4)]
ROUNDS = 9
STEPS = 100


def seconds_per_step(step) -> float:
    start = time.process_time()
    for _ in range(STEPS):
        step()
    return (time.process_time() - start) / STEPS


def compare(shape: tuple) -> tuple[float, float, float]:
    """Best microseconds per step, ours and torch's, and the median of the rounds' ratios."""
    inputs, grad_output = torch.randn(shape), torch.randn(shape)
    ours, theirs = nn.BatchNorm2d(shape[1]), torch.nn.BatchNorm2d(shape[1])
    torch_inputs = inputs.clone().requires_grad_()

    def our_step() -> None:
        ours(Variable(inputs)).backward(grad_output)

    def torch_step() -> None:
        theirs(torch_inputs).backward(grad_output)

    our_times, torch_times = [], []
    for _ in range(ROUNDS):
        our_times.append(seconds_per_step(our_step))
        torch_times.append(seconds_per_step(torch_step))
    ratio = statistics.median(a / b for a, b in zip(our_times, torch_times, strict=True))
    return min(our_times) * 1e6, min(torch_times) * 1e6, ratio


def main() -> None:
    torch.set_num_threads(1)
    print("shape (N, C, H, W) | ours, us | torch, us | median ratio ours / torch")
    for shape in SHAPES:
        ours, theirs, ratio = compare(shape)
        print(f"{shape} | {ours:.0f} | {theirs:.0f} | {ratio:.2f}")


if __name__ == "__main__":
    main()
