"""Finding cases in the layouts the course meets; loading them with the right arrays and dtypes."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nifti_builders import MODALITY_NAMES, make_image, make_mask, write_case, write_nifti

from brats_tutorial.discovery import find_cases
from brats_tutorial.errors import BratsDataError
from brats_tutorial.loading import load_case, load_volume
from brats_tutorial.validation import NO_MASK_NOTE, validate_dataset

# Left-right and front-back flipped, 2 mm slices, shifted: catches a loader that drops the affine.
AFFINE = np.array([[-1.0, 0, 0, 120.0], [0, -1.0, 0, 119.0], [0, 0, 2.0, -40.0], [0, 0, 0, 1.0]])


def assert_case_matches(case, written: dict[str, np.ndarray], affine=AFFINE) -> None:
    for modality, expected in written.items():
        if modality == "seg":
            continue
        assert case.images[modality].dtype == np.float32
        np.testing.assert_array_equal(case.images[modality], expected.astype(np.float32))
    if "seg" in written:
        assert case.mask.dtype == np.uint8
        np.testing.assert_array_equal(case.mask, written["seg"])
    else:
        assert case.mask is None
    np.testing.assert_allclose(case.affine, affine)


def test_nested_layout_with_hgg_lgg_folders(tmp_path):
    root = tmp_path / "MICCAI_BraTS_2018_Data_Training"
    written_a = write_case(root / "HGG" / "Brats18_A_1", "Brats18_A_1", seed=1, affine=AFFINE)
    written_b = write_case(root / "LGG" / "Brats18_B_1", "Brats18_B_1", seed=2, affine=AFFINE)

    cases = find_cases(root)

    assert [case.case_id for case in cases] == ["Brats18_A_1", "Brats18_B_1"]
    assert cases[0].folder == root / "HGG" / "Brats18_A_1"
    assert cases[1].folder == root / "LGG" / "Brats18_B_1"
    for case in cases:
        assert set(case.images) == set(MODALITY_NAMES)
        assert case.mask == case.folder / f"{case.case_id}_seg.nii.gz"
        assert case.has_mask and case.missing_modalities == ()
    assert_case_matches(load_case(cases[0]), written_a)
    loaded_b = load_case(cases[1])
    assert_case_matches(loaded_b, written_b)
    assert loaded_b.spacing == (1.0, 1.0, 2.0)


def test_flat_layout_with_uncompressed_files(tmp_path):
    written_a = write_case(tmp_path, "Case_A", suffix=".nii", seed=3, affine=AFFINE)
    written_b = write_case(tmp_path, "Case_B", suffix=".nii", seed=4, affine=AFFINE)

    cases = find_cases(tmp_path)

    assert [case.case_id for case in cases] == ["Case_A", "Case_B"]
    assert all(case.folder == tmp_path for case in cases)
    assert cases[0].images["t1ce"] == tmp_path / "Case_A_t1ce.nii"
    assert_case_matches(load_case(cases[0]), written_a)
    assert_case_matches(load_case(cases[1]), written_b)


def test_nii_and_nii_gz_mixed_in_one_case(tmp_path):
    folder = tmp_path / "Mixed_1"
    written = write_case(
        folder, "Mixed_1", modalities=("flair", "t1"), suffix=".nii", with_mask=False, seed=5
    )
    written.update(
        write_case(folder, "Mixed_1", modalities=("t1ce", "t2"), suffix=".nii.gz", seed=6)
    )
    (case,) = find_cases(tmp_path)
    assert case.images["flair"].name == "Mixed_1_flair.nii"
    assert case.images["t2"].name == "Mixed_1_t2.nii.gz"
    assert case.mask.name == "Mixed_1_seg.nii.gz"
    assert_case_matches(load_case(case), written, affine=np.eye(4))


def test_hidden_temporary_and_other_files_are_ignored(tmp_path):
    folder = tmp_path / "data" / "Case_1"
    written = write_case(folder, "Case_1", seed=7)
    garbage = np.random.default_rng(0).bytes(500)
    for name in [
        ".Case_1_flair.nii.gz",  # hidden copy
        "._Case_1_t1.nii.gz",  # macOS resource fork
        "Case_1_t2.nii.gz.part",  # unfinished download
        "Case_1_t1ce.nii.crdownload",
        "Case_1_flair.nii.gz~",  # editor backup
        "README.txt",
    ]:
        (folder / name).write_bytes(garbage)
    (tmp_path / "data" / "name_mapping.csv").write_text("Grade,BraTS_2020_subject_ID\n")
    # A whole case inside a hidden folder is not a case either.
    write_case(tmp_path / "data" / ".ipynb_checkpoints" / "Case_2", "Case_2", seed=8)

    cases = find_cases(tmp_path / "data")

    assert [case.case_id for case in cases] == ["Case_1"]
    assert sorted(path.name for path in cases[0].images.values()) == sorted(
        f"Case_1_{modality}.nii.gz" for modality in MODALITY_NAMES
    )
    assert_case_matches(load_case(cases[0]), written, affine=np.eye(4))
    assert validate_dataset(tmp_path / "data").ok


def test_validation_case_without_mask(tmp_path):
    written = write_case(
        tmp_path / "BraTS20_Validation_001", "BraTS20_Validation_001", with_mask=False, seed=9
    )
    (case,) = find_cases(tmp_path)
    assert not case.has_mask and case.mask is None
    loaded = load_case(case)
    assert_case_matches(loaded, written, affine=np.eye(4))

    report = validate_dataset(tmp_path, expect_masks=False)
    assert report.ok
    notes = report.cases[0].notes
    assert NO_MASK_NOTE in notes
    assert [note for note in notes if note != NO_MASK_NOTE] == [
        "warning: shape (8, 8, 6) is not the BraTS 240 x 240 x 155"
    ]
    assert NO_MASK_NOTE in report.format()


def test_only_requested_modalities_are_loaded_and_stacked_in_order(tmp_path):
    written = write_case(tmp_path / "Case_1", "Case_1", seed=10)
    (case_files,) = find_cases(tmp_path)

    case = load_case(case_files, modalities=("t1ce", "flair"), load_mask=False)

    assert list(case.images) == ["t1ce", "flair"]
    assert case.mask is None
    stacked = case.stack(("t1ce", "flair"))
    assert stacked.shape == written["flair"].shape + (2,)
    assert stacked.dtype == np.float32
    np.testing.assert_array_equal(stacked[..., 0], written["t1ce"])
    np.testing.assert_array_equal(stacked[..., 1], written["flair"])


def test_brats2020_case_355_mask_with_odd_name(tmp_path):
    folder = tmp_path / "BraTS20_Training_355"
    written = write_case(
        folder, "BraTS20_Training_355", suffix=".nii", mask_name="W39_1998.09.19_Segm.nii", seed=11
    )
    (case,) = find_cases(tmp_path)
    assert case.mask == folder / "W39_1998.09.19_Segm.nii"
    assert_case_matches(load_case(case), written, affine=np.eye(4))


def test_odd_mask_name_ignored_when_the_case_has_its_own_mask(tmp_path):
    folder = tmp_path / "Case_1"
    write_case(folder, "Case_1", seed=12)
    write_nifti(folder / "Other_Segm.nii", make_mask(seed=99))
    (case,) = find_cases(tmp_path)
    assert case.mask == folder / "Case_1_seg.nii.gz"


def test_odd_mask_name_not_attached_outside_its_case_folder(tmp_path):
    # In a folder not named after the case, an odd mask cannot be told to belong to the case.
    write_case(tmp_path / "somewhere", "Case_1", with_mask=False, seed=13)
    write_nifti(tmp_path / "somewhere" / "W39_1998.09.19_Segm.nii", make_mask())
    (case,) = find_cases(tmp_path)
    assert case.mask is None


def test_missing_modalities_are_listed_in_order(tmp_path):
    write_case(tmp_path / "Case_1", "Case_1", modalities=("t2", "flair"), seed=14)
    (case,) = find_cases(tmp_path)
    assert case.missing_modalities == ("t1", "t1ce")


@pytest.mark.parametrize("stored_dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_masks_of_any_stored_dtype_load_as_uint8(tmp_path, stored_dtype):
    # BraTS stores masks as uint8, but the 2013 cases as int16, and some tools write floats.
    mask = make_mask(seed=15)
    path = write_nifti(tmp_path / "Case_1_seg.nii.gz", mask.astype(stored_dtype))
    volume = load_volume(path, is_mask=True)
    assert volume.data.dtype == np.uint8
    np.testing.assert_array_equal(volume.data, mask)


def test_images_are_scaled_by_the_header_slope_and_intercept(tmp_path):
    raw = make_image(seed=16)
    image = nib.Nifti1Image(raw, np.eye(4))
    image.header.set_slope_inter(0.5, 10.0)
    path = tmp_path / "Case_1_t1.nii.gz"
    nib.save(image, path)
    volume = load_volume(path)
    assert volume.data.dtype == np.float32
    np.testing.assert_allclose(volume.data, raw.astype(np.float64) * 0.5 + 10.0, rtol=1e-6)


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "Case_1_flair.nii.gz"
    with pytest.raises(BratsDataError, match="Case_1_flair.nii.gz: file does not exist"):
        load_volume(missing)


def test_root_given_as_a_relative_string(tmp_path, monkeypatch):
    write_case(tmp_path / "data" / "Case_1", "Case_1", seed=17)
    monkeypatch.chdir(tmp_path)
    (case,) = find_cases("data")
    assert case.case_id == "Case_1"
    assert Path(case.folder) == Path("data") / "Case_1"
    assert load_case(case, modalities=("flair",)).images["flair"].shape == make_image().shape
