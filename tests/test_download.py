"""Getting the data: unpacking a hand-downloaded zip safely, finding the training folder, and clear
messages when kagglehub is missing or fails. No network: kagglehub is replaced by fakes."""

from __future__ import annotations

import re
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest
from nifti_builders import make_mask, snapshot, write_case, write_nifti

from brats_tutorial import cli, download
from brats_tutorial.download import (
    DownloadError,
    download_with_kagglehub,
    extract_zip,
    find_training_folder,
)
from brats_tutorial.errors import BratsDataError

TRAINING = Path("BraTS2020_TrainingData") / "MICCAI_BraTS2020_TrainingData"
VALIDATION = Path("BraTS2020_ValidationData") / "MICCAI_BraTS2020_ValidationData"
DATASET_PAGE = "https://www.kaggle.com/datasets/awsaf49/brats20-dataset-training-validation"


def main(argv: list[str]) -> int:
    """``brats-tutorial download ARGV`` (also ``data_scripts/download_brats.py``)."""
    return cli.main(["download", *argv])


def make_kaggle_tree(root: Path, bad_label: bool = False) -> Path:
    """A small BraTS 2020 Kaggle-style tree under ``root``; returns ``root``."""
    for number in (1, 2):
        case_id = f"BraTS20_Training_00{number}"
        write_case(root / TRAINING / case_id, case_id, suffix=".nii", seed=number)
    (root / TRAINING / "name_mapping.csv").write_text("Grade,BraTS_2020_subject_ID\n")
    write_case(
        root / VALIDATION / "BraTS20_Validation_001",
        "BraTS20_Validation_001",
        suffix=".nii",
        with_mask=False,
    )
    if bad_label:
        mask = make_mask()
        mask[1, 1, 1] = 3
        write_nifti(root / TRAINING / "BraTS20_Training_002" / "BraTS20_Training_002_seg.nii", mask)
    return root


def make_zip(tree: Path, zip_path: Path) -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(tree.rglob("*")):
            archive.write(path, path.relative_to(tree).as_posix())
    return zip_path


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_extract_zip_unpacks_everything_and_leaves_no_temporary_folder(tmp_path):
    tree = make_kaggle_tree(tmp_path / "tree")
    zip_path = make_zip(tree, tmp_path / "archive.zip")
    destination = tmp_path / "out" / "brats2020"

    assert extract_zip(zip_path, destination, progress=False) == destination

    assert files_of(destination) == files_of(tree)
    assert sorted(p.name for p in destination.parent.iterdir()) == ["brats2020"]


def test_extract_zip_never_overwrites_an_existing_folder(tmp_path):
    zip_path = make_zip(make_kaggle_tree(tmp_path / "tree"), tmp_path / "archive.zip")
    destination = tmp_path / "brats2020"
    destination.mkdir()
    (destination / "mine.txt").write_text("keep me")
    before = snapshot(tmp_path)

    with pytest.raises(BratsDataError, match="already exists; not overwriting"):
        extract_zip(zip_path, destination, progress=False)

    assert snapshot(tmp_path) == before


def _damage_member(zip_path: Path) -> None:
    """Flip bytes inside the first stored member's data (its CRC no longer matches)."""
    content = bytearray(zip_path.read_bytes())
    with zipfile.ZipFile(zip_path) as archive:
        member = archive.infolist()[0]
        start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    for offset in range(start + 400, start + 420):
        content[offset] ^= 0xFF
    zip_path.write_bytes(bytes(content))


def _not_a_zip(tmp_path: Path) -> Path:
    path = tmp_path / "archive.zip"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    return path


def _truncated_zip(tmp_path: Path) -> Path:
    path = make_zip(make_kaggle_tree(tmp_path / "tree"), tmp_path / "archive.zip")
    path.write_bytes(path.read_bytes()[:5000])
    return path


def _damaged_zip(tmp_path: Path) -> Path:
    tree = make_kaggle_tree(tmp_path / "tree")
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        nifti = next(tree.rglob("*_flair.nii"))
        archive.write(nifti, "case/" + nifti.name)
    _damage_member(path)
    return path


