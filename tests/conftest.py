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


#: The smallest slices that still exercise training end to end (the mechanism tests: resuming,
#: seeding, saving what a run chose): 32 x 32 pixels, 40 slices per patient, so an epoch of the 4
#: training patients is 160 slices, 5 batches of 32. Tests of what a model learns use the quick
#: profile instead (tests/test_learning.py).
TINY_IMAGE_SIZE = 32
TINY_SLICE_START = 42
TINY_SLICE_COUNT = 40


@pytest.fixture(scope="session")
def tiny_cache(synthetic_dir, tmp_path_factory):
    """(cache_info, split, settings) of the shared synthetic set at 32 x 32, 40 slices a patient."""
    from brats_tutorial.cache import build_cache
    from brats_tutorial.discovery import find_cases
    from brats_tutorial.preprocessing import PreprocessingSettings
    from brats_tutorial.splits import split_patients

    settings = PreprocessingSettings(
        image_size=TINY_IMAGE_SIZE, slice_start=TINY_SLICE_START, slice_count=TINY_SLICE_COUNT
    )
    split = split_patients([c.case_id for c in find_cases(synthetic_dir)], seed=0)
    info = build_cache(
        synthetic_dir, tmp_path_factory.mktemp("tiny_cache") / "cache", settings, progress=False
    )
    return info, split, settings


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """The quick profile's model, trained once for the whole test session the way the chapters
    train it (course.trained_model, synthetic data of seed 11, its own work folder).

    Returns (data, settings, info, split, model, history, config). Tests that only need *a*
    trained run share it: what a model learns (tests/test_learning.py), and a chapter's run used
    by the command line (tests/test_cli.py). Tests must not write into its folders.
    """
    from brats_tutorial import data_sources
    from brats_tutorial.course import prepare_data, prepare_training_data, trained_model

    work_dir = tmp_path_factory.mktemp("quick_run_work")
    saved = {name: os.environ.get(name) for name in (data_sources.WORK_DIR_ENV, "BRATS_DATA_DIR")}
    os.environ[data_sources.WORK_DIR_ENV] = str(work_dir)
    os.environ.pop("BRATS_DATA_DIR", None)
    try:
        data = prepare_data("quick", seed=11)
        settings = data.profile.preprocessing_settings()
        info, split = prepare_training_data(data, settings, progress=False)
        model, history, config = trained_model(data, settings, info, split, verbose=0)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return data, settings, info, split, model, history, config


@pytest.fixture(scope="session")
def release_sample(tmp_path_factory):
    """A function ``release -> folder``: the first 3 cases of the real BraTS 2018 sample rewritten
    in that release's layout (tests/release_layouts.py), written once per release and session.
    Skips when the sample is absent. Tests must not write into these folders."""
    from release_layouts import convert_sample

    from brats_tutorial.data_sources import sample_dir

    sample = sample_dir()
    if sample is None:
        pytest.skip("real BraTS sample not found (../shared/brats18_sample or BRATS_SAMPLE_DIR)")
    folders = {}

    def folder(release: str):
        if release not in folders:
            destination = tmp_path_factory.mktemp(f"sample_{release}") / "data"
            folders[release] = convert_sample(sample, destination, release)
        return folders[release]

    return folder
