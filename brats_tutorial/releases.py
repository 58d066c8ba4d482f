"""The BraTS releases the course reads, and how each maps to the course's one convention.

Every release holds the same four MRI sequences and the same three regions, but names the files
and numbers the labels its own way:

================  =====================================  ===========================  ==========
release           files of one case                      sequences                    labels
================  =====================================  ===========================  ==========
BraTS 2018-2020   ``Brats18_.../Brats18_..._flair.nii``  flair, t1, t1ce, t2          0, 1, 2, 4
BraTS 2021        ``BraTS2021_00000_flair.nii.gz``       flair, t1, t1ce, t2          0, 1, 2, 4
BraTS 2023+ GLI   ``BraTS-GLI-00000-000-t2f.nii.gz``     t2f, t1n, t1c, t2w           0, 1, 2, 3
MSD Task01        ``imagesTr/BRATS_001.nii.gz`` (4D)     channels 0-3 (FLAIR, T1w,    0, 1, 2, 3
                  and ``labelsTr/BRATS_001.nii.gz``      T1gd, T2w)
================  =====================================  ===========================  ==========

The package works in one convention everywhere, BraTS 2018-2020's: sequences ``flair``, ``t1``,
``t1ce``, ``t2`` and file labels {0, 1, 2, 4} (1 necrotic / non-enhancing tumour core,
2 oedema, 4 enhancing tumour), classes {0, 1, 2, 3}. Loading maps a release's labels into it
(:meth:`Release.to_course_labels`) and export maps them back (:meth:`Release.from_course_labels`),
so a prediction is written, and scored, in the numbers of the data it came from.

>>> release = RELEASES["brats2023-gli"]
>>> release.to_course_labels(np.array([0, 1, 2, 3])).tolist()
[0, 1, 2, 4]
>>> RELEASES["msd-task01"].to_course_labels(np.array([0, 1, 2, 3])).tolist()
[0, 2, 1, 4]
>>> RELEASES["msd-task01"].from_course_labels(np.array([0, 1, 2, 4])).tolist()
[0, 2, 1, 3]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .constants import FILE_LABELS, MODALITIES, REGIONS
from .errors import BratsDataError

__all__ = [
    "Release",
    "RELEASES",
    "BRATS_2018_2020",
    "BRATS_2021",
    "BRATS_2023_GLI",
    "MSD_TASK01",
    "get_release",
]


@dataclass(frozen=True)
class Release:
    """One BraTS release: its file names, sequence names and label numbers.

    Attributes:
        key: short name, e.g. ``"brats2023-gli"`` (the ``--release`` choices of the command line).
        title: the name reports print, e.g. ``"BraTS 2023+ adult glioma (GLI)"``.
        sequences: course modality ("flair", "t1", "t1ce", "t2") to the release's name for it,
            the file-name suffix of 3D releases (GLI: ``"t2f"`` for FLAIR) or the channel's name
            in MSD's ``dataset.json`` (``"FLAIR"``).
        channels: course modality to channel index of the 4D image (MSD, the default order when
            ``dataset.json`` does not say); empty for releases with one file per sequence.
        separator: between case id and suffix in file names (``"_"``, GLI ``"-"``; MSD none).
        mask_suffix: suffix of the label map's file name (``"seg"``; MSD none).
        label_names: each label value the release allows to its meaning, in the release's words.
        label_to_course: release label to course file label {0, 1, 2, 4}.
        region_labels: the BraTS regions WT, TC, ET as sets of the release's own labels.
    """

    key: str
    title: str
    sequences: dict[str, str]
    channels: dict[str, int]
    separator: str
    mask_suffix: str
    label_names: dict[int, str]
    label_to_course: dict[int, int]
    region_labels: dict[str, tuple[int, ...]]

    def __post_init__(self) -> None:
        # The table is written once; these checks keep it consistent with itself.
        if set(self.sequences) != set(MODALITIES):
            raise ValueError(f"{self.key}: sequences must name {MODALITIES}")
        if set(self.label_to_course) != set(self.label_names):
            raise ValueError(f"{self.key}: every allowed label needs a course label")
        if sorted(self.label_to_course.values()) != sorted(FILE_LABELS):
            raise ValueError(f"{self.key}: labels must map one to one onto {FILE_LABELS}")
        if set(self.region_labels) != set(REGIONS):
            raise ValueError(f"{self.key}: regions must be {REGIONS}")

    @property
    def label_values(self) -> tuple[int, ...]:
        """The label values allowed in the release's label maps, sorted."""
        return tuple(sorted(self.label_names))

    @property
    def course_to_label(self) -> dict[int, int]:
        """Course file label {0, 1, 2, 4} to the release's label (the inverse map)."""
        return {course: label for label, course in self.label_to_course.items()}

    @property
    def enhancing_label(self) -> int:
        """The release's label of enhancing tumour (4 in 2018-2021, 3 in GLI and MSD)."""
        return self.course_to_label[4]

    @property
    def is_four_dimensional(self) -> bool:
        """Whether one 4D image holds every sequence (MSD) instead of one file per sequence."""
        return bool(self.channels)

    def sequence_name(self, modality: str) -> str:
        """The release's name of a course modality, e.g. GLI's ``"t2f"`` for ``"flair"``."""
        return self.sequences[modality]

    def describe_sequence(self, modality: str) -> str:
        """``'t2f' (the course's 'flair')`` when the names differ, else ``'flair'``; for messages."""
        name = self.sequence_name(modality)
        return f"'{name}'" if name == modality else f"'{name}' (the course's '{modality}')"

    def file_name(self, case_id: str, modality: str | None = None) -> str:
        """File name pattern of a case's image (``modality``) or mask (``None``), for messages.

        >>> BRATS_2023_GLI.file_name("BraTS-GLI-00000-000", "flair")
        'BraTS-GLI-00000-000-t2f.nii[.gz]'
        >>> MSD_TASK01.file_name("BRATS_001")
        'labelsTr/BRATS_001.nii.gz'
        """
        if self.is_four_dimensional:
            return f"{'imagesTr' if modality else 'labelsTr'}/{case_id}.nii.gz"
        suffix = self.sequences[modality] if modality else self.mask_suffix
        return f"{case_id}{self.separator}{suffix}.nii[.gz]"

    def check_labels(self, labels: np.ndarray, source: str | Path = "<array>") -> None:
        """Raise :class:`BratsDataError` naming ``source`` if ``labels`` holds a value the release
        does not allow (label 3 in BraTS 2018-2021, label 4 in GLI and MSD).

        Args:
            labels: integer array of any shape, in the release's numbers.
            source: the file the labels came from, for the message.
        """
        values = np.unique(np.asarray(labels))
        unknown = [value.item() for value in values if value not in self.label_names]
        if unknown:
            raise BratsDataError(
                source,
                f"unknown label values {unknown}; {self.title} labels are {list(self.label_values)}",
            )

    def to_course_labels(self, labels: np.ndarray, source: str | Path = "<array>") -> np.ndarray:
        """Map the release's labels to the course's file labels {0, 1, 2, 4}.

        Args:
            labels: integer array of any shape, in the release's numbers.
            source: file name for the error message.

        Returns:
            uint8 array of the same shape, labels {0, 1, 2, 4}.

        Raises:
            BratsDataError: if a value is not one of the release's labels.
        """
        self.check_labels(labels, source)
        lookup = np.zeros(256, dtype=np.uint8)
        for label, course in self.label_to_course.items():
            lookup[label] = course
        return lookup[np.asarray(labels).astype(np.intp)]

    def from_course_labels(self, labels: np.ndarray) -> np.ndarray:
        """Map course file labels {0, 1, 2, 4} to the release's labels (for export).

        Args:
            labels: integer array of any shape, labels {0, 1, 2, 4}.

        Returns:
            uint8 array of the same shape, in the release's numbers.

        Raises:
            ValueError: if a value is not a course label.
        """
        labels = np.asarray(labels)
        unknown = sorted(set(np.unique(labels).tolist()) - set(FILE_LABELS))
        if unknown:
            raise ValueError(f"course labels are {list(FILE_LABELS)}, got {unknown}")
        lookup = np.zeros(256, dtype=np.uint8)
        for course, label in self.course_to_label.items():
            lookup[course] = label
        return lookup[labels.astype(np.intp)]


