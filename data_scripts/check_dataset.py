"""Check a BraTS folder and print one line per case ("ok" or its problems) and a summary.

    python data_scripts/check_dataset.py DATA_DIR [--expect-masks yes|no|auto] [--no-progress]

The ``brats-tutorial check`` subcommand under another name: the same options, defaults and
exit status (0 all cases pass, 1 a case fails, 2 the folder cannot be used); see ``--help``
or :mod:`brats_tutorial.cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from brats_tutorial.cli import main as cli_main
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from brats_tutorial.cli import main as cli_main

SUBCOMMAND = "check"


def main(argv: list[str] | None = None) -> int:
    """Run ``brats-tutorial check ARGV`` (ARGV: this script\'s arguments by default).

    Returns:
        the exit status of the subcommand.
    """
    return cli_main([SUBCOMMAND, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
