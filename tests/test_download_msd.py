"""`brats-tutorial download --source msd`: the Decathlon's Task01 tar, downloaded (here from a
``file://`` URL or a fake opener: no network), its MD5 checked, unpacked safely and atomically,
the task folder found, checked and printed."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import urllib.error
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nifti_builders import make_image, snapshot
from release_layouts import MSD_DATASET

from brats_tutorial import cli, download
from brats_tutorial.download import (
    MSD_TASK,
    DownloadError,
    default_msd_destination,
    download_msd_tar,
    extract_tar,
    find_msd_task_folder,
    prepare_msd_dataset,
)
from brats_tutorial.errors import BratsDataError

SHAPE = (8, 8, 6)
#: dataset.json as in the real tar (tests/release_layouts.py), cut to the two cases of the
#: hand-made one.
DATASET_JSON = {
    **MSD_DATASET,
    "reference": "https://www.med.upenn.edu/sbia/brats2017.html",
    "release": "2.0 04/05/2018",
    "numTraining": 1,
    "numTest": 1,
    "training": [{"image": "./imagesTr/BRATS_001.nii.gz", "label": "./labelsTr/BRATS_001.nii.gz"}],
    "test": ["./imagesTs/BRATS_485.nii.gz"],
}


def main(argv: list[str]) -> int:
    return cli.main(["download", *argv])


def _save(path: Path, data: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)


def make_msd_tree(root: Path) -> Path:
    """``root/Task01_BrainTumour`` in the Decathlon's layout, tiny; returns ``root``."""
    task = root / MSD_TASK
    task.mkdir(parents=True)
    (task / "dataset.json").write_text(json.dumps(DATASET_JSON, indent=4))
    for folder, number in (("imagesTr", 1), ("imagesTs", 485)):
        channels = [make_image(SHAPE, seed=number * 10 + channel) for channel in range(4)]
        _save(task / folder / f"BRATS_{number:03d}.nii.gz", np.stack(channels, axis=-1))
    label = np.zeros(SHAPE, np.uint8)
    label[2:6, 2:6, 1:5] = 1
    label[3:5, 3:5, 2:4] = 2
    label[3:5, 3:5, 2] = 3
    _save(task / "labelsTr" / "BRATS_001.nii.gz", label)
    return root


def make_tar(tree: Path, tar_path: Path) -> Path:
    """Pack ``tree``'s contents (``Task01_BrainTumour/...``) the way the real tar is packed."""
    with tarfile.open(tar_path, "w") as archive:
        for path in sorted(tree.rglob("*")):
            archive.add(path, path.relative_to(tree).as_posix(), recursive=False)
    return tar_path


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.fixture(scope="session")
def msd_tree(tmp_path_factory) -> Path:
    return make_msd_tree(tmp_path_factory.mktemp("msd_tree"))


@pytest.fixture(scope="session")
def msd_tar(msd_tree, tmp_path_factory) -> Path:
    return make_tar(msd_tree, tmp_path_factory.mktemp("msd_tar") / f"{MSD_TASK}.tar")


@pytest.fixture
def served(msd_tar, monkeypatch) -> Path:
    """The hand-made tar as the download: ``MSD_TAR_URL`` points at it, its MD5 is expected."""
    monkeypatch.setattr(download, "MSD_TAR_URL", msd_tar.as_uri())
    monkeypatch.setattr(download, "MSD_TAR_MD5", md5_of(msd_tar))
    return msd_tar


def test_the_real_layout_is_what_the_tests_pack(msd_tree):
    image = nib.load(msd_tree / MSD_TASK / "imagesTr" / "BRATS_001.nii.gz")
    label = np.asarray(nib.load(msd_tree / MSD_TASK / "labelsTr" / "BRATS_001.nii.gz").dataobj)
    assert image.shape == (*SHAPE, 4)
    assert sorted(np.unique(label).tolist()) == [0, 1, 2, 3]
    assert (msd_tree / MSD_TASK / "imagesTs" / "BRATS_485.nii.gz").is_file()


