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
  followed; a folder met twice (a link cycle, or a folder and a link to it) is read once;
- BraTS 2021: ``BraTS2021_00000/BraTS2021_00000_{flair,t1,t1ce,t2,seg}.nii.gz``, told from
  2018-2020 by its case id;
- BraTS 2023+ adult glioma: ``BraTS-GLI-00000-000/BraTS-GLI-00000-000-{t1n,t1c,t2w,t2f,seg}.nii.gz``;
- the Medical Segmentation Decathlon's Task01_BrainTumour: ``<root>/imagesTr/BRATS_001.nii.gz``
  (one 4D image, a channel per sequence), ``<root>/labelsTr/BRATS_001.nii.gz`` and
  ``<root>/dataset.json``, which names the channels and labels; cases in ``imagesTs/`` have no
  label map.

Each case records its release (:mod:`brats_tutorial.releases`). A folder that mixes releases is
refused: one release's label 4 is another's nothing, so the folder's cases must agree.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .constants import MASK_SUFFIX, MODALITIES
from .errors import BratsDataError
from .releases import BRATS_2018_2020, BRATS_2021, BRATS_2023_GLI, MSD_TASK01, Release

_NIFTI_SUFFIXES = (".nii.gz", ".nii")
_CASE_FILE = re.compile(r"^(?P<case>.+)_(?P<kind>flair|t1ce|t1|t2|seg)$", re.IGNORECASE)
_ODD_MASK = re.compile(r"^.+_segm?$", re.IGNORECASE)
_GLI_FILE = re.compile(
    r"^(?P<case>BraTS-GLI-\d+-\d+)-(?P<kind>t2f|t1n|t1c|t2w|seg)$", re.IGNORECASE
)
_BRATS_2021_CASE = re.compile(r"^BraTS2021_", re.IGNORECASE)
#: Folders of the Decathlon's layout: images (4D) and labels.
_MSD_IMAGE_FOLDERS = ("imagesTr", "imagesTs")
_MSD_LABEL_FOLDERS = {"labelsTr": "imagesTr", "labelsTs": "imagesTs"}
#: Words of MSD's dataset.json that name each course modality and each label.
_MSD_SEQUENCE_WORDS = {"flair": "flair", "t1w": "t1", "t1": "t1", "t1gd": "t1ce", "t2w": "t2"}
_MSD_LABEL_WORDS = {1: ("edema", "oedema"), 2: ("non-enhancing",), 3: ("enhancing",)}
#: Name of the Decathlon's description file.
MSD_DATASET_FILE = "dataset.json"


@dataclass(frozen=True)
class CaseFiles:
    """The files of one BraTS case.

    Attributes:
        case_id: the case name, e.g. ``"BraTS20_Training_001"``.
        folder: the folder that holds the files.
        images: modality name ("flair", "t1", "t1ce", "t2") to file path; may lack some
            modalities (the validator reports that).
        mask: path of the label map, or ``None`` (validation data).
        release: the release the files come from; it says how to read their sequences and labels.
        channels: modality to channel index of the 4D image (MSD: every modality's path is that
            one image); empty for releases with one file per sequence.
    """

    case_id: str
    folder: Path
    images: dict[str, Path] = field(default_factory=dict)
    mask: Path | None = None
    release: Release = BRATS_2018_2020
    channels: dict[str, int] = field(default_factory=dict)

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


def _kind_name(release: Release, kind: str) -> str:
    """The release's name of a file kind: a course modality or ``"seg"``."""
    return kind if kind == MASK_SUFFIX else release.sequence_name(kind)


_GLI_KINDS = {name: modality for modality, name in BRATS_2023_GLI.sequences.items()}


