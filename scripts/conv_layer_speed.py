"""One layer's forward and backward, Autogradlib against PyTorch eager: CPU time per call of each
layer of the digits network (8x8 images), best of several alternating rounds, and the ratio.

.venv/bin/python scripts/conv_layer_speed.py [batch_size]

CPU time of this thread (time.thread_time), not wall-clock time, so that other processes on the
machine disturb the figures less; one torch thread, as the benchmarks use.
"""

import sys
import time

import torch

from autogradlib import Variable, nn

ROUNDS = 9
CALLS = 30

# name, layer given the nn module (torch.nn or autogradlib.nn), input shape after the batch, and
# whether the input needs its gradient (not the images themselves)
LAYERS = [
    ("Conv2d(1, 16, 3, padding=1)", lambda m: m.Conv2d(1, 16, 3, padding=1), (1, 8, 8), False),
    ("Conv2d(16, 32, 3, padding=1)", lambda m: m.Conv2d(16, 32, 3, padding=1), (16, 4, 4), True),
    ("MaxPool2d(2) of 16x8x8", lambda m: m.MaxPool2d(2), (16, 8, 8), True),
    ("AvgPool2d(2) of 16x8x8", lambda m: m.AvgPool2d(2), (16, 8, 8), True),
    ("AdaptiveAvgPool2d(1) of 32x2x2", lambda m: m.AdaptiveAvgPool2d(1), (32, 2, 2), True),
]


def seconds_per_call(step) -> float:
    """Best of ROUNDS rounds of CALLS calls: the CPU time of this thread per call."""
    start = time.thread_time()
    for _ in range(CALLS):
        step()
    return (time.thread_time() - start) / CALLS


def forward_backward(layer, input, grad_output):
    """One call: the layer's forward, then backward from grad_output."""
    return lambda: layer(input).backward(grad_output)


def main(batch_size: int) -> None:
    torch.set_num_threads(1)
    print(f"batch {batch_size}: microseconds per forward + backward (CPU time, best of {ROUNDS})")
    for name, make, shape, input_needs_grad in LAYERS:
        torch.manual_seed(0)
        theirs = make(torch.nn)
        ours = make(nn)
        ours.load_state_dict(theirs.state_dict())
        images = torch.randn(batch_size, *shape)
        torch_input = images.clone().requires_grad_(input_needs_grad)
        our_input = Variable(images.clone(), requires_grad=input_needs_grad)
        grad_output = torch.randn(theirs(images).shape)

        torch_step = forward_backward(theirs, torch_input, grad_output)
        our_step = forward_backward(ours, our_input, grad_output)
        best = {"torch": float("inf"), "ours": float("inf")}
        for _ in range(ROUNDS):  # alternating, so that both meet the same machine
            best["torch"] = min(best["torch"], seconds_per_call(torch_step))
            best["ours"] = min(best["ours"], seconds_per_call(our_step))
        print(
            f"  {name:32} PyTorch {best['torch'] * 1e6:8.0f}  Autogradlib "
            f"{best['ours'] * 1e6:8.0f}  ratio {best['ours'] / best['torch']:.2f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 64)
