"""Measured results that ship with the package, for the chapters to read where the book's build
cannot afford to measure them again.

Each file in ``brats_tutorial/results/`` is the CSV that a script of ``benchmarks/`` wrote,
committed with the commit, date, machine and case ids of the run in its columns:

- ``improvements.csv``: ``benchmarks/improvements.py`` (per variant, patient and region: Dice and
  HD95 on the real BraTS 2018 sample, training seconds).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: Folder of the shipped CSV files.
RESULTS_DIR: Path = Path(__file__).resolve().parent / "results"


def results_path(name: str) -> Path:
    """Path of the shipped results ``name`` (e.g. "improvements"), which may not exist yet."""
    return RESULTS_DIR / f"{name}.csv"


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
