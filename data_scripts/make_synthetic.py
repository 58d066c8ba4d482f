"""Write a synthetic BraTS-like data set (BraTS 2020 layout) with a progress bar.

    python data_scripts/make_synthetic.py OUTPUT_DIR --cases 12 --seed 0 [--start-index 1]
        [--compressed] [--no-progress]

Running it again with the same arguments does nothing: the data set is already there.

The ``brats-tutorial synthetic`` subcommand under another name: the same options, defaults and
exit status (0 done, 2 the folder holds other data); see ``--help`` or :mod:`brats_tutorial.cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from brats_tutorial.cli import main as cli_main
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from brats_tutorial.cli import main as cli_main

SUBCOMMAND = "synthetic"


def main(argv: list[str] | None = None) -> int:
    """Run ``brats-tutorial synthetic ARGV`` (ARGV: this script\'s arguments by default).

    Returns:
        the exit status of the subcommand.
    """
    return cli_main([SUBCOMMAND, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
