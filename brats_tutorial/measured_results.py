"""Measured results that ship with the package, for the chapters to read where the book's build
cannot afford to measure them again.

Each file in ``brats_tutorial/results/`` is the CSV that a script of ``benchmarks/`` wrote,
committed with the commit, date, machine and case ids of the run in its columns:

- ``improvements.csv``: ``benchmarks/improvements.py`` (per variant, seed, patient and region:
  Dice and HD95 on the real BraTS 2018 sample, training seconds), from commit 4253415, 2-core CPU,
  2026-12-03, 8 variants x 3 training seeds. One correction by hand, by the rule the benchmark
  now applies itself: the baseline's seed-0 run (and mirroring and post-processing, which reuse
  its model) resumed a run that an interrupted earlier call had started, so its recorded
  training time covered only the part after the resume (65 s of CPU against 207-266 s for the
  other runs); its ``train_wall_s`` and ``train_cpu_s`` are left empty (NaN). Its scores are
  those of the finished run.
- ``full_scale_rehearsal.csv``: ``benchmarks/full_scale_rehearsal.py`` (the full profile at BraTS
  2020's size on a 2-core CPU, 369 cases repeating the sample's 24: check and cache-build times,
  cache size, peak memory of the training set-up, input-pipeline rates, and the estimated epoch
  and run times on a T4, marked ``kind = "estimate"`` with their assumptions in ``note``), from a
  working tree based on commit e7abd4c, 2026-12-03.
- ``runtime_store.csv``: ``benchmarks/bench_runtime_store.py`` (sizes and times of
  ``brats-tutorial store save`` / ``restore`` on the sample's 24 cases as plain ``.nii``, and the
  same scaled to 369 cases, marked as estimates).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: Folder of the shipped CSV files.
RESULTS_DIR: Path = Path(__file__).resolve().parent / "results"


def results_path(name: str) -> Path:
    """Path of the shipped results ``name`` (e.g. "improvements"), which may not exist yet."""
    return RESULTS_DIR / f"{name}.csv"


def result_values(name: str) -> pd.Series:
    """The ``value`` column of a one-row-per-quantity results file, indexed by ``name``
    (``full_scale_rehearsal``, ``runtime_store``)."""
    return load_results(name).set_index("name")["value"].astype(float)


def load_results(name: str) -> pd.DataFrame:
    """The shipped results ``name`` as a DataFrame.

    Raises:
        FileNotFoundError: naming the file and the benchmark that writes it.
    """
    path = results_path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: run `python benchmarks/{name}.py` from the repository to make it"
        )
    # A short commit hash may be all digits ("4253415"): read it as text, not as a number.
    return pd.read_csv(path, dtype={"commit": str, "date": str, "machine": str})