def _escaping_zip(tmp_path: Path) -> Path:
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("inside.txt", "fine")
        archive.writestr("../escaped.txt", "should never be written")
    return path


BAD_ZIPS = {
    "not a zip": (_not_a_zip, "not a valid zip file"),
    "truncated zip": (_truncated_zip, "not a valid zip file"),
    "damaged member (bad CRC)": (_damaged_zip, "Bad CRC-32"),
    "member outside the folder": (_escaping_zip, "would land outside the folder"),
    "no such zip": (lambda tmp_path: tmp_path / "missing.zip", "zip file does not exist"),
}


@pytest.mark.parametrize("name", list(BAD_ZIPS))
def test_bad_zip_raises_naming_it_and_leaves_nothing_behind(tmp_path, name):
    make, problem = BAD_ZIPS[name]
    zip_path = make(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    destination = work / "brats2020"

    with pytest.raises(BratsDataError) as caught:
        extract_zip(zip_path, destination, progress=False)

    assert caught.value.path == zip_path
    assert str(caught.value).startswith(f"{zip_path}: ") and problem in str(caught.value)
    assert list(work.iterdir()) == []  # no destination, no temporary folder
    assert not (tmp_path / "escaped.txt").exists() and not (work / "escaped.txt").exists()


def test_find_training_folder_in_the_kaggle_tree(tmp_path):
    make_kaggle_tree(tmp_path)
    assert find_training_folder(tmp_path) == tmp_path / TRAINING


def test_find_training_folder_takes_the_only_folder_of_cases(tmp_path):
    write_case(tmp_path / "data" / "Case_1", "Case_1")
    assert find_training_folder(tmp_path) == tmp_path / "data"


def test_find_training_folder_refuses_to_guess(tmp_path):
    write_case(tmp_path / "first" / "Case_1", "Case_1")
    write_case(tmp_path / "second" / "Case_2", "Case_2")
    with pytest.raises(BratsDataError, match="cannot tell which folder holds the training cases"):
        find_training_folder(tmp_path)


def test_main_unpacks_the_zip_checks_it_and_prints_the_report(tmp_path, capsys):
    zip_path = make_zip(make_kaggle_tree(tmp_path / "tree"), tmp_path / "archive.zip")

    status = main(["--zip", str(zip_path), "--no-progress"])  # default: beside the zip

    output = capsys.readouterr().out
    training = tmp_path / "archive" / TRAINING
    assert status == 0
    assert training.is_dir()
    assert "2 cases: 2 ok, 0 failed, 0 without mask" in output
    assert f"Training data: {training}" in output


def test_main_returns_1_when_a_case_fails_the_check(tmp_path, capsys):
    zip_path = make_zip(make_kaggle_tree(tmp_path / "tree", bad_label=True), tmp_path / "a.zip")
    status = main(["--zip", str(zip_path), "--dest", str(tmp_path / "brats"), "--no-progress"])
    assert status == 1
    assert "unknown label values [3]" in capsys.readouterr().out


def test_main_refuses_an_existing_destination_without_a_traceback(tmp_path, capsys):
    zip_path = make_zip(make_kaggle_tree(tmp_path / "tree"), tmp_path / "archive.zip")
    (tmp_path / "brats").mkdir()
    assert main(["--zip", str(zip_path), "--dest", str(tmp_path / "brats")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {tmp_path / 'brats'}: already exists")
    assert "Traceback" not in error


def test_missing_kagglehub_gives_a_clear_message(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # import kagglehub now fails

    with pytest.raises(DownloadError) as caught:
        download_with_kagglehub()
    message = str(caught.value)
    assert "kagglehub is not installed" in message
    assert 'pip install "brats_tutorial[download]"' in message
    assert DATASET_PAGE in message and "--zip" in message

    assert main(["--no-progress"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: kagglehub is not installed")
    assert "Traceback" not in error


def fake_kagglehub(monkeypatch, dataset_download) -> list[str]:
    """Install a fake kagglehub module; returns the list of handles it was asked for."""
    calls: list[str] = []

    def record(handle: str):
        calls.append(handle)
        return dataset_download(handle)

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=record))
    return calls


def test_kagglehub_download_is_located_and_checked(tmp_path, monkeypatch, capsys):
    cache = make_kaggle_tree(tmp_path / "kagglehub_cache" / "versions" / "1")
    calls = fake_kagglehub(monkeypatch, lambda handle: str(cache))

    assert main(["--no-progress"]) == 0

    assert calls == ["awsaf49/brats20-dataset-training-validation"]
    assert f"Training data: {cache / TRAINING}" in capsys.readouterr().out


class _Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class _HTTPError(OSError):
    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.response = _Response(status_code)


class UnauthenticatedError(Exception):
    """Named like kagglehub's own."""


class _ConnectionError(OSError):
    """Named like requests' ConnectionError, which is an OSError."""


def _raise(error: BaseException):
    def dataset_download(handle: str):
        raise error

    return dataset_download


def _wrapped_connection_error() -> Exception:
    try:
        raise _ConnectionError("Max retries exceeded with url: /api/v1/datasets")
    except _ConnectionError as cause:
        try:
            raise RuntimeError("download failed") from cause
        except RuntimeError as error:
            return error


KAGGLE_FAILURES = {
    "401 from the API": (_HTTPError("401 Client Error", 401), "Kaggle refused the download"),
    "403 from the API": (_HTTPError("403 Client Error", 403), "Kaggle refused the download"),
    "no credentials": (UnauthenticatedError("User is not authenticated"), "Kaggle refused"),
    "network down": (ConnectionRefusedError("[Errno 111] refused"), "Cannot reach Kaggle"),
    "timeout": (TimeoutError("timed out"), "Cannot reach Kaggle"),
    "connection error as a cause": (_wrapped_connection_error(), "Cannot reach Kaggle"),
    "anything else": (RuntimeError("disk full"), "kagglehub failed (RuntimeError: disk full)"),
}


@pytest.mark.parametrize("name", list(KAGGLE_FAILURES))
def test_kagglehub_failures_say_what_to_do(monkeypatch, capsys, name):
    error, opening = KAGGLE_FAILURES[name]
    fake_kagglehub(monkeypatch, _raise(error))

    with pytest.raises(DownloadError) as caught:
        download_with_kagglehub()

    message = str(caught.value)
    assert message.startswith(opening)
    assert "--zip" in message and DATASET_PAGE in message
    if opening.startswith("Kaggle refused") or opening.startswith("kagglehub failed"):
        assert "KAGGLE_USERNAME" in message and "KAGGLE_KEY" in message
        assert "~/.kaggle/kaggle.json" in message
    assert main(["--no-progress"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_importing_the_module_does_not_import_kagglehub():
    assert "kagglehub" not in vars(download)


REPOSITORY = Path(__file__).resolve().parent.parent
SCRIPT = "data_scripts/download_brats.py"


def readme_download_commands() -> list[list[str]]:
    """The download commands of README.md's "Real BraTS 2020" bullet, as argument lists."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    start = readme.index("- **Real BraTS 2020:**")
    end = readme.find("\n- ", start + 1)
    bullet = " ".join(readme[start:end].split())
    commands = [
        span.split()[2:]
        for span in re.findall(r"`([^`]+)`", bullet)
        if span.startswith(f"python {SCRIPT}")
    ]
    assert commands, "README.md's Real BraTS 2020 bullet has no download command"
    return commands


def test_readme_download_commands_match_the_script(tmp_path):
    # The README once said `download_brats.py OUT_DIR`; the script takes no positional argument.
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / SCRIPT), "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    usage = " ".join(result.stdout.split("\n\n")[0].split())
    # "[--zip ZIP]": an option and its value's placeholder, if it takes one.
    takes_value = {
        name: bool(value) for name, value in re.findall(r"\[(--[\w-]+)(?: ([A-Z_]+))?\]", usage)
    }
    assert "--zip" in takes_value and "--dest" in takes_value, usage
    for arguments in readme_download_commands():
        position = 0
        while position < len(arguments):
            option = arguments[position]
            assert option in takes_value and option in result.stdout, (
                f"README.md: {SCRIPT} {' '.join(arguments)}: {option!r} is not an option of the script"
            )
            position += 2 if takes_value[option] else 1
        assert position == len(arguments), arguments
