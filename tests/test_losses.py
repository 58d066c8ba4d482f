"""Tests of brats_tutorial.losses against NumPy references written here.

Runs under the TensorFlow and JAX backends.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from brats_tutorial.losses import (
    DiceCrossEntropyLoss,
    categorical_crossentropy,
    dice_ce_loss,
    original_dice_coef,
    original_dice_loss,
    soft_dice_loss,
)
from brats_tutorial.training_metrics import RegionDice


def to_numpy(value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value))


def random_case(seed: int, shape=(3, 16, 16), num_classes: int = 4):
    """One-hot reference and random softmax probabilities, float32 (B, H, W, K)."""
    generator = np.random.default_rng(seed)
    classes = generator.integers(0, num_classes, size=shape)
    one_hot = np.eye(num_classes, dtype=np.float32)[classes]
    logits = generator.normal(size=(*shape, num_classes))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    return one_hot, probabilities.astype(np.float32)


def numpy_crossentropy(one_hot: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean over pixels of -log(probability of the true class)."""
    true_class = one_hot.argmax(axis=-1)
    chosen = np.take_along_axis(probabilities, true_class[..., None], axis=-1)[..., 0]
    return float(np.mean(-np.log(np.clip(chosen.astype(np.float64), 1e-7, 1.0))))


def numpy_class_dice(one_hot, probabilities, smooth) -> np.ndarray:
    """Dice per class with loops over classes; sums over all pixels of the batch."""
    dice = []
    for k in range(one_hot.shape[-1]):
        t = one_hot[..., k].astype(np.float64).ravel()
        p = probabilities[..., k].astype(np.float64).ravel()
        dice.append((2 * np.dot(t, p) + smooth) / (t.sum() + p.sum() + smooth))
    return np.array(dice)


