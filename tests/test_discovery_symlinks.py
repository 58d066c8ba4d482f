"""Finding cases linked into a data folder: symbolic links to case folders and case files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from nifti_builders import MODALITY_NAMES, make_image, snapshot, write_case, write_nifti

from brats_tutorial.discovery import find_cases
from brats_tutorial.errors import BratsDataError
from brats_tutorial.loading import load_case
from brats_tutorial.validation import validate_dataset


def summary(cases) -> list[tuple[str, dict[str, str], str | None]]:
    """Case id, modality to file name, and mask file name, per case."""
    return [
        (
            case.case_id,
            {modality: path.name for modality, path in case.images.items()},
            case.mask.name if case.mask else None,
        )
        for case in cases
    ]


def entries(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``folder``, links not followed: relative path to (size, mtime ns)."""
    found = {}
    for current, folder_names, file_names in os.walk(folder):
        for name in folder_names + file_names:
            status = (Path(current) / name).lstat()
            found[str((Path(current) / name).relative_to(folder))] = (
                status.st_size,
                status.st_mtime_ns,
            )
    return found


def test_case_folders_that_are_links_are_found_as_without_links(tmp_path):
    store = tmp_path / "store"
    write_case(store / "Case_A", "Case_A", seed=1)
    write_case(store / "Case_B", "Case_B", with_mask=False, seed=2)
    data = tmp_path / "data"
    data.mkdir()
    for name in ("Case_A", "Case_B"):
        (data / name).symlink_to(store / name, target_is_directory=True)
    before = snapshot(data)

    cases = find_cases(data)

    assert summary(cases) == summary(find_cases(store))
    assert [case.folder for case in cases] == [data / "Case_A", data / "Case_B"]
    for case in cases:
        for path in [*case.images.values(), case.mask]:
            if path is not None:
                assert path.resolve() == store / case.case_id / path.name
    loaded = load_case(cases[0])
    reference = load_case(find_cases(store)[0])
    np.testing.assert_array_equal(loaded.images["flair"], reference.images["flair"])
    np.testing.assert_array_equal(loaded.mask, reference.mask)
    assert validate_dataset(data, expect_masks=False).ok
    assert snapshot(data) == before  # nothing written into the data folder


def test_data_folder_that_is_a_link_is_found(tmp_path):
    write_case(tmp_path / "store" / "Case_1", "Case_1")
    (tmp_path / "data").symlink_to(tmp_path / "store", target_is_directory=True)
    (case,) = find_cases(tmp_path / "data")
    assert case.folder == tmp_path / "data" / "Case_1"


def test_case_files_that_are_links_are_found(tmp_path):
    elsewhere = tmp_path / "downloads"
    write_case(elsewhere, "Case_1", modalities=("flair", "t1"), suffix=".nii", seed=3)
    folder = tmp_path / "data" / "Case_1"
    write_case(folder, "Case_1", modalities=("t1ce", "t2"), with_mask=False, seed=4)
    # Links named as the case expects, to files named otherwise.
    os.replace(elsewhere / "Case_1_flair.nii", elsewhere / "scan_0001.nii")
    (folder / "Case_1_flair.nii").symlink_to(elsewhere / "scan_0001.nii")
    (folder / "Case_1_t1.nii").symlink_to(elsewhere / "Case_1_t1.nii")
    (folder / "Case_1_seg.nii").symlink_to(elsewhere / "Case_1_seg.nii")

    (case,) = find_cases(tmp_path / "data")

    assert case.case_id == "Case_1" and case.missing_modalities == ()
    assert case.images["flair"] == folder / "Case_1_flair.nii"
    assert case.images["flair"].resolve() == elsewhere / "scan_0001.nii"
    assert case.mask == folder / "Case_1_seg.nii"
    np.testing.assert_array_equal(
        load_case(case).images["flair"], make_image(seed=30).astype(np.float32)
    )


def test_link_to_its_own_data_folder_ends_and_gives_each_case_once(tmp_path):
    data = tmp_path / "data"
    write_case(data / "Case_1", "Case_1")
    write_case(data / "Case_2", "Case_2")
    (data / "loop").symlink_to(data, target_is_directory=True)  # data/loop/loop/... forever
    (data / "Case_1" / "up").symlink_to(data, target_is_directory=True)

    cases = find_cases(data)

    assert [case.case_id for case in cases] == ["Case_1", "Case_2"]
    assert [case.folder for case in cases] == [data / "Case_1", data / "Case_2"]


def test_two_folders_linking_to_each_other_end(tmp_path):
    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    (data / "b").mkdir()
    (data / "a" / "to_b").symlink_to(data / "b", target_is_directory=True)
    (data / "b" / "to_a").symlink_to(data / "a", target_is_directory=True)
    write_case(data / "b" / "Case_1", "Case_1")
    # Outside the data folder too: only links lead there, so the first link path is kept.
    outside = tmp_path / "outside"
    (outside / "x").mkdir(parents=True)
    (outside / "y").mkdir()
    (outside / "x" / "to_y").symlink_to(outside / "y", target_is_directory=True)
    (outside / "y" / "to_x").symlink_to(outside / "x", target_is_directory=True)
    write_case(outside / "y" / "Case_2", "Case_2")
    (data / "c").symlink_to(outside / "x", target_is_directory=True)

    cases = find_cases(data)

    # Case_1 under its own path, not under the earlier link path data/a/to_b.
    assert [case.folder for case in cases] == [
        data / "b" / "Case_1",
        data / "c" / "to_y" / "Case_2",
    ]


