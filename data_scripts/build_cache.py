"""Build the preprocessed slice cache of a BraTS folder.

    python data_scripts/build_cache.py DATA_DIR [--cache-dir DIR] [--image-size 128]
        [--mask-interpolation nearest|label_aware] [--no-progress]

The cache goes beside the data folder unless ``--cache-dir`` says otherwise (never inside it);
re-running reuses the cases that are up to date. The image size defaults to the profile's
(``BRATS_PROFILE``, else quick).

The ``brats-tutorial cache`` subcommand under another name: the same options, defaults and
exit status (0 done, 2 unusable data or settings); see ``--help`` or :mod:`brats_tutorial.cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from brats_tutorial.cli import main as cli_main
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from brats_tutorial.cli import main as cli_main

SUBCOMMAND = "cache"


def main(argv: list[str] | None = None) -> int:
    """Run ``brats-tutorial cache ARGV`` (ARGV: this script\'s arguments by default).

    Returns:
        the exit status of the subcommand.
    """
    return cli_main([SUBCOMMAND, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
