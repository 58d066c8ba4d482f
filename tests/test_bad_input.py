"""Every kind of bad input: the reader raises BratsDataError naming the file and the problem,
and the validator reports the same problem for that case (and only that case) without raising."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from nifti_builders import make_image, make_mask, write_case, write_nifti

from brats_tutorial.discovery import find_cases
from brats_tutorial.errors import BratsDataError
from brats_tutorial.loading import load_case
from brats_tutorial.validation import check_command, validate_dataset

CASE = "Case_1"
# Large enough that the header survives truncation and only the voxels are cut off.
TRUNCATION_SHAPE = (32, 32, 20)


@dataclass
class BadCase:
    """A case with one defect, written by ``make(folder)`` which returns the file at fault."""

    make: Callable[[Path], Path]
    #: Words the reader's error and the validator's problem must contain.
    error_words: tuple[str, ...]
    report_words: tuple[str, ...] | None = None  # default: error_words


def _random_bytes(folder: Path, kind: str, suffix: str) -> Path:
    write_case(folder, CASE, suffix=suffix)
    path = folder / f"{CASE}_{kind}{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(4000))
    return path


def _truncated(folder: Path, kind: str, suffix: str) -> Path:
    write_case(folder, CASE, suffix=suffix, shape=TRUNCATION_SHAPE)
    path = folder / f"{CASE}_{kind}{suffix}"
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * 0.6)])
    return path


def _empty_file(folder: Path) -> Path:
    write_case(folder, CASE)
    path = folder / f"{CASE}_t2.nii.gz"
    path.write_bytes(b"")
    return path


def _missing_modality(folder: Path) -> Path:
    write_case(folder, CASE, modalities=("flair", "t1ce", "t2"))
    return folder / f"{CASE}_t1.nii.gz"


def _mismatched_shape(folder: Path) -> Path:
    write_case(folder, CASE)
    return write_nifti(folder / f"{CASE}_t2.nii.gz", make_image(shape=(8, 8, 5)))


def _mismatched_affine(folder: Path) -> Path:
    write_case(folder, CASE)
    shifted = np.eye(4)
    shifted[:3, 3] = (0.0, 0.0, 5.0)
    return write_nifti(folder / f"{CASE}_t1ce.nii.gz", make_image(), shifted)


def _non_finite(value: float) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        write_case(folder, CASE)
        image = make_image().astype(np.float32)
        image[2, 3, 1] = value
        image[4, 4, 4] = value
        return write_nifti(folder / f"{CASE}_flair.nii.gz", image)

    return make


def _unknown_label(folder: Path) -> Path:
    write_case(folder, CASE)
    mask = make_mask()
    mask[3, 3, 3] = 3
    return write_nifti(folder / f"{CASE}_seg.nii.gz", mask)


def _non_integer_mask(folder: Path) -> Path:
    write_case(folder, CASE)
    mask = make_mask().astype(np.float32)
    mask[3, 3, 3] = 1.5
    return write_nifti(folder / f"{CASE}_seg.nii.gz", mask)


def _four_dimensional(folder: Path) -> Path:
    write_case(folder, CASE)
    return write_nifti(folder / f"{CASE}_t1.nii.gz", make_image()[..., np.newaxis].repeat(2, -1))


BAD_CASES = {
    "corrupt .nii.gz (random bytes)": BadCase(
        lambda folder: _random_bytes(folder, "flair", ".nii.gz"), ("cannot read as NIfTI",)
    ),
    "corrupt .nii (random bytes)": BadCase(
        lambda folder: _random_bytes(folder, "t1", ".nii"), ("cannot read as NIfTI",)
    ),
    "truncated .nii.gz": BadCase(
        lambda folder: _truncated(folder, "t1ce", ".nii.gz"), ("cannot read as NIfTI",)
    ),
    "truncated .nii": BadCase(
        lambda folder: _truncated(folder, "t2", ".nii"), ("cannot read as NIfTI",)
    ),
    "empty file": BadCase(_empty_file, ("cannot read as NIfTI",)),
    "missing modality": BadCase(
        _missing_modality, (CASE, "no 't1' file"), report_words=("file missing", "'t1'")
    ),
    "mismatched shapes": BadCase(_mismatched_shape, ("shape (8, 8, 5) differs from",)),
    "mismatched affines": BadCase(_mismatched_affine, ("affine differs from",)),
    "NaN voxels": BadCase(_non_finite(np.nan), ("2 voxels are NaN or infinite",)),
    "infinite voxels": BadCase(_non_finite(np.inf), ("2 voxels are NaN or infinite",)),
    "unknown label 3": BadCase(_unknown_label, ("unknown label values [3]",)),
    "non-integer mask": BadCase(_non_integer_mask, ("non-integer",)),
    "4D volume": BadCase(_four_dimensional, ("expected a 3D volume", "(8, 8, 6, 2)")),
}


@pytest.mark.parametrize("name", list(BAD_CASES))
def test_reader_raises_naming_the_file_and_the_problem(tmp_path, name):
    bad = BAD_CASES[name]
    folder = tmp_path / CASE
    bad_file = bad.make(folder)
    (case_files,) = find_cases(tmp_path)

    with pytest.raises(BratsDataError) as caught:
        load_case(case_files)

    message = str(caught.value)
    for words in bad.error_words:
        assert words in message
    if bad_file.exists():
        assert caught.value.path == bad_file
        assert message.startswith(f"{bad_file}: ")
    else:  # a missing modality: the message names the case's folder
        assert caught.value.path == folder


@pytest.mark.parametrize("name", list(BAD_CASES))
def test_validator_reports_the_bad_case_without_raising(tmp_path, name):
    bad = BAD_CASES[name]
    write_case(tmp_path / "Case_0", "Case_0", seed=1)  # a good case beside the bad one
    bad_file = bad.make(tmp_path / CASE)

    report = validate_dataset(tmp_path, expect_masks=True)

    assert not report.ok
    assert report.n_cases == 2
    assert [case.case_id for case in report.failed_cases] == [CASE]
    good = report.cases[0]
    assert good.case_id == "Case_0" and good.ok and good.problems == []
    problems = report.failed_cases[0].problems
    matching = [
        problem
        for problem in problems
        if problem.startswith(bad_file.name.split(".")[0] + ".nii")
        and all(words in problem for words in bad.report_words or bad.error_words)
    ]
    assert matching, problems
    # The table says so on the bad case's line.
    (line,) = [line for line in report.format().splitlines() if line.startswith(CASE)]
    assert "FAILED" in line and matching[0] in line


def test_validator_reports_an_all_zero_image(tmp_path):
    write_case(tmp_path / CASE, CASE)
    write_nifti(tmp_path / CASE / f"{CASE}_t1.nii.gz", np.zeros((8, 8, 6), np.int16))
    report = validate_dataset(tmp_path)
    assert report.failed_cases[0].problems == [
        f"{CASE}_t1.nii.gz: all voxels are zero (empty image, no brain)"
    ]


def test_validator_collects_several_problems_of_one_case(tmp_path):
    folder = tmp_path / CASE
    write_case(folder, CASE, modalities=("flair", "t1", "t1ce"))
    (folder / f"{CASE}_flair.nii.gz").write_bytes(b"not a nifti file at all")
    mask = make_mask()
    mask[0, 0, 0] = 7
    write_nifti(folder / f"{CASE}_seg.nii.gz", mask)

    (case,) = validate_dataset(tmp_path / CASE, expect_masks=True).cases

    assert len(case.problems) == 3, case.problems
    assert any(p.startswith(f"{CASE}_t2.nii") and "file missing" in p for p in case.problems)
    assert any(p.startswith(f"{CASE}_flair.nii.gz: cannot read") for p in case.problems)
    assert any(p.startswith(f"{CASE}_seg.nii.gz: unknown label values [7]") for p in case.problems)


def test_missing_mask_is_a_problem_when_masks_are_expected(tmp_path):
    write_case(tmp_path / CASE, CASE, with_mask=False)
    report = validate_dataset(tmp_path, expect_masks=True)
    (problem,) = report.failed_cases[0].problems
    assert problem.startswith(f"{CASE}_seg.nii") and "mask missing" in problem


def test_second_file_for_one_modality_raises_naming_it(tmp_path):
    folder = tmp_path / CASE
    write_case(folder, CASE)
    write_nifti(folder / f"{CASE}_flair.nii", make_image())
    for read in (find_cases, validate_dataset):
        with pytest.raises(BratsDataError, match=r"second 'flair' file for case Case_1"):
            read(tmp_path)


def test_same_case_in_two_folders_raises_naming_both(tmp_path):
    write_case(tmp_path / "a" / CASE, CASE)
    write_case(tmp_path / "b" / CASE, CASE)
    with pytest.raises(BratsDataError) as caught:
        find_cases(tmp_path)
    message = str(caught.value)
    assert f"case {CASE} also found in" in message
    assert str(tmp_path / "a" / CASE) in message and str(tmp_path / "b" / CASE) in message


def _empty_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def _only_other_files(tmp_path: Path) -> Path:
    folder = tmp_path / "no_nifti"
    folder.mkdir()
    (folder / "name_mapping.csv").write_text("a,b\n")
    (folder / ".Case_1_flair.nii.gz").write_bytes(b"hidden")
    return folder


def _file_not_folder(tmp_path: Path) -> Path:
    path = tmp_path / "Case_1_flair.nii.gz"
    write_nifti(path, make_image())
    return path


FOLDER_PROBLEMS = {
    "empty folder": (_empty_folder, "no BraTS case files found"),
    "no NIfTI files": (_only_other_files, "no BraTS case files found"),
    "folder does not exist": (lambda tmp_path: tmp_path / "nowhere", "folder does not exist"),
    "a file, not a folder": (_file_not_folder, "is not a folder"),
}


@pytest.mark.parametrize("name", list(FOLDER_PROBLEMS))
def test_unusable_folder_raises_naming_it(tmp_path, name):
    make, problem = FOLDER_PROBLEMS[name]
    path = make(tmp_path)
    for read in (find_cases, validate_dataset):
        with pytest.raises(BratsDataError) as caught:
            read(path)
        assert caught.value.path == path
        assert str(caught.value).startswith(f"{path}: {problem}")


@pytest.mark.parametrize("name", list(FOLDER_PROBLEMS))
def test_check_command_prints_a_clear_message_for_an_unusable_folder(tmp_path, capsys, name):
    make, problem = FOLDER_PROBLEMS[name]
    path = make(tmp_path)
    assert check_command(path, progress=False) == 2
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err.strip().startswith(f"error: {path}: {problem}")
    assert "Traceback" not in output.err
