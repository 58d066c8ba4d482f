"""Tests of brats_tutorial.volume_metrics against references computed independently here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

from brats_tutorial.constants import (
    HD95_ONE_EMPTY_MM,
    NUM_CLASSES,
    REGION_LABELS,
    VOLUME_SHAPE,
)
from brats_tutorial.data_sources import sample_dir
from brats_tutorial.discovery import find_cases
from brats_tutorial.labels import labels_to_classes
from brats_tutorial.loading import load_volume
from brats_tutorial.volume_metrics import (
    ORIGINAL_NOTEBOOK_METRICS,
    dice,
    directed_surface_distances,
    hd95,
    mask_scores,
    original_dice_coefficient,
    original_notebook_scores,
    original_sensitivity,
    original_specificity,
    region_scores,
    sensitivity,
    specificity,
    surface,
)

ANISOTROPIC = (1.0, 1.5, 3.0)


# ----------------------------------------------------------------------------- references


def border_by_neighbours(mask: np.ndarray) -> np.ndarray:
    """Mask voxels with a face neighbour outside the mask (outside the array counts as outside)."""
    padded = np.pad(mask, 1, constant_values=False)
    inner = tuple(slice(1, -1) for _ in range(mask.ndim))
    all_neighbours_inside = np.ones(mask.shape, dtype=bool)
    for axis in range(mask.ndim):
        for step in (-1, 1):
            shifted = tuple(
                slice(1 + step, padded.shape[a] - 1 + step) if a == axis else inner[a]
                for a in range(mask.ndim)
            )
            all_neighbours_inside &= padded[shifted]
    return mask & ~all_neighbours_inside


def border_points_mm(mask: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    return np.argwhere(border_by_neighbours(mask)) * np.asarray(spacing, dtype=float)


def brute_force_hd95(a: np.ndarray, b: np.ndarray, spacing: tuple[float, ...]) -> float:
    """All pairwise distances between border voxels: max of the two directed 95th percentiles."""
    points_a, points_b = border_points_mm(a, spacing), border_points_mm(b, spacing)
    pairwise = np.sqrt(((points_a[:, None, :] - points_b[None, :, :]) ** 2).sum(axis=-1))
    return max(np.percentile(pairwise.min(axis=1), 95), np.percentile(pairwise.min(axis=0), 95))


def kdtree_hd95(a: np.ndarray, b: np.ndarray, spacing: tuple[float, ...]) -> float:
    """Nearest-neighbour distances between border points with a k-d tree (for large masks)."""
    points_a, points_b = border_points_mm(a, spacing), border_points_mm(b, spacing)
    a_to_b = cKDTree(points_b).query(points_a)[0]
    b_to_a = cKDTree(points_a).query(points_b)[0]
    return max(np.percentile(a_to_b, 95), np.percentile(b_to_a, 95))


def random_blob(shape: tuple[int, ...], seed: int, fraction: float = 0.3) -> np.ndarray:
    """A random smooth blob (possibly several pieces) filling about ``fraction`` of the array."""
    noise = np.random.default_rng(seed).normal(size=shape)
    smooth = ndimage.gaussian_filter(noise, sigma=1.5)
    return smooth > np.quantile(smooth, 1.0 - fraction)


def one_hot(classes: np.ndarray) -> np.ndarray:
    return np.eye(NUM_CLASSES, dtype=np.float64)[classes]


def notebook_metrics_with_one_hot(prediction: np.ndarray, reference: np.ndarray) -> list[float]:
    """The notebook's Keras formulas, transliterated to numpy on explicit one-hot arrays."""
    y_pred, y_true = one_hot(prediction), one_hot(reference)
    epsilon = 1e-7
    # dice_coefficient: one sum over every voxel and all four channels, smooth 1e-6
    pooled_dice = (2.0 * np.sum(y_true * y_pred) + 1e-6) / (np.sum(y_true) + np.sum(y_pred) + 1e-6)
    true_positives = np.sum(np.round(np.clip(y_true * y_pred, 0, 1)))
    possible_positives = np.sum(np.round(np.clip(y_true, 0, 1)))
    true_negatives = np.sum(np.round(np.clip((1 - y_true) * (1 - y_pred), 0, 1)))
    possible_negatives = np.sum(np.round(np.clip(1 - y_true, 0, 1)))
    return [
        float(pooled_dice),
        float(true_positives / (possible_positives + epsilon)),
        float(true_negatives / (possible_negatives + epsilon)),
    ]


