"""Get BraTS onto disk: BraTS 2020 from Kaggle (or its zip), or the Decathlon's Task01 tar.

Three ways in:

1. ``kagglehub.dataset_download("awsaf49/brats20-dataset-training-validation")`` (the optional
   extra ``pip install "brats_tutorial[download]"``; needs a Kaggle account and API token);
2. the zip from the dataset page (:data:`KAGGLE_DATASET_URL`, "Download" button), unpacked by
   :func:`extract_zip` into a new folder: into a hidden temporary folder first, renamed when
   complete, never over an existing folder;
3. the Medical Segmentation Decathlon's ``Task01_BrainTumour.tar`` (BraTS 2016-2017 cases, no
   account needed): downloaded from :data:`MSD_TAR_URL` by :func:`download_msd_tar` (or given
   by hand), its MD5 checked, unpacked by :func:`extract_tar` with the same safeguards as the
   zip, by :func:`prepare_msd_dataset`.

Then the folder of training cases (``.../MICCAI_BraTS2020_TrainingData``, or the Decathlon's
``.../Task01_BrainTumour``) is located and checked with
:func:`brats_tutorial.validation.validate_dataset`.

Failures come as :class:`DownloadError` (the download itself) or
:class:`~brats_tutorial.errors.BratsDataError` (files) with a message that says what to do;
the command line (``brats-tutorial download``, also ``python data_scripts/download_brats.py``,
in :mod:`brats_tutorial.cli`) prints them without a traceback.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from tqdm.auto import tqdm

from .constants import KAGGLE_DATASET, KAGGLE_DATASET_URL
from .errors import BratsDataError
from .validation import ValidationReport, validate_dataset

_BY_HAND = (
    f'or download the zip by hand from {KAGGLE_DATASET_URL} ("Download" button) and run '
    "`python data_scripts/download_brats.py --zip PATH/TO/archive.zip`"
)
_CREDENTIALS = (
    "set the environment variables KAGGLE_USERNAME and KAGGLE_KEY, or save your API token as "
    "~/.kaggle/kaggle.json (kaggle.com > Settings > API > Create New Token)"
)


class DownloadError(RuntimeError):
    """The download from Kaggle failed; the message says why and what to do instead."""


def _status_code(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _explain_kaggle_error(error: BaseException) -> DownloadError:
    """Turn an exception from kagglehub into a :class:`DownloadError` with advice.

    Looks along the exception's causes for an HTTP 401/403 or a kagglehub credential error
    (credentials), then for a connection or time-out error (network).
    """
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    names = [type(item).__name__ for item in chain]
    detail = f"{type(error).__name__}: {error}".strip()

    if any(_status_code(item) in (401, 403) for item in chain) or any(
        name in ("UnauthenticatedError", "CredentialError") for name in names
    ):
        return DownloadError(
            f"Kaggle refused the download ({detail}). To download, {_CREDENTIALS}; {_BY_HAND}."
        )
    if any(
        isinstance(item, (ConnectionError, TimeoutError))
        or "Connection" in type(item).__name__
        or "Timeout" in type(item).__name__
        for item in chain
    ):
        return DownloadError(
            f"Cannot reach Kaggle ({detail}). Check the internet connection (and proxy), "
            f"then try again; {_BY_HAND}."
        )
    return DownloadError(
        f"kagglehub failed ({detail}). If it is about credentials, {_CREDENTIALS}; {_BY_HAND}."
    )


def download_with_kagglehub(handle: str = KAGGLE_DATASET) -> Path:
    """Download (or reuse from kagglehub's cache) the BraTS 2020 data set.

    Args:
        handle: Kaggle data set handle, ``owner/name``.

    Returns:
        The folder kagglehub unpacked the data set into (its cache, e.g.
        ``~/.cache/kagglehub/datasets/awsaf49/...``).

    Raises:
        DownloadError: kagglehub is not installed, the credentials are missing or refused, Kaggle
            cannot be reached, or the download failed otherwise; the message says what to do.
    """
    try:
        kagglehub = importlib.import_module("kagglehub")
    except ImportError as error:
        raise DownloadError(
            "kagglehub is not installed. Install it with "
            '`pip install "brats_tutorial[download]"` (or `pip install kagglehub`), '
            f"{_BY_HAND}."
        ) from error
    try:
        folder = kagglehub.dataset_download(handle)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # kagglehub raises requests', its own and OS errors
        raise _explain_kaggle_error(error) from error
    return Path(folder)


def _start_unpacking(
    archive: str | Path, destination: str | Path, kind: str, check_command: str
) -> tuple[Path, Path, Path]:
    """Check that ``archive`` exists and ``destination`` does not, and make the hidden temporary
    folder beside ``destination`` that the archive is unpacked into before the final rename.

    Args:
        kind: "zip" or "tar", for the messages.
        check_command: the command the message suggests for checking an existing folder.

    Returns:
        ``(archive, destination, temporary)`` as expanded paths.
    """
    archive = Path(archive).expanduser()
    destination = Path(destination).expanduser()
    if not archive.is_file():
        raise BratsDataError(archive, f"{kind} file does not exist")
    if destination.exists():
        raise BratsDataError(
            destination,
            "already exists; not overwriting it (remove it or choose another --dest; to check it, "
            f"run {check_command} on it)",
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
    )
    return archive, destination, temporary


def extract_zip(
    zip_path: str | Path,
    destination: str | Path,
    progress: bool = True,
) -> Path:
    """Unpack a zip into a new folder, safely.

    The members go into a hidden temporary folder beside ``destination``, which is renamed to
    ``destination`` once everything is out; on failure it is removed, so ``destination`` either
    holds the complete archive or does not exist.

    Args:
        zip_path: the zip file, e.g. Kaggle's ``archive.zip``.
        destination: the folder to create; must not exist yet.
        progress: show a progress bar (bytes unpacked) on stderr.

    Returns:
        ``destination``.

    Raises:
        BratsDataError: the zip is missing, not a zip, damaged (bad CRC, truncated), holds a
            member that would land outside ``destination``, or ``destination`` already exists.
    """
    zip_path, destination, temporary = _start_unpacking(
        zip_path, destination, "zip", "python data_scripts/check_dataset.py"
    )
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = archive.infolist()
            inside = temporary.resolve()
            with tqdm(
                total=sum(member.file_size for member in members),
                unit="B",
                unit_scale=True,
                desc=f"Unpacking {zip_path.name}",
                disable=not progress,
            ) as bar:
                for member in members:
                    target = (temporary / member.filename).resolve()
                    if target != inside and inside not in target.parents:
                        raise BratsDataError(
                            zip_path, f"member {member.filename!r} would land outside the folder"
                        )
                    archive.extract(member, temporary)
                    bar.update(member.file_size)
        if destination.exists():
            raise BratsDataError(destination, "appeared while unpacking; not overwriting it")
        os.rename(temporary, destination)
    except zipfile.BadZipFile as error:
        shutil.rmtree(temporary, ignore_errors=True)
        raise BratsDataError(zip_path, f"not a valid zip file ({error})") from error
    except (EOFError, zipfile.LargeZipFile, OSError) as error:
        shutil.rmtree(temporary, ignore_errors=True)
        problem = f"cannot unpack ({type(error).__name__}: {error})"
        raise BratsDataError(zip_path, problem) from error
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return destination


def find_training_folder(root: str | Path) -> Path:
    """Locate the folder that holds the training cases in an unpacked download.

    A "cases folder" is one with sub-folders holding ``<sub-folder>_flair.nii[.gz]``. Among them
    the one whose name contains "train" is chosen (Kaggle: ``MICCAI_BraTS2020_TrainingData``);
    with no such name, the only cases folder.

    Args:
        root: the unpacked download.

    Returns:
        The training folder.

    Raises:
        BratsDataError: no cases folder, or several and none (or more than one) named "train".
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise BratsDataError(root, "folder does not exist")
    case_parents: set[Path] = set()
    for folder_name, folder_names, file_names in os.walk(root):
        folder_names[:] = [name for name in folder_names if not name.startswith(".")]
        folder = Path(folder_name)
        flair_names = {f"{folder.name}_flair{suffix}".lower() for suffix in (".nii", ".nii.gz")}
        if folder != root and any(name.lower() in flair_names for name in file_names):
            case_parents.add(folder.parent)
    training = sorted(folder for folder in case_parents if "train" in folder.name.lower())
    if len(training) == 1:
        return training[0]
    if not training and len(case_parents) == 1:
        return next(iter(case_parents))
    found = ", ".join(str(folder) for folder in sorted(case_parents)) or "none"
    raise BratsDataError(
        root, f"cannot tell which folder holds the training cases (folders of cases: {found})"
    )


def prepare_dataset(
    zip_path: str | Path | None = None,
    destination: str | Path | None = None,
    validate: bool = True,
    progress: bool = True,
) -> tuple[Path, ValidationReport | None]:
    """Download or unpack BraTS 2020, find the training folder and check it.

    Args:
        zip_path: a zip downloaded by hand; ``None`` downloads with kagglehub.
        destination: where to unpack the zip (default: beside the zip, named after it).
            Ignored for kagglehub, which keeps its own cache.
        validate: run :func:`validate_dataset` on the training folder.
        progress: progress bars on stderr.

    Returns:
        ``(training_folder, report)``; ``report`` is ``None`` when ``validate`` is false.

    Raises:
        DownloadError: from :func:`download_with_kagglehub`.
        BratsDataError: from :func:`extract_zip`, :func:`find_training_folder` or the check.
    """
    if zip_path is not None:
        zip_path = Path(zip_path).expanduser()
        if destination is None:
            destination = zip_path.with_name(zip_path.name.removesuffix(".zip") or "brats2020")
        root = extract_zip(zip_path, destination, progress=progress)
    else:
        root = download_with_kagglehub()
    training_folder = find_training_folder(root)
    report = validate_dataset(training_folder, progress=progress) if validate else None
    return training_folder, report


# The Medical Segmentation Decathlon, Task01_BrainTumour: 484 training cases (BraTS 2016-2017)
# and 266 test cases without labels (numTraining and numTest of its dataset.json; Antonelli et
# al., Nature Communications 13, 4128, 2022), CC BY-SA 4.0, one tar file that needs no account.

#: Values of ``brats-tutorial download --source``.
DOWNLOAD_SOURCES: tuple[str, ...] = ("kaggle", "msd")
#: Name of the Decathlon task, of its tar and of the folder the tar unpacks into.
MSD_TASK: str = "Task01_BrainTumour"
#: Where MONAI's ``DecathlonDataset`` downloads the tar from (about 7 GB, an estimate).
MSD_TAR_URL: str = f"https://msd-for-monai.s3-us-west-2.amazonaws.com/{MSD_TASK}.tar"
# The MD5 that MONAI checks for this tar: ``DecathlonDataset.md5["Task01_BrainTumour"]`` in
# monai/apps/datasets.py of Project-MONAI/MONAI (looked up at commit d388d1c6fec8, 2025-06-13,
# line 276; the same value in older releases, e.g. commit 01eebcf37592).
#: MD5 (hex) of the tar at :data:`MSD_TAR_URL`.
MSD_TAR_MD5: str = "240a19d752f0d9e9101544901065d872"
#: The Decathlon's own page, with its other download links.
MSD_PAGE_URL: str = "http://medicaldecathlon.com/"
#: What ``brats-tutorial download --source msd`` prints about the data it got.
MSD_NOTE: str = (
    f"Decathlon {MSD_TASK}: BraTS 2016-2017 cases (484 for training, 266 test cases without "
    "labels), one 4D image per case (channels FLAIR, T1w, T1gd, T2w), labels 1 oedema, "
    "2 non-enhancing tumour, 3 enhancing tumour; licence CC BY-SA 4.0."
)
#: Seconds to wait for the server to answer (connecting, or between two reads).
MSD_TIMEOUT_SECONDS: float = 60.0
_CHUNK_BYTES = 1 << 20

_MSD_BY_HAND = (
    f"or download {MSD_TASK}.tar by hand (a browser, `wget` or `curl -O` on {MSD_TAR_URL}, "
    f"or a link on {MSD_PAGE_URL}) and run `brats-tutorial download --source msd --tar PATH` "
    "(also `python data_scripts/download_brats.py --source msd --tar PATH`)"
)
_NETWORK_ERRORS = (
    urllib.error.URLError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


def default_msd_destination() -> Path:
    """Where ``--source msd`` unpacks by default: ``<cache>/brats_tutorial/msd``.

    ``<cache>`` is ``$XDG_CACHE_HOME`` when set, else ``~/.cache`` (on Colab
    ``/root/.cache``). The Decathlon's cases end up in ``<that folder>/Task01_BrainTumour``.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "brats_tutorial" / "msd"


def _free_bytes(folder: Path) -> int:
    """Free space on the disk holding ``folder`` (bytes)."""
    return shutil.disk_usage(folder).free


def _require_free_space(folder: Path, needed_bytes: int, what: str) -> None:
    """Raise :class:`BratsDataError` naming ``folder`` if it has less than ``needed_bytes`` free."""
    free = _free_bytes(folder)
    if free < needed_bytes:
        raise BratsDataError(
            folder,
            f"needs about {needed_bytes / 1e9:.1f} GB free for {what}, only {free / 1e9:.1f} GB "
            "free; free some space or choose another --dest",
        )


def _explain_msd_error(error: BaseException, url: str) -> DownloadError:
    """Turn a failed download of the Decathlon tar into a :class:`DownloadError` with advice.

    An HTTP error status (the file moved, or the server refuses) and a network failure (no
    connection, name not resolved, time-out, connection cut mid-way) get different advice.
    """
    detail = " ".join(f"{type(error).__name__}: {error}".split())
    host = urllib.parse.urlsplit(url).netloc or url
    if isinstance(error, urllib.error.HTTPError):
        if error.code in (401, 403, 404, 410):
            return DownloadError(
                f"{url} answered HTTP {error.code} ({detail}): the tar is not there any more, or "
                f"access is refused. Download it by hand: {_MSD_BY_HAND}; or use the Kaggle route "
                "(`--source kaggle`)."
            )
        return DownloadError(
            f"{url} answered HTTP {error.code} ({detail}). Try again later, {_MSD_BY_HAND}."
        )
    return DownloadError(
        f"Cannot download {url} from {host} ({detail}). Check the internet connection (and "
        f"proxy), then try again; {_MSD_BY_HAND}."
    )


def _content_length(response) -> int | None:
    """The response's Content-Length in bytes, or ``None`` when absent or not a number."""
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def download_msd_tar(
    folder: str | Path,
    url: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    reserve_factor: float = 2.0,
) -> Path:
    """Stream the Decathlon tar into a hidden temporary file in ``folder`` and check its MD5.

    Nothing but that temporary file is written; on any failure (network, HTTP error, short
    download, checksum mismatch, interruption) it is removed before the error is raised.

    Args:
        folder: where the temporary file goes (created if missing); put it beside the folder
            the tar will be unpacked into, so both are on the same disk.
        url: where to download from (default :data:`MSD_TAR_URL`; ``file://`` URLs work too).
        md5: the expected MD5, hex (default :data:`MSD_TAR_MD5`).
        progress: show a progress bar (bytes downloaded) on stderr.
        reserve_factor: free space required before downloading, as a multiple of the tar's
            size (2: the tar and its unpacked copy); checked only when the server says the size.

    Returns:
        The temporary file (``folder/.Task01_BrainTumour.*.tar.partial``), complete and
        verified. The caller unpacks it and removes it.

    Raises:
        DownloadError: the server cannot be reached, answers with an HTTP error, the download
            is cut short, or the MD5 differs (the message gives both digests).
        BratsDataError: not enough free space in ``folder``, or the file cannot be written.
    """
    url = MSD_TAR_URL if url is None else url
    expected = (MSD_TAR_MD5 if md5 is None else md5).lower()
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{MSD_TASK}.", suffix=".tar.partial", dir=folder)
    temporary = Path(name)
    digest = hashlib.md5()
    received = 0
    try:
        with os.fdopen(handle, "wb") as file:
            with urllib.request.urlopen(url, timeout=MSD_TIMEOUT_SECONDS) as response:
                total = _content_length(response)
                if total is not None:
                    _require_free_space(
                        folder, int(reserve_factor * total), f"{MSD_TASK}.tar and its contents"
                    )
                with tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    desc=f"Downloading {MSD_TASK}.tar",
                    disable=not progress,
                ) as bar:
                    while chunk := response.read(_CHUNK_BYTES):
                        try:
                            file.write(chunk)
                        except OSError as error:  # disk full, quota: not the network's fault
                            raise BratsDataError(
                                temporary, f"cannot write the download ({error})"
                            ) from error
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        if total is not None and received != total:
            raise DownloadError(
                f"The download of {url} stopped after {received} of {total} bytes. Try again; "
                f"{_MSD_BY_HAND}."
            )
    except _NETWORK_ERRORS as error:
        temporary.unlink(missing_ok=True)
        raise _explain_msd_error(error, url) from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    actual = digest.hexdigest()
    if actual != expected:
        temporary.unlink(missing_ok=True)
        raise DownloadError(
            f"{MSD_TASK}.tar downloaded from {url}: MD5 {actual}, expected {expected} (the "
            f"checksum MONAI checks); the download is damaged or the file changed. The partial "
            f"file {temporary} was removed. Try again; {_MSD_BY_HAND}."
        )
    return temporary


def file_md5(path: str | Path, progress: bool = False) -> str:
    """MD5 of a file, hex, read in 1 MiB chunks."""
    path = Path(path)
    digest = hashlib.md5()
    with (
        path.open("rb") as file,
        tqdm(
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            desc=f"Checking {path.name}",
            disable=not progress,
        ) as bar,
    ):
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def unsafe_member_problem(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be unpacked, or ``None`` when it is a plain file or folder
    with a relative name that stays inside the destination."""
    name = member.name
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return "has an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "has a '..' component (it would land outside the folder)"
    if member.issym():
        return f"is a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return f"is a hard link (to {member.linkname!r})"
    if member.ischr() or member.isblk():
        return "is a device file"
    if member.isfifo():
        return "is a FIFO (named pipe)"
    if not (member.isreg() or member.isdir()):
        return f"is not a regular file or folder (tar type {member.type!r})"
    return None


def _counted(members: list[tarfile.TarInfo], bar) -> Iterator[tarfile.TarInfo]:
    """Yield ``members``, advancing ``bar`` by each one's size."""
    for member in members:
        yield member
        bar.update(member.size)


def extract_tar(
    tar_path: str | Path,
    destination: str | Path,
    progress: bool = True,
) -> Path:
    """Unpack a tar into a new folder, safely.

    Every member is checked before anything is written: absolute names, ``..`` components,
    symbolic and hard links, device files, FIFOs and any other non-regular member are refused
    with an error naming the member. The members then go into a hidden temporary folder beside
    ``destination`` (with :mod:`tarfile`'s ``"data"`` filter where Python has it, as a second
    guard), which is renamed to ``destination`` once everything is out; on failure it is
    removed, so ``destination`` either holds the complete archive or does not exist.

    Args:
        tar_path: the tar file (plain or compressed), e.g. ``Task01_BrainTumour.tar``.
        destination: the folder to create; must not exist yet.
        progress: show a progress bar (bytes unpacked) on stderr.

    Returns:
        ``destination``.

    Raises:
        BratsDataError: the tar is missing, not a tar, damaged or truncated, holds an unsafe
            member (named), or ``destination`` already exists.
    """
    tar_path, destination, temporary = _start_unpacking(
        tar_path, destination, "tar", "brats-tutorial check"
    )
    # Python >= 3.12, 3.11.4, 3.10.12: the "data" filter refuses the same members again and
    # drops owners and unsafe permission bits. Older Pythons rely on the checks below alone.
    filter_argument = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        with tarfile.open(tar_path, "r:*") as archive:
            members = archive.getmembers()
            inside = temporary.resolve()
            for member in members:
                problem = unsafe_member_problem(member)
                target = (temporary / member.name).resolve()
                if problem is None and target != inside and inside not in target.parents:
                    problem = "would land outside the folder"
                if problem is not None:
                    raise BratsDataError(
                        tar_path, f"member {member.name!r} {problem}; refused, nothing unpacked"
                    )
            with tqdm(
                total=sum(member.size for member in members),
                unit="B",
                unit_scale=True,
                desc=f"Unpacking {tar_path.name}",
                disable=not progress,
            ) as bar:
                archive.extractall(temporary, members=_counted(members, bar), **filter_argument)
        if destination.exists():
            raise BratsDataError(destination, "appeared while unpacking; not overwriting it")
        os.rename(temporary, destination)
    except tarfile.ReadError as error:
        shutil.rmtree(temporary, ignore_errors=True)
        raise BratsDataError(tar_path, f"not a valid tar file, or truncated ({error})") from error
    except (tarfile.TarError, EOFError, OSError) as error:
        shutil.rmtree(temporary, ignore_errors=True)
        problem = f"cannot unpack ({type(error).__name__}: {error})"
        raise BratsDataError(tar_path, problem) from error
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return destination


def find_msd_task_folder(root: str | Path) -> Path:
    """Locate the Decathlon task folder (``dataset.json``, ``imagesTr/``, ``labelsTr/``).

    Args:
        root: the unpacked tar (or any folder above the task folder).

    Returns:
        The task folder, e.g. ``root/Task01_BrainTumour``; with several, the one named
        :data:`MSD_TASK`.

    Raises:
        BratsDataError: no such folder, or several and none (or more than one) named
            ``Task01_BrainTumour``.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise BratsDataError(root, "folder does not exist")
    tasks: list[Path] = []
    for folder_name, folder_names, file_names in os.walk(root):
        folder_names[:] = [name for name in folder_names if not name.startswith(".")]
        if "dataset.json" in file_names and {"imagesTr", "labelsTr"} <= set(folder_names):
            tasks.append(Path(folder_name))
    if len(tasks) == 1:
        return tasks[0]
    named = [folder for folder in tasks if folder.name == MSD_TASK]
    if len(named) == 1:
        return named[0]
    found = ", ".join(str(folder) for folder in sorted(tasks)) or "none"
    raise BratsDataError(
        root,
        "cannot tell which folder is the Decathlon task (folders holding dataset.json, imagesTr "
        f"and labelsTr: {found})",
    )


def _keep_verified_tar(temporary: Path) -> Path | None:
    """Rename a verified download to ``Task01_BrainTumour.tar`` beside it, if that name is free.

    Returns the new path, or ``None`` (the caller then removes ``temporary``).
    """
    kept = temporary.with_name(f"{MSD_TASK}.tar")
    if kept.exists():
        return None
    try:
        os.rename(temporary, kept)
    except OSError:
        return None
    return kept


def prepare_msd_dataset(
    tar_path: str | Path | None = None,
    destination: str | Path | None = None,
    validate: bool = True,
    progress: bool = True,
    url: str | None = None,
    md5: str | None = None,
) -> tuple[Path, ValidationReport | None]:
    """Download (or take) the Decathlon's Task01 tar, check its MD5, unpack it, check the cases.

    The download is streamed into a hidden temporary file beside ``destination``; the tar is
    unpacked into a hidden temporary folder there and renamed to ``destination`` at the end,
    then the temporary file is removed. An existing ``destination`` stops everything before
    any download. If unpacking fails after a verified download, the tar is kept as
    ``Task01_BrainTumour.tar`` beside ``destination`` (when that name is free), so it need not
    be downloaded again: the error says where.

    Args:
        tar_path: a ``Task01_BrainTumour.tar`` downloaded by hand; ``None`` downloads it from
            ``url``. Its MD5 is checked either way.
        destination: the folder to unpack into; must not exist (default
            :func:`default_msd_destination`).
        validate: run :func:`validate_dataset` on the task folder.
        progress: progress bars on stderr.
        url: download address (default :data:`MSD_TAR_URL`).
        md5: expected MD5, hex (default :data:`MSD_TAR_MD5`).

    Returns:
        ``(task_folder, report)``: ``destination/Task01_BrainTumour`` in the real tar;
        ``report`` is ``None`` when ``validate`` is false.

    Raises:
        DownloadError: from :func:`download_msd_tar`.
        BratsDataError: ``destination`` exists, the given tar is missing or its MD5 differs,
            not enough free space, or from :func:`extract_tar`, :func:`find_msd_task_folder`
            or the check.
    """
    expected = (MSD_TAR_MD5 if md5 is None else md5).lower()
    destination = Path(
        default_msd_destination() if destination is None else destination
    ).expanduser()
    if destination.exists():
        raise BratsDataError(
            destination,
            "already exists; not overwriting it or adding to it (remove it or choose another "
            f"--dest; if it holds an earlier download, check it with brats-tutorial check "
            f"{destination / MSD_TASK})",
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    if tar_path is not None:
        tar_path = Path(tar_path).expanduser()
        if not tar_path.is_file():
            raise BratsDataError(tar_path, "tar file does not exist")
        actual = file_md5(tar_path, progress=progress)
        if actual != expected:
            raise BratsDataError(
                tar_path,
                f"MD5 {actual}, expected {expected} (the checksum MONAI checks for "
                f"{MSD_TASK}.tar): not the Decathlon's tar, or a damaged or incomplete copy; "
                "download it again",
            )
        _require_free_space(
            destination.parent, tar_path.stat().st_size, f"the contents of {tar_path.name}"
        )
        extract_tar(tar_path, destination, progress=progress)
    else:
        temporary = download_msd_tar(destination.parent, url=url, md5=expected, progress=progress)
        try:
            extract_tar(temporary, destination, progress=progress)
        except BratsDataError as error:
            kept = _keep_verified_tar(temporary)
            if kept is None:
                raise
            raise BratsDataError(
                kept,
                f"{error.problem} (while unpacking into {destination}); the verified download is "
                f"kept here: once the problem is fixed, run brats-tutorial download --source msd "
                f"--tar {kept} --dest {destination}",
            ) from error
        finally:
            temporary.unlink(missing_ok=True)
    task_folder = find_msd_task_folder(destination)
    report = validate_dataset(task_folder, progress=progress) if validate else None
    return task_folder, report
