"""Cases written in the layout of each BraTS release, for the tests (never committed).

``write_release_case`` writes one case from arrays in the course's convention (modalities flair,
t1, t1ce, t2; labels {0, 1, 2, 4}) into a release's own file names and label numbers, with
MSD's 4D stack. ``convert_sample`` rewrites a few real cases of the BraTS 2018 sample that way.

The label numbers written here come from the releases' own documentation, typed out again below
rather than taken from :mod:`brats_tutorial.releases`, so the tests compare the package's table
with an independent one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np

#: The releases' layouts the package reads besides BraTS 2018-2020.
LAYOUTS: tuple[str, ...] = ("brats2021", "brats2023-gli", "msd-task01")

#: Course file label -> the release's label, as each release documents it.
COURSE_TO_RELEASE_LABEL: dict[str, dict[int, int]] = {
    "brats2018-2020": {0: 0, 1: 1, 2: 2, 4: 4},
    "brats2021": {0: 0, 1: 1, 2: 2, 4: 4},
    # 1 non-enhancing tumour core, 2 surrounding FLAIR hyperintensity, 3 enhancing tumour
    "brats2023-gli": {0: 0, 1: 1, 2: 2, 4: 3},
    # 1 oedema, 2 non-enhancing tumour, 3 enhancing tumour
    "msd-task01": {0: 0, 1: 2, 2: 1, 4: 3},
}
#: The regions in each release's own numbers.
RELEASE_REGIONS: dict[str, dict[str, tuple[int, ...]]] = {
    "brats2018-2020": {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)},
    "brats2021": {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)},
    "brats2023-gli": {"WT": (1, 2, 3), "TC": (1, 3), "ET": (3,)},
    "msd-task01": {"WT": (1, 2, 3), "TC": (2, 3), "ET": (3,)},
}
_GLI_SUFFIXES = {"flair": "t2f", "t1": "t1n", "t1ce": "t1c", "t2": "t2w"}
#: MSD's channel order (dataset.json "modality").
MSD_ORDER: tuple[str, ...] = ("flair", "t1", "t1ce", "t2")
MSD_DATASET = {
    "name": "BRATS",
    "description": "Gliomas segmentation tumour and oedema in on brain images",
    "tensorImageSize": "4D",
    "licence": "CC-BY-SA 4.0",
    "modality": {"0": "FLAIR", "1": "T1w", "2": "t1gd", "3": "T2w"},
    "labels": {
        "0": "background",
        "1": "edema",
        "2": "non-enhancing tumor",
        "3": "enhancing tumour",
    },
}


def case_id(release: str, index: int) -> str:
    """The release's name of case ``index``, e.g. ``"BraTS-GLI-00003-000"``."""
    return {
        "brats2018-2020": f"BraTS20_Training_{index:03d}",
        "brats2021": f"BraTS2021_{index:05d}",
        "brats2023-gli": f"BraTS-GLI-{index:05d}-000",
        "msd-task01": f"BRATS_{index:03d}",
    }[release]


def release_labels(release: str, course_labels: np.ndarray) -> np.ndarray:
    """uint8 labels in the release's numbers from course labels {0, 1, 2, 4}."""
    result = np.zeros(np.shape(course_labels), np.uint8)
    for course, label in COURSE_TO_RELEASE_LABEL[release].items():
        result[np.asarray(course_labels) == course] = label
    return result


def _save(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def file_paths(root: Path, release: str, case: str, training: bool = True) -> dict[str, Path]:
    """Where ``write_release_case`` puts a case's files: modality or "seg" -> path (MSD: every
    modality -> the 4D image)."""
    if release == "msd-task01":
        image = root / ("imagesTr" if training else "imagesTs") / f"{case}.nii.gz"
        paths = {modality: image for modality in MSD_ORDER}
        paths["seg"] = root / ("labelsTr" if training else "labelsTs") / f"{case}.nii.gz"
        return paths
    if release == "brats2023-gli":
        names = {**_GLI_SUFFIXES, "seg": "seg"}
        return {kind: root / case / f"{case}-{name}.nii.gz" for kind, name in names.items()}
    kinds = (*MSD_ORDER, "seg")
    return {kind: root / case / f"{case}_{kind}.nii.gz" for kind in kinds}


def write_dataset_json(root: Path, description: dict | None = None) -> Path:
    """MSD's ``dataset.json`` (the real file's ``modality`` and ``labels``) in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "dataset.json"
    path.write_text(json.dumps(description or MSD_DATASET, indent=4))
    return path


def write_release_case(
    root: Path,
    release: str,
    case: str,
    images: dict[str, np.ndarray],
    course_mask: np.ndarray | None,
    affine: np.ndarray | None = None,
    training: bool = True,
) -> dict[str, Path]:
    """Write one case in a release's layout.

    Args:
        root: the data folder (MSD: the task folder holding imagesTr, labelsTr, dataset.json).
        release: a key of ``COURSE_TO_RELEASE_LABEL``.
        case: the case id (see :func:`case_id`).
        images: course modality -> 3D array; MSD stacks them as channels in ``MSD_ORDER``.
        course_mask: labels {0, 1, 2, 4}, written in the release's numbers; ``None``: no mask.
        affine: float (4, 4), identity by default.
        training: MSD only: ``imagesTr``/``labelsTr`` (else ``imagesTs``, with no label).

    Returns:
        The paths written, as :func:`file_paths`.
    """
    affine = np.eye(4) if affine is None else affine
    paths = file_paths(root, release, case, training)
    if release == "msd-task01":
        if not (root / "dataset.json").exists():
            write_dataset_json(root)
        stack = np.stack([images[modality] for modality in MSD_ORDER], axis=-1)
        _save(paths["flair"], stack, affine)
    else:
        for modality, image in images.items():
            _save(paths[modality], image, affine)
    if course_mask is not None:
        _save(paths["seg"], release_labels(release, course_mask), affine)
    else:
        paths.pop("seg")
    return paths


def convert_sample(sample: Path, destination: Path, release: str, count: int = 3) -> Path:
    """Rewrite the first ``count`` cases of the BraTS 2018 sample in a release's layout.

    Images of the 3D releases are copied byte for byte under their new names; label maps are
    renumbered; MSD's images are stacked into one 4D int16 file per case.

    Returns:
        ``destination``, the data folder to give the command line.
    """
    from brats_tutorial.discovery import find_cases

    cases = [c for c in find_cases(sample) if c.has_mask][:count]
    for index, source in enumerate(cases, start=1):
        new_id = case_id(release, index)
        paths = file_paths(destination, release, new_id)
        mask_image = nib.load(source.mask)
        course_mask = np.asanyarray(mask_image.dataobj)
        affine = mask_image.affine
        if release == "msd-task01":
            if not (destination / "dataset.json").exists():
                write_dataset_json(destination)
            images = [np.asanyarray(nib.load(source.images[m]).dataobj) for m in MSD_ORDER]
            _save(paths["flair"], np.stack(images, axis=-1).astype(np.int16), affine)
        else:
            for modality in MSD_ORDER:
                paths[modality].parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source.images[modality], paths[modality])
        _save(paths["seg"], release_labels(release, course_mask), affine)
    return destination


def sample_mask(sample: Path, index: int) -> np.ndarray:
    """Course labels of case ``index`` (1-based) of the converted sample, read from the sample."""
    from brats_tutorial.discovery import find_cases

    source = [c for c in find_cases(sample) if c.has_mask][index - 1]
    return np.asanyarray(nib.load(source.mask).dataobj)
