"""The preprocessed slice cache: every case's slices saved once as ``.npy``, reused by training.

Layout of a cache folder::

    <cache_dir>/
        manifest.json                  settings, package version, one entry per complete case
        <case_id>_images.npy           float16 (S, size, size, C)
        <case_id>_classes.npy          uint8 (S, size, size), class indices {0, 1, 2, 3}

The cache never lives inside the data folder: by default it sits beside it, in
``<data_dir.parent>/<data_dir.name>_cache/<settings hash>``, or in the work folder when the
data folder's parent is read-only (Kaggle's ``/kaggle/input``, a shared read-only mount).

Keeping it correct:

- a case is up to date when its manifest entry records the same source files (path relative to
  the data folder, size, modification time in ns) as now, and both arrays exist with the
  recorded sizes; otherwise it is rebuilt;
- a manifest made with other settings (or by another preprocessing version) makes every case
  stale;
- every file is written atomically, and a case's manifest entry is written only after both of
  its arrays exist, so an interrupted run leaves no case that looks complete but is not. A case
  with arrays but no entry is rebuilt.

Two processes building the same cache at once are not supported (the manifest is not locked).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .atomic import save_json_atomic, save_npy_atomic
from .data_sources import default_work_dir
from .discovery import CaseFiles, find_cases
from .errors import BratsDataError
from .loading import load_case
from .preprocessing import PREPROCESSING_VERSION, PreprocessingSettings, preprocess_case
from .settings_key import settings_key

MANIFEST_NAME: str = "manifest.json"
#: Version of the manifest's layout.
MANIFEST_FORMAT: int = 1
IMAGES_SUFFIX: str = "_images.npy"
CLASSES_SUFFIX: str = "_classes.npy"
NO_MASK_REASON: str = "no mask (validation data): not usable for training"


@dataclass
class CacheInfo:
    """What :func:`build_cache` found and did.

    Attributes:
        cache_dir: the cache folder.
        settings: the preprocessing settings of the cache.
        case_ids: cases now complete in the cache among those asked for, sorted.
        built: cases preprocessed in this run (new or stale).
        skipped: case id to the reason it was left out (e.g. no mask).
        up_to_date: cases reused without work.
    """

    cache_dir: Path
    settings: PreprocessingSettings
    case_ids: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    up_to_date: list[str] = field(default_factory=list)


def package_version() -> str:
    """The version of ``brats_tutorial`` (``brats_tutorial.__version__``)."""
    from . import __version__

    return __version__


def settings_hash(settings: PreprocessingSettings, length: int = 10) -> str:
    """Short hexadecimal hash of the settings and the preprocessing version.

    Two caches with the same hash hold the same slices for the same source files.
    """
    return settings_key(
        {"settings": settings.to_dict(), "preprocessing_version": PREPROCESSING_VERSION}, length
    )


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def _is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or below it (both resolved)."""
    return path == folder or folder in path.parents


def _is_writable_folder(folder: Path) -> bool:
    """A folder we may write in: the OS allows it and its mode is not read-only for everyone.

    The mode check matters for root (``os.access`` then says yes to every folder): a folder
    with no write permission bit at all was meant to be read-only, so it is left alone.
    """
    try:
        mode = folder.stat().st_mode
    except OSError:
        return False
    writable_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    return (
        stat.S_ISDIR(mode) and bool(mode & writable_bits) and os.access(folder, os.W_OK | os.X_OK)
    )


def default_cache_dir(data_dir: str | Path, settings: PreprocessingSettings) -> Path:
    """Where :func:`build_cache` puts the cache when no folder is given.

    ``<data_dir.parent>/<data_dir.name>_cache/<settings hash>`` when that folder (or, before
    its creation, the data folder's parent) is writable; else
    ``<work folder>/<data_dir.name>_<hash of the data folder's path>_cache/<settings hash>``,
    with the work folder of :func:`brats_tutorial.data_sources.default_work_dir` (which that
    function creates). Nothing else is created here. :func:`build_cache` refuses any cache
    folder inside the data folder.

    Args:
        data_dir: the BraTS data folder.
        settings: the preprocessing settings (each gets its own sub-folder).
    """
    data_dir = _resolved(data_dir)
    name = data_dir.name or "data"
    leaf = settings_hash(settings)
    if data_dir.parent != data_dir:
        beside = data_dir.parent / f"{name}_cache"
        probe = beside if beside.exists() else data_dir.parent
        if _is_writable_folder(probe):
            return beside / leaf
    path_hash = settings_key(str(data_dir), length=8)
    return default_work_dir() / f"{name}_{path_hash}_cache" / leaf


def _source_record(path: Path, data_dir: Path) -> dict[str, Any]:
    status = path.stat()
    resolved = path.resolve()
    relative = resolved.relative_to(data_dir) if _is_inside(resolved, data_dir) else resolved
    return {"path": relative.as_posix(), "size": status.st_size, "mtime_ns": status.st_mtime_ns}