def random_labels(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """File labels {0, 1, 2, 4}: nested blobs, like a tumour inside oedema."""
    labels = np.zeros(shape, dtype=np.uint8)
    labels[random_blob(shape, seed, 0.35)] = 2
    labels[random_blob(shape, seed + 1, 0.2) & (labels == 2)] = 1
    labels[random_blob(shape, seed + 2, 0.15) & (labels > 0)] = 4
    return labels


# ----------------------------------------------------------------------------- hand-built cases


def cubes(shape: tuple[int, int, int], side: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    first = np.zeros(shape, dtype=bool)
    second = np.zeros(shape, dtype=bool)
    first[2 : 2 + side, 3 : 3 + side, 1 : 1 + side] = True
    second[2 + offset : 2 + offset + side, 3 : 3 + side, 1 : 1 + side] = True
    return first, second


@pytest.mark.parametrize("offset", [0, 1, 3, 6])
def test_offset_cubes_counts_by_hand(offset: int) -> None:
    shape, side = (16, 12, 9), 6
    prediction, reference = cubes(shape, side, offset)
    voxels = np.prod(shape)
    overlap = side * side * max(side - offset, 0)
    union = 2 * side**3 - overlap
    assert dice(prediction, reference) == pytest.approx(2 * overlap / (2 * side**3))
    assert sensitivity(prediction, reference) == pytest.approx(overlap / side**3)
    assert specificity(prediction, reference) == pytest.approx(
        (voxels - union) / (voxels - side**3)
    )


@pytest.mark.parametrize("gap", [1, 2, 5])
def test_parallel_planes_hd95_is_their_distance(gap: int) -> None:
    # Two one-voxel-thick planes: every voxel is a border voxel and its nearest partner is
    # straight across, so every surface distance (hence HD95) is gap * spacing along that axis.
    shape = (9, 8, 10)
    first = np.zeros(shape, dtype=bool)
    second = np.zeros(shape, dtype=bool)
    first[:, :, 2] = True
    second[:, :, 2 + gap] = True
    assert hd95(first, second, ANISOTROPIC) == pytest.approx(gap * ANISOTROPIC[2])
    assert hd95(first, second) == pytest.approx(gap)


def test_single_voxels_hd95_is_euclidean_distance_in_mm() -> None:
    first = np.zeros((10, 10, 10), dtype=bool)
    second = np.zeros((10, 10, 10), dtype=bool)
    first[1, 2, 3] = True
    second[4, 6, 5] = True
    steps = np.array([3, 4, 2]) * np.array(ANISOTROPIC)
    expected = np.sqrt(np.sum(steps**2))
    assert hd95(first, second, ANISOTROPIC) == pytest.approx(expected)
    assert hd95(second, first, ANISOTROPIC) == pytest.approx(expected)


def test_hd95_is_max_of_directed_percentiles_not_pooled() -> None:
    # A cube (152 border voxels) against the same cube plus a far-away 2 x 2 x 3 piece (12 border
    # voxels): the piece is 7% of the second mask's border, above the 5% tail, but 4% of both
    # borders pooled, below it. So the two definitions of HD95 (max of directed 95th
    # percentiles; medpy's pooled 95th percentile) differ by the whole gap.
    first = np.zeros((30, 12, 12), dtype=bool)
    first[2:8, 2:8, 2:8] = True
    second = first.copy()
    second[24:26, 3:5, 3:6] = True
    a_to_b = directed_surface_distances(first, second)
    b_to_a = directed_surface_distances(second, first)
    directed_max = max(np.percentile(a_to_b, 95), np.percentile(b_to_a, 95))
    pooled = np.percentile(np.concatenate([a_to_b, b_to_a]), 95)
    assert pooled < 1.0 < 10.0 < directed_max
    assert hd95(first, second) == pytest.approx(directed_max)
    assert hd95(first, second) == pytest.approx(brute_force_hd95(first, second, (1.0, 1.0, 1.0)))


# ----------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("seed", range(6))
def test_hd95_matches_brute_force_with_anisotropic_spacing(seed: int) -> None:
    shape = (14, 12, 10)
    prediction = random_blob(shape, seed, 0.25)
    reference = random_blob(shape, seed + 100, 0.3)
    expected = brute_force_hd95(prediction, reference, ANISOTROPIC)
    assert hd95(prediction, reference, ANISOTROPIC) == pytest.approx(expected, rel=1e-12)
    assert hd95(reference, prediction, ANISOTROPIC) == pytest.approx(expected, rel=1e-12)


def test_hd95_matches_brute_force_for_masks_touching_the_array_edge() -> None:
    shape = (10, 11, 9)
    prediction = np.zeros(shape, dtype=bool)
    reference = np.zeros(shape, dtype=bool)
    prediction[0:5, 0:11, 3:9] = True  # touches five faces of the array
    reference[2:8, 1:6, 0:4] = True
    expected = brute_force_hd95(prediction, reference, ANISOTROPIC)
    assert hd95(prediction, reference, ANISOTROPIC) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_surface_matches_neighbour_definition(seed: int) -> None:
    mask = random_blob((12, 13, 11), seed, 0.4)
    mask[0, :, :] |= mask[1, :, :]  # reach the edge of the array
    np.testing.assert_array_equal(surface(mask), border_by_neighbours(mask))


# ----------------------------------------------------------------------------- empty masks


def test_empty_mask_conventions() -> None:
    shape = (8, 9, 10)
    voxels = np.prod(shape)
    empty = np.zeros(shape, dtype=bool)
    some = np.zeros(shape, dtype=bool)
    some[2:4, 3:6, 1:2] = True
    size = int(some.sum())

    # both empty: perfect on every metric
    assert dice(empty, empty) == 1.0
    assert sensitivity(empty, empty) == 1.0
    assert specificity(empty, empty) == 1.0
    assert hd95(empty, empty) == 0.0
    # reference empty, prediction not: a false positive
    assert dice(some, empty) == 0.0
    assert sensitivity(some, empty) == 0.0
    assert specificity(some, empty) == pytest.approx((voxels - size) / voxels)
    assert hd95(some, empty) == pytest.approx(HD95_ONE_EMPTY_MM)
    # prediction empty, reference not: a miss
    assert dice(empty, some) == 0.0
    assert sensitivity(empty, some) == 0.0
    assert specificity(empty, some) == 1.0
    assert hd95(empty, some) == pytest.approx(HD95_ONE_EMPTY_MM)


def test_one_empty_hd95_is_the_volume_diagonal() -> None:
    assert HD95_ONE_EMPTY_MM == pytest.approx(np.linalg.norm(VOLUME_SHAPE), abs=1e-4)


def test_specificity_without_negatives_mirrors_sensitivity() -> None:
    full = np.ones((5, 6, 7), dtype=bool)
    partial = full.copy()
    partial[0, 0, 0] = False
    assert specificity(full, full) == 1.0
    assert specificity(partial, full) == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_specificity_is_sensitivity_of_complements(seed: int) -> None:
    prediction = random_blob((10, 10, 10), seed, 0.3)
    reference = random_blob((10, 10, 10), seed + 50, 0.2)
    assert specificity(prediction, reference) == pytest.approx(sensitivity(~prediction, ~reference))
    negatives = ~reference
    assert specificity(prediction, reference) == pytest.approx(
        np.sum(~prediction & negatives) / np.sum(negatives)
    )


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="shape"):
        dice(np.zeros((3, 3, 3), bool), np.zeros((3, 3, 4), bool))
    with pytest.raises(ValueError, match="shape"):
        hd95(np.ones((3, 3, 3), bool), np.ones((3, 3, 4), bool))
    with pytest.raises(ValueError, match="spacing"):
        hd95(np.ones((3, 3, 3), bool), np.ones((3, 3, 3), bool), spacing=(1.0, 1.0))


# ----------------------------------------------------------------------------- full volume crop


@pytest.mark.parametrize("at_edge", [False, True], ids=["inside", "touching_volume_edge"])
def test_crop_gives_the_same_hd95_as_whole_volume(at_edge: bool) -> None:
    shape = VOLUME_SHAPE
    prediction = np.zeros(shape, dtype=bool)
    reference = np.zeros(shape, dtype=bool)
    blob_a = random_blob((40, 36, 30), 7, 0.3)
    blob_b = random_blob((40, 36, 30), 8, 0.3)
    if at_edge:
        prediction[:40, -36:, :30] = blob_a
        reference[3:43, -36:, 2:32] = blob_b
    else:
        prediction[100:140, 90:126, 60:90] = blob_a
        reference[104:144, 92:128, 58:88] = blob_b
        reference[20:23, 200:203, 140:143] = True  # a far-away piece widens the bounding box
    cropped = hd95(prediction, reference, ANISOTROPIC, crop=True)
    whole = hd95(prediction, reference, ANISOTROPIC, crop=False)
    assert whole > 0
    assert cropped == pytest.approx(whole, rel=1e-12)


# ----------------------------------------------------------------------------- region scores


@pytest.mark.parametrize("seed", range(2))
def test_region_scores_match_masks_built_in_the_test(seed: int) -> None:
    shape = (16, 14, 12)
    prediction = random_labels(shape, seed)
    reference = random_labels(shape, seed + 10)
    scores = region_scores(prediction, reference, ANISOTROPIC)
    assert set(scores) == {
        f"{metric}_{region}"
        for metric in ("Dice", "Sensitivity", "Specificity", "HD95")
        for region in ("WT", "TC", "ET")
    }
    for region, region_labels in {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)}.items():
        assert REGION_LABELS[region] == region_labels
        p = np.zeros(shape, dtype=bool)
        r = np.zeros(shape, dtype=bool)
        for label in region_labels:
            p |= prediction == label
            r |= reference == label
        overlap = np.sum(p & r)
        assert scores[f"Dice_{region}"] == pytest.approx(2 * overlap / (p.sum() + r.sum()))
        assert scores[f"Sensitivity_{region}"] == pytest.approx(overlap / r.sum())
        assert scores[f"Specificity_{region}"] == pytest.approx(np.sum(~p & ~r) / np.sum(~r))
        assert scores[f"HD95_{region}"] == pytest.approx(brute_force_hd95(p, r, ANISOTROPIC))


