"""What the Sequential chain and the tall layout buy in eager mode (issue 13's last section).

Eager Autogradlib with both (as shipped), the chain alone, and neither, against PyTorch eager:
process CPU time of 10 epochs, 7 alternating runs, median ratio to PyTorch. Run from the repository
root: PYTHONPATH=$PWD .venv/bin/python scripts/chain_ab.py
"""

import statistics
import time

import torch

from autogradlib.nn import layers
from autogradlib.operators import fused
from autogradlib_bench import benchmark

VARIANTS = ("chain+tall", "chain", "none", "pytorch")
CHAINED = layers.records_as_stage


def cpu_seconds(library: str, workload, prepared) -> float:
    started = time.process_time()
    benchmark.time_training(library, workload, prepared)
    return time.process_time() - started


def main() -> None:
    torch.set_num_threads(1)
    for batch_size in (100, 1000):
        workload = benchmark.Workload(batch_size=batch_size, epochs=10)
        prepared = benchmark.prepare(workload)
        model = prepared[3]
        times = {variant: [] for variant in VARIANTS}
        for _ in range(7):
            for variant in VARIANTS:
                if variant == "pytorch":
                    times[variant].append(cpu_seconds("pytorch", workload, prepared))
                    continue
                layers.records_as_stage = CHAINED if "chain" in variant else lambda layer: False
                fused.TALL = 512 if "tall" in variant else 10**9
                model._runs = None  # the Sequential plans its runs again
                times[variant].append(cpu_seconds("autogradlib", workload, prepared))
        ratios = {
            variant: statistics.median(
                mine / theirs for mine, theirs in zip(times[variant], times["pytorch"], strict=True)
            )
            for variant in VARIANTS
        }
        print(batch_size, {variant: round(ratio, 3) for variant, ratio in ratios.items()})


if __name__ == "__main__":
    main()
