"""Check a BraTS folder before using it: every case, every file, every problem named.

The checks are those of nnU-Net's dataset integrity check, and a few more:

- every modality (flair, t1, t1ce, t2; GLI's t2f, t1n, t1c, t2w) has a file, or, in the
  Decathlon's layout, the case's 4D image has its 4 channels (FLAIR, T1w, T1gd, T2w);
- a mask is present where one is expected (training cases), and a case without one is
  reported as "no mask (validation case)" where none is expected;
- every file reads as a 3D NIfTI volume, or 4D for MSD's images (corrupt or truncated files are
  reported);
- all files of a case have the same shape and the same affine (MSD: the label map has the 4D
  image's first three dimensions and its affine);
- the shape is the BraTS 240 x 240 x 155 (otherwise a warning, not a failure);
- image voxels are finite and an image is not all zero (an empty brain);
- mask values are the release's labels: {0, 1, 2, 4} in BraTS 2018-2021, {0, 1, 2, 3} in BraTS
  2023+ adult glioma (GLI) and MSD Task01 (:mod:`brats_tutorial.releases`).

The report names the release (a folder holds one: :func:`~brats_tutorial.discovery.find_cases`
refuses a mix) and each problem names the file in the release's own words.

A bad case never stops the check: its problems are collected and the next case is checked.
Only a folder that cannot be searched at all (missing, not a folder, no case files) raises
:class:`~brats_tutorial.errors.BratsDataError`. Nothing is ever written into the data folder.

Example::

    report = validate_dataset("data/MICCAI_BraTS2020_TrainingData")
    print(report.format())
    if not report.ok:
        ...
"""

from __future__ import annotations

import re
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from tqdm.auto import tqdm

from .constants import MODALITIES, VOLUME_SHAPE
from .discovery import CaseFiles, find_cases
from .errors import BratsDataError
from .loading import load_volume
from .releases import Release

#: Note given to a case without a mask when no mask is expected.
NO_MASK_NOTE = "no mask (validation case)"
#: Largest difference between affine entries still counted as the same affine (mm).
AFFINE_TOLERANCE = 1e-3

#: Case ids and folders of cases without masks: BraTS validation data, MSD's imagesTs.
_VALIDATION_NAME = re.compile(r"validation|^imagesTs$", re.IGNORECASE)
_READ_ERRORS = (nib.filebasedimages.ImageFileError, EOFError, zlib.error, OSError, ValueError)


@dataclass
class CaseReport:
    """What the check found in one case.

    Attributes:
        case_id: e.g. ``"BraTS20_Training_001"``.
        folder: the folder holding the case's files.
        problems: one line per problem, each starting with the file's name; any problem fails
            the case.
        notes: remarks that do not fail the case (no mask in a validation case, unusual shape,
            empty mask).
        has_mask: whether a mask file was found.
    """

    case_id: str
    folder: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    has_mask: bool = False

    @property
    def ok(self) -> bool:
        """Whether the case has no problems (notes are allowed)."""
        return not self.problems


@dataclass
class ValidationReport:
    """The result of :func:`validate_dataset`.

    Attributes:
        root: the folder that was checked.
        cases: one :class:`CaseReport` per case, sorted by case id.
        expect_masks: the ``expect_masks`` argument as given (``None``: inferred).
        masks_expected: whether masks were expected of the cases not named as validation cases
            (the argument, or what was inferred from the folder).
        release: the release of the folder's cases (``None`` only for a report of no case).
    """

    root: Path
    cases: list[CaseReport]
    expect_masks: bool | None = None
    masks_expected: bool = True
    release: Release | None = None

    @property
    def ok(self) -> bool:
        """Whether every case passed."""
        return all(case.ok for case in self.cases)

    @property
    def n_cases(self) -> int:
        """Number of cases checked."""
        return len(self.cases)

    @property
    def failed_cases(self) -> list[CaseReport]:
        """The cases with at least one problem."""
        return [case for case in self.cases if not case.ok]

    def format(self) -> str:
        """A table for people: a header, one line per case ("ok" or its problems), a summary."""
        how = "inferred" if self.expect_masks is None else "given"
        lines = [
            f"BraTS data check: {self.root}",
            f"release: {self.release.title if self.release else 'none'}",
            f"masks expected: {'yes' if self.masks_expected else 'no'} ({how})",
        ]
        width = max([len("case")] + [len(case.case_id) for case in self.cases])
        lines.append(f"{'case':<{width}}  mask  result")
        for case in self.cases:
            result = "ok" if case.ok else "FAILED: " + "; ".join(case.problems)
            if case.notes:
                result += " | " + "; ".join(case.notes)
            mask = "yes" if case.has_mask else "no"
            lines.append(f"{case.case_id:<{width}}  {mask:<4}  {result}")
        failed = self.failed_cases
        without_mask = sum(not case.has_mask for case in self.cases)
        summary = (
            f"{self.n_cases} cases: {self.n_cases - len(failed)} ok, {len(failed)} failed"
            f", {without_mask} without mask"
        )
        if failed:
            summary += " (failed: " + ", ".join(case.case_id for case in failed) + ")"
        lines.append(summary)
        return "\n".join(lines)


