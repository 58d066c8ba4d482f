"""The store that keeps a data folder and its slice cache on Drive: saved once, restored on a new
runtime at the same paths, and the cache then reuses every case (no case preprocessed again)."""

from __future__ import annotations

import shutil
import tarfile

import pytest

from brats_tutorial.cache import build_cache
from brats_tutorial.errors import BratsDataError
from brats_tutorial.preprocessing import PreprocessingSettings
from brats_tutorial.runtime_store import (
    CACHE_ARCHIVE,
    DATA_ARCHIVE,
    cache_root,
    restore_store,
    save_store,
)
from brats_tutorial.synthetic import generate_dataset

#: A cache as small as a cache can be: 2 patients, 8 slices of 16 x 16.
SETTINGS = PreprocessingSettings(image_size=16, slice_count=8, slice_start=70)


@pytest.fixture
def data_and_cache(tmp_path):
    """(data folder, its cache info): 2 synthetic patients and their cache beside them."""
    data_dir = tmp_path / "runtime" / "BraTS2020_TrainingData"
    generate_dataset(data_dir, n_cases=2, seed=3)
    info = build_cache(data_dir, None, SETTINGS, progress=False)
    assert len(info.built) == 2
    return data_dir, info


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_new_runtime_gets_the_data_and_a_cache_that_needs_no_work(data_and_cache, tmp_path):
    data_dir, info = data_and_cache
    store = tmp_path / "drive" / "brats_store"
    report = save_store(data_dir, store)
    assert report.written == {DATA_ARCHIVE: "written", CACHE_ARCHIVE: "written"}
    assert info.cache_dir.parent == cache_root(data_dir) == report.cache_root
    data_before, cache_before = _snapshot(data_dir), _snapshot(cache_root(data_dir))
    # A new runtime: the disk is wiped, the store on Drive stays.
    shutil.rmtree(data_dir)
    shutil.rmtree(cache_root(data_dir))
    restored = restore_store(store)
    assert restored.data_dir == data_dir.resolve()
    assert restored.written == {DATA_ARCHIVE: "restored", CACHE_ARCHIVE: "restored"}
    assert _snapshot(data_dir) == data_before
    assert _snapshot(cache_root(data_dir)) == cache_before
    again = build_cache(data_dir, None, SETTINGS, progress=False)
    assert again.built == [] and sorted(again.up_to_date) == sorted(info.case_ids)
    # Restoring onto what is already there changes nothing.
    assert set(restore_store(store).written.values()) == {"present"}


def test_a_second_save_keeps_unchanged_archives_and_rewrites_changed_ones(data_and_cache, tmp_path):
    data_dir, _ = data_and_cache
    store = tmp_path / "store"
    save_store(data_dir, store)
    data_archive_time = (store / DATA_ARCHIVE).stat().st_mtime_ns
    assert save_store(data_dir, store).written == {DATA_ARCHIVE: "kept", CACHE_ARCHIVE: "kept"}
    build_cache(data_dir, None, PreprocessingSettings(image_size=8, slice_count=4), progress=False)
    report = save_store(data_dir, store)
    assert report.written == {DATA_ARCHIVE: "kept", CACHE_ARCHIVE: "written"}
    assert (store / DATA_ARCHIVE).stat().st_mtime_ns == data_archive_time


def test_a_destination_with_other_files_is_left_alone(data_and_cache, tmp_path):
    data_dir, _ = data_and_cache
    store = tmp_path / "store"
    save_store(data_dir, store)
    shutil.rmtree(cache_root(data_dir))
    (data_dir / "notes.txt").write_text("mine")
    before = _snapshot(data_dir)
    with pytest.raises(BratsDataError, match="holds other files"):
        restore_store(store)
    assert _snapshot(data_dir) == before
    assert not cache_root(data_dir).exists()


def test_a_store_of_another_folder_is_refused(data_and_cache, tmp_path):
    data_dir, _ = data_and_cache
    store = tmp_path / "store"
    save_store(data_dir, store)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(BratsDataError, match="holds the store of"):
        save_store(other, store)


def test_an_archive_with_an_unsafe_member_is_not_unpacked(data_and_cache, tmp_path):
    data_dir, _ = data_and_cache
    store = tmp_path / "store"
    save_store(data_dir, store)
    shutil.rmtree(data_dir)
    shutil.rmtree(cache_root(data_dir))
    outside = tmp_path / "outside.txt"
    with tarfile.open(store / DATA_ARCHIVE, "w:gz") as tar:
        source = tmp_path / "payload.txt"
        source.write_text("x")
        tar.add(source, arcname="../outside.txt")
    with pytest.raises(BratsDataError, match="unsafe member name"):
        restore_store(store)
    assert not outside.exists() and not data_dir.exists()
    assert not any(p.name.startswith(f".{data_dir.name}.") for p in data_dir.parent.iterdir())


def test_no_store_says_how_to_make_one(tmp_path):
    with pytest.raises(BratsDataError, match="brats-tutorial store save"):
        restore_store(tmp_path)


def test_the_command_line_saves_and_restores(data_and_cache, tmp_path, capsys):
    from brats_tutorial.cli import main

    data_dir, _ = data_and_cache
    store = tmp_path / "store"
    assert main(["store", "save", str(data_dir), str(store)]) == 0
    assert f"{DATA_ARCHIVE}: written" in capsys.readouterr().out
    shutil.rmtree(data_dir)
    assert main(["store", "restore", str(store)]) == 0
    output = capsys.readouterr().out
    assert f"{DATA_ARCHIVE}: restored" in output
    assert f"export BRATS_DATA_DIR={data_dir.resolve()}" in output
    assert (data_dir / "BraTS20_Training_001").is_dir()
