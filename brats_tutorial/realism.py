"""How close is a data set to real BraTS? Intensity and tumour statistics, side by side.

Raw intensities are on arbitrary scales that differ between scanners (the real sample's median
brain T1 ranges from 240 to 1581), so intensities are compared after z-scoring each volume over
its brain voxels (the non-zero ones, as skull-stripped BraTS images are zero outside the brain).

Regions: ``brain`` is brain without tumour; ``NCR``, ``ED`` and ``ET`` are the label classes
(1 necrotic / non-enhancing core, 2 oedema, 4 enhancing tumour, BraTS's own acronyms); ``TC`` and
``WT`` are the BraTS regions (tumour core {1, 4}, whole tumour {1, 2, 4}).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .constants import MODALITIES, REGION_LABELS
from .discovery import find_cases
from .loading import load_case

#: Regions the statistics are computed over, as file labels; ``brain`` is non-tumour brain.
STATISTIC_REGIONS: dict[str, tuple[int, ...]] = {
    "brain": (0,),
    "NCR": (1,),
    "ED": (2,),
    "ET": REGION_LABELS["ET"],
    "TC": REGION_LABELS["TC"],
    "WT": REGION_LABELS["WT"],
}
#: Percentiles of the z-scored intensities reported per region.
PERCENTILES: tuple[int, ...] = (1, 5, 25, 50, 75, 95, 99)


def _z_scored_percentiles(
    image: np.ndarray, region_masks: dict[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], float]:
    """Per region, percentiles of ``image`` z-scored over its non-zero voxels; and their raw median.

    Args:
        image: float32 (X, Y, Z), zero outside the brain.
        region_masks: region name to bool (X, Y, Z).
    """
    brain = image > 0
    values = image[brain].astype(np.float64)
    mean, std = values.mean(), values.std()
    percentiles = {}
    for region, mask in region_masks.items():
        region_values = image[mask & brain]
        if region_values.size == 0:
            percentiles[region] = np.full(len(PERCENTILES), np.nan)
        else:
            percentiles[region] = (np.percentile(region_values, PERCENTILES) - mean) / std
    return percentiles, float(np.median(values))


def intensity_statistics(data_dir: str | Path, max_cases: int | None = None) -> pd.DataFrame:
    """Per case, modality and region: z-scored intensity percentiles, volumes and axial extent.

    Args:
        data_dir: a BraTS folder (any layout :func:`brats_tutorial.discovery.find_cases` reads);
            cases without a mask are skipped.
        max_cases: use only the first cases (sorted by name), or all when ``None``.

    Returns:
        One row per (case_id, modality, region) with columns ``case_id``, ``modality``,
        ``region`` (see :data:`STATISTIC_REGIONS`), ``voxels`` and ``volume_cm3`` (size of the
        region; ``brain`` counts the non-tumour voxels that are non-zero in any modality),
        ``p1`` ... ``p99`` (percentiles of the intensity in the region after z-scoring the volume
        over its non-zero voxels; NaN for an empty region), ``brain_median`` (raw median over the
        non-zero voxels of that modality), ``first_slice`` and ``last_slice`` (first and last
        axial slice, on the last array axis, holding tumour; NaN without tumour).

    Raises:
        BratsDataError: if the folder holds no cases or a file cannot be read.
    """
    cases = [case for case in find_cases(data_dir) if case.has_mask]
    if max_cases is not None:
        cases = cases[:max_cases]
    rows = []
    for case_files in cases:
        case = load_case(case_files, MODALITIES)
        mask = case.mask
        voxel_cm3 = float(np.prod(case.spacing)) / 1000.0
        brain = np.logical_or.reduce([case.images[m] > 0 for m in MODALITIES])
        region_masks = {
            region: np.isin(mask, labels) for region, labels in STATISTIC_REGIONS.items()
        }
        region_masks["brain"] &= brain
        tumour_slices = np.flatnonzero(region_masks["WT"].any(axis=(0, 1)))
        first, last = np.nan, np.nan
        if tumour_slices.size:
            first, last = int(tumour_slices[0]), int(tumour_slices[-1])
        for modality in MODALITIES:
            image = case.images[modality]
            percentiles, brain_median = _z_scored_percentiles(image, region_masks)
            for region, region_mask in region_masks.items():
                voxels = int(np.count_nonzero(region_mask))
                rows.append(
                    {
                        "case_id": case.case_id,
                        "modality": modality,
                        "region": region,
                        "voxels": voxels,
                        "volume_cm3": voxels * voxel_cm3,
                        **{f"p{q}": float(v) for q, v in zip(PERCENTILES, percentiles[region])},
                        "brain_median": brain_median,
                        "first_slice": first,
                        "last_slice": last,
                    }
                )
    return pd.DataFrame(rows)


def summarise_statistics(statistics: pd.DataFrame) -> pd.DataFrame:
    """Minimum, median and maximum over cases of each statistic.

    Args:
        statistics: from :func:`intensity_statistics`.

    Returns:
        Rows indexed by (quantity, modality, region), columns ``min``, ``median``, ``max`` and
        ``cases`` (number of cases with a value). Quantities: the z-scored percentiles ``p1`` ...
        ``p99`` per modality and region; ``brain_median`` per modality (region ``brain``);
        ``volume_cm3``, ``first_slice`` and ``last_slice`` per region with modality ``"-"``.
    """
    percentile_columns = [f"p{q}" for q in PERCENTILES]
    intensities = statistics.melt(
        id_vars=["case_id", "modality", "region"],
        value_vars=percentile_columns,
        var_name="quantity",
    )
    brain_rows = statistics[statistics["region"] == "brain"]
    medians = (
        brain_rows[["case_id", "modality", "region", "brain_median"]]
        .rename(columns={"brain_median": "value"})
        .assign(quantity="brain_median")
    )
    # Volumes and extents do not depend on the modality: one row per case and region.
    sizes = (
        statistics.drop_duplicates(["case_id", "region"])
        .melt(
            id_vars=["case_id", "region"],
            value_vars=["volume_cm3", "first_slice", "last_slice"],
            var_name="quantity",
        )
        .assign(modality="-")
    )
    # The axial extent is the whole tumour's; keep it once, under WT.
    sizes = sizes[(sizes["quantity"] == "volume_cm3") | (sizes["region"] == "WT")]
    table = pd.concat([intensities, medians, sizes], ignore_index=True)
    table["value"] = table["value"].astype(float)
    summary = table.groupby(["quantity", "modality", "region"], sort=True)["value"].agg(
        ["min", "median", "max", "count"]
    )
    return summary.rename(columns={"count": "cases"})


def compare_statistics(synthetic: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Summaries of two data sets' statistics side by side.

    Args:
        synthetic: :func:`intensity_statistics` of the synthetic (or any other) data set.
        real: :func:`intensity_statistics` of the real data set to compare with.

    Returns:
        Rows indexed by (quantity, modality, region) as in :func:`summarise_statistics`; columns
        a two-level index: data set (``"synthetic"``, ``"real"``) by statistic (``min``,
        ``median``, ``max``, ``cases``).
    """
    return pd.concat(
        {"synthetic": summarise_statistics(synthetic), "real": summarise_statistics(real)}, axis=1
    )


def compare_datasets(
    synthetic_dir: str | Path, real_dir: str | Path, max_cases: int | None = None
) -> pd.DataFrame:
    """Compare two BraTS folders: :func:`compare_statistics` of their :func:`intensity_statistics`.

    Args:
        synthetic_dir: the synthetic (or any other) BraTS folder.
        real_dir: the real BraTS folder to compare with.
        max_cases: limit on the cases read from each folder.

    Returns:
        The side-by-side summary (see :func:`compare_statistics`).
    """
    return compare_statistics(
        intensity_statistics(synthetic_dir, max_cases), intensity_statistics(real_dir, max_cases)
    )
