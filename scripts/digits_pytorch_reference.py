"""The digits task's bar: the same network (tasks.lenet with torch.nn), data, split, batches and
schedule trained in PyTorch, over 20 seeds; prints the table that `autogradlib train --task
digits` prints, median ± std over the seeds.

.venv/bin/python scripts/digits_pytorch_reference.py [--repeats 20] [--init autogradlib|pytorch]

--init autogradlib (the default) starts each seed from the initial weights of Autogradlib's model
for that seed, copied through the state dict: then the library is the only difference. --init
pytorch draws them with torch.nn's own initialisers (its Linear differs: Kaiming-uniform weights
and biases, where Autogradlib's, as the seed's, are Xavier-normal with zero biases).
"""

import argparse
import types

import torch

from autogradlib import experiment, tasks

METRICS = experiment.METRICS


def evaluate(model, inputs, labels) -> tuple[float, float]:
    with torch.no_grad():
        outputs = model(inputs)
        loss = torch.nn.functional.cross_entropy(outputs, labels).item()
    return loss, (outputs.argmax(1) == labels).double().mean().item()


def train_seed(seed: int, init: str, epochs: int) -> dict:
    """One repeat, as experiment.start_run and train_epoch run it, in torch.nn and torch.optim."""
    config = experiment.Config(task="digits", seed=seed, epochs=epochs)
    generator = torch.Generator().manual_seed(seed)
    dataset = tasks.digits_dataset(types.SimpleNamespace(dtype="float32"), generator)
    model = tasks.seeded_lenet(seed, torch.nn, 8, config.hidden)
    if init == "autogradlib":
        ours = tasks.seeded_lenet(seed, tasks.nn, 8, config.hidden)
        model.load_state_dict({name: tensor.clone() for name, tensor in ours.state_dict().items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    loss_function = torch.nn.CrossEntropyLoss()
    for _ in range(config.epochs):
        model.train()
        for inputs, targets in tasks.data_loader_batches(dataset, config.batch_size, generator):
            optimizer.zero_grad()
            loss_function(model(inputs), targets).backward()
            optimizer.step()
        scheduler.step()
    model.eval()
    train = evaluate(model, dataset.train_inputs, dataset.train_labels)
    test = evaluate(model, dataset.test_inputs, dataset.test_labels)
    return dict(zip(METRICS, (*train, *test), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--init", choices=("autogradlib", "pytorch"), default="autogradlib")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = []
    for seed in range(args.repeats):
        runs.append(train_seed(seed, args.init, args.epochs))
        print(f"seed {seed}: test accuracy {runs[-1]['test_accuracy']:.4f}", flush=True)
    summary = experiment.summarize(runs)
    print(f"\nPyTorch {torch.__version__}, --init {args.init}, {args.repeats} seeds:")
    for name in METRICS:
        print(f"{name:16} {summary[name]['median']:.4f} ± {summary[name]['std']:.4f}")


if __name__ == "__main__":
    main()
