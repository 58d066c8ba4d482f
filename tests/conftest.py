"""Shared fixtures: a small synthetic BraTS data set, its cache and a patient split (built once)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

#: Patients of the shared synthetic set: enough for 4 training, 1 validation, 1 test patient
#: (a 15 % / 15 % split of 6 rounds to one each).
SYNTHETIC_CASES = 6
#: Slices are resized to 64 x 64 in the tests, as in the quick profile: 4-5 times faster on a CPU.
IMAGE_SIZE = 64


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    """Folder with SYNTHETIC_CASES synthetic cases in the BraTS 2020 layout (seed 0)."""
    from brats_tutorial.synthetic import generate_dataset

    folder = tmp_path_factory.mktemp("synthetic") / "BraTS2020_TrainingData"
    generate_dataset(folder, n_cases=SYNTHETIC_CASES, seed=0)
    return folder


@pytest.fixture(scope="session")
def synthetic_cache(synthetic_dir, tmp_path_factory):
    """(cache_info, split, settings) for the shared synthetic set (default settings, 64 x 64)."""
    from brats_tutorial.cache import build_cache
    from brats_tutorial.discovery import find_cases
    from brats_tutorial.preprocessing import PreprocessingSettings
    from brats_tutorial.splits import split_patients

    settings = PreprocessingSettings(image_size=IMAGE_SIZE)
    case_ids = [c.case_id for c in find_cases(synthetic_dir)]
    split = split_patients(case_ids, seed=0)
    info = build_cache(
        synthetic_dir, tmp_path_factory.mktemp("cache") / "cache", settings, progress=False
    )
    return info, split, settings
