"""The command line: `autogradlib train` runs the reference experiment (or another task),
`autogradlib bench` times it against PyTorch."""

import argparse
import math
import os
import sys
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import torch
from tqdm import tqdm

from autogradlib import distributed, experiment, nn, report, tasks
from autogradlib.errors import CheckpointError
from autogradlib.idx import DataFileError
from autogradlib.interrupts import StopRequests


class CommandLineError(Exception):
    """A mistake in the command line found after parsing: exit code 2 and a one-line message."""


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad arguments end with exit code 2 and one line on stderr, no usage block or traceback."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def whole_number_at_least(low: int):
    """An argparse type: a whole number >= low."""

    def parse(text: str) -> int:
        value = _parse(int, text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {text}")
        return value

    return parse


positive_int = whole_number_at_least(1)
at_least_two = whole_number_at_least(2)
non_negative_int = whole_number_at_least(0)


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


def device_name(text: str) -> str:
    """cpu, cuda, cuda:N or auto, where CUDA (and GPU N) must be present."""
    if text == "auto":
        return text
    try:
        device = torch.device(text)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N or auto, got {text!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(
            f"{text}: CUDA is not available on this machine (torch.cuda.is_available() is "
            "False); use --device cpu or --device auto"
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(
            f"{text}: this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    return text


def _parse(kind, text: str):
    try:
        return kind(text)
    except ValueError:
        noun = "whole number" if kind is int else "number"
        raise argparse.ArgumentTypeError(f"expected a {noun}, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="autogradlib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    train = commands.add_parser("train", help="train the reference network and report the table")
    # The training options default to None, "not given": experiment.Config's defaults (those of
    # the task) fill them in, or, for a resumed run, the checkpoint's configuration (see
    # training_config).
    train.add_argument(
        "--task", choices=tuple(tasks.TASKS), help="what to train on (default disk, the 2018 one)"
    )
    train.add_argument(
        "--data-dir", metavar="DIR", help="mnist, fashion-mnist: the folder of the IDX files"
    )
    train.add_argument("--epochs", type=positive_int)
    train.add_argument("--repeats", type=positive_int)
    train.add_argument("--batch-size", type=positive_int)
    train.add_argument("--lr", type=positive_float)
    train.add_argument("--optimizer", choices=("sgd", "adam"))
    train.add_argument("--schedule", choices=experiment.SCHEDULES, help="of the learning rate")
    train.add_argument("--momentum", type=unit_interval)
    train.add_argument("--hidden", type=positive_int)
    # Standardising needs a std of the training points, which one point does not have.
    train.add_argument("--train-points", type=at_least_two)
    train.add_argument("--test-points", type=positive_int)
    train.add_argument("--seed", type=non_negative_int)
    train.add_argument("--dtype", choices=("float32", "float64"))
    train.add_argument("--device", type=device_name, help="cpu, cuda, cuda:N or auto")
    train.add_argument(
        "--nproc", type=positive_int, default=1, help="local processes, each on its batch slices"
    )
    train.add_argument(
        "--timeout",
        type=positive_float,
        default=distributed.DEFAULT_TIMEOUT.total_seconds(),
        help="seconds a process waits for the others before failing (with --nproc or torchrun)",
    )
    train.add_argument("--out", type=Path, help="output folder (default runs/<timestamp>)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--checkpoint-every",
        type=non_negative_int,
        metavar="N",
        help=f"save <out>/{experiment.CHECKPOINT_NAME} every N epochs (default 0: on Ctrl-C only)",
    )
    train.add_argument(
        "--resume", type=Path, metavar="PATH", help="continue the run saved in this checkpoint"
    )
    train.set_defaults(handler=train_command)

    bench = commands.add_parser("bench", help="time the reference training against PyTorch")
    bench.add_argument(
        "--task", choices=("disk", "digits"), default="disk", help="which training to time"
    )
    bench.add_argument("--repeats", type=positive_int, default=10, help="alternating runs")
    bench.add_argument("--epochs", type=positive_int, help="default 500 (disk), 5 (digits)")
    bench.add_argument(
        "--batch-sizes", type=positive_int, nargs="+", help="digits only; default 64 256"
    )
    bench.add_argument("--threads", type=positive_int, default=1)
    bench.add_argument("--no-scaling", action="store_true", help="skip the width/batch table")
    bench.add_argument("--no-memory", action="store_true", help="skip peak-memory probes")
    bench.add_argument("--out", type=Path, help="output folder (default runs/bench-<timestamp>)")
    bench.set_defaults(handler=bench_command)

    scaling = commands.add_parser(
        "bench-distributed", help="time data-parallel training on 1 and 2 local processes"
    )
    scaling.add_argument("--processes", type=positive_int, nargs="+", default=[1, 2])
    scaling.add_argument("--threads", type=positive_int, default=1, help="torch threads each")
    scaling.add_argument("--epochs", type=positive_int, default=3)
    scaling.add_argument("--points", type=positive_int, default=100_000)
    scaling.add_argument("--hidden", type=positive_int, default=1024)
    scaling.add_argument("--batch-size", type=positive_int, default=1000)
    scaling.set_defaults(handler=bench_distributed_command)
    return parser


def training_config(args: argparse.Namespace) -> tuple[experiment.Config, dict | None]:
    """(config, checkpoint): the options given over Config's defaults, or with --resume the
    checkpoint's config (and the checkpoint), which given options may repeat but not change."""
    given = {
        name: value
        for name in experiment.Config.__dataclass_fields__
        if (value := getattr(args, name)) is not None
    }
    if args.resume is None:
        try:
            config = experiment.Config(**given)
        except ValueError as error:
            raise CommandLineError(str(error)) from None
        return check_data(config), None
    try:
        config, saved = experiment.read_checkpoint(args.resume)
    except CheckpointError as error:
        raise CommandLineError(f"argument --resume: {error}") from error
    conflicts = [
        f"--{name.replace('_', '-')} {value} (it has {getattr(config, name)})"
        for name, value in given.items()
        if value != getattr(config, name)
    ]
    if conflicts:
        raise CommandLineError(
            f"argument --resume: a resumed run keeps the configuration of {args.resume}; "
            f"drop {', '.join(conflicts)}"
        )
    return check_data(config), saved


def check_data(config: experiment.Config) -> experiment.Config:
    """`config`, once its task's files have been read: a missing or malformed one stops the
    command now, in one line, not after the first repeat has started."""
    try:
        experiment.read_data(config)
    except DataFileError as error:
        raise CommandLineError(f"argument --data-dir: {error}") from None
    return config


def output_folder(args: argparse.Namespace) -> Path:
    """--out; else the resumed checkpoint's folder; else runs/<timestamp>; never a file's path."""
    if args.out is not None:
        out = args.out
    elif args.resume is not None:
        out = args.resume.parent
    else:
        out = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    # Found now, not after training, when the files would be written.
    for folder in (out, *out.parents):
        if folder.exists() and not folder.is_dir():
            raise CommandLineError(f"argument --out: {folder} is a file, not a folder")
    return out


def train_command(args: argparse.Namespace) -> int:
    """Train in this process; with --nproc N, in N local ones; under torchrun, as one rank."""
    if args.nproc * int(os.environ.get("WORLD_SIZE", "1")) > 1:
        task = training_config(args)[0].task
        if task != "disk":
            # Each process would normalise its own slice of a batch: not one process's updates.
            raise CommandLineError(
                f"--task {task} trains in one process only: its batch normalisation would "
                "see each process's slice of a batch, not the batch"
            )
    if args.nproc > 1:
        if distributed.launched_with_env():
            print(
                "autogradlib train: error: --nproc starts its own processes; under torchrun, "
                "use torchrun's --nproc_per_node instead",
                file=sys.stderr,
            )
            return 2
        training_config(args)  # a bad configuration fails here, once, not in every worker
        output_folder(args)
        worker_args = argparse.Namespace(**{**vars(args), "nproc": 1})
        return distributed.launch_local(train_command, (worker_args,), args.nproc)
    if not distributed.launched_with_env():
        return train_this_process(args)
    config, _ = training_config(args)
    backend = distributed.default_backend(experiment.resolve_device(config.device))
    distributed.init_from_env(backend, timedelta(seconds=args.timeout))
    result = train_this_process(args)
    distributed.shutdown()
    return result


def train_this_process(args: argparse.Namespace) -> int:
    """The training loop; with several processes, only rank 0 prints and writes files."""
    config, saved = training_config(args)
    out = output_folder(args)
    main_process = distributed.is_main_process()
    task = tasks.TASKS[config.task]
    loss_function = task.make_loss()
    checkpointer = experiment.Checkpointer(
        path=out / experiment.CHECKPOINT_NAME,
        every=checkpoint_period(args, saved),
        config=config,
        runs=saved["runs"] if saved else [],
        enabled=main_process,
    )
    checkpointer.remove_leftovers()
    progress = tqdm(
        total=config.repeats * config.epochs,
        initial=epochs_done(config, saved),
        unit="epoch",
        disable=args.quiet or not main_process,
        file=sys.stderr,
    )
    # With several processes, each would stop after its own epoch and wait for the others forever.
    with StopRequests(enabled=distributed.world_size() == 1) as stop:
        state, dataset = train_repeats(config, saved, checkpointer, stop, progress, loss_function)
    progress.close()
    runs = checkpointer.runs
    if len(runs) < config.repeats:
        if main_process:
            print(
                f"Interrupted: saved {checkpointer.path} after epoch {state.epoch} of repeat "
                f"{state.index + 1}/{config.repeats}; resume with: "
                f"autogradlib train --resume {checkpointer.path}",
                file=sys.stderr,
            )
        return 130
    if not main_process:
        return 0
    summary = experiment.summarize(runs)
    print(f"\nAfter {config.epochs} epochs, {config.repeats} repeats:")
    print(experiment.format_table(summary, *experiment.REFERENCES.get(config.task, (None, ""))))
    verdict = experiment.verdict(config.task, summary)
    if verdict:
        print(verdict)
    loss = loss_function(
        state.model(dataset.train_inputs[: config.batch_size]),
        dataset.train_targets[: config.batch_size],
    )
    graph = loss.draw_graph(params=dict(state.model.named_parameters()))
    written = [
        report.write_results(out, run_description(config), runs, summary),
        report.write_model(out, state.model),
        report.write_curves(out, runs, task.loss_label),
        *report.write_graph(out, graph),
    ]
    print("Wrote " + ", ".join(str(path) for path in written))
    return 0


def train_repeats(
    config: experiment.Config,
    saved: dict | None,
    checkpointer: experiment.Checkpointer,
    stop: StopRequests,
    progress: tqdm,
    loss_function: nn.Module,
) -> tuple[experiment.RunState, experiment.Dataset]:
    """Train the repeats not finished yet, the saved one first, saving as `checkpointer` says;
    returns the last repeat's (state, dataset), early (after saving) when Ctrl-C asks to stop."""
    first = len(checkpointer.runs)
    for index in range(first, config.repeats):
        if saved is not None and saved["run"]["index"] == index:
            state, dataset = experiment.resume_run(config, saved["run"])
        else:
            state, dataset = experiment.start_run(config, index)
        if index == first and distributed.is_main_process():
            progress.write(repr(state.model), file=sys.stdout)
        while state.epoch < config.epochs:
            experiment.train_epoch(state, dataset, config, loss_function)
            progress.update()
            if stop.requested or checkpointer.due(state):
                checkpointer.save(state)
            if stop.requested:
                return state, dataset
        checkpointer.runs.append(experiment.run_result(config, state))
    return state, dataset


def checkpoint_period(args: argparse.Namespace, saved: dict | None) -> int:
    """--checkpoint-every; else the period the resumed run had; else 0 (on Ctrl-C only)."""
    if args.checkpoint_every is not None:
        return args.checkpoint_every
    return saved["checkpoint_every"] if saved else 0


def epochs_done(config: experiment.Config, saved: dict | None) -> int:
    """Epochs trained before this process started: none, or all up to the checkpoint."""
    if saved is None:
        return 0
    return saved["run"]["index"] * config.epochs + saved["run"]["epoch"]


def run_description(config: experiment.Config) -> dict:
    """results.json's "config": the options, the device they resolved to, the process count."""
    return {
        **asdict(config),
        "resolved_device": str(experiment.resolve_device(config.device)),
        "world_size": distributed.world_size(),
    }


def bench_command(args: argparse.Namespace) -> int:
    out = args.out or Path("runs") / time.strftime("bench-%Y%m%d-%H%M%S")
    if args.task == "digits":
        from autogradlib_bench import bench_digits as benchmark

        report = benchmark.run(
            repeats=args.repeats,
            epochs=args.epochs or 5,
            threads=args.threads,
            batch_sizes=args.batch_sizes or benchmark.BATCH_SIZES,
            memory=not args.no_memory,
            out=out,
            progress=lambda message: print(message, file=sys.stderr),
        )
        return print_bench(benchmark, report, out)
    if args.batch_sizes is not None:
        raise CommandLineError("argument --batch-sizes: applies to --task digits only")
    from autogradlib_bench import benchmark

    report = benchmark.run(
        repeats=args.repeats,
        epochs=args.epochs or 500,
        threads=args.threads,
        scaling=not args.no_scaling,
        memory=not args.no_memory,
        out=out,
        progress=lambda message: print(message, file=sys.stderr),
    )
    return print_bench(benchmark, report, out)


def print_bench(benchmark, report: dict, out: Path) -> int:
    """The benchmark's table, whether each target is met, and the files written."""
    print(benchmark.format_markdown(report))
    print()
    checks = benchmark.target_checks(report)
    for description, met in checks:
        print(f"[{'met' if met else 'MISSED'}] {description}")
    print(f"Wrote {out / 'bench.json'} and {out / 'bench.md'}")
    return 0


def bench_distributed_command(args: argparse.Namespace) -> int:
    from autogradlib_bench import bench_distributed

    workload = bench_distributed.Workload(
        hidden=args.hidden, points=args.points, batch_size=args.batch_size, epochs=args.epochs
    )
    report = bench_distributed.run(
        workload,
        args.processes,
        args.threads,
        progress=lambda message: print(message, file=sys.stderr),
    )
    print(bench_distributed.format_markdown(report))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except CommandLineError as error:
        print(f"autogradlib: error: {error}", file=sys.stderr)
        return 2
    except distributed.DistributedError as error:
        print(f"autogradlib: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
