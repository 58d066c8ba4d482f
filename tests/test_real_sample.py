"""Real MRI: a Kaggle-style BraTS 2020 tree built from the BraTS 2018 sample, read back exactly.

The Kaggle mirror (awsaf49/brats20-dataset-training-validation) unpacks to::

    BraTS2020_TrainingData/MICCAI_BraTS2020_TrainingData/
        BraTS20_Training_001/BraTS20_Training_001_{flair,t1,t1ce,t2,seg}.nii   (uncompressed)
        BraTS20_Training_355/... with the mask named W39_1998.09.19_Segm.nii
        name_mapping.csv, survival_info.csv
    BraTS2020_ValidationData/MICCAI_BraTS2020_ValidationData/
        BraTS20_Validation_001/...  (no mask)
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nifti_builders import snapshot

from brats_tutorial.data_sources import sample_dir
from brats_tutorial.discovery import find_cases
from brats_tutorial.loading import load_case
from brats_tutorial.validation import NO_MASK_NOTE, validate_dataset

pytestmark = pytest.mark.real_data

MODALITY_NAMES = ("flair", "t1", "t1ce", "t2")
# Real case -> (BraTS 2020 id, folder kind). Brats18_2013_3_1 stores its mask as int16.
CASES = {
    "Brats18_2013_3_1": ("BraTS20_Training_001", "training"),
    "Brats18_CBICA_ABM_1": ("BraTS20_Training_355", "training"),
    "Brats18_TCIA10_628_1": ("BraTS20_Validation_001", "validation"),
}
ODD_MASK_NAME = "W39_1998.09.19_Segm.nii"


def _sample() -> Path:
    folder = sample_dir()
    if folder is None:
        pytest.skip(
            "real BraTS sample not found (set BRATS_SAMPLE_DIR or ../shared/brats18_sample)"
        )
    return folder


def _gunzip(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(source, "rb") as compressed, open(target, "wb") as plain:
        shutil.copyfileobj(compressed, plain)


@pytest.fixture(scope="module")
def kaggle_tree(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """(root of the tree, BraTS 2020 id -> folder of the real case it came from)."""
    sample = _sample()
    root = tmp_path_factory.mktemp("kaggle")
    training = root / "BraTS2020_TrainingData" / "MICCAI_BraTS2020_TrainingData"
    validation = root / "BraTS2020_ValidationData" / "MICCAI_BraTS2020_ValidationData"
    (training / "name_mapping.csv").parent.mkdir(parents=True)
    (training / "name_mapping.csv").write_text(
        "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,BraTS_2019_subject_ID,"
        "BraTS_2020_subject_ID\n"
        "HGG,Brats17_2013_3_1,Brats18_2013_3_1,BraTS19_2013_3_1,BraTS20_Training_001\n"
    )
    (training / "survival_info.csv").write_text("Brats20ID,Age,Survival_days\n")
    validation.mkdir(parents=True)
    (validation / "name_mapping_validation_data.csv").write_text("BraTS_2020_subject_ID\n")
    sources = {}
    for real_id, (new_id, kind) in CASES.items():
        folder = (training if kind == "training" else validation) / new_id
        for modality in MODALITY_NAMES:
            _gunzip(
                sample / real_id / f"{real_id}_{modality}.nii.gz",
                folder / f"{new_id}_{modality}.nii",
            )
        if kind == "training":
            mask_name = ODD_MASK_NAME if new_id.endswith("_355") else f"{new_id}_seg.nii"
            _gunzip(sample / real_id / f"{real_id}_seg.nii.gz", folder / mask_name)
        sources[new_id] = sample / real_id
    return root, sources


def test_every_case_and_case_355s_mask_are_found(kaggle_tree):
    root, _ = kaggle_tree
    cases = {case.case_id: case for case in find_cases(root)}

    assert sorted(cases) == sorted(new_id for new_id, _ in CASES.values())
    for case in cases.values():
        assert case.missing_modalities == ()
        assert all(path.suffix == ".nii" for path in case.images.values())
    assert cases["BraTS20_Training_355"].mask.name == ODD_MASK_NAME
    assert cases["BraTS20_Training_001"].mask.name == "BraTS20_Training_001_seg.nii"
    assert cases["BraTS20_Validation_001"].mask is None


def test_arrays_equal_the_originals_with_course_dtypes(kaggle_tree):
    root, sources = kaggle_tree
    for case_files in find_cases(root):
        source = sources[case_files.case_id]
        real_id = source.name
        case = load_case(case_files)
        for modality in MODALITY_NAMES:
            original = nib.load(source / f"{real_id}_{modality}.nii.gz")
            image = case.images[modality]
            assert image.dtype == np.float32 and image.shape == (240, 240, 155)
            # np.array_equal: assert_array_equal is slow on 9 million voxels.
            assert np.array_equal(image, np.asarray(original.dataobj, dtype=np.float32))
            np.testing.assert_allclose(case.affine, original.affine)
        if case_files.mask is None:
            assert case.mask is None
            continue
        original_mask = nib.load(source / f"{real_id}_seg.nii.gz")
        stored = np.asarray(original_mask.dataobj)
        if real_id == "Brats18_2013_3_1":
            assert original_mask.get_data_dtype() == np.int16  # the sample's one int16 mask
        assert case.mask.dtype == np.uint8
        assert np.array_equal(case.mask, stored)  # labels equal, 355's odd name included
        assert set(np.unique(case.mask).tolist()) <= {0, 1, 2, 4}
        assert np.count_nonzero(case.mask) > 0
        assert case.spacing == (1.0, 1.0, 1.0)


def test_the_tree_validates_clean_and_is_left_untouched(kaggle_tree):
    root, _ = kaggle_tree
    before = snapshot(root)

    report = validate_dataset(root)

    assert snapshot(root) == before
    assert report.ok, report.format()
    assert report.masks_expected
    notes = {case.case_id: case.notes for case in report.cases}
    assert notes == {
        "BraTS20_Training_001": [],
        "BraTS20_Training_355": [],
        "BraTS20_Validation_001": [NO_MASK_NOTE],
    }


@pytest.mark.slow  # all 8 real cases, 40 compressed files: a few seconds
def test_the_whole_sample_validates_clean():
    sample = _sample()
    report = validate_dataset(sample)
    assert report.ok, report.format()
    assert report.n_cases == len([p for p in sample.iterdir() if p.is_dir()])
    assert all(case.has_mask and case.notes == [] for case in report.cases)
