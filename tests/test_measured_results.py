"""The benchmark results the package ships: complete, stamped, and measured on the patients the
chapters say (validation and test patients apart from each other)."""

from __future__ import annotations

import pandas as pd
import pytest

from brats_tutorial.measured_results import load_results, results_path

COLUMNS = {
    "variant",
    "part",
    "case_id",
    "region",
    "dice",
    "hd95_mm",
    "train_wall_s",
    "train_cpu_s",
    "commit",
    "date",
    "machine",
}


@pytest.fixture(scope="module")
def improvements() -> pd.DataFrame:
    return load_results("improvements")


def test_every_variant_has_every_patient_and_region_once(improvements):
    assert COLUMNS <= set(improvements.columns)
    assert improvements[["commit", "date", "machine"]].notna().all().all()
    assert "baseline" in set(improvements["variant"])
    counts = improvements.groupby(["variant", "part", "case_id", "region"]).size()
    assert (counts == 1).all()
    patients = improvements.groupby(["variant", "part"])["case_id"].nunique().unstack()
    assert (patients.nunique() == 1).all(), "every variant is scored on the same patients"
    assert improvements["dice"].between(0, 1).all()


def test_validation_and_test_patients_are_apart(improvements):
    validation = set(improvements.loc[improvements["part"] == "validation", "case_id"])
    test = set(improvements.loc[improvements["part"] == "test", "case_id"])
    assert validation and test and not validation & test


def test_the_test_patients_are_the_cpu_profiles_split_of_the_sample(improvements, tmp_path):
    """The chapters say the results come from the cpu profile's split of the sample (seed 0)."""
    from brats_tutorial.course import labelled_cases
    from brats_tutorial.data_sources import sample_dir
    from brats_tutorial.discovery import find_cases
    from brats_tutorial.profiles import get_profile
    from brats_tutorial.splits import split_patients

    folder = sample_dir()
    if folder is None:
        pytest.skip("the BraTS 2018 sample is absent (../shared/brats18_sample)")
    profile = get_profile("cpu")
    ids = [case.case_id for case in labelled_cases(find_cases(folder), profile.max_cases)]
    split = split_patients(
        ids,
        seed=0,
        validation_fraction=profile.validation_fraction,
        test_fraction=profile.test_fraction,
    )
    assert set(improvements.loc[improvements["part"] == "test", "case_id"]) == set(split.test)
    assert set(improvements.loc[improvements["part"] == "validation", "case_id"]) == set(
        split.validation
    )


def test_a_missing_file_names_the_script_that_makes_it():
    with pytest.raises(FileNotFoundError, match="benchmarks/nothing.py"):
        load_results("nothing")
    assert results_path("improvements").name == "improvements.csv"