def _source_records(
    case_files: CaseFiles, settings: PreprocessingSettings, data_dir: Path
) -> dict[str, dict[str, Any]]:
    """Records of the files a case's slices depend on: the settings' modalities and the mask."""
    records = {}
    for modality in settings.modalities:
        if modality not in case_files.images:
            raise BratsDataError(
                case_files.folder, f"case {case_files.case_id} has no '{modality}' file"
            )
        records[modality] = _source_record(case_files.images[modality], data_dir)
    assert case_files.mask is not None
    records["seg"] = _source_record(case_files.mask, data_dir)
    return records


def output_names(case_id: str) -> dict[str, str]:
    """File names of a case's arrays in the cache: ``{"images": ..., "classes": ...}``."""
    return {"images": f"{case_id}{IMAGES_SUFFIX}", "classes": f"{case_id}{CLASSES_SUFFIX}"}


def read_manifest(cache_dir: str | Path) -> dict[str, Any] | None:
    """The cache's manifest as a dict, or ``None`` when there is none.

    Raises:
        BratsDataError: if the manifest exists but is not valid JSON of the expected shape.
    """
    path = Path(cache_dir) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BratsDataError(path, f"cannot read the cache manifest ({error})") from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("cases"), dict):
        raise BratsDataError(path, "not a cache manifest (no 'cases' table)")
    return manifest


def _new_manifest(settings: PreprocessingSettings, data_dir: Path) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "preprocessing_version": PREPROCESSING_VERSION,
        "package_version": package_version(),
        "settings": settings.to_dict(),
        "settings_hash": settings_hash(settings),
        "data_dir": str(data_dir),
        "cases": {},
        "skipped": {},
    }


def _manifest_matches(manifest: dict[str, Any], settings: PreprocessingSettings) -> bool:
    return (
        manifest.get("format") == MANIFEST_FORMAT
        and manifest.get("preprocessing_version") == PREPROCESSING_VERSION
        and manifest.get("settings") == settings.to_dict()
    )


def _entry_is_current(
    entry: dict[str, Any] | None, sources: dict[str, dict[str, Any]], cache_dir: Path
) -> bool:
    if not entry or entry.get("sources") != sources:
        return False
    outputs = entry.get("outputs", {})
    sizes = entry.get("output_sizes", {})
    for key in ("images", "classes"):
        path = cache_dir / outputs.get(key, "")
        if not outputs.get(key) or not path.is_file() or path.stat().st_size != sizes.get(key):
            return False
    return True


def _remove_outputs(cache_dir: Path, case_id: str) -> None:
    for name in output_names(case_id).values():
        (cache_dir / name).unlink(missing_ok=True)


def _select_cases(
    cases: list[CaseFiles], case_ids: Iterable[str] | None, data_dir: Path
) -> list[CaseFiles]:
    if case_ids is None:
        return cases
    wanted = list(dict.fromkeys(case_ids))
    by_id = {case.case_id: case for case in cases}
    unknown = [case_id for case_id in wanted if case_id not in by_id]
    if unknown:
        raise BratsDataError(data_dir, f"cases not found in the data folder: {unknown}")
    return [by_id[case_id] for case_id in sorted(wanted)]


