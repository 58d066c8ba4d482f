"""The data-set check: what passes, what it expects of masks, the table; it writes nothing."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from nifti_builders import SMALL_SHAPE, make_mask, snapshot, write_case, write_nifti

import brats_tutorial.validation as validation
from brats_tutorial.validation import NO_MASK_NOTE, check_command, validate_dataset

ROOT = Path(__file__).resolve().parent.parent
SHAPE_WARNING = "warning: shape (8, 8, 6) is not the BraTS 240 x 240 x 155"


def make_dataset(root: Path, with_mask: int, without_mask: int, suffix=".nii.gz") -> list[str]:
    """Cases Case_000.. with masks first, then those without; returns the ids."""
    ids = []
    for index in range(with_mask + without_mask):
        case_id = f"Case_{index:03d}"
        write_case(root / case_id, case_id, suffix=suffix, with_mask=index < with_mask, seed=index)
        ids.append(case_id)
    return ids


def test_clean_dataset_passes_with_one_table_line_per_case(tmp_path):
    ids = make_dataset(tmp_path, with_mask=3, without_mask=0)

    report = validate_dataset(tmp_path)

    assert report.ok and report.failed_cases == [] and report.n_cases == 3
    assert [case.case_id for case in report.cases] == ids
    for case in report.cases:
        assert case.ok and case.has_mask and case.problems == []
        assert case.folder == tmp_path / case.case_id
        assert case.notes == [SHAPE_WARNING]
    lines = report.format().splitlines()
    for case_id in ids:
        (line,) = [line for line in lines if line.startswith(case_id)]
        assert line.split()[1:3] == ["yes", "ok"]
    assert lines[-1].startswith("3 cases: 3 ok, 0 failed")


def test_no_shape_warning_for_the_brats_shape(tmp_path, monkeypatch):
    # Writing 240 x 240 x 155 volumes is slow; make the small shape the expected one instead.
    monkeypatch.setattr(validation, "VOLUME_SHAPE", SMALL_SHAPE)
    make_dataset(tmp_path, with_mask=1, without_mask=0)
    (case,) = validate_dataset(tmp_path).cases
    assert case.ok and case.notes == []


def test_shape_warning_does_not_fail_a_case(tmp_path):
    write_case(tmp_path / "Case_1", "Case_1", shape=(10, 9, 7))
    (case,) = validate_dataset(tmp_path).cases
    assert case.ok
    assert case.notes == ["warning: shape (10, 9, 7) is not the BraTS 240 x 240 x 155"]


@pytest.mark.parametrize(
    "with_mask, without_mask", [(2, 1), (1, 2), (1, 1), (0, 3), (3, 0), (4, 3)]
)
def test_masks_are_expected_when_most_cases_have_one(tmp_path, with_mask, without_mask):
    make_dataset(tmp_path, with_mask, without_mask)
    most_have_masks = with_mask > without_mask

    report = validate_dataset(tmp_path)

    assert report.expect_masks is None and report.masks_expected == most_have_masks
    for case in report.cases:
        if case.has_mask:
            assert case.ok
        elif most_have_masks:
            (problem,) = case.problems
            assert problem == (
                f"{case.case_id}_seg.nii[.gz]: mask missing (expected for a training case)"
            )
        else:
            assert case.ok and NO_MASK_NOTE in case.notes
    assert report.ok == (not most_have_masks or without_mask == 0)


@pytest.mark.parametrize("expect_masks", [True, False])
def test_expect_masks_given_overrides_the_inference(tmp_path, expect_masks):
    make_dataset(tmp_path, with_mask=2, without_mask=2)
    report = validate_dataset(tmp_path, expect_masks=expect_masks)
    assert report.masks_expected is expect_masks
    assert [case.ok for case in report.cases] == [True, True, not expect_masks, not expect_masks]
    assert ("masks expected: yes (given)" in report.format()) is expect_masks


def test_kaggle_download_with_training_and_validation_side_by_side_checks_clean(tmp_path):
    training = tmp_path / "BraTS2020_TrainingData" / "MICCAI_BraTS2020_TrainingData"
    validation_folder = tmp_path / "BraTS2020_ValidationData" / "MICCAI_BraTS2020_ValidationData"
    for number in (1, 2):
        write_case(
            training / f"BraTS20_Training_00{number}",
            f"BraTS20_Training_00{number}",
            suffix=".nii",
            seed=number,
        )
    for number in (1, 2, 3):  # more validation cases than training ones
        write_case(
            validation_folder / f"BraTS20_Validation_00{number}",
            f"BraTS20_Validation_00{number}",
            suffix=".nii",
            with_mask=False,
        )
    # A training case that lost its mask is still caught.
    write_case(
        training / "BraTS20_Training_003", "BraTS20_Training_003", suffix=".nii", with_mask=False
    )

    report = validate_dataset(tmp_path)

    assert report.masks_expected
    assert [case.case_id for case in report.failed_cases] == ["BraTS20_Training_003"]
    for case in report.cases:
        if "Validation" in case.case_id:
            assert case.ok and NO_MASK_NOTE in case.notes


def test_validation_folder_named_without_validation_in_case_ids(tmp_path):
    # BraTS 2018 validation cases are named like training ones; their folder says "Validation".
    write_case(tmp_path / "train" / "Brats18_A_1", "Brats18_A_1")
    write_case(tmp_path / "train" / "Brats18_B_1", "Brats18_B_1")
    write_case(
        tmp_path / "MICCAI_BraTS_2018_Data_Validation" / "Brats18_C_1",
        "Brats18_C_1",
        with_mask=False,
    )
    report = validate_dataset(tmp_path)
    assert report.ok
    assert NO_MASK_NOTE in report.cases[2].notes


def test_empty_mask_is_a_note_not_a_failure(tmp_path):
    write_case(tmp_path / "Case_1", "Case_1")
    write_nifti(tmp_path / "Case_1" / "Case_1_seg.nii.gz", np.zeros(SMALL_SHAPE, np.uint8))
    (case,) = validate_dataset(tmp_path).cases
    assert case.ok
    assert "Case_1_seg.nii.gz: mask is empty (no tumour labelled)" in case.notes


def test_summary_names_the_failed_cases(tmp_path):
    make_dataset(tmp_path, with_mask=3, without_mask=0)
    mask = make_mask(seed=1)
    mask[0, 0, 0] = 9
    write_nifti(tmp_path / "Case_001" / "Case_001_seg.nii.gz", mask)

    report = validate_dataset(tmp_path)

    assert [case.case_id for case in report.failed_cases] == ["Case_001"]
    summary = report.format().splitlines()[-1]
    assert summary == "3 cases: 2 ok, 1 failed, 0 without mask (failed: Case_001)"


def _dataset_with_good_and_bad_cases(root: Path, suffix: str) -> None:
    make_dataset(root, with_mask=2, without_mask=1, suffix=suffix)
    bad = root / "Case_001" / f"Case_001_t2{suffix}"
    bad.write_bytes(bad.read_bytes()[:-40])  # truncated
    image = np.full(SMALL_SHAPE, np.nan, np.float32)
    write_nifti(root / "Case_000" / f"Case_000_flair{suffix}", image)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nothing_is_written_into_the_data_folder(tmp_path, capsys, suffix):
    root = tmp_path / "data"
    _dataset_with_good_and_bad_cases(root, suffix)
    before = snapshot(root)

    report = validate_dataset(root, progress=True)
    status = check_command(root, progress=False)

    assert not report.ok and status == 1
    assert snapshot(root) == before
    capsys.readouterr()


def test_check_command_prints_the_report_and_returns_the_status(tmp_path, capsys):
    make_dataset(tmp_path / "good", with_mask=2, without_mask=0)
    assert check_command(tmp_path / "good", progress=False) == 0
    output = capsys.readouterr().out
    assert output.strip() == validate_dataset(tmp_path / "good").format()

    make_dataset(tmp_path / "bad", with_mask=2, without_mask=1)
    assert check_command(tmp_path / "bad", progress=False) == 1
    assert "FAILED: Case_002_seg.nii[.gz]: mask missing" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, expected_status",
    [([], 1), (["--expect-masks", "no"], 0), (["--expect-masks", "yes"], 1)],
)
def test_check_dataset_script(tmp_path, capsys, monkeypatch, arguments, expected_status):
    make_dataset(tmp_path, with_mask=2, without_mask=1)
    script = ROOT / "data_scripts" / "check_dataset.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path), "--no-progress", *arguments])

    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(script), run_name="__main__")

    assert exit_info.value.code == expected_status
    output = capsys.readouterr().out
    assert output.startswith(f"BraTS data check: {tmp_path}")
    assert output.strip().endswith(
        "3 cases: 3 ok, 0 failed, 1 without mask"
        if expected_status == 0
        else "3 cases: 2 ok, 1 failed, 1 without mask (failed: Case_002)"
    )