def test_mask_scores_equal_separate_functions() -> None:
    prediction = random_blob((12, 12, 12), 3, 0.3)
    reference = random_blob((12, 12, 12), 4, 0.3)
    scores = mask_scores(prediction, reference, ANISOTROPIC)
    assert scores == {
        "Dice": dice(prediction, reference),
        "Sensitivity": sensitivity(prediction, reference),
        "Specificity": specificity(prediction, reference),
        "HD95": hd95(prediction, reference, ANISOTROPIC),
    }


def test_region_scores_without_enhancing_tumour() -> None:
    reference = np.zeros((10, 10, 10), dtype=np.uint8)
    reference[2:6, 2:6, 2:6] = 2
    reference[3:5, 3:5, 3:5] = 1
    prediction = reference.copy()
    prediction[4, 4, 4] = 4  # a false-positive enhancing voxel (still inside WT and TC)
    scores = region_scores(prediction, reference)
    assert scores["Dice_WT"] == 1.0 and scores["HD95_WT"] == 0.0
    assert scores["Dice_ET"] == 0.0
    assert scores["Sensitivity_ET"] == 0.0
    assert scores["HD95_ET"] == pytest.approx(HD95_ONE_EMPTY_MM)
    no_enhancing = region_scores(reference, reference)
    assert no_enhancing["Dice_ET"] == 1.0 and no_enhancing["HD95_ET"] == 0.0


