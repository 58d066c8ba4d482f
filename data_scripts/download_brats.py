"""Download BraTS 2020 (Kaggle mirror) or unpack the zip downloaded by hand, then check it.

    python data_scripts/download_brats.py                       # kagglehub, needs a Kaggle token
    python data_scripts/download_brats.py --zip ~/Downloads/archive.zip --dest data/brats2020

kagglehub is an optional extra: pip install "brats_tutorial[download]". Credentials: the
environment variables KAGGLE_USERNAME and KAGGLE_KEY, or ~/.kaggle/kaggle.json. Without them,
download the zip from https://www.kaggle.com/datasets/awsaf49/brats20-dataset-training-validation
and pass --zip.

The ``brats-tutorial download`` subcommand under another name: the same options, defaults and
exit status (0 data ready and every case passes the check, 1 a case fails, 2 the download or
unpacking fails); see ``--help`` or :mod:`brats_tutorial.cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from brats_tutorial.cli import main as cli_main
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from brats_tutorial.cli import main as cli_main

SUBCOMMAND = "download"


def main(argv: list[str] | None = None) -> int:
    """Run ``brats-tutorial download ARGV`` (ARGV: this script\'s arguments by default).

    Returns:
        the exit status of the subcommand.
    """
    return cli_main([SUBCOMMAND, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
