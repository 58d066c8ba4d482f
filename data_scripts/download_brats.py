"""Download BraTS 2020 (Kaggle mirror) or unpack the zip downloaded by hand, then check it.

    python data_scripts/download_brats.py                       # kagglehub, needs a Kaggle token
    python data_scripts/download_brats.py --zip ~/Downloads/archive.zip --dest data/brats2020

kagglehub is an optional extra: pip install "brats_tutorial[download]". Credentials: the
environment variables KAGGLE_USERNAME and KAGGLE_KEY, or ~/.kaggle/kaggle.json. Without them,
download the zip from https://www.kaggle.com/datasets/awsaf49/brats20-dataset-training-validation
and pass --zip. Exit status 0 when the data are ready and every case passes the check.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from brats_tutorial.download import main
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from brats_tutorial.download import main

if __name__ == "__main__":
    raise SystemExit(main())