# ----------------------------------------------------------------------------- original notebook


@pytest.mark.parametrize("seed", range(3))
def test_original_notebook_scores_match_one_hot_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = labels_to_classes(random_labels((12, 10, 8), seed))
    prediction = reference.copy()
    flip = rng.random(reference.shape) < 0.2
    prediction[flip] = rng.integers(0, NUM_CLASSES, size=int(flip.sum()))
    scores = original_notebook_scores(prediction, reference)
    assert list(scores) == list(ORIGINAL_NOTEBOOK_METRICS)
    expected = notebook_metrics_with_one_hot(prediction, reference)
    assert list(scores.values()) == pytest.approx(expected, rel=1e-9)
    accuracy = np.mean(prediction == reference)
    assert scores["Sensitivity (all classes)"] == pytest.approx(accuracy)
    assert scores["Dice (all classes, with background)"] == pytest.approx(accuracy)
    # the NumPy twins of the Keras functions give the same on explicit one-hot arrays
    y_pred, y_true = one_hot(prediction), one_hot(reference)
    assert original_dice_coefficient(y_true[None], y_pred[None]) == pytest.approx(accuracy)
    assert original_sensitivity(y_true, y_pred) == pytest.approx(expected[1], rel=1e-9)
    assert original_specificity(y_true, y_pred) == pytest.approx(expected[2], rel=1e-9)


