"""The synthetic BraTS-like data set on disk: layout, geometry, seeds, idempotence, interruption."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brats_tutorial import synthetic
from brats_tutorial.constants import MODALITIES, VOLUME_SHAPE
from brats_tutorial.data_sources import resolve_data_dir
from brats_tutorial.discovery import find_cases
from brats_tutorial.errors import BratsDataError
from brats_tutorial.loading import load_case
from brats_tutorial.synthetic import case_seed, generate_dataset, is_low_grade
from brats_tutorial.synthetic_anatomy import generate_case

REPOSITORY = Path(__file__).resolve().parent.parent
# The real BraTS files' voxel-to-world matrix, written out from the issue (LPS, 1 mm, y flipped).
REAL_AFFINE = np.array(
    [[-1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 239.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)
KINDS = (*MODALITIES, "seg")
DATASET_SEED = 2  # its case 2 is low grade, case 1 high grade


def _dataset_case(seed: int, index: int) -> dict[str, np.ndarray]:
    return generate_case(case_seed(seed, index), low_grade=is_low_grade(seed, index))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """Two uncompressed cases written by generate_dataset: (folder, returned case folders)."""
    folder = tmp_path_factory.mktemp("synthetic") / "data"
    return folder, generate_dataset(folder, n_cases=2, seed=DATASET_SEED)


# --------------------------------------------------------------------------------------------
# Layout, files, geometry, which cases are low grade
# --------------------------------------------------------------------------------------------


def test_layout_and_names_follow_brats_2020(dataset: tuple[Path, list[Path]]) -> None:
    folder, case_folders = dataset
    expected_ids = ["BraTS20_Training_001", "BraTS20_Training_002"]
    assert [path.name for path in case_folders] == expected_ids
    assert all(path.parent == folder for path in case_folders)
    # Nothing but the cases and the marker: no temporary files left behind.
    assert sorted(path.name for path in folder.iterdir()) == [*expected_ids, "synthetic.json"]
    for case_folder in case_folders:
        names = sorted(path.name for path in case_folder.iterdir())
        assert names == sorted(f"{case_folder.name}_{kind}.nii" for kind in KINDS)

    cases = find_cases(folder)
    assert [case.case_id for case in cases] == expected_ids
    for case in cases:
        assert case.missing_modalities == ()
        assert case.mask is not None and case.mask.name == f"{case.case_id}_seg.nii"


def test_files_have_brats_geometry_and_dtypes(dataset: tuple[Path, list[Path]]) -> None:
    _, case_folders = dataset
    for path in sorted(case_folders[0].iterdir()):
        image = nib.load(path)
        assert image.shape == VOLUME_SHAPE
        assert image.header.get_zooms() == (1.0, 1.0, 1.0)
        np.testing.assert_array_equal(image.affine, REAL_AFFINE)
        assert nib.aff2axcodes(image.affine) == ("L", "P", "S")
        expected_dtype = np.uint8 if path.name.endswith("_seg.nii") else np.int16
        assert image.get_data_dtype() == expected_dtype
        assert np.asanyarray(image.dataobj).dtype == expected_dtype


def test_affine_matches_the_real_sample(dataset: tuple[Path, list[Path]]) -> None:
    from brats_tutorial.data_sources import sample_dir

    sample = sample_dir()
    if sample is None:
        pytest.skip("real BraTS sample not found (set BRATS_SAMPLE_DIR)")
    real_file = find_cases(sample)[0].images["t1"]
    synthetic_file = dataset[1][0] / f"{dataset[1][0].name}_t1.nii"
    np.testing.assert_allclose(nib.load(synthetic_file).affine, nib.load(real_file).affine)


def test_loaded_case_matches_generate_case(dataset: tuple[Path, list[Path]]) -> None:
    folder, _ = dataset
    for index, case_files in enumerate(find_cases(folder), start=1):
        case = load_case(case_files)
        expected = _dataset_case(DATASET_SEED, index)
        for modality in MODALITIES:
            np.testing.assert_array_equal(case.images[modality], expected[modality])
        np.testing.assert_array_equal(case.mask, expected["seg"])
        # The data set follows is_low_grade: no enhancing tumour exactly in low-grade cases.
        expected_labels = {0, 1, 2} if is_low_grade(DATASET_SEED, index) else {0, 1, 2, 4}
        assert set(np.unique(case.mask).tolist()) == expected_labels
    assert [is_low_grade(DATASET_SEED, index) for index in (1, 2)] == [False, True]


def test_one_case_in_five_is_low_grade_and_seed_dependent() -> None:
    for seed in range(5):
        grades = [is_low_grade(seed, index) for index in range(1, 101)]
        assert sum(grades) == 20
        # Exactly one per block of five consecutive cases.
        assert all(sum(grades[start : start + 5]) == 1 for start in range(0, 100, 5))
    patterns = {tuple(is_low_grade(seed, index) for index in range(1, 21)) for seed in range(10)}
    assert len(patterns) > 1


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_dataset(tmp_path / "a", n_cases=0)
    with pytest.raises(ValueError):
        generate_dataset(tmp_path / "b", n_cases=1, start_index=0)
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    with pytest.raises(BratsDataError, match="not a folder"):
        generate_dataset(a_file, n_cases=1)


# --------------------------------------------------------------------------------------------
# Writing: idempotence, interruption, user files, compression
# --------------------------------------------------------------------------------------------


def _modification_times(folder: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in sorted(folder.rglob("*"))}


def test_second_call_does_not_rewrite(dataset: tuple[Path, list[Path]], monkeypatch) -> None:
    folder, case_folders = dataset
    before = _modification_times(folder)
    marker = json.loads((folder / "synthetic.json").read_text())
    assert marker["complete"] is True
    assert (marker["n_cases"], marker["seed"], marker["compressed"]) == (2, DATASET_SEED, False)
    assert marker["cases"] == [path.name for path in case_folders]

    def must_not_run(*args, **kwargs):
        raise AssertionError("generate_case called for a complete data set")

    monkeypatch.setattr(synthetic, "generate_case", must_not_run)
    assert generate_dataset(folder, n_cases=2, seed=DATASET_SEED) == case_folders
    assert _modification_times(folder) == before


def test_other_parameters_are_refused_and_nothing_changes(
    dataset: tuple[Path, list[Path]],
) -> None:
    folder, _ = dataset
    before = _modification_times(folder)
    with pytest.raises(BratsDataError, match=f"seed={DATASET_SEED}"):
        generate_dataset(folder, n_cases=2, seed=DATASET_SEED + 1)
    with pytest.raises(BratsDataError, match="n_cases=2"):
        generate_dataset(folder, n_cases=3, seed=DATASET_SEED)
    assert _modification_times(folder) == before


def test_user_files_are_never_overwritten(tmp_path: Path) -> None:
    user_file = tmp_path / "BraTS20_Training_001" / "BraTS20_Training_001_flair.nii"
    user_file.parent.mkdir()
    user_file.write_bytes(b"the user's own scan")
    with pytest.raises(BratsDataError, match="refusing to overwrite"):
        generate_dataset(tmp_path, n_cases=1, seed=0)
    assert user_file.read_bytes() == b"the user's own scan"
    assert not (tmp_path / "synthetic.json").exists()


def test_interrupted_run_is_finished_by_the_next_call(tmp_path: Path, monkeypatch) -> None:
    real_generate_case = synthetic.generate_case
    calls = []

    def fail_on_second_case(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return real_generate_case(*args, **kwargs)

    monkeypatch.setattr(synthetic, "generate_case", fail_on_second_case)
    with pytest.raises(RuntimeError, match="interrupted"):
        generate_dataset(tmp_path, n_cases=2, seed=0)
    assert json.loads((tmp_path / "synthetic.json").read_text())["complete"] is False
    assert not (tmp_path / "BraTS20_Training_002").exists()
    first_case = _modification_times(tmp_path / "BraTS20_Training_001")
    assert len(first_case) == len(KINDS)

    monkeypatch.setattr(synthetic, "generate_case", real_generate_case)
    generate_dataset(tmp_path, n_cases=2, seed=0)
    # The complete first case is kept, the second written.
    assert _modification_times(tmp_path / "BraTS20_Training_001") == first_case
    assert json.loads((tmp_path / "synthetic.json").read_text())["complete"] is True
    assert [case.case_id for case in find_cases(tmp_path)] == [
        "BraTS20_Training_001",
        "BraTS20_Training_002",
    ]
    assert not [path for path in tmp_path.rglob(".*")]  # no temporary files left


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPOSITORY / "data_scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_writes_compressed_cases_from_start_index(tmp_path: Path) -> None:
    script = _load_script("make_synthetic")
    output = tmp_path / "compressed"
    arguments = [str(output), "--cases", "1", "--seed", "2", "--start-index", "7", "--compressed"]
    assert script.main(arguments) == 0
    case_folder = output / "BraTS20_Training_007"
    names = sorted(path.name for path in case_folder.iterdir())
    assert names == sorted(f"BraTS20_Training_007_{kind}.nii.gz" for kind in KINDS)
    for path in case_folder.iterdir():
        with gzip.open(path) as handle:  # really gzip, not a renamed .nii
            assert len(handle.read(348)) == 348
    case = load_case(find_cases(output)[0])
    expected = _dataset_case(2, 7)
    np.testing.assert_array_equal(case.images["t1ce"], expected["t1ce"])
    np.testing.assert_array_equal(case.mask, expected["seg"])
    # Same arguments again: nothing to do, success.
    assert script.main(arguments) == 0
    # Other arguments for the same folder: an error message and exit status 2 (unusable input).
    assert script.main([str(output), "--cases", "2", "--seed", "2"]) == 2


def test_data_sources_generates_synthetic_data_when_nothing_is_configured(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("BRATS_DATA_DIR", raising=False)
    monkeypatch.setenv("BRATS_WORK_DIR", str(tmp_path))
    folder, is_synthetic = resolve_data_dir(synthetic_cases=1, seed=0)
    assert is_synthetic
    assert folder.parent == tmp_path
    assert [case.case_id for case in find_cases(folder)] == ["BraTS20_Training_001"]