def _case_file(stem: str) -> tuple[str, str, Release] | None:
    """``(case id, kind, release)`` of a file of a 3D release, kind a course modality or "seg"."""
    match = _CASE_FILE.match(stem)
    if match:
        case_id = match.group("case")
        release = BRATS_2021 if _BRATS_2021_CASE.match(case_id) else BRATS_2018_2020
        return case_id, match.group("kind").lower(), release
    match = _GLI_FILE.match(stem)
    if match:
        kind = match.group("kind").lower()
        return match.group("case"), _GLI_KINDS.get(kind, MASK_SUFFIX), BRATS_2023_GLI
    return None


def _msd_kind(folder: Path) -> tuple[str, str] | None:
    """``(image folder name, "image" or "label")`` for a folder of MSD's layout, else ``None``."""
    if folder.name in _MSD_IMAGE_FOLDERS:
        return folder.name, "image"
    if folder.name in _MSD_LABEL_FOLDERS:
        return _MSD_LABEL_FOLDERS[folder.name], "label"
    return None


def msd_channels(dataset_file: str | Path) -> dict[str, int]:
    """Channel of each course modality in the Decathlon's 4D images, from ``dataset.json``.

    Without the file the Decathlon's published order is used (FLAIR 0, T1w 1, T1gd 2, T2w 3).
    The file's ``labels`` must give MSD Task01's meanings (1 oedema, 2 non-enhancing tumour,
    3 enhancing tumour): label maps numbered otherwise would be misread, so they are refused.

    Args:
        dataset_file: the ``dataset.json`` beside ``imagesTr``.

    Returns:
        ``{"flair": 0, "t1": 1, "t1ce": 2, "t2": 3}`` or the order the file gives.

    Raises:
        BratsDataError: naming the file, if it is not JSON, or its ``modality`` or ``labels``
            do not describe the four sequences and the three tumour labels of Task01.
    """
    dataset_file = Path(dataset_file)
    if not dataset_file.is_file():
        return dict(MSD_TASK01.channels)
    try:
        description = json.loads(dataset_file.read_text())
        modality = {int(index): str(name) for index, name in description["modality"].items()}
        labels = {int(value): str(name) for value, name in description["labels"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BratsDataError(
            dataset_file, f"cannot read the 'modality' and 'labels' of {MSD_DATASET_FILE} ({error})"
        ) from error
    channels = {_MSD_SEQUENCE_WORDS.get(name.lower()): index for index, name in modality.items()}
    if set(channels) != set(MODALITIES) or sorted(channels.values()) != list(range(4)):
        raise BratsDataError(
            dataset_file,
            f"'modality' {modality} does not name FLAIR, T1w, T1gd and T2w as channels 0-3",
        )
    for value, words in _MSD_LABEL_WORDS.items():
        name = labels.get(value, "").lower()
        wrong = value == 3 and "non" in name
        if wrong or not any(word in name for word in words):
            raise BratsDataError(
                dataset_file,
                f"label {value} is {labels.get(value)!r}, not MSD Task01's "
                f"{MSD_TASK01.label_names[value]!r}; refusing to guess what the labels mean",
            )
    return channels


def _refuse_mixed_releases(root: Path, cases: list[CaseFiles]) -> None:
    """Raise :class:`BratsDataError` if the cases come from more than one release."""
    examples: dict[str, str] = {}
    for case in sorted(cases, key=lambda case: case.case_id):
        examples.setdefault(case.release.title, case.case_id)
    if len(examples) > 1:
        found = " and ".join(f"{title} (e.g. {case_id})" for title, case_id in examples.items())
        raise BratsDataError(
            root,
            f"mixes releases: {found}; their labels are numbered differently, "
            "so keep each release in its own folder",
        )


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
            modality of one case, or a case file that is a symbolic link to a missing file, or
            cases of more than one release (the message names both, with a case of each), or an
            MSD ``dataset.json`` that does not describe Task01 (see :func:`msd_channels`).
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
    group_releases: dict[tuple[Path, str], Release] = {}
    odd_masks: dict[Path, list[Path]] = {}
    msd_files: dict[tuple[Path, str], dict[str, Path]] = {}  # (image folder, case id) -> files
    dangling: list[Path] = []  # links that lead nowhere and are not case files, for the error
    for folder, file_names in _walk_folders(root):
        for file_name in sorted(file_names):
            if file_name.startswith("."):
                continue  # hidden and temporary files (macOS "._" files, half-written downloads)
            stem = _nifti_stem(file_name)
            path = folder / file_name
            if not path.exists():  # a symbolic link to nothing (or a link cycle)
                if stem is not None and (
                    _CASE_FILE.match(stem)
                    or _ODD_MASK.match(stem)
                    or _GLI_FILE.match(stem)
                    or _msd_kind(folder) is not None
                ):
                    raise BratsDataError(
                        path, f"symbolic link to {_link_target(path)}, which does not exist"
                    )
                dangling.append(path)
                continue
            if stem is None:
                continue
            case_file = _case_file(stem)
            if case_file is not None:
                case_id, kind, release = case_file
                files = groups.setdefault((folder, case_id), {})
                group_releases[(folder, case_id)] = release
                if kind in files:
                    raise BratsDataError(
                        folder / file_name,
                        f"second '{_kind_name(release, kind)}' file for case {case_id} "
                        f"(first: {files[kind].name})",
                    )
                files[kind] = folder / file_name
            elif _ODD_MASK.match(stem):
                odd_masks.setdefault(folder, []).append(folder / file_name)
            elif _msd_kind(folder) is not None:
                image_folder_name, kind = _msd_kind(folder)
                files = msd_files.setdefault((folder.parent / image_folder_name, stem), {})
                files[kind] = path

    # A mask with an odd name (case 355's "W39_1998.09.19_Segm.nii") belongs to the case named
    # after its folder when that case has no mask of its own.
    for folder, masks in odd_masks.items():
        key = (folder, folder.name)
        if key in groups and MASK_SUFFIX not in groups[key] and len(masks) == 1:
            groups[key][MASK_SUFFIX] = masks[0]

    channels_of: dict[Path, dict[str, int]] = {}  # MSD task folder -> channels
    for (image_folder, case_id), files in msd_files.items():
        task_folder = image_folder.parent
        if task_folder not in channels_of:
            channels_of[task_folder] = msd_channels(task_folder / MSD_DATASET_FILE)
        group = {m: files["image"] for m in MODALITIES} if "image" in files else {}
        if "label" in files:
            group[MASK_SUFFIX] = files["label"]
        groups[(image_folder, case_id)] = group
        group_releases[(image_folder, case_id)] = MSD_TASK01

    cases: dict[str, CaseFiles] = {}
    first_files: dict[str, dict[str, Path]] = {}
    for (folder, case_id), files in groups.items():
        if case_id in cases and _same_files(first_files[case_id], files):
            continue  # the same files reached by a second path (a link): keep the first
        if case_id in cases:
            raise BratsDataError(folder, f"case {case_id} also found in {cases[case_id].folder}")
        release = group_releases.get((folder, case_id), BRATS_2018_2020)
        images = {m: files[m] for m in MODALITIES if m in files}
        channels = channels_of[folder.parent] if release is MSD_TASK01 else {}
        cases[case_id] = CaseFiles(
            case_id, folder, images, files.get(MASK_SUFFIX), release, dict(channels)
        )
        first_files[case_id] = files
    _refuse_mixed_releases(root, list(cases.values()))
    if not cases:
        problem = (
            "no BraTS case files found (expected <CASE>/<CASE>_{flair,t1,t1ce,t2,seg}.nii[.gz], "
            "<CASE>/<CASE>-{t2f,t1n,t1c,t2w,seg}.nii.gz or the Decathlon's imagesTr/labelsTr)"
        )
        if dangling:
            links = ", ".join(f"{path} -> {_link_target(path)}" for path in dangling[:5])
            more = f" and {len(dangling) - 5} more" if len(dangling) > 5 else ""
            problem += f"; symbolic links that lead nowhere were skipped: {links}{more}"
        raise BratsDataError(root, problem)
    return [cases[case_id] for case_id in sorted(cases)]
