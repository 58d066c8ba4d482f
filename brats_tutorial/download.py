"""Get BraTS 2020 onto disk: download it from Kaggle, or unpack a zip downloaded by hand.

Two ways in, one way out:

1. ``kagglehub.dataset_download("awsaf49/brats20-dataset-training-validation")`` (the optional
   extra ``pip install "brats_tutorial[download]"``; needs a Kaggle account and API token);
2. the zip from the dataset page (:data:`KAGGLE_DATASET_URL`, "Download" button), unpacked by
   :func:`extract_zip` into a new folder: into a hidden temporary folder first, renamed when
   complete, never over an existing folder.

Either way the training folder (``.../MICCAI_BraTS2020_TrainingData``) is then located and
checked with :func:`brats_tutorial.validation.validate_dataset`.

Failures come as :class:`DownloadError` (Kaggle side) or
:class:`~brats_tutorial.errors.BratsDataError` (files) with a message that says what to do;
the command line (``brats-tutorial download``, also ``python data_scripts/download_brats.py``,
in :mod:`brats_tutorial.cli`) prints them without a traceback.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

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
    zip_path = Path(zip_path).expanduser()
    destination = Path(destination).expanduser()
    if not zip_path.is_file():
        raise BratsDataError(zip_path, "zip file does not exist")
    if destination.exists():
        raise BratsDataError(
            destination,
            "already exists; not overwriting it (remove it or choose another --dest; to check it, "
            "run python data_scripts/check_dataset.py on it)",
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent)
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
