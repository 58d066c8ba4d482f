"""Keep a data folder and its slice cache on lasting storage (Google Drive) as two archives,
and restore them on a new runtime, so BraTS is downloaded, checked and preprocessed once per
learner rather than once per Colab runtime.

Colab gives each notebook its own runtime and wipes its disk when the runtime goes. Google Drive
keeps files, but reads thousands of small files slowly; two large archives it reads quickly. So:

- :func:`save_store` writes ``<store>/brats_data.tar.gz`` (the data folder, gzip level 1: the
  Kaggle copy's plain ``.nii`` files shrink several-fold) and ``<store>/slice_cache.tar`` (every
  slice cache of that data folder, uncompressed: float16 slices barely compress), each written to
  a temporary file and renamed, plus ``<store>/store.json``, which records where both came from and
  every file's size and modification time in nanoseconds. An archive whose files have not changed
  since the last save is kept, not written again.
- :func:`restore_store` unpacks both at the paths they came from. The path matters: the work
  folder of a data folder (:func:`brats_tutorial.course.prepare_data`) and its cache
  (:func:`brats_tutorial.cache.default_cache_dir`) are named after the data folder's path. It then
  sets every file's modification time back to the recorded nanoseconds (tar keeps less), so the
  cache sees its source files unchanged and reuses every case. A destination that already holds
  the same files is left as it is; one that holds other files is never overwritten (error).

Training runs need no archive: with ``BRATS_WORK_DIR`` on Drive, the runs, splits and kept
predictions of every chapter live there (a few files per run).

The command line: ``brats-tutorial store save DATA_DIR STORE_DIR`` and
``brats-tutorial store restore STORE_DIR``.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import atomic_path, save_json_atomic
from .errors import BratsDataError

__all__ = [
    "DATA_ARCHIVE",
    "CACHE_ARCHIVE",
    "STORE_MANIFEST",
    "StoreReport",
    "cache_root",
    "save_store",
    "restore_store",
]

#: File names inside a store folder.
DATA_ARCHIVE: str = "brats_data.tar.gz"
CACHE_ARCHIVE: str = "slice_cache.tar"
STORE_MANIFEST: str = "store.json"
#: Version of the store's layout (``store.json``).
STORE_FORMAT: int = 1
#: gzip level of the data archive: level 1 is several times faster than the default 9 and
#: compresses MRI nearly as well.
DATA_COMPRESSION_LEVEL: int = 1


@dataclass
class StoreReport:
    """What :func:`save_store` or :func:`restore_store` did.

    Attributes:
        data_dir: the data folder saved or restored.
        cache_root: the folder of its slice caches (``None`` when it has none).
        written: archive (or folder) name -> "written", "kept" (unchanged), "restored" or "present".
        archive_bytes: archive name -> its size in bytes.
        seconds: wall-clock time of the whole call.
    """

    data_dir: Path
    cache_root: Path | None
    written: dict[str, str]
    archive_bytes: dict[str, int]
    seconds: float

    def lines(self) -> list[str]:
        """The report as lines for people, sizes in MB (10^6 bytes)."""
        lines = [f"data folder: {self.data_dir}"]
        lines.append(f"slice caches: {self.cache_root if self.cache_root else 'none'}")
        for name, action in self.written.items():
            size = self.archive_bytes.get(name)
            size_text = f", {size / 1e6:.1f} MB" if size is not None else ""
            lines.append(f"{name}: {action}{size_text}")
        lines.append(f"took {self.seconds:.1f} s")
        return lines


def cache_root(data_dir: str | Path) -> Path:
    """The folder holding every slice cache of ``data_dir`` (one sub-folder per settings).

    The parent of :func:`brats_tutorial.cache.default_cache_dir` (it does not depend on the
    settings): ``<data_dir.parent>/<data_dir.name>_cache`` when that is writable, else a folder in
    the work folder.
    """
    from .cache import default_cache_dir
    from .preprocessing import PreprocessingSettings

    return default_cache_dir(data_dir, PreprocessingSettings()).parent


def _file_records(folder: Path) -> dict[str, list[int]]:
    """Every regular file below ``folder`` (links followed): relative path -> [size, mtime_ns]."""
    return {
        relative: [path.stat().st_size, path.stat().st_mtime_ns]
        for relative, path in _files(folder)
    }


def _files(folder: Path) -> list[tuple[str, Path]]:
    """Every regular file below ``folder``, linked folders and files followed, sorted:
    (relative POSIX path, path)."""
    files = []
    for current, _, names in os.walk(folder, followlinks=True):
        for name in names:
            path = Path(current) / name
            if path.is_file():
                files.append((path.relative_to(folder).as_posix(), path))
    return sorted(files)


def _write_archive(folder: Path, archive: Path, compress: bool) -> None:
    """Pack ``folder``'s files (links followed) into ``archive``, atomically.

    Members are named relative to ``folder``; only regular files and folders are stored.
    """
    mode = "w:gz" if compress else "w"
    options = {"compresslevel": DATA_COMPRESSION_LEVEL} if compress else {}
    with atomic_path(archive) as temporary:
        with tarfile.open(temporary, mode, dereference=True, **options) as tar:
            for relative, path in _files(folder):
                tar.add(path, arcname=relative, recursive=False)


def _read_manifest(store_dir: Path) -> dict[str, Any] | None:
    path = store_dir / STORE_MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BratsDataError(path, f"cannot read the store's record ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT:
        raise BratsDataError(path, f"not a store record of format {STORE_FORMAT}")
    return manifest


def save_store(data_dir: str | Path, store_dir: str | Path) -> StoreReport:
    """Save a data folder and its slice caches into ``store_dir`` as two archives.

    Args:
        data_dir: the BraTS data folder (e.g. the one ``brats-tutorial download`` printed).
        store_dir: a folder on lasting storage, e.g. ``/content/drive/MyDrive/brats_store``
            (created if missing).

    Returns:
        A :class:`StoreReport`. An archive whose files are unchanged since the last save is kept.

    Raises:
        BratsDataError: ``data_dir`` is not a folder, or ``store_dir`` holds a store of another
            data folder.
    """
    start = time.perf_counter()
    data_dir = Path(data_dir).expanduser().resolve()
    store_dir = Path(store_dir).expanduser()
    if not data_dir.is_dir():
        raise BratsDataError(data_dir, "not a folder: nothing to save")
    store_dir.mkdir(parents=True, exist_ok=True)
    previous = _read_manifest(store_dir) or {}
    if previous and previous.get("data_dir") != str(data_dir):
        raise BratsDataError(
            store_dir,
            f"holds the store of {previous.get('data_dir')}, not of {data_dir}: "
            "choose another store folder",
        )
    caches = cache_root(data_dir)
    sources = {DATA_ARCHIVE: (data_dir, True)}
    if caches.is_dir():
        sources[CACHE_ARCHIVE] = (caches, False)
    manifest: dict[str, Any] = {
        "format": STORE_FORMAT,
        "data_dir": str(data_dir),
        "cache_root": str(caches) if caches.is_dir() else None,
        "files": {},
    }
    written, sizes = {}, {}
    for name, (folder, compress) in sources.items():
        records = _file_records(folder)
        archive = store_dir / name
        unchanged = archive.exists() and previous.get("files", {}).get(name) == records
        if not unchanged:
            _write_archive(folder, archive, compress)
        manifest["files"][name] = records
        written[name] = "kept" if unchanged else "written"
        sizes[name] = archive.stat().st_size
    save_json_atomic(store_dir / STORE_MANIFEST, manifest)
    return StoreReport(
        data_dir, caches if caches.is_dir() else None, written, sizes, time.perf_counter() - start
    )


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Refuse any member that is not a regular file or folder named below the archive's root
    (the download's rule, :func:`brats_tutorial.download.unsafe_member_problem`)."""
    from .download import unsafe_member_problem

    problem = unsafe_member_problem(member)
    if problem is not None:
        raise BratsDataError(archive, f"unsafe member name {member.name!r} {problem}: not unpacked")


