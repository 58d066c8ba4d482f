"""Region-based training (three sigmoid outputs WT, TC, ET), under every Keras backend: the
model's output, the loss against a NumPy oracle, the training metrics, and a few steps that
lower the loss."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from brats_tutorial.losses import RegionDiceBCELoss, regions_from_one_hot
from brats_tutorial.model import build_model
from brats_tutorial.training_metrics import region_metrics


def one_hot(classes, count=4):
    return np.eye(count, dtype=np.float32)[classes]


def numpy_region_loss(y_true, y_pred, smooth=1e-5):
    """The loss written out with NumPy: mean over regions of 1 - soft Dice, plus mean BCE."""
    classes = y_true.argmax(-1)
    regions = np.stack([classes > 0, np.isin(classes, (1, 3)), classes == 3], -1).astype(np.float64)
    y_pred = y_pred.astype(np.float64)
    dice = [
        (2 * (regions[..., r] * y_pred[..., r]).sum() + smooth)
        / (regions[..., r].sum() + y_pred[..., r].sum() + smooth)
        for r in range(3)
    ]
    clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
    bce = -np.mean(regions * np.log(clipped) + (1 - regions) * np.log(1 - clipped))
    return 1 - np.mean(dice) + bce


def test_regions_from_one_hot_are_nested():
    classes = np.array([[0, 1, 2, 3]])
    regions = keras.ops.convert_to_numpy(regions_from_one_hot(one_hot(classes)))
    np.testing.assert_array_equal(regions[0], [[0, 0, 0], [1, 1, 0], [1, 0, 0], [1, 1, 1]])


def test_the_loss_matches_numpy():
    rng = np.random.default_rng(0)
    y_true = one_hot(rng.integers(0, 4, size=(2, 8, 8)))
    y_pred = rng.uniform(0.01, 0.99, size=(2, 8, 8, 3)).astype(np.float32)
    value = float(keras.ops.convert_to_numpy(RegionDiceBCELoss()(y_true, y_pred)))
    assert value == pytest.approx(numpy_region_loss(y_true, y_pred), rel=1e-4)
    perfect = keras.ops.convert_to_numpy(regions_from_one_hot(y_true))
    assert float(keras.ops.convert_to_numpy(RegionDiceBCELoss()(y_true, perfect))) < 1e-4


def test_region_metrics_threshold_each_channel():
    classes = np.array([[[0, 1], [2, 3]]])
    y_true = one_hot(classes)
    # predicts WT everywhere, TC nowhere, ET exactly right
    y_pred = np.zeros((1, 2, 2, 3), np.float32)
    y_pred[..., 0] = 0.9
    y_pred[0, 1, 1, 2] = 0.7
    values = {}
    for metric in region_metrics("regions"):
        metric.update_state(y_true, y_pred)
        values[metric.name] = float(keras.ops.convert_to_numpy(metric.result()))
    assert values["dice_WT"] == pytest.approx(2 * 3 / (4 + 3))
    assert values["dice_TC"] == pytest.approx(0.0)
    assert values["dice_ET"] == pytest.approx(1.0)


@pytest.mark.slow
def test_a_region_model_has_three_sigmoid_outputs_and_learns():
    keras.utils.set_random_seed(0)
    model = build_model("quick", input_shape=(32, 32, 6), target="regions")
    assert model.output_shape == (None, 32, 32, 3)
    rng = np.random.default_rng(0)
    images = rng.normal(size=(8, 32, 32, 6)).astype(np.float32)
    classes = np.zeros((8, 32, 32), np.int64)
    classes[:, 8:20, 8:20] = 2
    classes[:, 10:14, 10:14] = 3
    images[..., 0] += (classes > 0) * 2.0
    targets = one_hot(classes)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=RegionDiceBCELoss(),
        metrics=region_metrics("regions"),
    )
    history = model.fit(images, targets, epochs=8, batch_size=8, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    outputs = keras.ops.convert_to_numpy(model(images[:1]))
    assert outputs.min() >= 0 and outputs.max() <= 1
