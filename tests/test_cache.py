"""The preprocessed cache: building, reuse, staleness, interruption and where it lives."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

import brats_tutorial
import brats_tutorial.cache as cache_module
from brats_tutorial.cache import (
    MANIFEST_NAME,
    build_cache,
    default_cache_dir,
    load_cached_arrays,
    load_cached_case,
    read_manifest,
)
from brats_tutorial.discovery import find_cases
from brats_tutorial.errors import BratsDataError
from brats_tutorial.loading import load_case
from brats_tutorial.preprocessing import PreprocessingSettings, preprocess_case
from brats_tutorial.synthetic import generate_dataset

#: Small window and size: the tests exercise the cache's logic, not preprocessing speed.
SETTINGS = PreprocessingSettings(slice_start=40, slice_count=6, image_size=32)
CASE_IDS = ["BraTS20_Training_001", "BraTS20_Training_002", "BraTS20_Training_003"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """Three synthetic cases, written once for the module (read-only for the tests)."""
    folder = tmp_path_factory.mktemp("generated") / "brats"
    generate_dataset(folder, n_cases=3, seed=0)
    return folder


@pytest.fixture
def data_dir(generated, tmp_path) -> Path:
    """A private data folder: hard links to the generated files (copies if links fail).

    Tests that change a source file replace the link with a new file, never edit in place.
    """
    target = tmp_path / "data"
    for source in generated.rglob("*"):
        destination = target / source.relative_to(generated)
        if source.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, destination)
        except OSError:
            destination.write_bytes(source.read_bytes())
    return target


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder``: relative path -> (size, mtime_ns)."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def case_file(data_dir: Path, case_id: str, kind: str) -> Path:
    return data_dir / case_id / f"{case_id}_{kind}.nii"


def rewrite_with_bright_cube(path: Path) -> None:
    """Replace a NIfTI image by a changed copy (a new file: hard links stay untouched)."""
    image = nib.load(path)
    data = np.asarray(image.dataobj).copy()
    data[100:140, 100:140, 40:46] = data.max()
    path.unlink()
    nib.save(nib.Nifti1Image(data, image.affine, image.header), path)


def test_build_writes_arrays_and_manifest(data_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    info = build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    assert info.cache_dir == cache_dir.resolve()
    assert info.case_ids == CASE_IDS and info.built == CASE_IDS
    assert info.up_to_date == [] and info.skipped == {}

    case_files = find_cases(data_dir)[1]
    expected_images, expected_classes = preprocess_case(
        load_case(case_files, SETTINGS.modalities), SETTINGS
    )
    images, classes = load_cached_case(cache_dir, CASE_IDS[1])
    assert images.dtype == np.float16 and images.shape == (6, 32, 32, 2)
    assert classes.dtype == np.uint8 and classes.shape == (6, 32, 32)
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(classes, expected_classes)

    manifest = json.loads((cache_dir / MANIFEST_NAME).read_text())
    assert manifest["settings"] == {
        "slice_start": 40,
        "slice_count": 6,
        "modalities": ["flair", "t1ce"],
        "normalisation": "zscore",
        "image_size": 32,
        "mask_interpolation": "nearest",
    }
    assert manifest["package_version"] == brats_tutorial.__version__
    assert sorted(manifest["cases"]) == CASE_IDS
    entry = manifest["cases"][CASE_IDS[1]]
    assert set(entry["sources"]) == {"flair", "t1ce", "seg"}  # only what the settings read
    for kind, record in entry["sources"].items():
        source = case_file(data_dir, CASE_IDS[1], kind)
        assert record["path"] == f"{CASE_IDS[1]}/{source.name}"
        assert record["size"] == source.stat().st_size
        assert record["mtime_ns"] == source.stat().st_mtime_ns
    assert entry["outputs"] == {
        "images": f"{CASE_IDS[1]}_images.npy",
        "classes": f"{CASE_IDS[1]}_classes.npy",
    }
    assert all((cache_dir / name).is_file() for name in entry["outputs"].values())


def test_rerun_skips_up_to_date_cases(data_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    arrays_before = {k: v for k, v in snapshot(cache_dir).items() if k.endswith(".npy")}
    info = build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    assert info.built == [] and info.up_to_date == CASE_IDS and info.case_ids == CASE_IDS
    arrays_after = {k: v for k, v in snapshot(cache_dir).items() if k.endswith(".npy")}
    assert arrays_after == arrays_before and len(arrays_before) == 6


def test_changed_source_rebuilds_only_that_case(data_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    old_images, _ = load_cached_case(cache_dir, CASE_IDS[1])
    before = snapshot(cache_dir)

    rewrite_with_bright_cube(case_file(data_dir, CASE_IDS[1], "flair"))
    info = build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    assert info.built == [CASE_IDS[1]]
    assert info.up_to_date == [CASE_IDS[0], CASE_IDS[2]]
    new_images, _ = load_cached_case(cache_dir, CASE_IDS[1])
    assert not np.array_equal(new_images[..., 0], old_images[..., 0])
    np.testing.assert_array_equal(new_images[..., 1], old_images[..., 1])  # t1ce unchanged
    after = snapshot(cache_dir)
    for case_id in (CASE_IDS[0], CASE_IDS[2]):
        assert after[f"{case_id}_images.npy"] == before[f"{case_id}_images.npy"]

    # A new modification time alone also counts as a change.
    seg = case_file(data_dir, CASE_IDS[2], "seg")
    status = seg.stat()
    os.utime(seg, ns=(status.st_atime_ns, status.st_mtime_ns + 5_000_000_000))
    assert build_cache(data_dir, cache_dir, SETTINGS, progress=False).built == [CASE_IDS[2]]


def test_changed_settings_rebuild_every_case(data_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    zscore_images, _ = load_cached_case(cache_dir, CASE_IDS[0])
    max_settings = PreprocessingSettings(
        slice_start=40, slice_count=6, image_size=32, normalisation="max"
    )
    info = build_cache(data_dir, cache_dir, max_settings, progress=False)
    assert info.built == CASE_IDS and info.up_to_date == []
    assert read_manifest(cache_dir)["settings"]["normalisation"] == "max"
    max_images, _ = load_cached_case(cache_dir, CASE_IDS[0])
    assert float(max_images.min()) >= 0 and float(zscore_images.min()) < 0
    # Default folders differ per settings, so both caches can live side by side.
    assert default_cache_dir(data_dir, SETTINGS) != default_cache_dir(data_dir, max_settings)


def test_interrupted_run_leaves_no_half_written_case(data_dir, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    real_save = cache_module.save_npy_atomic
    calls = []

    def failing_save(path, array):
        calls.append(Path(path).name)
        if len(calls) == 4:  # the second case's classes, after its images were written
            raise KeyboardInterrupt("simulated interruption")
        real_save(path, array)

    monkeypatch.setattr(cache_module, "save_npy_atomic", failing_save)
    with pytest.raises(KeyboardInterrupt):
        build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    assert calls[-1] == f"{CASE_IDS[1]}_classes.npy"

    files = sorted(path.name for path in cache_dir.iterdir())
    assert files == [f"{CASE_IDS[0]}_classes.npy", f"{CASE_IDS[0]}_images.npy", MANIFEST_NAME]
    assert sorted(read_manifest(cache_dir)["cases"]) == [CASE_IDS[0]]
    with pytest.raises(BratsDataError, match="not in the cache"):
        load_cached_case(cache_dir, CASE_IDS[1])

    monkeypatch.setattr(cache_module, "save_npy_atomic", real_save)
    info = build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    assert info.up_to_date == [CASE_IDS[0]] and info.built == CASE_IDS[1:]
    assert sorted(read_manifest(cache_dir)["cases"]) == CASE_IDS


def test_failure_during_preprocessing_keeps_earlier_cases(data_dir, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    real_preprocess = cache_module.preprocess_case

    def failing_preprocess(case, settings):
        if case.case_id == CASE_IDS[1]:
            raise RuntimeError("simulated crash")
        return real_preprocess(case, settings)

    monkeypatch.setattr(cache_module, "preprocess_case", failing_preprocess)
    with pytest.raises(RuntimeError):
        build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    assert sorted(read_manifest(cache_dir)["cases"]) == [CASE_IDS[0]]
    assert not list(cache_dir.glob(f"{CASE_IDS[1]}*"))
    assert not [p for p in cache_dir.iterdir() if p.name.startswith(".")]


def test_arrays_without_manifest_entry_are_rebuilt(data_dir, tmp_path):
    """As after a hard kill between writing a case's arrays and its manifest entry."""
    cache_dir = tmp_path / "cache"
    build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    manifest = read_manifest(cache_dir)
    del manifest["cases"][CASE_IDS[2]]
    (cache_dir / MANIFEST_NAME).write_text(json.dumps(manifest))
    (cache_dir / f"{CASE_IDS[2]}_classes.npy").write_bytes(b"truncated")
    info = build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    assert info.built == [CASE_IDS[2]]
    _, classes = load_cached_case(cache_dir, CASE_IDS[2])
    assert classes.shape == (6, 32, 32)


