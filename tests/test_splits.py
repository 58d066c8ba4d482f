"""Patient-level splits."""

from __future__ import annotations

import json

import pytest

from brats_tutorial.errors import BratsDataError
from brats_tutorial.splits import PatientSplit, load_split, save_split, split_patients

CASES = [f"BraTS20_Training_{index:03d}" for index in range(1, 41)]


def test_parts_are_disjoint_and_cover_every_case():
    split = split_patients(CASES, validation_fraction=0.15, test_fraction=0.15, seed=0)
    split.assert_disjoint()
    parts = [set(split.train), set(split.validation), set(split.test)]
    assert (
        parts[0].isdisjoint(parts[1])
        and parts[0].isdisjoint(parts[2])
        and parts[1].isdisjoint(parts[2])
    )
    assert parts[0] | parts[1] | parts[2] == set(CASES)
    assert (len(split.train), len(split.validation), len(split.test)) == (28, 6, 6)
    assert list(split.train) == sorted(split.train)


def test_reproducible_and_seed_dependent():
    assert split_patients(CASES, seed=3) == split_patients(CASES, seed=3)
    assert split_patients(CASES, seed=3) != split_patients(CASES, seed=4)


def test_independent_of_input_order():
    shuffled = CASES[::-1][5:] + CASES[::-1][:5]
    assert split_patients(shuffled, seed=1) == split_patients(CASES, seed=1)
    assert split_patients(tuple(CASES), seed=1) == split_patients(iter(CASES), seed=1)


@pytest.mark.parametrize("count", [3, 4, 5, 7, 12])
def test_every_part_non_empty_from_three_cases(count):
    split = split_patients(CASES[:count], seed=0)
    assert split.train and split.validation and split.test
    assert len(split.train) + len(split.validation) + len(split.test) == count


def test_few_cases_keep_training_non_empty():
    for count in (1, 2):
        split = split_patients(CASES[:count], seed=0)
        assert len(split.train) >= 1
        assert len(split.all_case_ids) == count


def test_zero_fraction_gives_an_empty_part():
    split = split_patients(CASES[:10], validation_fraction=0.2, test_fraction=0.0, seed=0)
    assert split.test == () and len(split.validation) == 2


@pytest.mark.parametrize(
    "arguments",
    [
        {"case_ids": []},
        {"case_ids": ["a", "b", "a"]},
        {"case_ids": CASES, "validation_fraction": -0.1},
        {"case_ids": CASES, "test_fraction": 1.0},
        {"case_ids": CASES, "validation_fraction": 0.5, "test_fraction": 0.5},
    ],
)
def test_invalid_arguments(arguments):
    with pytest.raises(ValueError):
        split_patients(**arguments)


def test_assert_disjoint_detects_shared_and_repeated_cases():
    with pytest.raises(AssertionError, match="train and test share"):
        PatientSplit(["a", "b"], ["c"], ["a"]).assert_disjoint()
    with pytest.raises(AssertionError, match="validation repeats"):
        PatientSplit(["a"], ["c", "c"], []).assert_disjoint()


def test_save_and_load_round_trip(tmp_path):
    split = split_patients(CASES, seed=2)
    path = tmp_path / "runs" / "split.json"
    save_split(path, split)
    assert load_split(path) == split
    data = json.loads(path.read_text())
    assert data["test"] == list(split.test)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_load_rejects_bad_files(tmp_path):
    missing_part = tmp_path / "missing.json"
    missing_part.write_text(json.dumps({"train": ["a"], "validation": []}))
    with pytest.raises(BratsDataError, match="test"):
        load_split(missing_part)
    overlapping = tmp_path / "overlap.json"
    overlapping.write_text(json.dumps({"train": ["a"], "validation": ["a"], "test": []}))
    with pytest.raises(BratsDataError, match="share"):
        load_split(overlapping)
    with pytest.raises(BratsDataError):
        load_split(tmp_path / "absent.json")


def test_load_or_make_split_makes_once_then_reads_back(tmp_path):
    from brats_tutorial.splits import load_or_make_split, split_patients

    path = tmp_path / "split.json"
    cases = [f"case_{i:03d}" for i in range(10)]
    made = load_or_make_split(path, cases, seed=3)
    assert path.exists() and made == split_patients(cases, seed=3)
    # Later calls read the saved split, even when asked for other cases or another seed.
    again = load_or_make_split(path, cases[:5], seed=4)
    assert again == made
