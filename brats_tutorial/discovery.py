"""Find BraTS cases in a folder.

Handles the layouts the course meets:

- BraTS 2018-2020 as released: ``<root>/<CASE>/<CASE>_<modality>.nii.gz``, nested at any depth
  (e.g. the Kaggle mirror's ``BraTS2020_TrainingData/MICCAI_BraTS2020_TrainingData/BraTS20_Training_001/``
  with plain ``.nii`` files and ``name_mapping.csv`` beside the cases);
- a flat folder holding every case's files side by side;
- BraTS 2020 case 355, whose mask is named ``W39_1998.09.19_Segm.nii``: any single file in a case
  folder whose name ends in ``_Segm`` or ``_seg`` is taken as that case's mask;
- validation cases, which have no mask;
- cases linked into a data folder: case folders and case files that are symbolic links are
  followed; a folder met twice (a link cycle, or a folder and a link to it) is read once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
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


def _link_target(path: Path) -> str:
    """Where the symbolic link ``path`` points, as written in the link."""
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _folder_id(path: str) -> tuple[int, int] | None:
    """The real folder behind ``path`` as (device, inode), or ``None`` if it cannot be read."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _walk_folders(root: Path) -> Iterator[tuple[Path, list[str]]]:
    """Yield ``(folder, file names)`` for each non-hidden folder under ``root``, real ones once.

    Folders come in name order, a folder before its sub-folders. Symbolic links to folders are
    followed, but a real folder is read only once: under its own path when it can be reached
    without links, else under the first link path met. So a link cycle (``data/loop -> data``,
    or ``a/to_b -> b`` with ``b/to_a -> a``) ends, and a folder linked from elsewhere under
    ``root`` is not read twice.
    """
    reachable_without_links: set[tuple[int, int] | None] = set()
    for folder_name, folder_names, _ in os.walk(root):  # does not follow links
        folder_names[:] = [d for d in folder_names if not d.startswith(".")]
        reachable_without_links.add(_folder_id(folder_name))

    seen: set[tuple[int, int]] = set()
    through_link: set[str] = set()  # folder paths that pass through a symbolic link
    for folder_name, folder_names, file_names in os.walk(root, followlinks=True):
        folder_id = _folder_id(folder_name)
        linked = folder_name != os.fspath(root) and (
            os.path.dirname(folder_name) in through_link or os.path.islink(folder_name)
        )
        read_elsewhere = linked and folder_id in reachable_without_links
        if folder_id is None or folder_id in seen or read_elsewhere:
            folder_names[:] = []  # unreadable, or read (or to be read) by another path
            continue
        seen.add(folder_id)
        if linked:
            through_link.add(folder_name)
        folder_names[:] = sorted(d for d in folder_names if not d.startswith("."))
        yield Path(folder_name), file_names


def _same_files(first: dict[str, Path], second: dict[str, Path]) -> bool:
    """Whether two groups of case files are the same files on disk (e.g. reached via a link)."""
    if first.keys() != second.keys():
        return False
    try:
        return all(os.path.samefile(first[kind], second[kind]) for kind in first)
    except OSError:
        return False


def find_cases(root: str | Path) -> list[CaseFiles]:
    """Find every BraTS case under ``root``.

    Args:
        root: a BraTS folder in any of the layouts in the module docstring.

    Returns:
        Cases sorted by ``case_id``. A case whose files sit in one folder with the folder's name as
        prefix takes the folder's name; in a flat folder the prefix names the case.

        Symbolic links to folders and files are followed, and paths keep the link's name (e.g.
        ``<root>/Case_1/Case_1_t1.nii.gz`` where ``<root>/Case_1`` links elsewhere). Each real
        folder is read once, so a link cycle ends: under its own path when it lies under ``root``
        without links, else under the first link path met (folders in name order). A case found
        again whose files are the same files on disk (files linked to files under ``root``) is
        kept once, as first met. A link that leads nowhere and does not look like a case file is
        skipped; if no case is found, the error names such links.

    Raises:
        BratsDataError: if ``root`` does not exist, is not a folder, holds no NIfTI case files,
            or holds two cases of the same name (different files), or two files for the same
            modality of one case, or a case file that is a symbolic link to a missing file.
    """
    root = Path(root).expanduser()
    if not root.exists():
        if root.is_symlink():
            raise BratsDataError(
                root, f"folder does not exist (symbolic link to {_link_target(root)})"
            )
        raise BratsDataError(root, "folder does not exist")
    if not root.is_dir():
        raise BratsDataError(root, "is not a folder")

    groups: dict[tuple[Path, str], dict[str, Path]] = {}
    odd_masks: dict[Path, list[Path]] = {}
    dangling: list[Path] = []  # links that lead nowhere and are not case files, for the error
    for folder, file_names in _walk_folders(root):
        for file_name in sorted(file_names):
            if file_name.startswith("."):
                continue  # hidden and temporary files, e.g. half-written downloads
            stem = _nifti_stem(file_name)
            path = folder / file_name
            if not path.exists():  # a symbolic link to nothing (or a link cycle)
                if stem is not None and (_CASE_FILE.match(stem) or _ODD_MASK.match(stem)):
                    raise BratsDataError(
                        path, f"symbolic link to {_link_target(path)}, which does not exist"
                    )
                dangling.append(path)
                continue
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
    first_files: dict[str, dict[str, Path]] = {}
    for (folder, case_id), files in groups.items():
        if case_id in cases and _same_files(first_files[case_id], files):
            continue  # the same files reached by a second path (a link): keep the first
        if case_id in cases:
            raise BratsDataError(folder, f"case {case_id} also found in {cases[case_id].folder}")
        images = {m: files[m] for m in MODALITIES if m in files}
        cases[case_id] = CaseFiles(case_id, folder, images, files.get(MASK_SUFFIX))
        first_files[case_id] = files
    if not cases:
        problem = (
            "no BraTS case files found (expected <CASE>/<CASE>_{flair,t1,t1ce,t2,seg}.nii[.gz])"
        )
        if dangling:
            links = ", ".join(f"{path} -> {_link_target(path)}" for path in dangling[:5])
            more = f" and {len(dangling) - 5} more" if len(dangling) > 5 else ""
            problem += f"; symbolic links that lead nowhere were skipped: {links}{more}"
        raise BratsDataError(root, problem)
    return [cases[case_id] for case_id in sorted(cases)]
