"""The synthetic anatomy of one case in memory: shapes, dtypes, labels, contrasts, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from brats_tutorial.constants import MODALITIES, VOLUME_SHAPE
from brats_tutorial.synthetic_anatomy import generate_case

KINDS = (*MODALITIES, "seg")


@pytest.fixture(scope="module")
def high_grade_cases() -> list[dict[str, np.ndarray]]:
    return [generate_case(seed, low_grade=False) for seed in (101, 102)]


@pytest.fixture(scope="module")
def low_grade_case() -> dict[str, np.ndarray]:
    return generate_case(103, low_grade=True)


# --------------------------------------------------------------------------------------------
# One case in memory
# --------------------------------------------------------------------------------------------


def test_generate_case_shapes_dtypes_and_brain(
    high_grade_cases: list[dict[str, np.ndarray]],
) -> None:
    for case in high_grade_cases:
        assert sorted(case) == sorted(KINDS)
        for modality in MODALITIES:
            assert case[modality].shape == VOLUME_SHAPE
            assert case[modality].dtype == np.int16
        assert case["seg"].shape == VOLUME_SHAPE and case["seg"].dtype == np.uint8
        # Skull-stripped: the same brain is non-zero in every modality, zero around it.
        brain = case["t1"] > 0
        for modality in MODALITIES:
            np.testing.assert_array_equal(case[modality] > 0, brain)
            assert case[modality].min() >= 0
        # A brain-sized brain (the real sample: 1.1 to 1.5 million voxels) that touches no edge
        # of the volume in x and y, and tumour only inside it.
        assert 0.9e6 < brain.sum() < 1.8e6
        assert not brain[[0, -1], :, :].any() and not brain[:, [0, -1], :].any()
        assert not (case["seg"][~brain]).any()


def test_labels_of_high_and_low_grade_cases(
    high_grade_cases: list[dict[str, np.ndarray]], low_grade_case: dict[str, np.ndarray]
) -> None:
    for case in high_grade_cases:
        assert set(np.unique(case["seg"]).tolist()) == {0, 1, 2, 4}
    assert set(np.unique(low_grade_case["seg"]).tolist()) == {0, 1, 2}


def _fraction_of_shell_inside(inner: np.ndarray, outer: np.ndarray, brain: np.ndarray) -> float:
    """Fraction of the brain voxels next to ``inner`` (6-neighbours outside it) in ``outer``."""
    shell = ndimage.binary_dilation(inner) & ~inner & brain
    return float(outer[shell].mean())


def test_tumour_regions_are_nested(high_grade_cases: list[dict[str, np.ndarray]]) -> None:
    # Necrosis (1) is wrapped in enhancing tumour (4), and the core (1, 4) in oedema (2): the
    # voxels next to a region, inside the brain, belong to the region that should surround it.
    for case in high_grade_cases:
        labels = case["seg"]
        brain = case["t1"] > 0
        necrosis = labels == 1
        core = np.isin(labels, (1, 4))
        whole = labels > 0
        assert necrosis.any() and (labels == 4).any() and (labels == 2).any()
        assert _fraction_of_shell_inside(necrosis, core, brain) > 0.99
        assert _fraction_of_shell_inside(core, whole, brain) > 0.99
        # Not trivially: the core's neighbours are oedema, the necrosis's neighbours enhancing.
        assert _fraction_of_shell_inside(core, labels == 2, brain) > 0.9
        assert _fraction_of_shell_inside(necrosis, labels == 4, brain) > 0.9


def test_tumour_lies_mostly_in_the_slice_window(
    high_grade_cases: list[dict[str, np.ndarray]], low_grade_case: dict[str, np.ndarray]
) -> None:
    for case in [*high_grade_cases, low_grade_case]:
        slices_with_tumour = np.flatnonzero(case["seg"].any(axis=(0, 1)))
        tumour_per_slice = (case["seg"] > 0).sum(axis=(0, 1))
        inside_window = tumour_per_slice[22:122].sum() / tumour_per_slice.sum()
        assert slices_with_tumour.size > 0
        assert inside_window > 0.9


def test_modality_contrasts(high_grade_cases: list[dict[str, np.ndarray]]) -> None:
    for case in high_grade_cases:
        labels = case["seg"]
        brain = case["t1"] > 0
        healthy = brain & (labels == 0)

        def median(modality: str, region: np.ndarray, case: dict = case) -> float:
            return float(np.median(case[modality][region]))

        # Enhancing rim bright and necrosis dark on T1ce; oedema bright on FLAIR and T2.
        assert median("t1ce", labels == 4) > median("t1ce", healthy) > median("t1ce", labels == 1)
        assert median("flair", labels == 2) > median("flair", healthy)
        assert median("t2", labels == 2) > median("t2", healthy)
        # CSF: the brightest healthy voxels on T2 are dark on T1 and FLAIR.
        t2_values = case["t2"][healthy]
        fluid = healthy.copy()
        fluid[healthy] = t2_values > np.percentile(t2_values, 97)
        assert median("t1", fluid) < median("t1", healthy)
        assert median("flair", fluid) < median("flair", healthy)
        # T1 orders tissues opposite to T2 (WM > GM > CSF against CSF > GM > WM).
        t1_values = case["t1"][healthy].astype(np.float64)
        assert np.corrcoef(t1_values, t2_values.astype(np.float64))[0, 1] < -0.3


def test_same_seed_gives_identical_arrays_and_another_seed_differs(
    high_grade_cases: list[dict[str, np.ndarray]],
) -> None:
    again = generate_case(101, low_grade=False)
    for kind in KINDS:
        assert again[kind].tobytes() == high_grade_cases[0][kind].tobytes()
    assert not np.array_equal(high_grade_cases[0]["flair"], high_grade_cases[1]["flair"])
    # A generator made from the seed gives the same case as the seed.
    from_generator = generate_case(np.random.default_rng(101), low_grade=False)
    np.testing.assert_array_equal(from_generator["flair"], high_grade_cases[0]["flair"])


def test_bad_seed_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_case(-1)