def test_case_folder_and_a_link_to_it_give_the_case_once(tmp_path):
    data = tmp_path / "data"
    write_case(data / "real" / "Case_1", "Case_1")
    # "all" sorts before "real": the real path is kept all the same.
    (data / "all").mkdir()
    (data / "all" / "Case_1").symlink_to(data / "real" / "Case_1", target_is_directory=True)
    (data / "alias").symlink_to(data / "real", target_is_directory=True)

    (case,) = find_cases(data)

    assert case.folder == data / "real" / "Case_1"
    assert validate_dataset(data).ok


def test_case_files_linked_to_files_of_a_case_in_the_folder_give_the_case_once(tmp_path):
    data = tmp_path / "data"
    write_case(data / "Case_1", "Case_1")
    flat = data / "flat"
    flat.mkdir()
    for kind in (*MODALITY_NAMES, "seg"):
        name = f"Case_1_{kind}.nii.gz"
        (flat / name).symlink_to(data / "Case_1" / name)

    (case,) = find_cases(data)

    assert case.folder == data / "Case_1"


def test_same_case_name_with_different_files_still_raises(tmp_path):
    write_case(tmp_path / "store" / "Case_1", "Case_1", seed=1)
    write_case(tmp_path / "data" / "Case_1", "Case_1", seed=2)
    (tmp_path / "data" / "more").symlink_to(tmp_path / "store", target_is_directory=True)
    with pytest.raises(BratsDataError, match="case Case_1 also found in"):
        find_cases(tmp_path / "data")


def test_dangling_case_file_link_raises_naming_it(tmp_path):
    folder = tmp_path / "data" / "Case_1"
    write_case(folder, "Case_1", modalities=("t1", "t1ce", "t2"))
    link = folder / "Case_1_flair.nii.gz"
    link.symlink_to(tmp_path / "gone" / "flair.nii.gz")
    before = entries(tmp_path / "data")
    for read in (find_cases, validate_dataset):
        with pytest.raises(BratsDataError) as caught:
            read(tmp_path / "data")
        assert caught.value.path == link
        assert str(caught.value) == (
            f"{link}: symbolic link to {tmp_path / 'gone' / 'flair.nii.gz'}, which does not exist"
        )
    assert entries(tmp_path / "data") == before


def test_case_file_link_cycle_raises_naming_it(tmp_path):
    folder = tmp_path / "Case_1"
    write_case(folder, "Case_1", modalities=("t1", "t1ce", "t2"))
    (folder / "Case_1_flair.nii").symlink_to(folder / "Case_1_flair.nii.gz")
    (folder / "Case_1_flair.nii.gz").symlink_to(folder / "Case_1_flair.nii")
    with pytest.raises(BratsDataError, match="Case_1_flair.nii(.gz)?: symbolic link to"):
        find_cases(tmp_path)


def test_dangling_folder_links_are_skipped_and_named_when_nothing_is_found(tmp_path):
    data = tmp_path / "data"
    write_case(data / "Case_1", "Case_1")
    (data / "Case_2").symlink_to(tmp_path / "moved" / "Case_2", target_is_directory=True)
    assert [case.case_id for case in find_cases(data)] == ["Case_1"]

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "Case_2").symlink_to(tmp_path / "moved" / "Case_2", target_is_directory=True)
    with pytest.raises(BratsDataError) as caught:
        find_cases(empty)
    assert caught.value.path == empty
    assert str(caught.value).startswith(f"{empty}: no BraTS case files found")
    assert f"{empty / 'Case_2'} -> {tmp_path / 'moved' / 'Case_2'}" in str(caught.value)


def test_dangling_data_folder_link_says_so(tmp_path):
    data = tmp_path / "data"
    data.symlink_to(tmp_path / "nowhere", target_is_directory=True)
    with pytest.raises(BratsDataError) as caught:
        find_cases(data)
    assert str(caught.value) == (
        f"{data}: folder does not exist (symbolic link to {tmp_path / 'nowhere'})"
    )


def test_ordinary_nested_folders_unchanged(tmp_path):
    write_case(tmp_path / "HGG" / "Case_A", "Case_A", seed=1)
    write_nifti(tmp_path / "LGG" / "Case_B" / "Case_B_t1.nii", make_image(seed=2))
    cases = find_cases(tmp_path)
    assert [(case.case_id, case.folder) for case in cases] == [
        ("Case_A", tmp_path / "HGG" / "Case_A"),
        ("Case_B", tmp_path / "LGG" / "Case_B"),
    ]
    assert cases[1].missing_modalities == ("flair", "t1ce", "t2")
    assert isinstance(cases[0].folder, Path)