def _looks_like_validation(case: CaseFiles, root: Path) -> bool:
    """Whether the case id or a folder between ``root`` and the case says "validation"."""
    try:
        parts = case.folder.relative_to(root).parts
    except ValueError:
        parts = ()
    return any(_VALIDATION_NAME.search(text) for text in (case.case_id, *parts))


def _read_header(path: Path) -> tuple[tuple[int, ...], np.ndarray]:
    """Shape and float64 (4, 4) affine from the header only, without reading the voxels."""
    try:
        image = nib.load(path)
        return tuple(int(size) for size in image.shape), np.asarray(image.affine, np.float64)
    except _READ_ERRORS as error:
        detail = " ".join(str(error).split())
        raise BratsDataError(
            path, f"cannot read as NIfTI ({type(error).__name__}: {detail})"
        ) from error


def _file_label(path: Path, release: Release) -> str:
    """A file's name in the report: ``imagesTr/BRATS_001.nii.gz`` for MSD (whose image and label
    map share a name), else the file name."""
    return f"{path.parent.name}/{path.name}" if release.is_four_dimensional else path.name


def _problem(error: BratsDataError, release: Release) -> str:
    """``"<file name>: <problem>"`` on one line (the table has one line per case)."""
    return " ".join(f"{_file_label(error.path, release)}: {error.problem}".split())


def validate_case(case: CaseFiles, expect_mask: bool) -> CaseReport:
    """Check one case; never raises for bad data.

    Files are read one at a time and released, so memory stays at one volume
    (float32 (240, 240, 155), about 36 MB for BraTS).

    Args:
        case: from :func:`brats_tutorial.discovery.find_cases`.
        expect_mask: whether a missing mask is a problem (training case) or a note
            (validation case).

    Returns:
        The :class:`CaseReport`.
    """
    release = case.release
    report = CaseReport(case.case_id, case.folder, has_mask=case.has_mask)
    if release.is_four_dimensional and not case.images:
        report.problems.append(
            f"{release.file_name(case.case_id, MODALITIES[0])}: file missing (no 4D image of "
            f"the sequences {', '.join(release.sequence_name(m) for m in MODALITIES)})"
        )
    for modality in [] if release.is_four_dimensional else case.missing_modalities:
        report.problems.append(
            f"{release.file_name(case.case_id, modality)}: file missing "
            f"(no {release.describe_sequence(modality)} image)"
        )
    if not case.has_mask:
        if expect_mask:
            report.problems.append(
                f"{release.file_name(case.case_id)}: mask missing (expected for a training case)"
            )
        else:
            report.notes.append(NO_MASK_NOTE)

    # (path, kind): kind "image" (3D), "channels" (MSD's 4D image of every sequence) or "mask".
    files: list[tuple[Path, str]] = []
    if release.is_four_dimensional:
        files += [(case.images[MODALITIES[0]], "channels")] if case.images else []
    else:
        files += [(case.images[m], "image") for m in MODALITIES if m in case.images]
    if case.mask is not None:
        files.append((case.mask, "mask"))

    # Headers first (cheap): shapes and affines of the whole case.
    readable: list[tuple[Path, str]] = []
    reference: tuple[Path, tuple[int, ...], np.ndarray] | None = None
    for path, kind in files:
        name = _file_label(path, release)
        try:
            shape, affine = _read_header(path)
        except BratsDataError as error:
            report.problems.append(_problem(error, release))
            continue
        if kind == "channels":
            sequences = ", ".join(release.sequence_name(m) for m in MODALITIES)
            if len(shape) != 4:
                report.problems.append(
                    f"{name}: expected a 4D image (one channel per sequence: {sequences}), "
                    f"got shape {shape}"
                )
                continue
            if shape[3] != len(case.channels):
                report.problems.append(
                    f"{name}: {shape[3]} channels, expected {len(case.channels)} ({sequences})"
                )
                continue
            shape = shape[:3]  # the grid every channel and the label map share
        elif len(shape) != 3:
            report.problems.append(f"{name}: expected a 3D volume, got shape {shape}")
            continue
        if reference is None:
            reference = (path, shape, affine)
            if shape != VOLUME_SHAPE:
                report.notes.append(
                    f"warning: shape {shape} is not the BraTS "
                    f"{' x '.join(str(size) for size in VOLUME_SHAPE)}"
                )
        else:
            reference_path, reference_shape, reference_affine = reference
            reference_name = _file_label(reference_path, release)
            if shape != reference_shape:
                report.problems.append(
                    f"{name}: shape {shape} differs from {reference_name} {reference_shape}"
                )
            else:
                difference = float(np.max(np.abs(affine - reference_affine)))
                if difference > AFFINE_TOLERANCE:
                    report.problems.append(
                        f"{name}: affine differs from {reference_name} "
                        f"(largest difference {difference:.4g})"
                    )
        readable.append((path, kind))

    # Then the voxels, one file (or one channel) at a time.
    for path, kind in readable:
        name = _file_label(path, release)
        if kind == "channels":
            reads = [
                (case.channels[m], f"channel {case.channels[m]} ({release.sequence_name(m)}): ")
                for m in MODALITIES
            ]
        else:
            reads = [(None, "")]
        for channel, which in reads:
            try:
                data = load_volume(
                    path, is_mask=kind == "mask", release=release, channel=channel
                ).data
            except BratsDataError as error:
                report.problems.append(_problem(error, release))
                break  # the other channels of an unreadable file say nothing new
            if not np.any(data):
                if kind == "mask":
                    report.notes.append(f"{name}: mask is empty (no tumour labelled)")
                else:
                    report.problems.append(
                        f"{name}: {which}all voxels are zero (empty image, no brain)"
                    )
            del data
    return report


