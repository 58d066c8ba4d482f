"""The original notebook's recipe: its slices, its network and a tiny training run.

One synthetic case (seed 0) serves every test; the training run uses two patients at 32 x 32.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from brats_tutorial.constants import DEFAULT_MODALITIES, SLICE_COUNT, SLICE_START
from brats_tutorial.discovery import find_cases
from brats_tutorial.loading import load_case
from brats_tutorial.model import UNetConfig
from brats_tutorial.original_recipe import (
    ORIGINAL_METRIC_NAMES,
    OriginalRecipeConfig,
    build_original_model,
    original_slices,
    predict_original_recipe,
    train_original_recipe,
)
from brats_tutorial.preprocessing import one_hot
from brats_tutorial.synthetic import generate_dataset

TINY_UNET = UNetConfig(base_filters=4, depth=2, batch_norm=False, dropout=0.5)


@pytest.fixture(scope="module")
def two_cases(tmp_path_factory):
    """Two loaded synthetic cases (FLAIR, T1ce and mask)."""
    folder = tmp_path_factory.mktemp("original_recipe")
    generate_dataset(folder, n_cases=2, seed=0)
    return [load_case(files, DEFAULT_MODALITIES) for files in find_cases(folder)]


def test_slices_have_the_recipe_shapes_and_ranges(two_cases):
    case = two_cases[0]
    images, targets = original_slices(case, 32)
    assert images.shape == (SLICE_COUNT, 32, 32, 2) and images.dtype == np.float32
    assert targets.shape == (SLICE_COUNT, 32, 32, 4) and targets.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert targets.min() >= 0.0 and targets.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(targets.sum(axis=-1), 1.0, atol=1e-5)
    soft = (targets > 0.01) & (targets < 0.99)
    assert soft.any(), "bilinear one-hot targets must be soft along class borders"
    # Every tumour class appears somewhere as a soft value, not only as 0 or 1.
    assert all(soft[..., k].any() for k in range(1, 4))


def test_images_are_the_window_divided_by_the_volume_maximum(two_cases):
    """At 240 x 240 nothing is resized: each channel is exactly slices 22..121 / volume max."""
    case = two_cases[0]
    images, targets = original_slices(case, 240)
    for channel, modality in enumerate(DEFAULT_MODALITIES):
        volume = case.images[modality]
        expected = np.moveaxis(volume[:, :, SLICE_START : SLICE_START + SLICE_COUNT], 2, 0)
        np.testing.assert_allclose(images[..., channel], expected / volume.max(), rtol=1e-6)
        # Divided by the maximum, not z-scored: the brightest voxel of the volume would be 1.
        assert images[..., channel].max() == pytest.approx(
            volume[:, :, SLICE_START : SLICE_START + SLICE_COUNT].max() / volume.max()
        )
    # Unresized targets are the exact one-hot labels (4 -> class 3).
    window = np.moveaxis(case.mask[:, :, SLICE_START : SLICE_START + SLICE_COUNT], 2, 0)
    classes = np.select([window == 4, window == 2, window == 1], [3, 2, 1], 0)
    np.testing.assert_array_equal(targets, one_hot(classes))


def test_images_reach_one_when_the_brightest_voxel_is_in_the_window(two_cases):
    case = two_cases[0]
    images, _ = original_slices(case, 240)
    for channel, modality in enumerate(DEFAULT_MODALITIES):
        volume = case.images[modality]
        brightest_slice = np.unravel_index(np.argmax(volume), volume.shape)[2]
        assert SLICE_START <= brightest_slice < SLICE_START + SLICE_COUNT  # true of this case
        assert images[..., channel].max() == 1.0


def test_config_refuses_batch_norm_and_bad_sizes():
    with pytest.raises(ValueError, match="batch normalisation"):
        OriginalRecipeConfig(model="quick")
    with pytest.raises(ValueError, match="batch normalisation"):
        OriginalRecipeConfig(model=UNetConfig(base_filters=8, depth=3, batch_norm=True))
    with pytest.raises(ValueError, match="2\\*\\*depth"):
        OriginalRecipeConfig(image_size=36, model=UNetConfig(8, 3, False, 0.5))
    assert OriginalRecipeConfig().unet_config.batch_norm is False
    assert OriginalRecipeConfig().learning_rate == 1e-3


def test_model_has_no_batch_normalisation_and_the_original_compilation():
    config = OriginalRecipeConfig(image_size=32, model=TINY_UNET, epochs=1)
    model = build_original_model(config)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert model.input_shape == (None, 32, 32, 2) and model.output_shape == (None, 32, 32, 4)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-3)
    assert model.loss.__name__ == "original_loss"


def test_original_preset_has_no_batch_normalisation():
    """The full-size network (31 M parameters) is only built, never trained, here."""
    model = build_original_model(OriginalRecipeConfig(image_size=128))
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    assert model.count_params() == 31_031_364


@pytest.mark.slow
def test_tiny_run_reports_the_original_metrics_and_predicts_a_label_map(two_cases):
    config = OriginalRecipeConfig(image_size=32, model=TINY_UNET, epochs=2, batch_size=50)
    model, history = train_original_recipe(config, two_cases[:1], two_cases[1:])
    assert list(history["epoch"]) == [0, 1]
    for name in ("loss", *ORIGINAL_METRIC_NAMES):
        assert name in history and f"val_{name}" in history
        assert np.isfinite(history[name]).all()
    assert history["original_dice_coefficient"].between(0, 1).all()

    labels = predict_original_recipe(model, two_cases[1], config.image_size)
    assert labels.shape == (240, 240, 155) and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= {0, 1, 2, 4}
    outside = np.ones(155, dtype=bool)
    outside[SLICE_START : SLICE_START + SLICE_COUNT] = False
    assert not labels[:, :, outside].any(), "slices outside the window must be background"


@pytest.mark.slow
def test_same_seed_gives_the_same_run(two_cases):
    config = OriginalRecipeConfig(image_size=32, model=TINY_UNET, epochs=1, batch_size=50, seed=3)
    _, first = train_original_recipe(config, two_cases[:1])
    _, second = train_original_recipe(config, two_cases[:1])
    np.testing.assert_allclose(first["loss"], second["loss"], rtol=1e-6)
