"""Tests of brats_tutorial.evaluation on tiny NIfTI folders written in tmp_path."""

from __future__ import annotations

import statistics
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from brats_tutorial.constants import HD95_ONE_EMPTY_MM
from brats_tutorial.errors import BratsDataError
from brats_tutorial.evaluation import (
    best_median_worst,
    evaluate_case,
    evaluate_folder,
    save_scores_csv,
    scores_table,
    summarise,
)
from brats_tutorial.volume_metrics import ORIGINAL_NOTEBOOK_METRICS, hd95

SHAPE = (20, 18, 12)
SPACING = (1.0, 1.5, 3.0)
REGION_LABELS = {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)}
METRICS = ("Dice", "Sensitivity", "Specificity", "HD95")


def tumour_labels(seed: int) -> np.ndarray:
    """uint8 SHAPE, labels {0, 1, 2, 4}: a random ellipsoid of oedema around a core."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform((7, 6, 4), (13, 12, 8))
    radii = rng.uniform((3, 3, 2), (6, 5, 4))
    grid = np.indices(SHAPE).astype(float)
    distance = np.sqrt(sum(((grid[a] - centre[a]) / radii[a]) ** 2 for a in range(3)))
    labels = np.zeros(SHAPE, dtype=np.uint8)
    labels[distance < 1.0] = 2
    labels[distance < 0.6] = 4
    labels[distance < 0.3] = 1
    return labels


def write_nifti(path: Path, data: np.ndarray, spacing: tuple[float, ...] = SPACING) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.diag([*spacing, 1.0])), path)


def make_folders(tmp_path: Path, n_cases: int = 3) -> tuple[Path, Path, dict, dict]:
    """References as <CASE>/<CASE>_seg.nii.gz, predictions as <CASE>.nii.gz (eroded, shifted)."""
    reference_dir, prediction_dir = tmp_path / "reference", tmp_path / "prediction"
    references, predictions = {}, {}
    for index in range(n_cases):
        case_id = f"BraTS20_Training_{index + 1:03d}"
        reference = tumour_labels(index)
        prediction = np.roll(reference, shift=(index, index), axis=(0, 2))
        if index == 2:  # also mislabel the inside of the oedema as enhancing tumour
            prediction[ndimage.binary_erosion(prediction == 2)] = 4
        write_nifti(reference_dir / case_id / f"{case_id}_seg.nii.gz", reference)
        write_nifti(prediction_dir / f"{case_id}.nii.gz", prediction)
        references[case_id], predictions[case_id] = reference, prediction
    return prediction_dir, reference_dir, references, predictions


def numpy_region_masks(labels: np.ndarray, region: str) -> np.ndarray:
    mask = np.zeros(labels.shape, dtype=bool)
    for label in REGION_LABELS[region]:
        mask |= labels == label
    return mask


def test_evaluate_folder_scores_every_case(tmp_path: Path) -> None:
    prediction_dir, reference_dir, references, predictions = make_folders(tmp_path)
    per_case = evaluate_folder(prediction_dir, reference_dir, progress=False)
    assert list(per_case.index) == sorted(references)
    assert per_case.index.name == "Case"
    assert list(per_case.columns) == [
        f"{metric}_{region}" for metric in METRICS for region in ("WT", "TC", "ET")
    ] + list(ORIGINAL_NOTEBOOK_METRICS)
    for case_id, reference in references.items():
        prediction = predictions[case_id]
        for region in ("WT", "TC", "ET"):
            p, r = numpy_region_masks(prediction, region), numpy_region_masks(reference, region)
            overlap = np.sum(p & r)
            assert per_case.loc[case_id, f"Dice_{region}"] == pytest.approx(
                2 * overlap / (p.sum() + r.sum())
            )
            assert per_case.loc[case_id, f"Sensitivity_{region}"] == pytest.approx(
                overlap / r.sum()
            )
            # the spacing comes from the reference file's header
            assert per_case.loc[case_id, f"HD95_{region}"] == pytest.approx(hd95(p, r, SPACING))
        accuracy = np.mean(prediction == reference)
        assert per_case.loc[case_id, "Sensitivity (all classes)"] == pytest.approx(accuracy)
    # the shifted cases are imperfect, the unshifted one is perfect
    assert per_case.iloc[0]["HD95_WT"] == 0.0
    assert per_case.iloc[1]["HD95_WT"] > 0.0


def test_evaluate_case_row(tmp_path: Path) -> None:
    reference = tumour_labels(5)
    row = evaluate_case(reference, reference, SPACING, "case_x")
    assert row["Case"] == "case_x"
    assert row["Dice_WT"] == 1.0 and row["HD95_ET"] == 0.0
    assert row["Dice (all classes, with background)"] == pytest.approx(1.0)


def test_default_scores_the_cases_that_have_predictions(tmp_path: Path) -> None:
    # e.g. the test split's predictions against a data folder holding every case
    prediction_dir, reference_dir, references, _ = make_folders(tmp_path)
    unpredicted = sorted(references)[1]
    (prediction_dir / f"{unpredicted}.nii.gz").unlink()
    per_case = evaluate_folder(prediction_dir, reference_dir, progress=False)
    assert list(per_case.index) == sorted(set(references) - {unpredicted})


def test_missing_prediction_of_a_listed_case_is_an_error(tmp_path: Path) -> None:
    prediction_dir, reference_dir, references, _ = make_folders(tmp_path)
    missing_case = sorted(references)[1]
    (prediction_dir / f"{missing_case}.nii.gz").unlink()
    with pytest.raises(BratsDataError, match=f"no prediction for 1 of 3 case.*{missing_case}"):
        evaluate_folder(prediction_dir, reference_dir, progress=False, case_ids=list(references))


def test_missing_prediction_scored_as_empty_on_request(tmp_path: Path) -> None:
    prediction_dir, reference_dir, references, _ = make_folders(tmp_path)
    missing_case = sorted(references)[1]
    (prediction_dir / f"{missing_case}.nii.gz").unlink()
    per_case = evaluate_folder(
        prediction_dir, reference_dir, progress=False, case_ids=list(references), missing="empty"
    )
    assert list(per_case.index) == sorted(references)
    row = per_case.loc[missing_case]
    for region in ("WT", "TC", "ET"):
        assert row[f"Dice_{region}"] == 0.0
        assert row[f"Sensitivity_{region}"] == 0.0
        assert row[f"HD95_{region}"] == pytest.approx(HD95_ONE_EMPTY_MM)
    background = np.mean(references[missing_case] == 0)
    assert row["Sensitivity (all classes)"] == pytest.approx(background)


def test_case_ids_select_cases(tmp_path: Path) -> None:
    prediction_dir, reference_dir, references, _ = make_folders(tmp_path)
    chosen = sorted(references)[::2]
    per_case = evaluate_folder(prediction_dir, reference_dir, progress=False, case_ids=chosen)
    assert list(per_case.index) == chosen


def test_prediction_without_reference_is_an_error(tmp_path: Path) -> None:
    prediction_dir, reference_dir, references, _ = make_folders(tmp_path, n_cases=2)
    write_nifti(prediction_dir / "Unknown_Case.nii.gz", tumour_labels(9))
    with pytest.raises(BratsDataError, match="no reference mask.*Unknown_Case"):
        evaluate_folder(prediction_dir, reference_dir, progress=False)
    # listing the cases to score leaves the stray file out
    per_case = evaluate_folder(
        prediction_dir, reference_dir, progress=False, case_ids=list(references)
    )
    assert list(per_case.index) == sorted(references)


def test_empty_prediction_folder_is_an_error(tmp_path: Path) -> None:
    _, reference_dir, _, _ = make_folders(tmp_path, n_cases=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BratsDataError, match="no prediction files"):
        evaluate_folder(tmp_path / "empty", reference_dir, progress=False)


def test_bad_prediction_files_name_the_file(tmp_path: Path) -> None:
    prediction_dir, reference_dir, references, _ = make_folders(tmp_path, n_cases=1)
    (case_id,) = references
    path = prediction_dir / f"{case_id}.nii.gz"
    write_nifti(path, np.zeros((SHAPE[0], SHAPE[1], SHAPE[2] + 1), dtype=np.uint8))
    with pytest.raises(BratsDataError, match="shape"):
        evaluate_folder(prediction_dir, reference_dir, progress=False)
    labels = tumour_labels(0)
    labels[0, 0, 0] = 3
    write_nifti(path, labels)
    with pytest.raises(BratsDataError, match=f"{case_id}.nii.gz.*unknown label"):
        evaluate_folder(prediction_dir, reference_dir, progress=False)
    with pytest.raises(BratsDataError, match="does not exist"):
        evaluate_folder(tmp_path / "nowhere", reference_dir, progress=False)


def test_summarise_matches_numpy(tmp_path: Path) -> None:
    prediction_dir, reference_dir, _, _ = make_folders(tmp_path, n_cases=4)
    per_case = evaluate_folder(prediction_dir, reference_dir, progress=False)
    summary = summarise(per_case)
    assert list(summary.index) == ["Mean", "StdDev", "Median", "25quantile", "75quantile"]
    assert list(summary.columns) == list(per_case.columns)
    for column in per_case.columns:
        values = per_case[column].to_numpy(dtype=float)
        assert summary.loc["Mean", column] == pytest.approx(np.mean(values))
        assert summary.loc["StdDev", column] == pytest.approx(np.std(values, ddof=1))
        assert summary.loc["Median", column] == pytest.approx(np.median(values))
        assert summary.loc["25quantile", column] == pytest.approx(np.percentile(values, 25))
        assert summary.loc["75quantile", column] == pytest.approx(np.percentile(values, 75))
    # a "Case" column instead of the index is not a metric
    assert summarise(per_case.reset_index()).equals(summary)


def test_save_scores_csv_writes_cases_then_summary(tmp_path: Path) -> None:
    prediction_dir, reference_dir, references, _ = make_folders(tmp_path, n_cases=3)
    per_case = evaluate_folder(prediction_dir, reference_dir, progress=False)
    path = tmp_path / "results" / "scores.csv"
    save_scores_csv(per_case, path)
    sheet = pd.read_csv(path)
    assert sheet.columns[0] == "Case"
    assert list(sheet["Case"]) == sorted(references) + [
        "Mean",
        "StdDev",
        "Median",
        "25quantile",
        "75quantile",
    ]
    sheet = sheet.set_index("Case")
    for column in per_case.columns:
        np.testing.assert_allclose(
            sheet.loc[sorted(references), column].to_numpy(), per_case[column].to_numpy()
        )
        assert sheet.loc["Mean", column] == pytest.approx(per_case[column].mean())
        assert sheet.loc["75quantile", column] == pytest.approx(np.percentile(per_case[column], 75))
    assert sorted(p.name for p in path.parent.iterdir()) == ["scores.csv"]  # no temporary left


def test_scores_table_is_region_by_metric_means(tmp_path: Path) -> None:
    prediction_dir, reference_dir, _, _ = make_folders(tmp_path, n_cases=3)
    per_case = evaluate_folder(prediction_dir, reference_dir, progress=False)
    table = scores_table(per_case)
    assert list(table.index) == ["WT", "TC", "ET"]
    assert list(table.columns) == list(METRICS)
    for region in table.index:
        for metric in table.columns:
            assert table.loc[region, metric] == pytest.approx(per_case[f"{metric}_{region}"].mean())


def test_best_median_worst_picks_by_the_score():
    table = pd.DataFrame(
        {
            "case_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "Dice_WT": [0.80, 0.95, 0.30, 0.60, np.nan, 0.70],
            "HD95_WT": [5.0, 2.0, 40.0, 9.0, 3.0, 7.5],
        }
    )
    valid = table.dropna(subset=["Dice_WT"])
    median_value = statistics.median_low(valid["Dice_WT"])
    expected = [
        valid.loc[valid["Dice_WT"].idxmax(), "case_id"],
        valid.loc[valid["Dice_WT"] == median_value, "case_id"].iloc[0],
        valid.loc[valid["Dice_WT"].idxmin(), "case_id"],
    ]
    assert best_median_worst(table, "Dice_WT") == expected == ["c2", "c6", "c3"]
    # Distances: lower is better; the median of six values is the lower middle one (5.0).
    assert best_median_worst(table, "HD95_WT") == ["c2", "c1", "c3"]
    assert best_median_worst(table, "HD95_WT", higher_is_better=True) == ["c3", "c1", "c2"]
    indexed = table.set_index("case_id")
    assert best_median_worst(indexed, "Dice_WT") == expected
    assert best_median_worst(table.iloc[[0]], "Dice_WT") == ["c1"] * 3
    with pytest.raises(ValueError, match="no case"):
        best_median_worst(table.iloc[[4]], "Dice_WT")

    # The evaluation's table: ids in the index "Case"; read back from CSV, a "Case" column
    # followed by summary rows, which are not cases.
    evaluated = table.rename(columns={"case_id": "Case"}).set_index("Case")
    assert best_median_worst(evaluated, "Dice_WT") == expected
    summary = pd.DataFrame(
        {"Case": ["Mean", "StdDev", "Median"], "Dice_WT": [0.99, 0.01, 0.7], "HD95_WT": [0.1] * 3}
    )
    read_back = pd.concat([evaluated.reset_index(), summary], ignore_index=True)
    assert best_median_worst(read_back, "Dice_WT") == expected
    with pytest.raises(KeyError, match="Dice_ET"):
        best_median_worst(table, "Dice_ET")
