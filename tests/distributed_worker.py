"""One rank of the processes that test_distributed.py starts, with torchrun's variables set.

    python distributed_worker.py train OUT      20 data-parallel steps; saves the parameters and
                                                 a gradient-sync probe to OUT.<rank>
    python distributed_worker.py die RANK       trains; rank RANK dies mid-run with os._exit(3)
    python distributed_worker.py stall RANK     trains; rank RANK stops responding mid-run

The test imports the model and data from here, so one process and two train the same problem.
"""

import os
import sys
import time
from datetime import timedelta

import torch

from autogradlib import Variable, data, distributed, nn, optim

POINTS, BATCH_SIZE, STEPS = 210, 21, 20  # batches of 21 split 10 / 11: uneven shares
TIMEOUT = timedelta(seconds=10)


def make_problem():
    """The disk data (float64, one-hot targets) and the generator that shuffles it."""
    generator = torch.Generator().manual_seed(0)
    inputs, labels = data.make_disk_dataset(POINTS, generator, torch.float64)
    (inputs,) = data.standardize(inputs)
    return inputs, data.one_hot(labels, 2, torch.float64), generator


def make_model(seed: int) -> nn.Sequential:
    generator = torch.Generator().manual_seed(seed)
    options = {"dtype": torch.float64, "generator": generator}
    return nn.Sequential(
        nn.Linear(2, 8, **options),
        nn.ReLU(),
        nn.Linear(8, 8, **options),
        nn.ReLU(),
        nn.Linear(8, 2, **options),
        nn.Softmax(dim=1),
    )


def global_batches(generator, steps: int = STEPS):
    """The first `steps` shuffled batches of the data, as every rank and one process see them."""
    inputs, targets, _ = make_problem()
    produced = 0
    while True:
        for batch in data.batches(inputs, targets, BATCH_SIZE, generator=generator):
            if produced == steps:
                return
            produced += 1
            yield batch


def make_optimizer(model):
    return optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def train(model, gradients, stop_at: int | None = None, stop=None) -> None:
    """SGD with momentum on every global batch; `gradients(inputs, targets)` fills the grads.

    At step `stop_at`, calls stop() (which kills or freezes this process)."""
    optimizer = make_optimizer(model)
    _, _, generator = make_problem()
    for step, (inputs, targets) in enumerate(global_batches(generator)):
        if step == stop_at:
            stop()
        optimizer.zero_grad()
        gradients(inputs, targets)
        optimizer.step()


def sync_probe() -> dict:
    """Gradients after sync_gradients when ranks hold different subsets of gradients."""
    module = nn.Module()
    module.both, module.only_rank0, module.nobody = (
        Variable(torch.zeros(2, dtype=torch.float64)) for _ in range(3)
    )
    parallel = distributed.DataParallel(module)
    module.both.grad = torch.full((2,), float(distributed.rank() + 1), dtype=torch.float64)
    if distributed.rank() == 0:
        module.only_rank0.grad = torch.tensor([4.0, 8.0], dtype=torch.float64)
    parallel.sync_gradients()
    return {name: param.grad for name, param in module.named_parameters()}


STOPS = {"die": lambda: os._exit(3), "stall": lambda: time.sleep(120)}


def main(mode: str, argument: str) -> int:
    distributed.init_from_env("gloo", timeout=TIMEOUT)
    rank = distributed.rank()
    # Each rank draws different weights: only the broadcast makes them start equal.
    parallel = distributed.DataParallel(make_model(seed=100 + rank))
    loss_function = nn.MSELoss()

    def gradients(inputs, targets):
        parallel.backward_on_batch(loss_function, inputs, targets)

    if mode in STOPS:
        stop_at = 5 if rank == int(argument) else None
        train(parallel.module, gradients, stop_at, STOPS[mode])
        return 0
    train(parallel.module, gradients)
    result = {
        "parameters": parallel.module.state_dict(),
        "sync_probe": sync_probe(),
        "world_size": distributed.world_size(),
    }
    torch.save(result, f"{argument}.{rank}")
    distributed.shutdown()
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main(sys.argv[1], sys.argv[2]))
