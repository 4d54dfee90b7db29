"""The command line: `autogradlib train` runs the reference experiment, `autogradlib bench` times
it against PyTorch."""

import argparse
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from autogradlib import experiment, nn, report


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments end with exit code 2 and one line on stderr, no usage block or traceback."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    value = _parse(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _parse(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _parse(float, text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def unit_interval(text: str) -> float:
    value = _parse(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _parse(kind, text: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="autogradlib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    train = commands.add_parser("train", help="train the reference network and report the table")
    defaults = experiment.Config()
    train.add_argument("--epochs", type=positive_int, default=defaults.epochs)
    train.add_argument("--repeats", type=positive_int, default=defaults.repeats)
    train.add_argument("--batch-size", type=positive_int, default=defaults.batch_size)
    train.add_argument("--lr", type=positive_float, default=defaults.lr)
    train.add_argument("--optimizer", choices=("sgd", "adam"), default=defaults.optimizer)
    train.add_argument("--momentum", type=unit_interval, default=defaults.momentum)
    train.add_argument("--hidden", type=positive_int, default=defaults.hidden)
    train.add_argument("--train-points", type=positive_int, default=defaults.train_points)
    train.add_argument("--test-points", type=positive_int, default=defaults.test_points)
    train.add_argument("--seed", type=non_negative_int, default=defaults.seed)
    train.add_argument("--dtype", choices=("float32", "float64"), default=defaults.dtype)
    train.add_argument("--device", default=defaults.device, help="cpu, cuda, cuda:N or auto")
    train.add_argument("--out", type=Path, help="output folder (default runs/<timestamp>)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=train_command)

    bench = commands.add_parser("bench", help="time the reference training against PyTorch")
    bench.add_argument("--repeats", type=positive_int, default=10, help="alternating runs")
    bench.add_argument("--epochs", type=positive_int, default=500)
    bench.add_argument("--threads", type=positive_int, default=1)
    bench.add_argument("--no-scaling", action="store_true", help="skip the width/batch table")
    bench.add_argument("--no-memory", action="store_true", help="skip peak-memory probes")
    bench.add_argument("--out", type=Path, help="output folder (default runs/bench-<timestamp>)")
    bench.set_defaults(handler=bench_command)
    return parser


def config_from(args: argparse.Namespace) -> experiment.Config:
    fields = experiment.Config.__dataclass_fields__
    return experiment.Config(**{name: getattr(args, name) for name in fields})


def train_command(args: argparse.Namespace) -> int:
    config = config_from(args)
    out = args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    loss_function = nn.MSELoss()
    runs = []
    progress = tqdm(
        total=config.repeats * config.epochs, unit="epoch", disable=args.quiet, file=sys.stderr
    )
    for index in range(config.repeats):
        state, dataset = experiment.start_run(config, index)
        if index == 0:
            progress.write(repr(state.model))
        for _ in range(config.epochs):
            experiment.train_epoch(state, dataset, config, loss_function)
            progress.update()
        runs.append(experiment.run_result(config, state))
    progress.close()
    summary = experiment.summarize(runs)
    print(f"\nAfter {config.epochs} epochs, {config.repeats} repeats:")
    print(experiment.format_table(summary))
    loss = loss_function(
        state.model(dataset.train_inputs[: config.batch_size]),
        dataset.train_targets[: config.batch_size],
    )
    graph = loss.draw_graph(params=dict(state.model.named_parameters()))
    written = [
        report.write_results(out, asdict(config), runs, summary),
        report.write_curves(out, runs),
        *report.write_graph(out, graph),
    ]
    print("Wrote " + ", ".join(str(path) for path in written))
    return 0


def bench_command(args: argparse.Namespace) -> int:
    from autogradlib import benchmark

    out = args.out or Path("runs") / time.strftime("bench-%Y%m%d-%H%M%S")
    report = benchmark.run(
        repeats=args.repeats,
        epochs=args.epochs,
        threads=args.threads,
        scaling=not args.no_scaling,
        memory=not args.no_memory,
        out=out,
        progress=lambda message: print(message, file=sys.stderr),
    )
    print(benchmark.format_markdown(report))
    print()
    checks = benchmark.target_checks(report)
    for description, met in checks:
        print(f"[{'met' if met else 'MISSED'}] {description}")
    print(f"Wrote {out / 'bench.json'} and {out / 'bench.md'}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
