"""Where the data and the working files live: real BraTS when configured, else synthetic.

Resolution order for the data folder, used by every chapter and the command line:

1. an explicit ``data_dir`` argument;
2. the environment variable ``BRATS_DATA_DIR`` (a BraTS 2018-2020 folder, any layout that
   :func:`brats_tutorial.discovery.find_cases` reads);
3. a synthetic BraTS-like data set generated on the spot into the work folder.

The work folder (synthetic data, caches, checkpoints) is ``BRATS_WORK_DIR`` when set, else
``brats_tutorial_work`` in the system's temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .constants import DATA_DIR_ENV, SAMPLE_DIR_ENV

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


def resolve_data_dir(
    data_dir: str | Path | None = None,
    synthetic_cases: int = 12,
    seed: int = 0,
) -> tuple[Path, bool]:
    """Pick the data folder (see the module docstring).

    Args:
        data_dir: an explicit BraTS folder, or ``None``.
        synthetic_cases: how many synthetic cases to make when no real data is configured.
        seed: seed of the synthetic data set.

    Returns:
        ``(folder, is_synthetic)``.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser(), False
    configured = configured_data_dir()
    if configured is not None:
        return configured, False
    from .synthetic import generate_dataset

    folder = default_work_dir() / f"synthetic_brats20_n{synthetic_cases}_seed{seed}"
    generate_dataset(folder, n_cases=synthetic_cases, seed=seed)
    return folder, True
