"""Where the data and the working files live: real BraTS when configured, else synthetic.

Resolution order for the data folder, used by every chapter and the command line:

1. an explicit ``data_dir`` argument;
2. the environment variable ``BRATS_DATA_DIR`` (a BraTS folder of any release and layout that
   :func:`brats_tutorial.discovery.find_cases` reads: BraTS 2018-2020, 2021, 2023+ adult
   glioma, MSD Task01);
3. a synthetic BraTS-like data set generated on the spot into the work folder, unless real data
   are needed: the ``full`` profile (:attr:`Profile.needs_real_data
   <brats_tutorial.profiles.Profile.needs_real_data>`) then stops with a ``ValueError`` that says
   how to get BraTS. Asking for synthetic data explicitly (``synthetic=True`` or the environment
   variable ``BRATS_SYNTHETIC=1``) generates them in any profile; ``synthetic=False`` or
   ``BRATS_SYNTHETIC=0`` makes real data required in every profile. Real data, when given,
   always win.

The work folder (synthetic data, caches, checkpoints) is ``BRATS_WORK_DIR`` when set, else
``brats_tutorial_work`` in the system's temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .constants import (
    DATA_DIR_ENV,
    KAGGLE_DATASET_URL,
    SAMPLE_DIR_ENV,
    SYNTHETIC_CASES,
    SYNTHETIC_ENV,
)

WORK_DIR_ENV = "BRATS_WORK_DIR"


def repository_root() -> Path:
    """The folder above the package (the repository root in a source checkout)."""
    return Path(__file__).resolve().parent.parent


def sample_dir() -> Path | None:
    """The real BraTS 2018 sample: ``BRATS_SAMPLE_DIR``, else ``../shared/brats18_sample``.

    Returns:
        The folder, or ``None`` when it is not there (tests then skip).
    """
    candidates = []
    if os.environ.get(SAMPLE_DIR_ENV):
        candidates.append(Path(os.environ[SAMPLE_DIR_ENV]).expanduser())
    candidates.append(repository_root().parent / "shared" / "brats18_sample")
    candidates.append(Path.cwd().parent / "shared" / "brats18_sample")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def default_work_dir() -> Path:
    """Folder for generated data, caches and checkpoints (created if missing)."""
    work_dir = Path(
        os.environ.get(WORK_DIR_ENV) or Path(tempfile.gettempdir()) / "brats_tutorial_work"
    ).expanduser()
    work_dir.mkdir(parents=True, exist_ok=True)
    return work_dir


def configured_data_dir() -> Path | None:
    """The real data folder named by ``BRATS_DATA_DIR``, or ``None`` when unset."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def synthetic_requested() -> bool | None:
    """The learner's choice in ``BRATS_SYNTHETIC``: ``True`` for "1", ``False`` for "0", else ``None``.

    "true"/"yes"/"on" and "false"/"no"/"off" are accepted too, in any case; unset or empty
    means no choice (the profile decides).

    Raises:
        ValueError: for any other value.
    """
    value = os.environ.get(SYNTHETIC_ENV, "").strip().lower()
    if not value:
        return None
    if value in _TRUE_WORDS:
        return True
    if value in _FALSE_WORDS:
        return False
    raise ValueError(
        f"{SYNTHETIC_ENV}={os.environ[SYNTHETIC_ENV]!r}: use 1 (synthetic data when no real "
        "BraTS folder is given) or 0 (real data required)"
    )


def missing_real_data_message(purpose: str = "this run") -> str:
    """What to do when real data are needed and none is given: where to point, how to download.

    Args:
        purpose: who needs the data, e.g. "the 'full' profile".
    """
    script = "python data_scripts/download_brats.py"
    return (
        f"{purpose} needs real BraTS data, and none was given: no folder was passed and "
        f"{DATA_DIR_ENV} is not set.\n"
        f"- Point it at a BraTS folder (2018-2020, 2021, 2023+ adult glioma or MSD Task01): set "
        f"{DATA_DIR_ENV}=/path/to/MICCAI_BraTS2020_TrainingData (or DATA_DIR in a chapter), or pass the folder "
        '(`prepare_data(PROFILE, "/path/to/folder")`).\n'
        f"- No copy yet? `{script}` downloads BraTS 2020 with kagglehub (needs `pip install "
        "kagglehub` and Kaggle credentials: KAGGLE_USERNAME and KAGGLE_KEY, or "
        f"~/.kaggle/kaggle.json), or `{script} --zip PATH/TO/archive.zip --dest DIR` unpacks the "
        f"zip downloaded by hand from {KAGGLE_DATASET_URL}; either prints the folder to use.\n"
        f"- No account? `{script} --source msd` downloads the Medical Segmentation Decathlon's "
        "brain tumours (older BraTS cases, other label numbers).\n"
        "- Check a folder with `brats-tutorial check DIR`.\n"
        f"- To run on synthetic data on purpose, set {SYNTHETIC_ENV}=1 (or pass synthetic=True)."
    )


def resolve_data_dir(
    data_dir: str | Path | None = None,
    synthetic_cases: int = SYNTHETIC_CASES,
    seed: int = 0,
    synthetic: bool | None = None,
    needs_real_data: bool = False,
    purpose: str = "this run",
) -> tuple[Path, bool]:
    """Pick the data folder (see the module docstring).

    Args:
        data_dir: an explicit BraTS folder, or ``None``.
        synthetic_cases: how many synthetic cases to make when no real data is configured.
        seed: seed of the synthetic data set.
        synthetic: when no real folder is given, ``True`` generates synthetic data and ``False``
            raises; ``None`` asks ``BRATS_SYNTHETIC``, then ``needs_real_data``. A real folder,
            when given, is used whatever this says.
        needs_real_data: with no real folder and no explicit choice, raise instead of generating
            synthetic data (``Profile.needs_real_data``).
        purpose: who needs the data, for the error message, e.g. "the 'full' profile".

    Returns:
        ``(folder, is_synthetic)``.

    Raises:
        ValueError: real data are needed and none is given (the message names
            ``BRATS_DATA_DIR`` and ``BRATS_SYNTHETIC`` and says how to download BraTS), or
            ``BRATS_SYNTHETIC`` has a value other than 0 or 1.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser(), False
    configured = configured_data_dir()
    if configured is not None:
        return configured, False
    if synthetic is None:
        synthetic = synthetic_requested()
    if synthetic is None:
        synthetic = not needs_real_data
    if not synthetic:
        raise ValueError(missing_real_data_message(purpose))
    from .synthetic import generate_dataset

    folder = default_work_dir() / f"synthetic_brats20_n{synthetic_cases}_seed{seed}"
    generate_dataset(folder, n_cases=synthetic_cases, seed=seed)
    return folder, True
