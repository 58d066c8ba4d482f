"""2.5D inputs: neighbours stay within a patient, channels in the documented order, and both
pipelines give the same batches as a brute-force loop."""

from __future__ import annotations

import numpy as np
import pytest

from brats_tutorial.batches import gather_batch
from brats_tutorial.py_dataset import SliceDataset
from brats_tutorial.slice_context import (
    context_from_channels,
    neighbour_indices,
    stack_neighbours,
)


def brute_force_stack(images, index, slices_per_case, k):
    """(H, W, (2k+1) C) by loops: neighbour s + d of the same patient, clipped at its ends."""
    patient, position = divmod(index, slices_per_case)
    parts = []
    for offset in range(-k, k + 1):
        neighbour = min(max(position + offset, 0), slices_per_case - 1)
        parts.append(images[patient * slices_per_case + neighbour])
    return np.concatenate(parts, axis=-1)


@pytest.mark.parametrize("k", [0, 1, 2])
def test_stacked_neighbours_match_a_loop_and_never_cross_patients(k):
    rng = np.random.default_rng(0)
    slices_per_case, patients = 5, 3
    images = rng.normal(size=(patients * slices_per_case, 4, 4, 2)).astype(np.float16)
    indices = np.arange(patients * slices_per_case)
    stacked = stack_neighbours(images, neighbour_indices(indices, slices_per_case, k))
    assert stacked.shape == (len(indices), 4, 4, (2 * k + 1) * 2)
    assert stacked.dtype == np.float16
    for index in indices:
        np.testing.assert_array_equal(
            stacked[index], brute_force_stack(images, index, slices_per_case, k)
        )
    patient_of = neighbour_indices(indices, slices_per_case, k) // slices_per_case
    assert (patient_of == (indices // slices_per_case)[:, None]).all()


def test_context_is_read_back_from_the_channels_and_bad_counts_are_refused():
    assert [context_from_channels(c, 2) for c in (2, 6, 10)] == [0, 1, 2]
    with pytest.raises(ValueError, match="does not fit"):
        context_from_channels(4, 2)  # an even multiple: no centre slice
    with pytest.raises(ValueError, match="does not fit"):
        context_from_channels(5, 2)


def test_both_pipelines_give_the_same_2_5d_batches():
    pytest.importorskip("tensorflow")
    from brats_tutorial.tf_data import make_tf_dataset

    rng = np.random.default_rng(1)
    images = rng.normal(size=(20, 8, 8, 2)).astype(np.float16)
    classes = rng.integers(0, 4, size=(20, 8, 8)).astype(np.uint8)
    options = dict(batch_size=6, shuffle=False, context_slices=1, slices_per_case=10)
    tf_batches = list(make_tf_dataset(images, classes, **options).as_numpy_iterator())
    py_batches = [SliceDataset(images, classes, **options)[i] for i in range(4)]
    for (tf_images, tf_masks), (py_images, py_masks) in zip(tf_batches, py_batches):
        np.testing.assert_array_equal(tf_images, py_images)
        np.testing.assert_array_equal(tf_masks, py_masks)
    expected = gather_batch(images, classes, np.arange(6), context_slices=1, slices_per_case=10)
    np.testing.assert_array_equal(py_batches[0][0], expected[0].astype(np.float32))
    assert py_batches[0][0].shape == (6, 8, 8, 6)


def test_a_context_without_a_patient_length_is_refused():
    images = np.zeros((10, 4, 4, 2), np.float16)
    classes = np.zeros((10, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="slices_per_case"):
        SliceDataset(images, classes, context_slices=1)
    with pytest.raises(ValueError, match="slices_per_case"):
        SliceDataset(images, classes, context_slices=1, slices_per_case=3)