def test_original_notebook_scores_reject_file_labels() -> None:
    labels = np.array([[[0, 4]]], dtype=np.uint8)
    with pytest.raises(ValueError, match="class indices"):
        original_notebook_scores(labels, labels)


# ----------------------------------------------------------------------------- real sample


def _sample_masks(count: int) -> list[tuple[str, np.ndarray, tuple[float, ...]]]:
    folder = sample_dir()
    if folder is None:
        pytest.skip("real BraTS sample not found (BRATS_SAMPLE_DIR or ../shared/brats18_sample)")
    masks = []
    for case in [c for c in find_cases(folder) if c.has_mask][:count]:
        volume = load_volume(case.mask, is_mask=True)
        masks.append((case.case_id, volume.data, volume.spacing))
    return masks


@pytest.mark.real_data
def test_real_reference_against_itself_is_perfect() -> None:
    for case_id, reference, spacing in _sample_masks(2):
        scores = region_scores(reference, reference, spacing)
        for region in ("WT", "TC", "ET"):
            assert scores[f"Dice_{region}"] == 1.0, case_id
            assert scores[f"Sensitivity_{region}"] == 1.0, case_id
            assert scores[f"Specificity_{region}"] == 1.0, case_id
            assert scores[f"HD95_{region}"] == 0.0, case_id


@pytest.mark.real_data
def test_real_reference_against_dilated_shifted_copy_matches_kdtree() -> None:
    ((case_id, reference, _),) = _sample_masks(1)
    # Prediction: the tumour core dilated by two voxels into the oedema, the whole map shifted.
    prediction = reference.copy()
    core = np.isin(reference, (1, 4))
    grown = ndimage.binary_dilation(core, iterations=2) & ~core & (reference > 0)
    prediction[grown] = 1
    prediction = np.roll(prediction, shift=(2, -3, 1), axis=(0, 1, 2))
    scores = region_scores(prediction, reference, ANISOTROPIC)
    for region, region_labels in REGION_LABELS.items():
        p = np.isin(prediction, region_labels)
        r = np.isin(reference, region_labels)
        p_voxels, r_voxels = np.flatnonzero(p), np.flatnonzero(r)
        overlap = np.intersect1d(p_voxels, r_voxels).size
        assert scores[f"Dice_{region}"] == pytest.approx(
            2 * overlap / (p_voxels.size + r_voxels.size)
        ), case_id
        assert scores[f"Sensitivity_{region}"] == pytest.approx(overlap / r_voxels.size)
        negatives = p.size - r_voxels.size
        false_positives = p_voxels.size - overlap
        assert scores[f"Specificity_{region}"] == pytest.approx(
            (negatives - false_positives) / negatives
        )
        expected_hd95 = kdtree_hd95(p, r, ANISOTROPIC)
        assert expected_hd95 > 0
        assert scores[f"HD95_{region}"] == pytest.approx(expected_hd95, rel=1e-9), region


@pytest.mark.real_data
def test_pitfall_all_background_prediction_scores_well_on_the_original_metrics() -> None:
    ((case_id, reference, spacing),) = _sample_masks(1)
    prediction = np.zeros_like(reference)
    reference_classes = labels_to_classes(reference)
    original = original_notebook_scores(np.zeros_like(reference_classes), reference_classes)
    regions = region_scores(prediction, reference, spacing)

    # the honest metrics: nothing found
    for region in ("WT", "TC", "ET"):
        assert regions[f"Dice_{region}"] == 0.0
        assert regions[f"Sensitivity_{region}"] == 0.0
        assert regions[f"HD95_{region}"] == pytest.approx(HD95_ONE_EMPTY_MM)
    # the original metrics: background makes "sensitivity" and "specificity" look excellent
    background_fraction = np.mean(reference == 0)
    assert background_fraction > 0.9
    assert original["Sensitivity (all classes)"] == pytest.approx(background_fraction)
    assert original["Sensitivity (all classes)"] > 0.9
    assert original["Specificity (all classes)"] > 0.9
    # and "Dice" pools the four channels: for a one-hot answer it is the voxel accuracy, here
    # the share of background voxels
    assert original["Dice (all classes, with background)"] == pytest.approx(
        background_fraction, abs=1e-9
    ), case_id
    assert original["Dice (all classes, with background)"] > 0.97
