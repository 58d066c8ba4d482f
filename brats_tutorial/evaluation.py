"""Evaluate a folder of predicted label maps against BraTS references, as the challenge does.

Predictions follow the BraTS submission format: one file ``<CASE>.nii.gz`` (or ``<CASE>.nii``)
per case, same grid as the case's images, labels in the reference data's own release
(:mod:`brats_tutorial.releases`: {0, 1, 2, 4} for BraTS 2018-2021, {0, 1, 2, 3} for BraTS 2023+
adult glioma and MSD Task01, as ``brats-tutorial predict`` writes them). Prediction and reference
are both mapped to the course's labels before scoring, so a release is never scored with another
release's numbers. The per-case table has one row per
case (index ``Case``) and the columns of :func:`brats_tutorial.volume_metrics.region_scores`
followed by those of :func:`brats_tutorial.volume_metrics.original_notebook_scores`.

Which cases are scored: by default every prediction file (each needs a reference mask), which
suits a folder of the test split's predictions beside a data folder of every case. Passing
``case_ids`` (e.g. the test split) scores exactly those: a case without a prediction file is then
an error by default (a mean over the cases that happen to be there looks better than it is), or,
with ``missing="empty"``, scored as an all-background prediction, which is what the BraTS
challenge does with a missing segmentation (Dice 0, HD95 373.13 mm wherever the reference has
the region).

Reading the table: :func:`summarise` and :func:`save_scores_csv` (the BraTS ranking sheet),
:func:`scores_table` (region x metric means), :func:`case_scores` (the case rows of a table or a
sheet read back) and :func:`best_median_worst` (which cases to look at). The figures of these
scores are in :mod:`brats_tutorial.figures.result_figures`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .atomic import atomic_path
from .constants import REGIONS
from .discovery import find_cases
from .errors import BratsDataError
from .labels import labels_to_classes
from .loading import load_volume
from .releases import Release, get_release
from .volume_metrics import REGION_METRICS, original_notebook_scores, region_scores

#: Name of the case column (the index of the per-case table).
CASE_COLUMN: str = "Case"
#: Summary rows, named as in the BraTS ranking sheets.
SUMMARY_ROWS: tuple[str, ...] = ("Mean", "StdDev", "Median", "25quantile", "75quantile")
_PREDICTION_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii")
#: Columns that may hold the case ids of a per-case table (else its index does).
_CASE_ID_COLUMNS: tuple[str, ...] = ("case_id", CASE_COLUMN)


def evaluate_case(
    prediction_labels: np.ndarray,
    reference_labels: np.ndarray,
    spacing: Sequence[float],
    case_id: str,
) -> dict[str, str | float]:
    """Scores of one case: the BraTS region metrics and the original notebook's metrics.

    Args:
        prediction_labels: uint8 (240, 240, 155), file labels {0, 1, 2, 4}.
        reference_labels: uint8 (240, 240, 155), file labels {0, 1, 2, 4}.
        spacing: voxel size in mm, (x, y, z).
        case_id: e.g. ``"BraTS20_Training_001"``.

    Returns:
        ``{"Case": case_id, "Dice_WT": ..., ..., "HD95_ET": ..., "Dice (all classes, with
        background)": ..., "Sensitivity (all classes)": ..., "Specificity (all classes)": ...}``.
    """
    row: dict[str, str | float] = {CASE_COLUMN: case_id}
    row.update(region_scores(prediction_labels, reference_labels, spacing))
    row.update(
        original_notebook_scores(
            labels_to_classes(prediction_labels, f"prediction of {case_id}"),
            labels_to_classes(reference_labels, f"reference of {case_id}"),
        )
    )
    return row


def _prediction_files(prediction_dir: Path) -> dict[str, Path]:
    """Case id to prediction file, for ``<CASE>.nii.gz`` / ``<CASE>.nii`` files in the folder."""
    files: dict[str, Path] = {}
    for path in sorted(prediction_dir.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        for suffix in _PREDICTION_SUFFIXES:
            if path.name.lower().endswith(suffix):
                case_id = path.name[: -len(suffix)]
                if case_id in files:
                    raise BratsDataError(
                        path, f"second prediction for case {case_id} (first: {files[case_id].name})"
                    )
                files[case_id] = path
                break
    return files


def evaluate_folder(
    prediction_dir: str | Path,
    reference_dir: str | Path,
    progress: bool = True,
    case_ids: Sequence[str] | None = None,
    missing: str = "error",
    release: str | Release | None = None,
) -> pd.DataFrame:
    """Score predicted label maps against the reference masks, one row per case.

    Which cases: with ``case_ids=None``, every prediction file in ``prediction_dir`` (so a folder
    holding the test split's predictions is scored against a data folder holding every case);
    each must have a reference case with a mask. With ``case_ids``, exactly those cases: pass the
    list you meant to predict (e.g. the test split) so that a prediction that failed or was never
    written cannot silently leave the table, and the mean cannot look better than it is.

    Args:
        prediction_dir: folder of ``<CASE>.nii.gz`` label maps (BraTS submission format).
        reference_dir: a BraTS folder (any layout :func:`brats_tutorial.discovery.find_cases`
            reads).
        progress: show a progress bar.
        case_ids: the cases to score, or ``None`` for every prediction file.
        missing: with ``case_ids``, what to do when one has no prediction file: ``"error"``
            (default) raises; ``"empty"`` scores it as an all-background prediction, as the BraTS
            challenge does with a missing segmentation (Dice 0, HD95 373.13 mm).
        release: the label convention of the prediction files (a key of
            :data:`brats_tutorial.releases.RELEASES`); ``None``: the reference data's own
            release, the convention ``predict`` writes. References are always read in theirs.

    Returns:
        The per-case table: index ``Case`` (sorted), float columns as :func:`evaluate_case`.

    Raises:
        BratsDataError: if ``prediction_dir`` is not a folder or holds no prediction
            (``case_ids=None``); a case to score has no reference mask, or no prediction (with
            ``missing="error"``); a prediction file is unreadable, holds labels its release does
            not allow (e.g. 4 in a GLI or MSD prediction), or differs in shape from its reference.
    """
    if missing not in ("error", "empty"):
        raise ValueError(f"missing must be 'error' or 'empty', got {missing!r}")
    prediction_dir = Path(prediction_dir).expanduser()
    if not prediction_dir.is_dir():
        raise BratsDataError(prediction_dir, "prediction folder does not exist")
    predictions = _prediction_files(prediction_dir)
    if case_ids is None:
        if not predictions:
            raise BratsDataError(
                prediction_dir, "no prediction files (expected <CASE>.nii.gz, one per case)"
            )
        wanted = sorted(predictions)
    else:
        wanted = sorted(set(case_ids))
    references = {case.case_id: case for case in find_cases(reference_dir) if case.has_mask}
    without_reference = [case_id for case_id in wanted if case_id not in references]
    if without_reference:
        raise BratsDataError(
            reference_dir,
            f"no reference mask for {len(without_reference)} case(s) to score: "
            f"{_first_few(without_reference)}",
        )
    absent = [case_id for case_id in wanted if case_id not in predictions]
    if absent and missing == "error":
        raise BratsDataError(
            prediction_dir,
            f"no prediction for {len(absent)} of {len(wanted)} case(s): {_first_few(absent)} "
            f"(expected <CASE>.nii.gz; pass missing='empty' to score them as empty predictions)",
        )

    rows = []
    for case_id in tqdm(wanted, desc="evaluating", unit="case", disable=not progress):
        reference_case = references[case_id]
        reference = load_volume(reference_case.mask, is_mask=True, release=reference_case.release)
        if case_id in predictions:
            prediction_path = predictions[case_id]
            prediction_release = reference_case.release if release is None else get_release(release)
            prediction_labels = load_volume(
                prediction_path, is_mask=True, release=prediction_release
            ).data
            if prediction_labels.shape != reference.data.shape:
                raise BratsDataError(
                    prediction_path,
                    f"shape {prediction_labels.shape} differs from the reference "
                    f"{reference.path.name} {reference.data.shape}",
                )
        else:
            prediction_labels = np.zeros_like(reference.data)
        rows.append(evaluate_case(prediction_labels, reference.data, reference.spacing, case_id))
    return pd.DataFrame.from_records(rows).set_index(CASE_COLUMN)


def _first_few(case_ids: list[str], count: int = 5) -> str:
    return ", ".join(case_ids[:count]) + (" ..." if len(case_ids) > count else "")


def _metric_columns(per_case: pd.DataFrame) -> pd.DataFrame:
    if CASE_COLUMN in per_case.columns:
        per_case = per_case.set_index(CASE_COLUMN)
    return per_case.select_dtypes(include="number")


def summarise(per_case: pd.DataFrame) -> pd.DataFrame:
    """Summary rows of the BraTS ranking sheet.

    Args:
        per_case: the per-case table of :func:`evaluate_folder` (or any table of numeric metric
            columns; a ``Case`` column, if present, is not a metric).

    Returns:
        Rows ``Mean``, ``StdDev`` (sample standard deviation, ``ddof=1``; NaN for one case),
        ``Median``, ``25quantile``, ``75quantile`` (linear interpolation), one column per metric.
        NaN values are skipped.
    """
    metrics = _metric_columns(per_case)
    summary = pd.DataFrame(
        [
            metrics.mean(),
            metrics.std(ddof=1),
            metrics.median(),
            metrics.quantile(0.25),
            metrics.quantile(0.75),
        ],
        index=list(SUMMARY_ROWS),
    )
    return summary.rename_axis(CASE_COLUMN)


def save_scores_csv(per_case: pd.DataFrame, path: str | Path) -> None:
    """Write the per-case rows, then the summary rows, as the BraTS ranking sheet does.

    The first column is ``Case``: case ids, then ``Mean``, ``StdDev``, ``Median``,
    ``25quantile``, ``75quantile``. Written atomically (temporary file, then rename).

    Args:
        per_case: the per-case table of :func:`evaluate_folder`.
        path: the ``.csv`` file to write; its folder is created if missing.
    """
    metrics = _metric_columns(per_case).rename_axis(CASE_COLUMN)
    sheet = pd.concat([metrics, summarise(metrics)]).rename_axis(CASE_COLUMN)
    with atomic_path(path, suffix=".csv") as temporary:
        sheet.to_csv(temporary)


def scores_table(per_case: pd.DataFrame) -> pd.DataFrame:
    """Mean region scores as a region x metric table, for display.

    Args:
        per_case: the per-case table of :func:`evaluate_folder`.

    Returns:
        Rows ``WT``, ``TC``, ``ET``; columns ``Dice``, ``Sensitivity``, ``Specificity``,
        ``HD95`` (mm); each value the mean over cases.
    """
    means = _metric_columns(per_case).mean()
    table = pd.DataFrame(
        [[means[f"{metric}_{region}"] for metric in REGION_METRICS] for region in REGIONS],
        index=list(REGIONS),
        columns=list(REGION_METRICS),
    )
    return table.rename_axis("Region")


def case_scores(per_case: pd.DataFrame, id_column: str | None = None) -> tuple[pd.DataFrame, list]:
    """The case rows of a per-case score table, and their case ids.

    Accepts the table of :func:`evaluate_folder` (index ``Case``) or the sheet of
    :func:`save_scores_csv` read back, whose summary rows (``Mean``, ``StdDev``, ``Median``, ...)
    are dropped.

    Args:
        per_case: one row per case.
        id_column: column of the case ids; ``None`` takes ``case_id`` or ``Case`` when present,
            else the index.

    Returns:
        ``(rows, ids)``: the table without summary rows, and its case ids in row order.

    Example:
        >>> sheet = pd.DataFrame({"Case": ["c1", "c2", "Mean"], "Dice_WT": [0.8, 0.6, 0.7]})
        >>> rows, ids = case_scores(sheet)
        >>> ids, rows["Dice_WT"].tolist()
        (['c1', 'c2'], [0.8, 0.6])
    """
    if id_column is None:
        id_column = next((c for c in _CASE_ID_COLUMNS if c in per_case.columns), None)
    ids = per_case[id_column].tolist() if id_column is not None else per_case.index.tolist()
    keep = np.array([str(i) not in SUMMARY_ROWS for i in ids], dtype=bool)
    return per_case[keep], [i for i, k in zip(ids, keep) if k]


def best_median_worst(
    per_case: pd.DataFrame,
    column: str = "Dice_WT",
    higher_is_better: bool | None = None,
    id_column: str | None = None,
) -> list:
    """Case ids of the best, the median and the worst case by one score.

    Args:
        per_case: one row per case (summary rows such as ``Mean`` are ignored, see
            :func:`case_scores`).
        column: the score, e.g. "Dice_WT" or "HD95_ET".
        higher_is_better: direction of the score; ``None`` infers it from the name (distances,
            names starting with "HD" or containing "distance", are better when lower).
        id_column: column holding the case ids (default: ``case_id`` or ``Case``, else the index).

    Returns:
        ``[best, median, worst]``. The median case holds the lower median of the scores
        (:func:`statistics.median_low`); ties go to the earlier row. Rows with NaN scores are
        ignored. With fewer than three cases ids repeat.

    Raises:
        KeyError: if ``column`` is missing. ValueError: if no row has a score.

    Example:
        >>> per_case = pd.DataFrame(
        ...     {"Dice_WT": [0.9, 0.5, 0.7], "HD95_WT": [2.0, 9.0, 4.0]},
        ...     index=pd.Index(["c1", "c2", "c3"], name="Case"),
        ... )
        >>> best_median_worst(per_case, "Dice_WT")
        ['c1', 'c3', 'c2']
        >>> best_median_worst(per_case, "HD95_WT")  # a distance: lower is better
        ['c1', 'c3', 'c2']
    """
    if column not in per_case.columns:
        raise KeyError(f"per-case table lacks '{column}'; its columns are {list(per_case.columns)}")
    if higher_is_better is None:
        name = column.lower()
        higher_is_better = not (name.startswith("hd") or "distance" in name)
    rows, all_ids = case_scores(per_case, id_column)
    all_scores = rows[column].to_numpy(dtype=float)
    valid = ~np.isnan(all_scores)
    if not valid.any():
        raise ValueError(f"no case has a '{column}' score")
    scores = all_scores[valid]
    ids = [i for i, v in zip(all_ids, valid) if v]
    quality = scores if higher_is_better else -scores
    best = int(np.flatnonzero(quality == quality.max())[0])
    worst = int(np.flatnonzero(quality == quality.min())[0])
    median = int(np.flatnonzero(scores == statistics.median_low(scores.tolist()))[0])
    return [ids[best], ids[median], ids[worst]]


def paired_differences(
    scores: pd.DataFrame, baseline: str, value: str = "dice", variant_column: str = "variant"
) -> pd.DataFrame:
    """Per patient and region, each variant's score minus the baseline's on the same patient.

    Comparing on the same patients removes the spread between patients (one tumour is simply
    harder than another), which is far larger than most effects of a change in the method.

    Args:
        scores: long table with columns ``variant_column``, ``case_id``, ``region`` and
            ``value`` (one row per variant, patient and region), e.g. the CSV of
            ``benchmarks/improvements.py`` for one part of the split.
        baseline: the variant the others are compared with.
        value: the score column.

    Returns:
        Long table ``variant``, ``case_id``, ``region``, ``difference`` for every variant but
        the baseline, only for patients and regions the baseline has.

    >>> scores = pd.DataFrame({"variant": ["base", "base", "new", "new"],
    ...     "case_id": ["a", "b", "a", "b"], "region": "WT", "dice": [0.8, 0.6, 0.9, 0.5]})
    >>> paired_differences(scores, "base")["difference"].round(2).tolist()
    [0.1, -0.1]
    """
    keys = ["case_id", "region"]
    base = scores[scores[variant_column] == baseline].set_index(keys)[value]
    others = scores[scores[variant_column] != baseline]
    joined = others.join(base.rename("baseline_value"), on=keys, how="inner")
    return pd.DataFrame(
        {
            "variant": joined[variant_column].to_numpy(),
            "case_id": joined["case_id"].to_numpy(),
            "region": joined["region"].to_numpy(),
            "difference": (joined[value] - joined["baseline_value"]).to_numpy(),
        }
    )


def summarise_differences(differences: pd.DataFrame) -> pd.DataFrame:
    """Mean paired difference per variant and region, with its range and the patients that
    improved and worsened.

    Args:
        differences: the output of :func:`paired_differences`.

    Returns:
        One row per variant and region: ``mean``, ``smallest``, ``largest``, ``better``,
        ``worse`` (patients with a difference above / below 0.005), ``patients``.

    >>> differences = pd.DataFrame({"variant": "new", "case_id": ["a", "b", "c"],
    ...     "region": "ET", "difference": [0.2, -0.1, 0.0]})
    >>> row = summarise_differences(differences).iloc[0]
    >>> round(float(row["mean"]), 3), int(row["better"]), int(row["worse"])
    (0.033, 1, 1)
    """
    grouped = differences.groupby(["variant", "region"], sort=False)["difference"]
    return pd.DataFrame(
        {
            "mean": grouped.mean(),
            "smallest": grouped.min(),
            "largest": grouped.max(),
            "better": grouped.apply(lambda d: int((d > 0.005).sum())),
            "worse": grouped.apply(lambda d: int((d < -0.005).sum())),
            "patients": grouped.count(),
        }
    )