def _folder_matches(folder: Path, records: dict[str, list[int]]) -> bool:
    """Whether ``folder`` holds exactly the recorded files, with their sizes."""
    found = _file_records(folder)
    return {k: v[0] for k, v in found.items()} == {k: v[0] for k, v in records.items()}


def _unpack(archive: Path, destination: Path, records: dict[str, list[int]]) -> None:
    """Unpack ``archive`` into a new folder beside ``destination``, set the recorded times, and
    rename it to ``destination`` (which must not exist)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, archive)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(temporary, members=members, filter="data")
            else:  # Python < 3.11.4: the members were checked above
                tar.extractall(temporary, members=members)
        if not _folder_matches(temporary, records):
            raise BratsDataError(archive, "its files differ from the store's record: save again")
        for relative, (_, mtime_ns) in records.items():
            os.utime(temporary / relative, ns=(mtime_ns, mtime_ns))
        os.rename(temporary, destination)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _restore_one(
    store_dir: Path, name: str, destination: Path, records: dict[str, list[int]]
) -> str:
    archive = store_dir / name
    if destination.exists():
        if _folder_matches(destination, records):
            return "present"
        raise BratsDataError(
            destination,
            f"exists and holds other files than {archive}: left as it is; move it away to restore",
        )
    if not archive.is_file():
        raise BratsDataError(archive, "missing: save the store again")
    _unpack(archive, destination, records)
    return "restored"


def restore_store(store_dir: str | Path) -> StoreReport:
    """Restore a store's data folder and slice caches at the paths they were saved from.

    Args:
        store_dir: the folder :func:`save_store` wrote.

    Returns:
        A :class:`StoreReport` (``data_dir`` is the folder to use as ``BRATS_DATA_DIR``).

    Raises:
        BratsDataError: no store in ``store_dir``, an archive is missing or unsafe, or a
            destination exists with other files (it is left untouched).
    """
    start = time.perf_counter()
    store_dir = Path(store_dir).expanduser()
    manifest = _read_manifest(store_dir)
    if manifest is None:
        raise BratsDataError(
            store_dir, f"no {STORE_MANIFEST}: save a store first (brats-tutorial store save)"
        )
    data_dir = Path(manifest["data_dir"])
    caches = Path(manifest["cache_root"]) if manifest.get("cache_root") else None
    targets = {DATA_ARCHIVE: data_dir}
    if caches is not None:
        targets[CACHE_ARCHIVE] = caches
    written, sizes = {}, {}
    for name, destination in targets.items():
        written[name] = _restore_one(store_dir, name, destination, manifest["files"][name])
        if (store_dir / name).exists():
            sizes[name] = (store_dir / name).stat().st_size
    return StoreReport(data_dir, caches, written, sizes, time.perf_counter() - start)
