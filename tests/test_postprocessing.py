"""Post-processing: small components go, a small enhancing tumour becomes necrosis, and the
threshold chosen on some patients is the one that scores best on them."""

from __future__ import annotations

import numpy as np
import pytest

from brats_tutorial.labels import regions_to_labels
from brats_tutorial.postprocessing import (
    PostprocessingSettings,
    choose_min_enhancing_voxels,
    postprocess_labels,
    relabel_small_enhancing,
    remove_small_components,
)


def test_small_components_are_removed_and_large_ones_kept_whole():
    labels = np.zeros((20, 20, 20), np.uint8)
    labels[2:8, 2:8, 2:8] = 2  # 216 voxels
    labels[4:6, 4:6, 4:6] = 4  # inside the big one
    labels[15, 15, 15] = 1  # a single speck
    labels[12:14, 12:14, 12] = 2  # 4 voxels
    labels[14, 14, 13] = 2  # touches the 4-voxel piece at a corner: 26-connected, 5 voxels
    cleaned = remove_small_components(labels, 6)
    np.testing.assert_array_equal(cleaned[2:8, 2:8, 2:8], labels[2:8, 2:8, 2:8])
    assert cleaned[15, 15, 15] == 0 and cleaned[12:15, 12:15, 12:14].sum() == 0
    assert remove_small_components(labels, 5)[14, 14, 13] == 2
    np.testing.assert_array_equal(remove_small_components(labels, 0), labels)


def test_small_enhancing_tumour_becomes_necrosis_and_large_stays():
    labels = np.array([0, 2, 4, 4, 1], np.uint8)
    np.testing.assert_array_equal(relabel_small_enhancing(labels, 3), [0, 2, 1, 1, 1])
    np.testing.assert_array_equal(relabel_small_enhancing(labels, 2), labels)
    settings = PostprocessingSettings(min_component_voxels=0, min_enhancing_voxels=3)
    np.testing.assert_array_equal(postprocess_labels(labels, settings), [0, 2, 1, 1, 1])


def test_the_chosen_threshold_scores_best_on_the_given_patients():
    rng = np.random.default_rng(0)
    references, predictions = [], []
    for has_enhancing in (True, False, False):
        reference = np.zeros((10, 10, 10), np.uint8)
        reference[2:7, 2:7, 2:7] = 2
        prediction = reference.copy()
        if has_enhancing:
            reference[3:6, 3:6, 3:6] = 4  # 27 voxels
            prediction[3:6, 3:6, 3:5] = 4  # 18 found
        else:
            spots = rng.choice(125, size=5, replace=False)  # 5 false enhancing voxels
            prediction.reshape(-1)[spots] = 4
        references.append(reference)
        predictions.append(prediction)
    threshold, scores = choose_min_enhancing_voxels(predictions, references, (0, 10, 30))
    # 10 removes the false 5-voxel ones and keeps the true 18; 30 would remove the true one too.
    assert threshold == 10
    assert scores[10] == pytest.approx((2 * 18 / 45 + 1 + 1) / 3)
    assert scores[0] < scores[10] and scores[30] < scores[10]


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="min_component_voxels"):
        PostprocessingSettings(min_component_voxels=-1)
    with pytest.raises(ValueError, match="at least one"):
        choose_min_enhancing_voxels([], [])


def test_regions_are_rebuilt_into_nested_labels():
    whole = np.array([1, 1, 1, 0, 0], bool)
    core = np.array([0, 1, 1, 0, 1], bool)
    enhancing = np.array([0, 0, 1, 0, 0], bool)
    np.testing.assert_array_equal(regions_to_labels(whole, core, enhancing), [2, 1, 4, 0, 1])
