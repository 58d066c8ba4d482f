"""The benchmark results the package ships: complete, stamped by a committed tree, measured on the
patients the chapters say (validation and test patients apart from each other), every variant with
the baseline's seeds, and the ``cpu`` profile set as the adoption rule decides on them."""

from __future__ import annotations

import pandas as pd
import pytest

from brats_tutorial.effects import adoption, effects
from brats_tutorial.measured_results import load_results, results_path
from brats_tutorial.profiles import get_profile

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

#: Each single step of ``benchmarks/improvements.py`` and the ``cpu`` profile's switch for it:
#: (attribute, its value when the step is adopted, the baseline's value). Chapter 9 checks the same.
PROFILE_SWITCHES: dict[str, tuple[str, object, object]] = {
    "rich_augment": ("augment", "rich", "flip"),
    "mirror": ("mirror", True, False),
    "postprocess": ("tune_postprocessing", True, False),
    "four_modalities": ("modalities", ("flair", "t1", "t1ce", "t2"), ("flair", "t1ce")),
    "context_1": ("context_slices", 1, 0),
    "regions": ("target", "regions", "classes"),
}


@pytest.fixture(scope="module")
def improvements() -> pd.DataFrame:
    return load_results("improvements")


def run_keys(table: pd.DataFrame) -> list[str]:
    """The columns naming one scored model: the variant, and its training seed when recorded."""
    return ["variant", "seed"] if "seed" in table.columns else ["variant"]


def test_every_variant_has_every_patient_and_region_once(improvements):
    assert COLUMNS <= set(improvements.columns)
    assert improvements[["commit", "date", "machine"]].notna().all().all()
    assert "baseline" in set(improvements["variant"])
    keys = run_keys(improvements)
    counts = improvements.groupby([*keys, "part", "case_id", "region"]).size()
    assert (counts == 1).all()
    patients = improvements.groupby([*keys, "part"])["case_id"].nunique().unstack()
    assert (patients.nunique() == 1).all(), "every variant is scored on the same patients"
    assert improvements["dice"].between(0, 1).all()


def test_the_results_come_from_a_committed_tree(improvements):
    """The benchmark stamps ``+dirty`` when the tree had changes: such a run names no commit."""
    dirty = sorted(set(improvements.loc[improvements["commit"].str.endswith("+dirty"), "commit"]))
    assert not dirty, f"{results_path('improvements')}: measured on uncommitted trees {dirty}"


def test_every_variant_has_the_baselines_seeds(improvements):
    """The rule pairs each variant with the baseline of the same seed, so the seeds must match."""
    assert "seed" in improvements.columns, f"{results_path('improvements')} has no seed column"
    seeds = improvements.groupby("variant")["seed"].agg(lambda s: sorted(set(s)))
    assert len(seeds["baseline"]) >= 2, "one seed cannot tell an effect from a rerun's noise"
    different = {variant: own for variant, own in seeds.items() if own != seeds["baseline"]}
    assert not different, f"baseline seeds {seeds['baseline']}, but {different}"


def test_the_cpu_profile_follows_the_adoption_rule(improvements):
    """A switch of the cpu profile is on exactly when the rule adopted its step on these results
    (a step not measured is not adopted): the profile says what the evidence says."""
    assert "seed" in improvements.columns, f"{results_path('improvements')} has no seed column"
    verdict = adoption(effects(improvements))
    profile = get_profile("cpu")
    wrong = {}
    for variant, (attribute, when_adopted, baseline_value) in PROFILE_SWITCHES.items():
        adopted = variant in verdict.index and bool(verdict.loc[variant, "adopted"])
        expected = when_adopted if adopted else baseline_value
        actual = getattr(profile, attribute)
        actual = tuple(actual) if isinstance(actual, (list, tuple)) else actual
        if actual != expected:
            wrong[variant] = f"{attribute}={actual!r}, the rule says {expected!r}"
    assert not wrong, f"the cpu profile disagrees with the rule: {wrong}"


def test_validation_and_test_patients_are_apart(improvements):
    validation = set(improvements.loc[improvements["part"] == "validation", "case_id"])
    test = set(improvements.loc[improvements["part"] == "test", "case_id"])
    assert validation and test and not validation & test


def test_the_test_patients_are_the_cpu_profiles_split_of_the_sample(improvements, tmp_path):
    """The chapters say the results come from the cpu profile's split of the sample (seed 0)."""
    from brats_tutorial.course import labelled_cases
    from brats_tutorial.data_sources import sample_dir
    from brats_tutorial.discovery import find_cases
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


def test_commit_hashes_are_read_as_text(improvements):
    """A short hash of digits only ("4253415") must not become a number (and lose its zeros)."""
    assert improvements["commit"].map(type).eq(str).all()
