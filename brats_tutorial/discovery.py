"""Find BraTS cases in a folder.

Handles the layouts the course meets:

- BraTS 2018-2020 as released: ``<root>/<CASE>/<CASE>_<modality>.nii.gz``, nested at any depth
  (e.g. the Kaggle mirror's ``BraTS2020_TrainingData/MICCAI_BraTS2020_TrainingData/BraTS20_Training_001/``
  with plain ``.nii`` files and ``name_mapping.csv`` beside the cases);
- a flat folder holding every case's files side by side;
- BraTS 2020 case 355, whose mask is named ``W39_1998.09.19_Segm.nii``: any single file in a case
  folder whose name ends in ``_Segm`` or ``_seg`` is taken as that case's mask;
- validation cases, which have no mask.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .constants import MASK_SUFFIX, MODALITIES
from .errors import BratsDataError

_NIFTI_SUFFIXES = (".nii.gz", ".nii")
_CASE_FILE = re.compile(r"^(?P<case>.+)_(?P<kind>flair|t1ce|t1|t2|seg)$", re.IGNORECASE)
_ODD_MASK = re.compile(r"^.+_segm?$", re.IGNORECASE)


@dataclass(frozen=True)
class CaseFiles:
    """The files of one BraTS case.

    Attributes:
        case_id: the case name, e.g. ``"BraTS20_Training_001"``.
        folder: the folder that holds the files.
        images: modality name ("flair", "t1", "t1ce", "t2") to file path; may lack some
            modalities (the validator reports that).
        mask: path of the label map, or ``None`` (validation data).
    """

    case_id: str
    folder: Path
    images: dict[str, Path] = field(default_factory=dict)
    mask: Path | None = None

    @property
    def has_mask(self) -> bool:
        """Whether the case has a label map."""
        return self.mask is not None

    @property
    def missing_modalities(self) -> tuple[str, ...]:
        """Modalities with no file, in :data:`MODALITIES` order."""
        return tuple(m for m in MODALITIES if m not in self.images)


def _nifti_stem(name: str) -> str | None:
    lower = name.lower()
    for suffix in _NIFTI_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return None


def find_cases(root: str | Path) -> list[CaseFiles]:
    """Find every BraTS case under ``root``.

    Args:
        root: a BraTS folder in any of the layouts in the module docstring.

    Returns:
        Cases sorted by ``case_id``. A case whose files sit in one folder with the folder's name as
        prefix takes the folder's name; in a flat folder the prefix names the case.

    Raises:
        BratsDataError: if ``root`` does not exist, is not a folder, holds no NIfTI case files,
            or holds two cases of the same name, or two files for the same modality of one case.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise BratsDataError(root, "folder does not exist")
    if not root.is_dir():
        raise BratsDataError(root, "is not a folder")

    groups: dict[tuple[Path, str], dict[str, Path]] = {}
    odd_masks: dict[Path, list[Path]] = {}
    for folder_name, folder_names, file_names in os.walk(root):
        folder_names[:] = sorted(d for d in folder_names if not d.startswith("."))
        folder = Path(folder_name)
        for file_name in sorted(file_names):
            if file_name.startswith("."):
                continue  # hidden and temporary files, e.g. half-written downloads
            stem = _nifti_stem(file_name)
            if stem is None:
                continue
            match = _CASE_FILE.match(stem)
            if match:
                case_id, kind = match.group("case"), match.group("kind").lower()
                files = groups.setdefault((folder, case_id), {})
                if kind in files:
                    raise BratsDataError(
                        folder / file_name,
                        f"second '{kind}' file for case {case_id} (first: {files[kind].name})",
                    )
                files[kind] = folder / file_name
            elif _ODD_MASK.match(stem):
                odd_masks.setdefault(folder, []).append(folder / file_name)

    # A mask with an odd name (case 355's "W39_1998.09.19_Segm.nii") belongs to the case named
    # after its folder when that case has no mask of its own.
    for folder, masks in odd_masks.items():
        key = (folder, folder.name)
        if key in groups and MASK_SUFFIX not in groups[key] and len(masks) == 1:
            groups[key][MASK_SUFFIX] = masks[0]

    cases: dict[str, CaseFiles] = {}
    for (folder, case_id), files in groups.items():
        if case_id in cases:
            raise BratsDataError(
                folder, f"case {case_id} also found in {cases[case_id].folder}"
            )
        images = {m: files[m] for m in MODALITIES if m in files}
        cases[case_id] = CaseFiles(case_id, folder, images, files.get(MASK_SUFFIX))
    if not cases:
        raise BratsDataError(
            root,
            "no BraTS case files found (expected <CASE>/<CASE>_{flair,t1,t1ce,t2,seg}.nii[.gz])",
        )
    return [cases[case_id] for case_id in sorted(cases)]
