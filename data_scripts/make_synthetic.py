"""Write a synthetic BraTS-like data set (BraTS 2020 layout) with a progress bar.

Usage::

    python data_scripts/make_synthetic.py OUTPUT_DIR --cases 12 --seed 0 [--compressed]

Running it again with the same arguments does nothing: the data set is already there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brats_tutorial.errors import BratsDataError
from brats_tutorial.synthetic import generate_dataset


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description="Write a synthetic BraTS-like data set in the BraTS 2020 layout."
    )
    parser.add_argument("output_dir", type=Path, help="folder to write the cases into")
    parser.add_argument("--cases", type=int, default=12, help="number of cases (default 12)")
    parser.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
    parser.add_argument(
        "--start-index", type=int, default=1, help="number of the first case (default 1)"
    )
    parser.add_argument(
        "--compressed", action="store_true", help="write .nii.gz instead of .nii"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate the data set; return the exit status."""
    arguments = parse_arguments(argv)
    try:
        folders = generate_dataset(
            arguments.output_dir,
            n_cases=arguments.cases,
            seed=arguments.seed,
            compressed=arguments.compressed,
            start_index=arguments.start_index,
            progress=True,
        )
    except (BratsDataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{len(folders)} cases in {arguments.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
