"""Check a BraTS folder: python data_scripts/check_dataset.py DIR [--expect-masks yes|no|auto].

Prints one line per case ("ok" or its problems) and a summary. Exit status: 0 all cases pass,
1 a case fails, 2 the folder cannot be used (missing, not a folder, no BraTS files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    from brats_tutorial.validation import check_command
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from brats_tutorial.validation import check_command

_EXPECT_MASKS = {"yes": True, "no": False, "auto": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a BraTS folder (any layout)")
    parser.add_argument(
        "--expect-masks",
        choices=sorted(_EXPECT_MASKS),
        default="auto",
        help="yes: every case needs a mask; no: masks optional; auto (default): inferred",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    arguments = parser.parse_args(argv)
    return check_command(
        arguments.folder,
        expect_masks=_EXPECT_MASKS[arguments.expect_masks],
        progress=not arguments.no_progress,
    )


if __name__ == "__main__":
    raise SystemExit(main())