def build_cache(
    data_dir: str | Path,
    cache_dir: str | Path | None = None,
    settings: PreprocessingSettings = PreprocessingSettings(),  # noqa: B008 (frozen, immutable)
    case_ids: Sequence[str] | None = None,
    progress: bool = True,
) -> CacheInfo:
    """Preprocess cases into the cache, reusing cases that are up to date.

    Each case is read with :func:`brats_tutorial.loading.load_case` (only the settings'
    modalities and the mask), preprocessed with
    :func:`brats_tutorial.preprocessing.preprocess_case` and saved as
    ``<case_id>_images.npy`` (float16 (S, size, size, C)) and ``<case_id>_classes.npy``
    (uint8 (S, size, size)). Cases without a mask are skipped (reported in ``skipped``).

    Args:
        data_dir: a BraTS folder (any layout :func:`brats_tutorial.discovery.find_cases` reads).
        cache_dir: where to write; default :func:`default_cache_dir`. Must not be inside
            ``data_dir``.
        settings: the preprocessing settings.
        case_ids: only these cases (default: every case found).
        progress: show a tqdm progress bar.

    Returns:
        The :class:`CacheInfo`.

    Raises:
        BratsDataError: if ``cache_dir`` is inside ``data_dir``, a requested case is not in the
            data folder, or a case's files cannot be read (cases done before stay cached).
    """
    data_dir = _resolved(data_dir)
    cache_dir = default_cache_dir(data_dir, settings) if cache_dir is None else _resolved(cache_dir)
    if _is_inside(cache_dir, data_dir):
        raise BratsDataError(
            cache_dir,
            f"the cache must not be inside the data folder {data_dir}; choose another cache_dir",
        )
    cases = _select_cases(find_cases(data_dir), case_ids, data_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = cache_dir / MANIFEST_NAME

    manifest = read_manifest(cache_dir)
    if manifest is None or not _manifest_matches(manifest, settings):
        # New cache, or other settings: every case is stale. Forget the old entries first, so
        # an interruption from here on cannot leave an old entry beside new settings.
        manifest = _new_manifest(settings, data_dir)
        save_json_atomic(manifest_path, manifest)
    manifest["package_version"] = package_version()
    manifest["data_dir"] = str(data_dir)

    info = CacheInfo(cache_dir=cache_dir, settings=settings)
    for case_files in tqdm(cases, desc="Caching cases", unit="case", disable=not progress):
        case_id = case_files.case_id
        if not case_files.has_mask:
            info.skipped[case_id] = NO_MASK_REASON
            manifest["skipped"][case_id] = NO_MASK_REASON
            continue
        sources = _source_records(case_files, settings, data_dir)
        if _entry_is_current(manifest["cases"].get(case_id), sources, cache_dir):
            info.up_to_date.append(case_id)
            info.case_ids.append(case_id)
            continue
        manifest["skipped"].pop(case_id, None)
        if manifest["cases"].pop(case_id, None) is not None:
            save_json_atomic(manifest_path, manifest)  # the old entry no longer vouches for it
        names = output_names(case_id)
        try:
            case = load_case(case_files, settings.modalities)
            images, classes = preprocess_case(case, settings)
            del case
            save_npy_atomic(cache_dir / names["images"], images)
            save_npy_atomic(cache_dir / names["classes"], classes)
        except BaseException:
            _remove_outputs(cache_dir, case_id)
            raise
        manifest["cases"][case_id] = {
            "sources": sources,
            "outputs": names,
            "output_sizes": {key: (cache_dir / name).stat().st_size for key, name in names.items()},
            "slices": int(images.shape[0]),
        }
        save_json_atomic(manifest_path, manifest)
        info.built.append(case_id)
        info.case_ids.append(case_id)
    save_json_atomic(manifest_path, manifest)
    return info


def _checked_entry(cache_dir: Path, case_id: str) -> dict[str, Any]:
    manifest = read_manifest(cache_dir)
    if manifest is None:
        raise BratsDataError(cache_dir, f"no {MANIFEST_NAME}: not a cache built by build_cache")
    entry = manifest["cases"].get(case_id)
    if entry is None:
        raise BratsDataError(
            cache_dir, f"case {case_id} is not in the cache (run build_cache for it first)"
        )
    return entry


def load_cached_case(
    cache_dir: str | Path, case_id: str, mmap: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """One case's arrays from the cache.

    Args:
        cache_dir: a cache folder made by :func:`build_cache`.
        case_id: a case listed in its manifest.
        mmap: memory-map the files read-only instead of reading them into memory.

    Returns:
        ``(images, classes)``: float16 (S, size, size, C) and uint8 (S, size, size).

    Raises:
        BratsDataError: if the case is not complete in the cache.
    """
    cache_dir = Path(cache_dir)
    entry = _checked_entry(cache_dir, case_id)
    mode = "r" if mmap else None
    arrays = []
    for key in ("images", "classes"):
        path = cache_dir / entry["outputs"][key]
        if not path.is_file():
            raise BratsDataError(path, f"cached array of case {case_id} is missing")
        arrays.append(np.load(path, mmap_mode=mode))
    return arrays[0], arrays[1]


def load_cached_arrays(
    cache_dir: str | Path, case_ids: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Every slice of several cases, concatenated in the order of ``case_ids``.

    Args:
        cache_dir: a cache folder made by :func:`build_cache`.
        case_ids: cases listed in its manifest.

    Returns:
        ``(images, classes)``: float16 (N, size, size, C) and uint8 (N, size, size), N the total
        number of slices.

    Raises:
        BratsDataError: if a case is not complete in the cache, or the cases differ in shape.
    """
    if len(case_ids) == 0:
        raise ValueError("case_ids is empty: nothing to load")
    mapped = [load_cached_case(cache_dir, case_id, mmap=True) for case_id in case_ids]
    first_images, first_classes = mapped[0]
    for case_id, (images, classes) in zip(case_ids, mapped):
        if (
            images.shape[1:] != first_images.shape[1:]
            or classes.shape[1:] != first_classes.shape[1:]
        ):
            raise BratsDataError(
                Path(cache_dir), f"case {case_id} has slices of another shape than {case_ids[0]}"
            )
    total = sum(images.shape[0] for images, _ in mapped)
    all_images = np.empty((total, *first_images.shape[1:]), dtype=np.float16)
    all_classes = np.empty((total, *first_classes.shape[1:]), dtype=np.uint8)
    start = 0
    for images, classes in mapped:
        stop = start + images.shape[0]
        all_images[start:stop] = images
        all_classes[start:stop] = classes
        start = stop
    return all_images, all_classes
