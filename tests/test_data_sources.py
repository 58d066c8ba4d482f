"""Which data a chapter gets: real data when given; synthetic data in the quick and cpu profiles;
in the full profile, synthetic data only when asked for, else a message that says how to get BraTS."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from nifti_builders import write_case

from brats_tutorial import synthetic
from brats_tutorial.constants import DATA_DIR_ENV, SYNTHETIC_ENV
from brats_tutorial.course import prepare_data
from brats_tutorial.data_sources import WORK_DIR_ENV, resolve_data_dir
from brats_tutorial.profiles import PROFILES, get_profile


@pytest.fixture
def no_data(tmp_path: Path, monkeypatch) -> Path:
    """No real data configured, no choice in BRATS_SYNTHETIC, the work folder in ``tmp_path``."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.delenv(SYNTHETIC_ENV, raising=False)
    work_dir = tmp_path / "work"
    monkeypatch.setenv(WORK_DIR_ENV, str(work_dir))
    return work_dir


def small(name: str):
    """The profile ``name`` with a one-case synthetic set, so that a test takes seconds."""
    return replace(get_profile(name), synthetic_cases=1)


def forbid_generation(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("synthetic data were generated")

    monkeypatch.setattr(synthetic, "generate_dataset", fail)


def test_only_the_full_profile_needs_real_data() -> None:
    assert [name for name, profile in PROFILES.items() if profile.needs_real_data] == ["full"]


def test_full_profile_without_data_stops_and_says_how_to_get_brats(no_data, monkeypatch) -> None:
    forbid_generation(monkeypatch)
    with pytest.raises(ValueError) as caught:
        prepare_data(small("full"))
    message = str(caught.value)
    for needed in (
        "'full' profile",
        DATA_DIR_ENV,
        f"{SYNTHETIC_ENV}=1",
        "synthetic=True",
        "python data_scripts/download_brats.py",
        "KAGGLE_USERNAME",
        "--zip PATH/TO/archive.zip --dest DIR",
        "brats-tutorial check DIR",
    ):
        assert needed in message, needed
    assert not list(no_data.glob("synthetic_*"))


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_full_profile_uses_synthetic_data_when_asked(no_data, monkeypatch, how) -> None:
    if how == "environment":
        monkeypatch.setenv(SYNTHETIC_ENV, "1")
        data = prepare_data(small("full"))
    else:
        data = prepare_data(small("full"), synthetic=True)
    assert data.is_synthetic
    assert data.profile.name == "full"
    assert data.data_dir.parent == no_data
    assert [case.case_id for case in data.cases] == ["BraTS20_Training_001"]


def test_quick_profile_still_falls_back_to_synthetic_data(no_data) -> None:
    data = prepare_data(small("quick"))
    assert data.is_synthetic
    assert data.data_dir.parent == no_data
    assert len(data.cases) == 1


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_full_profile_with_a_data_folder_generates_nothing(
    tmp_path, no_data, monkeypatch, how
) -> None:
    folder = tmp_path / "brats"
    write_case(folder / "BraTS20_Training_001", "BraTS20_Training_001", suffix=".nii")
    forbid_generation(monkeypatch)
    if how == "argument":
        data = prepare_data("full", folder)
    else:
        monkeypatch.setenv(DATA_DIR_ENV, str(folder))
        data = prepare_data("full")
    assert not data.is_synthetic
    assert data.data_dir == folder
    assert [case.case_id for case in data.cases] == ["BraTS20_Training_001"]
    assert not list(no_data.glob("synthetic_*"))


def test_real_data_win_over_a_request_for_synthetic_data(tmp_path, no_data, monkeypatch) -> None:
    forbid_generation(monkeypatch)
    monkeypatch.setenv(SYNTHETIC_ENV, "1")
    assert resolve_data_dir(tmp_path / "brats", synthetic=True) == (tmp_path / "brats", False)


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_real_data_can_be_required_in_any_profile(no_data, monkeypatch, how) -> None:
    forbid_generation(monkeypatch)
    if how == "environment":
        monkeypatch.setenv(SYNTHETIC_ENV, "0")
        synthetic_choice = None
    else:
        synthetic_choice = False
    with pytest.raises(ValueError, match=DATA_DIR_ENV):
        resolve_data_dir(synthetic_cases=1, synthetic=synthetic_choice)


def test_an_unreadable_synthetic_setting_is_an_error_naming_the_variable(
    no_data, monkeypatch
) -> None:
    forbid_generation(monkeypatch)
    monkeypatch.setenv(SYNTHETIC_ENV, "maybe")
    with pytest.raises(ValueError, match=f"{SYNTHETIC_ENV}='maybe'"):
        resolve_data_dir(synthetic_cases=1)