def test_refuses_a_cache_inside_the_data_folder(data_dir):
    before = snapshot(data_dir)
    for inside in (data_dir, data_dir / "cache", data_dir / CASE_IDS[0] / "cache"):
        with pytest.raises(BratsDataError, match="inside the data folder"):
            build_cache(data_dir, inside, SETTINGS, progress=False)
    assert snapshot(data_dir) == before
    assert not (data_dir / "cache").exists()


def test_default_cache_is_beside_the_data_folder_and_writes_nothing_into_it(data_dir):
    before = snapshot(data_dir)
    info = build_cache(data_dir, settings=SETTINGS, case_ids=[CASE_IDS[0]], progress=False)
    assert snapshot(data_dir) == before
    expected_parent = data_dir.resolve().parent / "data_cache"
    assert info.cache_dir.parent == expected_parent
    assert info.cache_dir == default_cache_dir(data_dir, SETTINGS)
    assert (info.cache_dir / MANIFEST_NAME).is_file()


def test_default_cache_falls_back_to_the_work_folder_when_parent_is_read_only(
    tmp_path, monkeypatch
):
    parent = tmp_path / "read_only"
    (parent / "data").mkdir(parents=True)
    work = tmp_path / "work"
    monkeypatch.setenv("BRATS_WORK_DIR", str(work))
    parent.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        folder = default_cache_dir(parent / "data", SETTINGS)
    finally:
        parent.chmod(stat.S_IRWXU)
    assert work.resolve() in folder.parents
    assert parent.resolve() not in folder.parents