_COURSE_SEQUENCES = {modality: modality for modality in MODALITIES}
_IDENTITY = {label: label for label in FILE_LABELS}
_REGIONS_2018 = {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)}

BRATS_2018_2020 = Release(
    key="brats2018-2020",
    title="BraTS 2018-2020",
    sequences=_COURSE_SEQUENCES,
    channels={},
    separator="_",
    mask_suffix="seg",
    label_names={
        0: "background",
        1: "necrotic and non-enhancing tumour core (NCR/NET)",
        2: "peritumoral oedema (ED)",
        4: "enhancing tumour (ET)",
    },
    label_to_course=_IDENTITY,
    region_labels=_REGIONS_2018,
)
BRATS_2021 = Release(
    key="brats2021",
    title="BraTS 2021",
    sequences=_COURSE_SEQUENCES,
    channels={},
    separator="_",
    mask_suffix="seg",
    label_names={
        0: "background",
        1: "necrotic tumour core (NCR)",
        2: "peritumoral oedematous / invaded tissue (ED)",
        4: "GD-enhancing tumour (ET)",
    },
    label_to_course=_IDENTITY,
    region_labels=_REGIONS_2018,
)
BRATS_2023_GLI = Release(
    key="brats2023-gli",
    title="BraTS 2023+ adult glioma (GLI)",
    sequences={"flair": "t2f", "t1": "t1n", "t1ce": "t1c", "t2": "t2w"},
    channels={},
    separator="-",
    mask_suffix="seg",
    label_names={
        0: "background",
        1: "non-enhancing tumour core (NETC)",
        2: "surrounding non-enhancing FLAIR hyperintensity (SNFH)",
        3: "enhancing tumour (ET)",
    },
    label_to_course={0: 0, 1: 1, 2: 2, 3: 4},
    region_labels={"WT": (1, 2, 3), "TC": (1, 3), "ET": (3,)},
)
MSD_TASK01 = Release(
    key="msd-task01",
    title="Medical Segmentation Decathlon Task01_BrainTumour",
    sequences={"flair": "FLAIR", "t1": "T1w", "t1ce": "T1gd", "t2": "T2w"},
    channels={"flair": 0, "t1": 1, "t1ce": 2, "t2": 3},
    separator="",
    mask_suffix="",
    label_names={
        0: "background",
        1: "oedema",
        2: "non-enhancing tumour",
        3: "enhancing tumour",
    },
    label_to_course={0: 0, 1: 2, 2: 1, 3: 4},
    region_labels={"WT": (1, 2, 3), "TC": (2, 3), "ET": (3,)},
)

#: Every release the package reads, by key.
RELEASES: dict[str, Release] = {
    release.key: release for release in (BRATS_2018_2020, BRATS_2021, BRATS_2023_GLI, MSD_TASK01)
}


def get_release(release: str | Release) -> Release:
    """The :class:`Release` named by ``release`` (a key of :data:`RELEASES`), or itself.

    Raises:
        ValueError: for an unknown key.
    """
    if isinstance(release, Release):
        return release
    if release not in RELEASES:
        raise ValueError(f"unknown release {release!r}; choose one of {sorted(RELEASES)}")
    return RELEASES[release]