# --- download and checksum --------------------------------------------------------------------


def test_download_streams_into_a_hidden_file_beside_the_destination(msd_tar, tmp_path):
    temporary = download_msd_tar(
        tmp_path, url=msd_tar.as_uri(), md5=md5_of(msd_tar), progress=False
    )
    assert temporary.parent == tmp_path and temporary.name.startswith(f".{MSD_TASK}.")
    assert temporary.read_bytes() == msd_tar.read_bytes()
    assert list(tmp_path.iterdir()) == [temporary]


def test_checksum_ok_unpacks_and_prints_the_folder(served, msd_tree, tmp_path, capsys):
    destination = tmp_path / "data" / "msd"

    status = main(["--source", "msd", "--dest", str(destination), "--no-check", "--no-progress"])

    output = capsys.readouterr().out
    task = destination / MSD_TASK
    assert status == 0
    assert files_of(destination) == files_of(msd_tree)
    assert list((tmp_path / "data").iterdir()) == [destination]  # no tar, no temporary folder
    assert f"Training data: {task}\n" in output
    assert f"export BRATS_DATA_DIR={task}\n" in output
    assert "labels 1 oedema, 2 non-enhancing tumour, 3 enhancing tumour" in output


def test_checksum_mismatch_is_an_error_and_leaves_nothing_behind(msd_tar, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    wrong = "0" * 32

    with pytest.raises(DownloadError) as caught:
        prepare_msd_dataset(
            destination=work / "msd", url=msd_tar.as_uri(), md5=wrong, progress=False
        )

    message = str(caught.value)
    assert message.startswith(f"{MSD_TASK}.tar downloaded from {msd_tar.as_uri()}: ")
    assert f"MD5 {md5_of(msd_tar)}, expected {wrong}" in message
    assert "was removed" in message and "--tar" in message
    assert list(work.iterdir()) == []


def test_checksum_mismatch_on_the_command_line(served, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(download, "MSD_TAR_MD5", "f" * 32)
    work = tmp_path / "work"
    work.mkdir()

    assert main(["--source", "msd", "--dest", str(work / "msd"), "--no-progress"]) == 2

    error = capsys.readouterr().err
    assert f"error: {MSD_TASK}.tar downloaded from " in error
    assert f"MD5 {md5_of(served)}, expected {'f' * 32}" in error
    assert "Traceback" not in error
    assert list(work.iterdir()) == []


def test_a_tar_given_by_hand_with_the_wrong_checksum_is_refused_and_kept(msd_tar, tmp_path):
    before = msd_tar.read_bytes()
    with pytest.raises(BratsDataError) as caught:
        prepare_msd_dataset(msd_tar, tmp_path / "msd", md5="0" * 32, progress=False)
    assert caught.value.path == msd_tar
    assert f"MD5 {md5_of(msd_tar)}, expected {'0' * 32}" in caught.value.problem
    assert msd_tar.read_bytes() == before  # the learner's file is never removed
    assert not (tmp_path / "msd").exists()


def test_tar_option_alone_means_msd(msd_tar, msd_tree, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(download, "MSD_TAR_MD5", md5_of(msd_tar))
    destination = tmp_path / "msd"

    status = main(
        ["--tar", str(msd_tar), "--dest", str(destination), "--no-check", "--no-progress"]
    )

    assert status == 0
    assert files_of(destination) == files_of(msd_tree)
    assert f"Training data: {destination / MSD_TASK}" in capsys.readouterr().out


def test_default_destination_is_under_the_user_cache(served, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    expected = tmp_path / "cache" / "brats_tutorial" / "msd"
    assert default_msd_destination() == expected

    assert main(["--source", "msd", "--no-check", "--no-progress"]) == 0

    captured = capsys.readouterr()
    assert f"No --dest given: unpacking into {expected}" in captured.err
    assert f"Training data: {expected / MSD_TASK}" in captured.out


# --- download failures: what to do, and nothing left behind ------------------------------------


class _ShortResponse(io.BytesIO):
    """A response that announces more bytes than it sends (a connection cut mid-way)."""

    def __init__(self, data: bytes, announced: int) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(announced)}


def _opener(result):
    """A fake ``urlopen``: raises ``result`` if it is an exception, else returns a fresh
    response made by ``result()``."""

    def urlopen(url, timeout=None):
        if isinstance(result, BaseException):
            raise result
        return result()

    return urlopen


DOWNLOAD_FAILURES = {
    "HTTP 404": (
        urllib.error.HTTPError("https://x/Task01.tar", 404, "Not Found", None, None),
        "answered HTTP 404",
    ),
    "HTTP 503": (
        urllib.error.HTTPError("https://x/Task01.tar", 503, "Slow Down", None, None),
        "answered HTTP 503",
    ),
    "no network": (
        urllib.error.URLError(OSError(-3, "Temporary failure in name resolution")),
        "Cannot download",
    ),
    "time-out": (TimeoutError("timed out"), "Cannot download"),
    "connection reset": (ConnectionResetError(104, "Connection reset by peer"), "Cannot download"),
    "cut short": (lambda: _ShortResponse(b"x" * 1000, 5000), "stopped after 1000 of 5000 bytes"),
}


@pytest.mark.parametrize("name", list(DOWNLOAD_FAILURES))
def test_download_failures_say_what_to_do_and_leave_nothing(monkeypatch, tmp_path, capsys, name):
    result, expected = DOWNLOAD_FAILURES[name]
    monkeypatch.setattr(download.urllib.request, "urlopen", _opener(result))
    work = tmp_path / "work"
    work.mkdir()

    with pytest.raises(DownloadError) as caught:
        download_msd_tar(work, url="https://example.org/Task01_BrainTumour.tar", progress=False)

    message = str(caught.value)
    assert expected in message
    assert "--tar PATH" in message and "medicaldecathlon.com" in message
    if name == "no network" or name == "time-out":
        assert "Check the internet connection" in message
    assert list(work.iterdir()) == []
    assert main(["--source", "msd", "--dest", str(work / "msd"), "--no-progress"]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert list(work.iterdir()) == []


def test_not_enough_free_space_stops_before_downloading(served, monkeypatch, tmp_path):
    monkeypatch.setattr(download, "_free_bytes", lambda folder: 10)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(BratsDataError) as caught:
        prepare_msd_dataset(destination=work / "msd", progress=False)
    assert caught.value.path == work
    assert "free" in caught.value.problem
    assert list(work.iterdir()) == []


# --- unpacking: unsafe members refused, destination never overwritten ---------------------------


def _member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = linkname
    member.mode = 0o644
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        member.devmajor, member.devminor = 1, 3
    return member


UNSAFE_MEMBERS = {
    "absolute path": (_member("/tmp/escaped.txt", tarfile.REGTYPE), "has an absolute path"),
    "'..' component": (
        _member(f"{MSD_TASK}/../../escaped.txt", tarfile.REGTYPE),
        "has a '..' component",
    ),
    "symbolic link": (
        _member(f"{MSD_TASK}/imagesTr/link.nii.gz", tarfile.SYMTYPE, "/etc/passwd"),
        "is a symbolic link (to '/etc/passwd')",
    ),
    "hard link": (
        _member(f"{MSD_TASK}/hard.json", tarfile.LNKTYPE, f"{MSD_TASK}/dataset.json"),
        "is a hard link",
    ),
    "character device": (_member(f"{MSD_TASK}/null", tarfile.CHRTYPE), "is a device file"),
    "block device": (_member(f"{MSD_TASK}/disk", tarfile.BLKTYPE), "is a device file"),
    "FIFO": (_member(f"{MSD_TASK}/pipe", tarfile.FIFOTYPE), "is a FIFO"),
}


def make_unsafe_tar(tar_path: Path, unsafe: tarfile.TarInfo) -> Path:
    """A plain file, then ``unsafe``, then another plain file."""
    with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as archive:
        for name, content in ((f"{MSD_TASK}/dataset.json", b"{}"), (None, None), ("last", b"x")):
            if name is None:
                data = b"should never be written" if unsafe.isreg() else None
                if data is not None:
                    unsafe.size = len(data)
                archive.addfile(unsafe, io.BytesIO(data) if data is not None else None)
                continue
            member = tarfile.TarInfo(name)
            member.size = len(content)
            archive.addfile(member, io.BytesIO(content))
    return tar_path


@pytest.mark.parametrize("with_data_filter", [True, False], ids=["data filter", "own checks only"])
@pytest.mark.parametrize("name", list(UNSAFE_MEMBERS))
def test_unsafe_members_are_refused_by_name_and_nothing_is_unpacked(
    tmp_path, monkeypatch, name, with_data_filter
):
    if not with_data_filter:  # as on a Python without tarfile's filters (3.10 before 3.10.12)
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python's tarfile has no extraction filters")
    unsafe, problem = UNSAFE_MEMBERS[name]
    tar_path = make_unsafe_tar(tmp_path / "unsafe.tar", unsafe)
    work = tmp_path / "work"
    work.mkdir()

    with pytest.raises(BratsDataError) as caught:
        extract_tar(tar_path, work / "msd", progress=False)

    assert caught.value.path == tar_path
    assert f"member {unsafe.name!r} {problem}" in caught.value.problem
    assert "nothing unpacked" in caught.value.problem
    assert list(work.iterdir()) == []
    assert not (tmp_path / "escaped.txt").exists()


def test_an_unsafe_tar_on_the_command_line_is_refused_without_a_traceback(
    tmp_path, monkeypatch, capsys
):
    unsafe, _ = UNSAFE_MEMBERS["symbolic link"]
    tar_path = make_unsafe_tar(tmp_path / "unsafe.tar", unsafe)
    monkeypatch.setattr(download, "MSD_TAR_MD5", md5_of(tar_path))
    work = tmp_path / "work"
    work.mkdir()

    assert main(["--tar", str(tar_path), "--dest", str(work / "msd"), "--no-progress"]) == 2

    error = capsys.readouterr().err
    assert error.startswith(f"error: {tar_path}: member '{unsafe.name}' is a symbolic link")
    assert "Traceback" not in error
    assert list(work.iterdir()) == []


def test_a_verified_download_that_cannot_be_unpacked_is_kept(tmp_path, monkeypatch):
    unsafe, _ = UNSAFE_MEMBERS["hard link"]
    tar_path = make_unsafe_tar(tmp_path / "served.tar", unsafe)
    work = tmp_path / "work"
    work.mkdir()

    with pytest.raises(BratsDataError) as caught:
        prepare_msd_dataset(
            destination=work / "msd", url=tar_path.as_uri(), md5=md5_of(tar_path), progress=False
        )

    kept = work / f"{MSD_TASK}.tar"
    assert caught.value.path == kept and "is a hard link" in caught.value.problem
    assert f"--tar {kept} --dest {work / 'msd'}" in caught.value.problem
    assert sorted(path.name for path in work.iterdir()) == [kept.name]
    assert kept.read_bytes() == tar_path.read_bytes()


@pytest.mark.parametrize("route", ["download", "tar"])
def test_an_existing_destination_is_never_overwritten(served, tmp_path, capsys, route):
    destination = tmp_path / "msd"
    (destination / MSD_TASK).mkdir(parents=True)
    (destination / MSD_TASK / "mine.txt").write_text("keep me")
    before = snapshot(tmp_path)
    arguments = ["--tar", str(served)] if route == "tar" else ["--source", "msd"]

    assert main([*arguments, "--dest", str(destination), "--no-progress"]) == 2

    error = capsys.readouterr().err
    assert error.startswith(f"error: {destination}: already exists; not overwriting it")
    assert snapshot(tmp_path) == before  # nothing downloaded, nothing added or changed


def test_extract_tar_never_overwrites_an_existing_folder(msd_tar, tmp_path):
    destination = tmp_path / "msd"
    destination.mkdir()
    before = snapshot(tmp_path)
    with pytest.raises(BratsDataError, match="already exists; not overwriting"):
        extract_tar(msd_tar, destination, progress=False)
    assert snapshot(tmp_path) == before


def _not_a_tar(tmp_path: Path) -> Path:
    path = tmp_path / "archive.tar"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    return path


def _truncated_tar(tmp_path: Path) -> Path:
    tree = make_msd_tree(tmp_path / "tree")
    path = make_tar(tree, tmp_path / "archive.tar")
    path.write_bytes(path.read_bytes()[:3000])
    return path


@pytest.mark.parametrize("make", [_not_a_tar, _truncated_tar], ids=["not a tar", "truncated"])
def test_a_bad_tar_raises_naming_it_and_leaves_nothing_behind(tmp_path, make):
    tar_path = make(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(BratsDataError) as caught:
        extract_tar(tar_path, work / "msd", progress=False)
    assert caught.value.path == tar_path
    assert "not a valid tar file, or truncated" in caught.value.problem
    assert list(work.iterdir()) == []


def test_find_msd_task_folder(msd_tree, tmp_path):
    assert find_msd_task_folder(msd_tree) == msd_tree / MSD_TASK
    assert find_msd_task_folder(msd_tree / MSD_TASK) == msd_tree / MSD_TASK
    (tmp_path / "empty").mkdir()
    with pytest.raises(BratsDataError, match="cannot tell which folder is the Decathlon task"):
        find_msd_task_folder(tmp_path / "empty")


# --- the command line's options ---------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--source", "msd", "--zip", "archive.zip"], "--source msd downloads the Decathlon"),
        (["--zip", "archive.zip", "--tar", "task.tar"], "--zip and --tar are two different"),
        (["--source", "kaggle", "--tar", "task.tar"], "--tar takes the Decathlon's"),
        (["--source", "kaggle", "--dest", "somewhere"], "KAGGLEHUB_CACHE"),
        (["--source", "decathlon"], "invalid choice: 'decathlon'"),
    ],
)
def test_contradicting_options_are_usage_errors(tmp_path, monkeypatch, capsys, arguments, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_options_parse():
    args = cli.build_parser().parse_args(
        ["download", "--source", "msd", "--tar", "t.tar", "--dest", "d"]
    )
    assert (args.source, args.tar, args.dest, args.zip) == ("msd", Path("t.tar"), Path("d"), None)
    assert cli.build_parser().parse_args(["download"]).source is None  # kaggle unless --tar


# --- end to end: then the cases are checked -----------------------------------------------------


def test_the_unpacked_cases_are_checked(served, tmp_path, capsys):
    destination = tmp_path / "msd"

    status = main(["--source", "msd", "--dest", str(destination), "--no-progress"])

    output = capsys.readouterr().out
    assert status == 0, output
    assert f"BraTS data check: {destination / MSD_TASK}" in output
    assert "BRATS_001" in output and "FAILED" not in output
    assert f"Training data: {destination / MSD_TASK}" in output
    release_lines = [line for line in output.splitlines() if line.startswith("release:")]
    assert release_lines and "Decathlon" in release_lines[0], output


def test_a_case_that_fails_the_check_gives_exit_status_1(monkeypatch, tmp_path, capsys):
    tree = make_msd_tree(tmp_path / "tree")
    label_path = tree / MSD_TASK / "labelsTr" / "BRATS_001.nii.gz"
    label = np.asarray(nib.load(label_path).dataobj).copy()
    label[0, 0, 0] = 4  # BraTS 2018-2021's enhancing tumour: no label in the Decathlon's numbering
    _save(label_path, label)
    tar_path = make_tar(tree, tmp_path / f"{MSD_TASK}.tar")
    monkeypatch.setattr(download, "MSD_TAR_MD5", md5_of(tar_path))

    status = main(["--tar", str(tar_path), "--dest", str(tmp_path / "msd"), "--no-progress"])

    output = capsys.readouterr().out
    assert status == 1, output
    assert "unknown label values [4]" in output and "(failed: BRATS_001)" in output