def validate_dataset(
    root: str | Path,
    expect_masks: bool | None = None,
    progress: bool = False,
) -> ValidationReport:
    """Check every case under ``root`` (any layout :func:`find_cases` reads).

    Args:
        root: a BraTS folder.
        expect_masks: ``True``: every case needs a mask (training data); ``False``: masks are
            optional (validation data; a case without one gets the note
            ``"no mask (validation case)"``); ``None``: inferred: masks are expected when most
            cases have one, and never of a case whose id or sub-folder says "validation"
            (so the Kaggle download, training and validation side by side, checks clean).
        progress: show a progress bar (tqdm, on stderr).

    Returns:
        The :class:`ValidationReport`; bad cases are reported in it, not raised.

    Raises:
        BratsDataError: if ``root`` does not exist, is not a folder or holds no BraTS case files,
            or if two cases share a name (from :func:`find_cases`).
    """
    root = Path(root).expanduser()
    cases = find_cases(root)
    if expect_masks is None:
        validation = {case.case_id: _looks_like_validation(case, root) for case in cases}
        training = [case for case in cases if not validation[case.case_id]]
        masks_expected = 2 * sum(case.has_mask for case in training) > len(training)
        expected = {case.case_id: masks_expected and not validation[case.case_id] for case in cases}
    else:
        masks_expected = bool(expect_masks)
        expected = {case.case_id: masks_expected for case in cases}
    reports = [
        validate_case(case, expected[case.case_id])
        for case in tqdm(cases, desc="Checking cases", unit="case", disable=not progress)
    ]
    release = cases[0].release if cases else None
    return ValidationReport(root, reports, expect_masks, masks_expected, release)


def check_command(
    root: str | Path,
    expect_masks: bool | None = None,
    progress: bool = True,
) -> int:
    """Check a BraTS folder, print the report, and return an exit status.

    Args:
        root: a BraTS folder.
        expect_masks: as in :func:`validate_dataset`.
        progress: show a progress bar on stderr.

    Returns:
        0 if every case passed, 1 if any case failed, 2 if the folder itself cannot be used
        (the message is printed on stderr, without a traceback).
    """
    try:
        report = validate_dataset(root, expect_masks=expect_masks, progress=progress)
    except BratsDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.format())
    return 0 if report.ok else 1
