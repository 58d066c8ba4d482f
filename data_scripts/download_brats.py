"""Download BraTS 2020 (Kaggle mirror) or the Decathlon's Task01_BrainTumour, then check it.

    python data_scripts/download_brats.py                       # kagglehub, needs a Kaggle token
    python data_scripts/download_brats.py --zip ~/Downloads/archive.zip --dest data/brats2020
    python data_scripts/download_brats.py --source msd          # no account; about 7 GB
    python data_scripts/download_brats.py --tar ~/Downloads/Task01_BrainTumour.tar --dest data/msd

kagglehub is an optional extra: pip install "brats_tutorial[download]". Credentials: the
environment variables KAGGLE_USERNAME and KAGGLE_KEY, or ~/.kaggle/kaggle.json. Without them,
download the zip from https://www.kaggle.com/datasets/awsaf49/brats20-dataset-training-validation
and pass --zip. ``--source msd`` downloads the Medical Segmentation Decathlon's
Task01_BrainTumour.tar (BraTS 2016-2017 cases, labels 1 oedema, 2 non-enhancing tumour,
3 enhancing tumour) with no account, checks its MD5 and unpacks it under ``--dest`` (default
``~/.cache/brats_tutorial/msd``); ``--tar`` takes a copy downloaded by hand.

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
