"""Every release the package reads: its label table, its layout found, read, checked, exported and
scored in its own numbers (small hand-made cases; the real-data runs are tests/test_release_cli.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nifti_builders import make_image, make_mask, snapshot, write_case
from release_layouts import (
    COURSE_TO_RELEASE_LABEL,
    LAYOUTS,
    MSD_DATASET,
    MSD_ORDER,
    RELEASE_REGIONS,
    case_id,
    file_paths,
    release_labels,
    sample_mask,
    write_dataset_json,
    write_release_case,
)

from brats_tutorial.constants import FILE_LABELS, REGIONS
from brats_tutorial.discovery import find_cases
from brats_tutorial.errors import BratsDataError
from brats_tutorial.evaluation import evaluate_folder
from brats_tutorial.inference import save_prediction
from brats_tutorial.labels import region_mask
from brats_tutorial.loading import load_case
from brats_tutorial.releases import RELEASES, get_release
from brats_tutorial.validation import check_command, validate_dataset

ALL_RELEASES = ("brats2018-2020", *LAYOUTS)
SHAPE = (10, 9, 7)


def _images(seed: int = 0, shape=SHAPE) -> dict[str, np.ndarray]:
    """Four different int16 images, one per course modality."""
    return {m: make_image(shape, seed=seed * 10 + i) for i, m in enumerate(MSD_ORDER)}


def _write(root: Path, release: str, index: int = 1, **kwargs) -> tuple[dict, np.ndarray]:
    """One small case; returns (images, course mask)."""
    images = _images(index)
    mask = make_mask(SHAPE, seed=index)
    write_release_case(root, release, case_id(release, index), images, mask, **kwargs)
    return images, mask


def _folder_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# The table, label by label.


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_each_release_maps_its_labels_to_the_course_labels_as_documented(release):
    table = get_release(release)
    expected = {label: course for course, label in COURSE_TO_RELEASE_LABEL[release].items()}
    assert table.label_to_course == expected
    for label, course in expected.items():
        assert table.to_course_labels(np.array([label])).tolist() == [course]
        assert table.from_course_labels(np.array([course])).tolist() == [label]
    assert set(table.label_values) == set(expected)


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_export_undoes_loading_for_every_label_of_a_random_map(release):
    table = get_release(release)
    labels = np.random.default_rng(1).choice(np.array(table.label_values), size=(6, 5, 4))
    course = table.to_course_labels(labels)
    assert set(np.unique(course)) <= set(FILE_LABELS)
    np.testing.assert_array_equal(table.from_course_labels(course), labels)


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_regions_after_mapping_are_the_regions_in_the_releases_own_numbers(release):
    table = get_release(release)
    labels = np.random.default_rng(2).choice(np.array(table.label_values), size=(7, 6, 5))
    course = table.to_course_labels(labels)
    for region in REGIONS:
        own = np.isin(labels, RELEASE_REGIONS[release][region])
        np.testing.assert_array_equal(region_mask(course, region), own)
        assert table.region_labels[region] == RELEASE_REGIONS[release][region]


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_label_3_is_accepted_exactly_where_its_release_allows_it(release):
    table = get_release(release)
    three_allowed = release in ("brats2023-gli", "msd-task01")
    for value, allowed in ((3, three_allowed), (4, not three_allowed)):
        if allowed:
            table.check_labels(np.array([0, value]))
        else:
            with pytest.raises(BratsDataError, match=rf"unknown label values \[{value}\]"):
                table.check_labels(np.array([0, value]), "x_seg.nii.gz")
    assert table.enhancing_label == (3 if three_allowed else 4)


def test_unknown_release_names_the_choices():
    with pytest.raises(ValueError, match="brats2023-gli"):
        get_release("brats2024")
    assert set(RELEASES) == set(ALL_RELEASES)


# Discovery and loading.


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_a_case_of_each_layout_is_found_and_read_in_the_course_convention(tmp_path, release):
    images, mask = _write(tmp_path, release, index=4)
    (case,) = find_cases(tmp_path)
    assert (case.case_id, case.release.key) == (case_id(release, 4), release)
    assert case.missing_modalities == () and case.has_mask
    loaded = load_case(case)
    for modality in MSD_ORDER:  # each course modality gets its own sequence (MSD: its channel)
        np.testing.assert_array_equal(loaded.images[modality], images[modality])
    np.testing.assert_array_equal(loaded.mask, mask)
    assert loaded.images["flair"].dtype == np.float32 and loaded.mask.dtype == np.uint8
    assert loaded.header.get_data_shape() == SHAPE


def test_gli_files_map_their_sequence_names_to_the_course_modalities(tmp_path):
    _write(tmp_path, "brats2023-gli")
    (case,) = find_cases(tmp_path)
    names = {modality: path.name for modality, path in case.images.items()}
    assert names == {
        "flair": "BraTS-GLI-00001-000-t2f.nii.gz",
        "t1": "BraTS-GLI-00001-000-t1n.nii.gz",
        "t1ce": "BraTS-GLI-00001-000-t1c.nii.gz",
        "t2": "BraTS-GLI-00001-000-t2w.nii.gz",
    }


def test_msd_channels_follow_dataset_json(tmp_path):
    """A dataset.json naming another channel order is honoured, not the usual order assumed."""
    reordered = dict(MSD_DATASET, modality={"0": "T2w", "1": "t1gd", "2": "T1w", "3": "FLAIR"})
    write_dataset_json(tmp_path, reordered)
    images = _images(3)
    stack = np.stack([images[m] for m in ("t2", "t1ce", "t1", "flair")], axis=-1)
    (tmp_path / "imagesTr").mkdir()
    nib.save(nib.Nifti1Image(stack, np.eye(4)), tmp_path / "imagesTr" / "BRATS_003.nii.gz")
    (case,) = find_cases(tmp_path)
    assert case.channels == {"t2": 0, "t1ce": 1, "t1": 2, "flair": 3}
    loaded = load_case(case, ("flair", "t1ce"), load_mask=False)
    np.testing.assert_array_equal(loaded.images["flair"], images["flair"])
    np.testing.assert_array_equal(loaded.images["t1ce"], images["t1ce"])


@pytest.mark.parametrize(
    "change, words",
    [
        (
            {"labels": {"0": "background", "1": "necrosis", "2": "edema", "3": "enhancing"}},
            "label 1",
        ),
        ({"labels": {"0": "background", "1": "edema", "2": "x", "3": "non-enhancing"}}, "label 2"),
        ({"modality": {"0": "FLAIR", "1": "T1w", "2": "T2w"}}, "'modality'"),
    ],
)
def test_msd_dataset_json_with_other_meanings_is_refused(tmp_path, change, words):
    _write(tmp_path, "msd-task01")
    write_dataset_json(tmp_path, dict(MSD_DATASET, **change))
    with pytest.raises(BratsDataError, match=words) as caught:
        find_cases(tmp_path)
    assert caught.value.path == tmp_path / "dataset.json"


def test_msd_test_cases_have_no_label_and_macos_files_are_ignored(tmp_path):
    _write(tmp_path, "msd-task01", index=1)
    write_release_case(tmp_path, "msd-task01", "BRATS_002", _images(2), None, training=False)
    (tmp_path / "imagesTr" / "._BRATS_001.nii.gz").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    (tmp_path / "labelsTr" / "._BRATS_001.nii.gz").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    training, test = find_cases(tmp_path)
    assert (training.case_id, training.has_mask) == ("BRATS_001", True)
    assert (test.case_id, test.has_mask, test.folder.name) == ("BRATS_002", False, "imagesTs")
    report = validate_dataset(tmp_path)
    assert report.ok and "no mask (validation case)" in report.cases[1].notes


@pytest.mark.parametrize("release", LAYOUTS)
def test_a_folder_mixing_releases_is_refused_naming_both(tmp_path, release):
    _write(tmp_path, release, index=1)
    write_case(tmp_path / "BraTS20_Training_007", "BraTS20_Training_007", shape=SHAPE)
    for read in (find_cases, validate_dataset):
        with pytest.raises(BratsDataError, match="mixes releases") as caught:
            read(tmp_path)
        message = str(caught.value)
        assert "BraTS 2018-2020 (e.g. BraTS20_Training_007)" in message
        assert f"{get_release(release).title} (e.g. {case_id(release, 1)})" in message


def test_brats_2021_is_told_from_2018_2020_by_the_case_id(tmp_path):
    _write(tmp_path / "a", "brats2021")
    _write(tmp_path / "a", "brats2018-2020")
    with pytest.raises(BratsDataError, match="BraTS 2021 .*BraTS2021_00001"):
        find_cases(tmp_path / "a")


# check: each release's rules, and the report names the release.


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_check_names_the_release_in_its_report(tmp_path, release, capsys):
    _write(tmp_path, release, index=1)
    _write(tmp_path, release, index=2)
    assert check_command(tmp_path, progress=False) == 0
    output = capsys.readouterr().out
    assert f"release: {get_release(release).title}\n" in output
    assert "2 cases: 2 ok, 0 failed" in output


def _label_3(root: Path, release: str) -> tuple[Path, str]:
    """A label map holding 3: allowed in GLI and MSD, unknown in 2018-2021."""
    paths = file_paths(root, release, case_id(release, 1))
    mask = np.asanyarray(nib.load(paths["seg"]).dataobj).copy()
    mask[4, 4, 3] = 3
    nib.save(nib.Nifti1Image(mask, np.eye(4)), paths["seg"])
    return paths["seg"], "unknown label values [3]"


def _label_4(root: Path, release: str) -> tuple[Path, str]:
    paths = file_paths(root, release, case_id(release, 1))
    mask = np.asanyarray(nib.load(paths["seg"]).dataobj).copy()
    mask[4, 4, 3] = 4
    nib.save(nib.Nifti1Image(mask, np.eye(4)), paths["seg"])
    return paths["seg"], "unknown label values [4]"


def _missing_sequence(root: Path, release: str) -> tuple[Path, str]:
    """3D releases: the T1 file is gone; MSD: the 4D image has 3 channels instead of 4."""
    paths = file_paths(root, release, case_id(release, 1))
    if release == "msd-task01":
        image = nib.load(paths["t1"])
        three = np.asanyarray(image.dataobj)[..., :3]
        nib.save(nib.Nifti1Image(three, image.affine), paths["t1"])
        return paths["t1"], "3 channels, expected 4 (FLAIR, T1w, T1gd, T2w)"
    paths["t1"].unlink()
    name = get_release(release).sequence_name("t1")
    return paths["t1"], f"file missing (no '{name}'"


def _shape_mismatch(root: Path, release: str) -> tuple[Path, str]:
    paths = file_paths(root, release, case_id(release, 1))
    mask = np.zeros((SHAPE[0] - 2, *SHAPE[1:]), np.uint8)
    nib.save(nib.Nifti1Image(mask, np.eye(4)), paths["seg"])
    return paths["seg"], f"shape {mask.shape} differs from"


def _affine_mismatch(root: Path, release: str) -> tuple[Path, str]:
    paths = file_paths(root, release, case_id(release, 1))
    shifted = np.eye(4)
    shifted[:3, 3] = (0.0, 0.0, 5.0)
    mask = np.asanyarray(nib.load(paths["seg"]).dataobj)
    nib.save(nib.Nifti1Image(mask, shifted), paths["seg"])
    return paths["seg"], "affine differs from"


def _truncated(root: Path, release: str) -> tuple[Path, str]:
    paths = file_paths(root, release, case_id(release, 1))
    path = paths["t1ce"]
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * 0.6)])
    return path, "cannot read as NIfTI"


BAD_INPUTS = {
    "missing sequence": _missing_sequence,
    "wrong label 3": _label_3,
    "wrong label 4": _label_4,
    "shape mismatch": _shape_mismatch,
    "affine mismatch": _affine_mismatch,
    "truncated file": _truncated,
}


def _expected_to_fail(name: str, release: str) -> bool:
    if name == "wrong label 3":
        return release in ("brats2018-2020", "brats2021")
    if name == "wrong label 4":
        return release in ("brats2023-gli", "msd-task01")
    return True


@pytest.mark.parametrize("release", ALL_RELEASES)
@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_check_names_each_bad_input_and_leaves_the_folder_unchanged(tmp_path, release, name):
    # Large enough that a truncated gzip keeps its header and loses voxels.
    shape = (32, 32, 20) if name == "truncated file" else SHAPE
    images = _images(1, shape)
    write_release_case(tmp_path, release, case_id(release, 1), images, make_mask(shape, seed=1))
    _write(tmp_path, release, index=2)  # a good case beside the bad one
    bad_file, words = BAD_INPUTS[name](tmp_path, release)
    before, digest = snapshot(tmp_path), _folder_digest(tmp_path)

    report = validate_dataset(tmp_path, expect_masks=True)

    assert snapshot(tmp_path) == before and _folder_digest(tmp_path) == digest
    assert report.cases[1].ok
    bad = report.cases[0]
    if not _expected_to_fail(name, release):
        assert bad.ok, bad.problems  # the release allows that label
        return
    shown = bad_file.name.split(".nii")[0] + ".nii"  # "<name>.nii[.gz]" when the file is missing
    shown = f"{bad_file.parent.name}/{shown}" if release == "msd-task01" else shown
    assert [p for p in bad.problems if p.startswith(shown) and words in p], bad.problems
    (line,) = [line for line in report.format().splitlines() if line.startswith(bad.case_id)]
    assert "FAILED" in line and words in line


@pytest.mark.parametrize("release", LAYOUTS)
@pytest.mark.parametrize(
    "name",
    ["wrong label 3", "wrong label 4", "shape mismatch", "affine mismatch", "truncated file"],
)
def test_reading_a_bad_case_raises_naming_the_file(tmp_path, release, name):
    shape = (32, 32, 20) if name == "truncated file" else SHAPE
    write_release_case(
        tmp_path, release, case_id(release, 1), _images(1, shape), make_mask(shape, seed=1)
    )
    bad_file, words = BAD_INPUTS[name](tmp_path, release)
    (case,) = find_cases(tmp_path)
    if not _expected_to_fail(name, release):
        load_case(case)
        return
    with pytest.raises(BratsDataError) as caught:
        load_case(case)
    assert caught.value.path == bad_file and words in caught.value.problem


def test_missing_gli_sequence_and_mask_are_named_in_the_releases_words(tmp_path):
    case = case_id("brats2023-gli", 1)
    paths = write_release_case(tmp_path, "brats2023-gli", case, _images(1), None)
    paths["flair"].unlink()
    (report,) = validate_dataset(tmp_path, expect_masks=True).cases
    assert report.problems == [
        f"{case}-t2f.nii[.gz]: file missing (no 't2f' (the course's 'flair') image)",
        f"{case}-seg.nii[.gz]: mask missing (expected for a training case)",
    ]
    with pytest.raises(BratsDataError, match=r"has no 't2f' \(the course's 'flair'\) file"):
        load_case(find_cases(tmp_path)[0])


def test_msd_label_without_image_and_3d_image_are_named(tmp_path):
    _write(tmp_path, "msd-task01", index=1)
    _write(tmp_path, "msd-task01", index=2)
    (tmp_path / "imagesTr" / "BRATS_002.nii.gz").unlink()
    nib.save(
        nib.Nifti1Image(make_image(SHAPE), np.eye(4)), tmp_path / "imagesTr" / "BRATS_001.nii.gz"
    )
    first, second = validate_dataset(tmp_path).cases
    assert first.problems == [
        "imagesTr/BRATS_001.nii.gz: expected a 4D image (one channel per sequence: "
        f"FLAIR, T1w, T1gd, T2w), got shape {SHAPE}"
    ]
    assert second.problems == [
        "imagesTr/BRATS_002.nii.gz: file missing (no 4D image of the sequences "
        "FLAIR, T1w, T1gd, T2w)"
    ]


def test_an_empty_msd_channel_is_named_by_its_sequence(tmp_path):
    images, _ = _write(tmp_path, "msd-task01")
    images["t1ce"] = np.zeros_like(images["t1ce"])
    write_release_case(tmp_path, "msd-task01", "BRATS_001", images, make_mask(SHAPE, seed=1))
    (report,) = validate_dataset(tmp_path).cases
    assert report.problems == [
        "imagesTr/BRATS_001.nii.gz: channel 2 (T1gd): all voxels are zero (empty image, no brain)"
    ]


# Export in the release's own numbers, and evaluation in the same numbers.


@pytest.mark.parametrize("release", ALL_RELEASES)
def test_reference_exported_then_evaluated_gives_dice_1_for_every_region(tmp_path, release):
    data, predictions = tmp_path / "data", tmp_path / "predictions"
    for index in (1, 2):
        _write(data, release, index=index)
    for case in find_cases(data):
        loaded = load_case(case)
        written = save_prediction(loaded.mask, loaded, predictions)
        # The file holds the release's numbers: exactly the reference label map's voxels.
        original = np.asanyarray(nib.load(case.mask).dataobj)
        np.testing.assert_array_equal(np.asanyarray(nib.load(written).dataobj), original)
    scores = evaluate_folder(predictions, data, progress=False)
    assert list(scores.index) == [case_id(release, 1), case_id(release, 2)]
    for region in REGIONS:
        assert (scores[f"Dice_{region}"] == 1.0).all()
        assert (scores[f"HD95_{region}"] == 0.0).all()


@pytest.mark.parametrize("release", LAYOUTS[1:])
def test_predictions_in_another_releases_numbers_are_refused_not_misscored(tmp_path, release):
    """A GLI or MSD prediction read as BraTS 2018-2020 holds label 3: an error naming the file."""
    data, predictions = tmp_path / "data", tmp_path / "predictions"
    _write(data, release)
    (case,) = find_cases(data)
    loaded = load_case(case)
    written = save_prediction(loaded.mask, loaded, predictions)
    with pytest.raises(BratsDataError, match=r"unknown label values \[3\]; BraTS 2018-2020") as e:
        evaluate_folder(predictions, data, progress=False, release="brats2018-2020")
    assert e.value.path == written


def test_export_in_another_release_on_request(tmp_path):
    """MSD data exported as BraTS 2018-2020 labels, then scored with that convention."""
    data, predictions = tmp_path / "data", tmp_path / "predictions"
    _, mask = _write(data, "msd-task01")
    (case,) = find_cases(data)
    loaded = load_case(case)
    written = save_prediction(loaded.mask, loaded, predictions, release="brats2018-2020")
    np.testing.assert_array_equal(np.asanyarray(nib.load(written).dataobj), mask)
    scores = evaluate_folder(predictions, data, progress=False, release="brats2018-2020")
    assert (scores[[f"Dice_{region}" for region in REGIONS]] == 1.0).all().all()


# The real cases rewritten in each layout (tests/release_layouts.py) read back as the originals.


@pytest.mark.parametrize("release", LAYOUTS)
def test_real_cases_rewritten_in_each_layout_read_back_as_the_originals(release_sample, release):
    from brats_tutorial.data_sources import sample_dir

    folder = release_sample(release)
    cases = find_cases(folder)
    assert [c.case_id for c in cases] == [case_id(release, i) for i in (1, 2, 3)]
    assert {c.release.key for c in cases} == {release}
    loaded = load_case(cases[0], ("flair",))
    np.testing.assert_array_equal(loaded.mask, sample_mask(sample_dir(), 1))
    written_labels = set(np.unique(np.asanyarray(nib.load(cases[0].mask).dataobj)).tolist())
    assert written_labels == set(release_labels(release, loaded.mask).ravel().tolist())
    assert written_labels <= set(get_release(release).label_values)


def test_release_layouts_write_msd_as_the_decathlon_does(tmp_path):
    """The fixture's MSD files: one 4D image, a 3D label map, dataset.json beside them."""
    _write(tmp_path, "msd-task01")
    image = nib.load(tmp_path / "imagesTr" / "BRATS_001.nii.gz")
    label = nib.load(tmp_path / "labelsTr" / "BRATS_001.nii.gz")
    assert image.shape == (*SHAPE, 4) and label.shape == SHAPE
    assert json.loads((tmp_path / "dataset.json").read_text())["modality"]["2"] == "t1gd"
    assert sorted(os.listdir(tmp_path)) == ["dataset.json", "imagesTr", "labelsTr"]