@pytest.mark.parametrize("seed", [0, 1])
def test_crossentropy_matches_numpy(seed):
    one_hot, probabilities = random_case(seed)
    expected = numpy_crossentropy(one_hot, probabilities)
    assert float(to_numpy(categorical_crossentropy(one_hot, probabilities))) == pytest.approx(
        expected, rel=1e-5
    )
    keras_values = keras.losses.categorical_crossentropy(one_hot, probabilities)
    reference = float(to_numpy(keras_values).mean())
    assert float(to_numpy(categorical_crossentropy(one_hot, probabilities))) == pytest.approx(
        reference, rel=1e-4
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("include_background", [False, True])
def test_soft_dice_loss_matches_numpy(seed, include_background):
    one_hot, probabilities = random_case(seed)
    dice = numpy_class_dice(one_hot, probabilities, smooth=1e-5)
    expected = 1 - (dice.mean() if include_background else dice[1:].mean())
    actual = soft_dice_loss(one_hot, probabilities, include_background=include_background)
    assert float(to_numpy(actual)) == pytest.approx(expected, rel=1e-5)


def test_background_changes_dice_loss_only_when_included():
    one_hot, probabilities = random_case(3)
    # Make the background term differ clearly from the tumour classes' mean.
    probabilities = probabilities.copy()
    probabilities[..., 0] = np.where(one_hot[..., 0] == 1, 0.97, 0.01)
    probabilities[..., 1:] = np.where(one_hot[..., 0:1] == 1, 0.01, probabilities[..., 1:])
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    dice = numpy_class_dice(one_hot, probabilities, smooth=1e-5)
    without = float(to_numpy(soft_dice_loss(one_hot, probabilities)))
    with_background = float(
        to_numpy(soft_dice_loss(one_hot, probabilities, include_background=True))
    )
    assert without == pytest.approx(1 - dice[1:].mean(), rel=1e-5)
    assert with_background == pytest.approx(1 - dice.mean(), rel=1e-5)
    assert dice[0] > dice[1:].mean() + 0.1
    assert with_background < without - 0.02


def test_perfect_prediction_gives_zero_dice_loss():
    one_hot, _ = random_case(4)
    assert float(to_numpy(soft_dice_loss(one_hot, one_hot))) == pytest.approx(0.0, abs=1e-6)
    assert float(
        to_numpy(soft_dice_loss(one_hot, one_hot, include_background=True))
    ) == pytest.approx(0.0, abs=1e-6)
    assert float(to_numpy(original_dice_loss(one_hot, one_hot))) == pytest.approx(0.0, abs=1e-6)
    assert float(to_numpy(categorical_crossentropy(one_hot, one_hot))) < 1e-5


def mostly_background_case(tumour_pixels: int = 12):
    """A batch of 2 slices 32x32: background except a small oedema patch (class 2) in slice 0."""
    classes = np.zeros((2, 32, 32), dtype=np.int64)
    classes[0, 10:13, 10 : 10 + tumour_pixels // 3] = 2
    one_hot = np.eye(4, dtype=np.float32)[classes]
    all_background = np.eye(4, dtype=np.float32)[np.zeros_like(classes)]
    return one_hot, all_background


def test_all_background_prediction_scores_zero_on_the_tumour_classes():
    one_hot, all_background = mostly_background_case()
    dice = numpy_class_dice(one_hot, all_background, smooth=1e-5)
    assert dice[2] < 1e-5  # oedema present, never predicted
    assert dice[1] == pytest.approx(1.0) and dice[3] == pytest.approx(1.0)  # absent in both
    expected = 1 - dice[1:].mean()
    assert float(to_numpy(soft_dice_loss(one_hot, all_background))) == pytest.approx(
        expected, rel=1e-5
    )
    # With background included the loss is lower: the background Dice is close to 1.
    with_background = float(
        to_numpy(soft_dice_loss(one_hot, all_background, include_background=True))
    )
    assert with_background < float(to_numpy(soft_dice_loss(one_hot, all_background)))


@pytest.mark.parametrize("seed", [0, 5])
def test_original_dice_coef_matches_numpy(seed):
    one_hot, probabilities = random_case(seed)
    expected = numpy_class_dice(one_hot, probabilities, smooth=1.0).mean()
    assert float(to_numpy(original_dice_coef(one_hot, probabilities))) == pytest.approx(
        expected, rel=1e-5
    )
    assert float(to_numpy(original_dice_loss(one_hot, probabilities))) == pytest.approx(
        1 - expected, rel=1e-5
    )


def test_original_dice_pitfall_high_score_for_a_network_that_finds_no_tumour():
    """The original metric rewards predicting background everywhere; the region Dice does not.

    Keras averages a metric function over the batches of an epoch. On a set of slices where most
    batches are tumour-free (as in the original slice window) a network that predicts
    background everywhere gets an original Dice above 0.9, while the whole-tumour Dice is 0.
    """
    one_hot, all_background = mostly_background_case()
    tumour_batch = float(to_numpy(original_dice_coef(one_hot[:1], all_background[:1])))
    # background about 1, absent classes 1 and 3 count as 1, oedema 1 / (12 + 1): about 0.77
    expected = numpy_class_dice(one_hot[:1], all_background[:1], smooth=1.0)
    assert tumour_batch == pytest.approx(expected.mean(), rel=1e-5)
    assert expected[2] < 0.1 and 0.7 < tumour_batch < 0.8
    empty_one_hot = np.eye(4, dtype=np.float32)[np.zeros((1, 32, 32), dtype=np.int64)]
    empty_batch = float(to_numpy(original_dice_coef(empty_one_hot, all_background[:1])))
    assert empty_batch == pytest.approx(1.0)
    # One tumour batch and nine tumour-free batches, averaged like Keras does per epoch.
    epoch_mean = (tumour_batch + 9 * empty_batch) / 10
    assert epoch_mean > 0.9

    whole_tumour = RegionDice("WT")
    whole_tumour.update_state(one_hot[:1], all_background[:1])
    for _ in range(9):
        whole_tumour.update_state(empty_one_hot, all_background[:1])
    assert float(to_numpy(whole_tumour.result())) == 0.0


@pytest.mark.parametrize(
    "dice_weight, ce_weight, include_background", [(1.0, 1.0, False), (0.3, 2.0, True)]
)
def test_dice_ce_loss_is_the_weighted_sum(dice_weight, ce_weight, include_background):
    one_hot, probabilities = random_case(7)
    loss = dice_ce_loss(dice_weight, ce_weight, include_background)
    dice = numpy_class_dice(one_hot, probabilities, smooth=1e-5)
    dice_loss = 1 - (dice.mean() if include_background else dice[1:].mean())
    expected = dice_weight * dice_loss + ce_weight * numpy_crossentropy(one_hot, probabilities)
    assert float(to_numpy(loss(one_hot, probabilities))) == pytest.approx(expected, rel=1e-5)


def test_dice_ce_loss_serialises():
    loss = DiceCrossEntropyLoss(dice_weight=0.5, ce_weight=2.0, include_background=True)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, DiceCrossEntropyLoss)
    assert (restored.dice_weight, restored.ce_weight, restored.include_background) == (
        0.5,
        2.0,
        True,
    )
    one_hot, probabilities = random_case(8)
    assert float(to_numpy(restored(one_hot, probabilities))) == pytest.approx(
        float(to_numpy(loss(one_hot, probabilities))), rel=1e-6
    )


def test_losses_accept_half_precision_predictions():
    one_hot, probabilities = random_case(9)
    half = keras.ops.cast(probabilities, "float16")
    value = dice_ce_loss()(one_hot, half)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert float(to_numpy(value)) == pytest.approx(
        float(to_numpy(dice_ce_loss()(one_hot, probabilities))), rel=1e-2
    )
    soft = soft_dice_loss(
        keras.ops.cast(one_hot, "bfloat16"), keras.ops.cast(probabilities, "bfloat16")
    )
    assert keras.backend.standardize_dtype(soft.dtype) == "float32"


def test_compiled_model_trains_with_dice_ce_loss():
    """The loss works inside fit() on the current backend and its value goes down."""
    generator = np.random.default_rng(10)
    images = generator.normal(size=(8, 16, 16, 2)).astype(np.float32)
    # Learnable: oedema (class 2) where channel 0 is high.
    classes = (images[..., 0] > 0.5).astype(np.int64) * 2
    one_hot = np.eye(4, dtype=np.float32)[classes]
    inputs = keras.Input((16, 16, 2))
    outputs = keras.layers.Conv2D(4, 1, activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=dice_ce_loss())
    history = model.fit(images, one_hot, batch_size=8, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_model_compiled_with_course_losses_and_metrics_saves_and_loads(tmp_path):
    from brats_tutorial.training_metrics import original_sensitivity, region_metrics

    inputs = keras.Input((8, 8, 2))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 1, activation="softmax")(inputs))
    model.compile(
        optimizer="adam",
        loss=dice_ce_loss(dice_weight=0.5),
        metrics=[*region_metrics(), original_dice_coef, original_sensitivity],
    )
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # no custom_objects needed
    assert isinstance(restored.loss, DiceCrossEntropyLoss)
    assert restored.loss.dice_weight == 0.5
    images = np.random.default_rng(11).normal(size=(2, 8, 8, 2)).astype(np.float32)
    one_hot, _ = random_case(11, shape=(2, 8, 8))
    results = restored.evaluate(images, one_hot, verbose=0, return_dict=True)
    assert {"dice_WT", "specificity_ET", "original_dice_coef", "original_sensitivity"} <= set(
        results
    )
    expected = model.evaluate(images, one_hot, verbose=0, return_dict=True)
    for name, value in expected.items():
        assert results[name] == pytest.approx(value, rel=1e-5), name
