"""Time the synthetic data generator: in memory, and written as .nii and .nii.gz.

Usage: ``python benchmarks/bench_synthetic.py [--cases N]``. Prints wall-clock and CPU seconds per
case; the target is under 1 s per case including writing uncompressed ``.nii`` files. On a busy
machine the wall-clock time overstates the cost; run with ``OPENBLAS_NUM_THREADS=1`` there, so
that CPU time is the single-core cost.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from brats_tutorial.synthetic import case_seed, generate_dataset, is_low_grade
from brats_tutorial.synthetic_anatomy import generate_case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5, help="cases per measurement")
    arguments = parser.parse_args()
    count = arguments.cases

    generate_case(case_seed(0, 1))  # warm-up: imports, cached interpolation weights
    wall, cpu = time.perf_counter(), time.process_time()
    for index in range(1, count + 1):
        generate_case(case_seed(0, index), low_grade=is_low_grade(0, index))
    report("generate_case (in memory)", wall, cpu, count)

    for compressed in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            wall, cpu = time.perf_counter(), time.process_time()
            generate_dataset(Path(folder) / "data", n_cases=count, seed=0, compressed=compressed)
            suffix = ".nii.gz" if compressed else ".nii"
            report(f"generate_dataset (writing {suffix})", wall, cpu, count)


def report(label: str, wall_start: float, cpu_start: float, count: int) -> None:
    """Print wall-clock and CPU seconds per case since the given starts."""
    wall = (time.perf_counter() - wall_start) / count
    cpu = (time.process_time() - cpu_start) / count
    print(f"{label:36s} {wall:.3f} s per case wall-clock, {cpu:.3f} s CPU ({count} cases)")


if __name__ == "__main__":
    main()