def test_cases_without_mask_are_skipped(data_dir, tmp_path):
    case_file(data_dir, CASE_IDS[2], "seg").unlink()
    info = build_cache(data_dir, tmp_path / "cache", SETTINGS, progress=False)
    assert info.case_ids == CASE_IDS[:2]
    assert list(info.skipped) == [CASE_IDS[2]] and "mask" in info.skipped[CASE_IDS[2]]
    assert not list((tmp_path / "cache").glob(f"{CASE_IDS[2]}*"))


def test_case_subset_and_unknown_case(data_dir, tmp_path):
    info = build_cache(
        data_dir, tmp_path / "cache", SETTINGS, case_ids=[CASE_IDS[2], CASE_IDS[0]], progress=False
    )
    assert info.case_ids == [CASE_IDS[0], CASE_IDS[2]]
    with pytest.raises(BratsDataError, match="BraTS20_Training_999"):
        build_cache(
            data_dir,
            tmp_path / "cache",
            SETTINGS,
            case_ids=["BraTS20_Training_999"],
            progress=False,
        )


def test_load_cached_arrays_concatenates_in_order(data_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    build_cache(data_dir, cache_dir, SETTINGS, progress=False)
    order = [CASE_IDS[2], CASE_IDS[0]]
    images, classes = load_cached_arrays(cache_dir, order)
    assert images.shape == (12, 32, 32, 2) and images.dtype == np.float16
    assert classes.shape == (12, 32, 32) and classes.dtype == np.uint8
    for position, case_id in enumerate(order):
        case_images, case_classes = load_cached_case(cache_dir, case_id, mmap=True)
        assert isinstance(case_images, np.memmap)
        np.testing.assert_array_equal(images[position * 6 : (position + 1) * 6], case_images)
        np.testing.assert_array_equal(classes[position * 6 : (position + 1) * 6], case_classes)
