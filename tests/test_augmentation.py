"""Rich augmentation: images and masks move together, no new class appears, the background
stays 0, the stored arrays are untouched, and the draws are reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from brats_tutorial.augmentation import (
    RichAugmentation,
    resolve_augmentation,
    rich_augment_batch,
)
from brats_tutorial.py_dataset import SliceDataset


def square_batch(count=8, size=32, channels=2):
    """Slices with a bright square whose mask is the same square (class 2), value 1 inside."""
    images = np.zeros((count, size, size, channels), np.float16)
    classes = np.zeros((count, size, size), np.uint8)
    images[:, 8:20, 10:24] = 1.0
    classes[:, 8:20, 10:24] = 2
    return images, classes


def test_images_and_masks_move_together_and_keep_their_classes():
    images, classes = square_batch()
    before = (images.copy(), classes.copy())
    spatial_only = RichAugmentation(intensity_probability=0.0)
    moved_images, moved_classes = rich_augment_batch(
        images, classes, np.random.default_rng(0), settings=spatial_only
    )
    np.testing.assert_array_equal(images, before[0])  # inputs untouched
    np.testing.assert_array_equal(classes, before[1])
    assert moved_images.dtype == np.float16 and moved_classes.dtype == np.uint8
    assert set(np.unique(moved_classes)) <= {0, 2}
    # Where the (nearest-neighbour) mask says "square", the (linear) image is mostly bright.
    inside = moved_images[..., 0][moved_classes == 2].astype(np.float32)
    outside = moved_images[..., 0][moved_classes == 0].astype(np.float32)
    assert inside.mean() > 0.8 and outside.mean() < 0.1
    assert not np.array_equal(moved_classes, classes)  # something moved


def test_intensity_changes_leave_the_background_at_zero_and_act_per_modality():
    images, classes = square_batch(count=16)
    images[..., 1] *= 2  # modality 1 is twice modality 0
    intensity_only = RichAugmentation(
        flip_probability=0.0, spatial_probability=0.0, intensity_probability=1.0
    )
    changed, same_classes = rich_augment_batch(
        images, classes, np.random.default_rng(1), settings=intensity_only
    )
    np.testing.assert_array_equal(same_classes, classes)
    assert (changed[images == 0] == 0).all()
    ratios = changed[:, 10, 12, 1].astype(np.float32) / changed[:, 10, 12, 0].astype(np.float32)
    assert np.abs(ratios - 2).max() > 0.01  # the two modalities got different changes


def test_the_draws_are_reproducible_from_the_seed():
    images, classes = square_batch()
    first = rich_augment_batch(images, classes, np.random.default_rng(5))
    second = rich_augment_batch(images, classes, np.random.default_rng(5))
    other = rich_augment_batch(images, classes, np.random.default_rng(6))
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.array_equal(first[0], other[0])


def test_the_pipelines_apply_rich_augmentation_to_training_batches():
    images, classes = square_batch(count=16)
    plain = SliceDataset(images, classes, batch_size=16, shuffle=False)[0]
    rich = SliceDataset(images, classes, batch_size=16, shuffle=False, augment="rich", seed=3)
    augmented = rich[0]
    assert not np.array_equal(plain[0], augmented[0])
    assert set(np.unique(augmented[1].argmax(-1))) <= {0, 2}
    np.testing.assert_array_equal(rich[0][0], augmented[0])  # same epoch, same batch
    rich.on_epoch_end()
    assert not np.array_equal(rich[0][0], augmented[0])  # a new epoch draws anew


def test_augmentation_names():
    assert resolve_augmentation(False) == "none"
    assert resolve_augmentation("flip") == "flip"
    with pytest.raises(ValueError, match="augment"):
        resolve_augmentation("strong")
