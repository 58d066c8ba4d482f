"""Realism statistics, and the synthetic data compared with the real BraTS 2018 sample.

The thresholds come from measurements printed by these tests (``pytest -s``: the whole
``compare_statistics`` table) and by the same comparison over 20 synthetic cases (seed 0) against
the 8 real cases:

- volumes (cm^3), real against 20 synthetic cases: whole tumour 26.5-232 / 23-156; core
  9.6-106 / 6-74; necrosis 3.4-104 / 2.7-71; oedema 9.1-127 / 15-96; enhancing 2.0-45 / 3.4-36
  (0 in the low-grade cases, which have none by design);
- first and last axial slice with tumour: real 26-93 and 88-139; synthetic 17-63 and 77-125;
- brain without tumour: real 1114-1380 cm^3, synthetic 1120-1420;
- z-scored region medians (median over cases, per modality and region): with 20 synthetic cases
  all 24 lie inside the real min-max range; with the 5 cases of this test all but one (FLAIR
  healthy brain, 0.01 below it), the closest call being T1ce enhancing, 2.13 against 2.14.
  ``Z_MARGIN`` allows half a standard deviation beyond the range of 8 real cases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brats_tutorial.constants import MODALITIES
from brats_tutorial.data_sources import sample_dir
from brats_tutorial.discovery import find_cases
from brats_tutorial.loading import load_case
from brats_tutorial.realism import (
    PERCENTILES,
    STATISTIC_REGIONS,
    compare_datasets,
    compare_statistics,
    intensity_statistics,
)
from brats_tutorial.synthetic import generate_dataset, is_low_grade

SEED = 0
CASES = 5  # with seed 0, case 5 is low grade: four high-grade cases and one low-grade case

# The real sample is 8 cases while BraTS volumes span two orders of magnitude: synthetic volumes
# may lie up to this factor outside the sample's range (but their median must lie inside it).
VOLUME_FACTOR = 3.0
# Tumours in BraTS start and end anywhere in the brain; the sample's 8 extents get this margin.
SLICE_MARGIN = 10
# Allowed distance (in standard deviations of brain intensity) between the synthetic median of a
# z-scored region median and the real sample's range.
Z_MARGIN = 0.5


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("realism") / "synthetic"
    generate_dataset(folder, n_cases=CASES, seed=SEED)
    return folder


@pytest.fixture(scope="module")
def synthetic_statistics(synthetic_dir: Path) -> pd.DataFrame:
    return intensity_statistics(synthetic_dir)


@pytest.fixture(scope="module")
def real_statistics() -> pd.DataFrame:
    sample = sample_dir()
    if sample is None:
        pytest.skip("real BraTS sample not found (../shared/brats18_sample or BRATS_SAMPLE_DIR)")
    return intensity_statistics(sample)


@pytest.fixture(scope="module")
def comparison(synthetic_statistics: pd.DataFrame, real_statistics: pd.DataFrame) -> pd.DataFrame:
    table = compare_statistics(synthetic_statistics, real_statistics)
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print("\nSynthetic against real (min, median, max over cases):")
        print(table.round(2).to_string())
    return table


def _per_case(statistics: pd.DataFrame, quantity: str, modality: str, region: str) -> pd.Series:
    rows = statistics[(statistics["modality"] == modality) & (statistics["region"] == region)]
    return rows.set_index("case_id")[quantity]


# --------------------------------------------------------------------------------------------
# The statistics themselves (no real data needed)
# --------------------------------------------------------------------------------------------


def test_statistics_agree_with_a_direct_computation(
    synthetic_dir: Path, synthetic_statistics: pd.DataFrame
) -> None:
    cases = find_cases(synthetic_dir)
    assert len(synthetic_statistics) == CASES * len(MODALITIES) * len(STATISTIC_REGIONS)
    case = load_case(cases[0])
    labels = case.mask
    rows = synthetic_statistics[synthetic_statistics["case_id"] == case.case_id]

    def row(modality: str, region: str) -> pd.Series:
        selected = rows[(rows["modality"] == modality) & (rows["region"] == region)]
        assert len(selected) == 1
        return selected.iloc[0]

    # Volumes in cm^3 of 1 mm voxels, and the axial extent of the tumour.
    assert row("t1", "WT")["volume_cm3"] == pytest.approx(np.count_nonzero(labels) / 1000)
    assert row("t1", "ED")["volume_cm3"] == pytest.approx(np.count_nonzero(labels == 2) / 1000)
    tumour_slices = [z for z in range(labels.shape[2]) if labels[:, :, z].any()]
    assert row("flair", "WT")["first_slice"] == tumour_slices[0]
    assert row("flair", "WT")["last_slice"] == tumour_slices[-1]
    # Percentiles after z-scoring over the brain (non-zero) voxels.
    flair = case.images["flair"].astype(np.float64)
    brain_values = flair[flair > 0]
    oedema_median = np.median(flair[labels == 2])
    expected = (oedema_median - brain_values.mean()) / brain_values.std()
    assert row("flair", "ED")["p50"] == pytest.approx(expected, rel=1e-6)
    assert row("flair", "brain")["brain_median"] == pytest.approx(np.median(brain_values))
    # Percentiles increase within a row.
    percentile_columns = [f"p{q}" for q in PERCENTILES]
    values = row("t2", "WT")[percentile_columns].to_numpy(dtype=float)
    assert np.all(np.diff(values) >= 0)


def test_empty_regions_give_nan_percentiles(synthetic_statistics: pd.DataFrame) -> None:
    low_grade_id = f"BraTS20_Training_{CASES:03d}"
    assert is_low_grade(SEED, CASES)
    enhancing = _per_case(synthetic_statistics, "p50", "t1ce", "ET")
    volumes = _per_case(synthetic_statistics, "volume_cm3", "t1ce", "ET")
    assert np.isnan(enhancing[low_grade_id]) and volumes[low_grade_id] == 0
    assert enhancing.drop(low_grade_id).notna().all()


def test_compare_datasets_puts_summaries_side_by_side(
    synthetic_dir: Path, synthetic_statistics: pd.DataFrame
) -> None:
    table = compare_datasets(synthetic_dir, synthetic_dir, max_cases=1)
    first_case = synthetic_statistics[
        synthetic_statistics["case_id"] == synthetic_statistics["case_id"].iloc[0]
    ]
    pd.testing.assert_frame_equal(table, compare_statistics(first_case, first_case))
    assert set(table.columns.get_level_values(0)) == {"synthetic", "real"}
    assert list(table["real"].columns) == ["min", "median", "max", "cases"]
    for key in [
        ("volume_cm3", "-", "WT"),
        ("p50", "flair", "ED"),
        ("brain_median", "t1", "brain"),
        ("first_slice", "-", "WT"),
    ]:
        assert key in table.index

    summary = compare_statistics(synthetic_statistics, synthetic_statistics)["synthetic"]
    assert (summary["min"] <= summary["median"]).all()
    assert (summary["median"] <= summary["max"]).all()
    assert summary.loc[("volume_cm3", "-", "WT"), "cases"] == CASES
    assert summary.loc[("p50", "t1ce", "ET"), "cases"] == CASES - 1  # the low-grade case has none


# --------------------------------------------------------------------------------------------
# Synthetic against real
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.parametrize("region", ["NCR", "ED", "ET", "TC", "WT"])
def test_tumour_volumes_are_in_the_real_range(
    comparison: pd.DataFrame, synthetic_statistics: pd.DataFrame, region: str
) -> None:
    real = comparison["real"].loc[("volume_cm3", "-", region)]
    volumes = _per_case(synthetic_statistics, "volume_cm3", "t1", region)
    if region == "ET":
        volumes = volumes[volumes > 0]  # low-grade cases have no enhancing tumour by design
    assert volumes.min() >= real["min"] / VOLUME_FACTOR
    assert volumes.max() <= real["max"] * VOLUME_FACTOR
    assert real["min"] <= volumes.median() <= real["max"]


@pytest.mark.slow
@pytest.mark.real_data
def test_brain_size_and_raw_intensities_are_in_the_real_range(comparison: pd.DataFrame) -> None:
    # Brain without tumour: real 1114 to 1380 cm^3, synthetic about 1120 to 1420.
    real = comparison["real"].loc[("volume_cm3", "-", "brain")]
    synthetic = comparison["synthetic"].loc[("volume_cm3", "-", "brain")]
    assert synthetic["min"] >= 0.8 * real["min"] and synthetic["max"] <= 1.25 * real["max"]
    # Raw median brain intensity per modality: the scanners' scales, drawn from the real range.
    for modality in MODALITIES:
        real = comparison["real"].loc[("brain_median", modality, "brain")]
        synthetic = comparison["synthetic"].loc[("brain_median", modality, "brain")]
        assert synthetic["min"] >= 0.8 * real["min"] and synthetic["max"] <= 1.25 * real["max"]


@pytest.mark.slow
@pytest.mark.real_data
def test_axial_extent_is_in_the_real_range(comparison: pd.DataFrame) -> None:
    real, synthetic = comparison["real"], comparison["synthetic"]
    first, last = ("first_slice", "-", "WT"), ("last_slice", "-", "WT")
    assert synthetic.loc[first, "min"] >= real.loc[first, "min"] - SLICE_MARGIN
    assert synthetic.loc[last, "max"] <= real.loc[last, "max"] + SLICE_MARGIN
    assert synthetic.loc[first, "median"] < synthetic.loc[last, "median"]


@pytest.mark.slow
@pytest.mark.real_data
def test_contrast_directions_agree_in_every_case(
    comparison: pd.DataFrame, synthetic_statistics: pd.DataFrame, real_statistics: pd.DataFrame
) -> None:
    for statistics in (synthetic_statistics, real_statistics):

        def median(modality: str, region: str, statistics: pd.DataFrame = statistics) -> pd.Series:
            return _per_case(statistics, "p50", modality, region)

        # Oedema bright on FLAIR (real: 0.96 to 3.28 above the brain median).
        assert (median("flair", "ED") > median("flair", "brain")).all()
        # Enhancing tumour brighter than necrosis on T1ce (real: 1.3 to 3.1), where both exist.
        enhancing_minus_necrosis = (median("t1ce", "ET") - median("t1ce", "NCR")).dropna()
        assert len(enhancing_minus_necrosis) > 0 and (enhancing_minus_necrosis > 0).all()
        # Tumour core bright on T2 (real: 0.74 to 2.41 above the brain median).
        assert (median("t2", "TC") > median("t2", "brain")).all()
        # Necrosis darker than brain on T1 in most cases (real: 6 of 8; one case is +0.9).
        assert (median("t1", "NCR") < median("t1", "brain")).mean() >= 0.5


@pytest.mark.slow
@pytest.mark.real_data
def test_region_intensities_are_in_the_real_range(comparison: pd.DataFrame) -> None:
    medians = comparison.loc["p50"]
    gaps = []
    for (modality, region), row in medians.iterrows():
        synthetic = row[("synthetic", "median")]
        low, high = row[("real", "min")], row[("real", "max")]
        gap = max(low - synthetic, synthetic - high, 0.0)
        gaps.append((gap, modality, region, synthetic, low, high))
    gaps.sort(reverse=True)
    print("\nLargest gaps between the synthetic median and the real range (z units):")
    for _gap, modality, region, synthetic, low, high in gaps[:5]:
        print(
            f"  {modality:5s} {region:5s} synthetic {synthetic:+.2f}, real {low:+.2f}..{high:+.2f}"
        )
    assert gaps[0][0] <= Z_MARGIN
    # The brain's own spread: z-scored 5th and 95th percentiles of non-tumour brain.
    for quantity in ("p5", "p95"):
        for modality in MODALITIES:
            row = comparison.loc[(quantity, modality, "brain")]
            synthetic = row[("synthetic", "median")]
            assert row[("real", "min")] - Z_MARGIN <= synthetic <= row[("real", "max")] + Z_MARGIN
