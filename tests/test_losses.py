"""Tests of brats_tutorial.losses against NumPy references written here.

Runs under the TensorFlow and JAX backends.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from brats_tutorial import volume_metrics
from brats_tutorial.losses import (
    DiceCrossEntropyLoss,
    categorical_crossentropy,
    dice_ce_loss,
    original_dice_coefficient,
    original_loss,
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
    assert float(to_numpy(original_dice_coefficient(one_hot, one_hot))) == pytest.approx(1.0)
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


def test_original_dice_coefficient_on_a_hand_computed_example():
    """Two slices of 2 x 2 pixels, two classes, worked out by hand.

    Slice 0: reference classes [[0, 0], [0, 1]], prediction probabilities of class 1
    [[0, 0.5], [0, 1]]; pooled over pixels and both channels: sum(t * p) = 1 + 0.5 + 1 + 1 = 3.5,
    sum(t) + sum(p) = 4 + 4 = 8, Dice 7 / 8. Slice 1: everything background, predicted as
    background with probability 1: Dice 1. Mean over the batch: 15 / 16.
    """
    reference = np.eye(2, dtype=np.float32)[np.array([[[0, 0], [0, 1]], [[0, 0], [0, 0]]])]
    class_one = np.array([[[0, 0.5], [0, 1]], [[0, 0], [0, 0]]], dtype=np.float32)
    prediction = np.stack([1 - class_one, class_one], axis=-1)
    dice = float(to_numpy(original_dice_coefficient(reference, prediction)))
    assert dice == pytest.approx(15 / 16, rel=1e-6)
    # the NumPy twin agrees, and so does the loss: cross-entropy + 1 - Dice
    assert volume_metrics.original_dice_coefficient(reference, prediction) == pytest.approx(
        dice, rel=1e-6
    )
    expected_crossentropy = -np.log(0.5) / 8  # one pixel of eight at probability 0.5
    assert float(to_numpy(original_loss(reference, prediction))) == pytest.approx(
        expected_crossentropy + 1 - 15 / 16, rel=1e-5
    )


@pytest.mark.parametrize("seed", [0, 5])
def test_original_dice_coefficient_matches_numpy_twin(seed):
    one_hot, probabilities = random_case(seed)
    keras_value = float(to_numpy(original_dice_coefficient(one_hot, probabilities)))
    # a loop over the batch, written out independently
    per_slice = [
        (2 * np.sum(t * p) + 1e-6) / (np.sum(t) + np.sum(p) + 1e-6)
        for t, p in zip(one_hot.astype(np.float64), probabilities.astype(np.float64))
    ]
    assert keras_value == pytest.approx(np.mean(per_slice), rel=1e-5)
    assert volume_metrics.original_dice_coefficient(one_hot, probabilities) == pytest.approx(
        keras_value, rel=1e-5
    )
    crossentropy = float(to_numpy(categorical_crossentropy(one_hot, probabilities)))
    assert float(to_numpy(original_loss(one_hot, probabilities))) == pytest.approx(
        crossentropy + 1 - keras_value, rel=1e-5
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_original_dice_of_a_one_hot_prediction_is_the_pixel_accuracy(seed):
    generator = np.random.default_rng(seed)
    reference_classes = generator.integers(0, 4, size=(4, 12, 12))
    predicted_classes = np.where(
        generator.random(reference_classes.shape) < 0.3,
        generator.integers(0, 4, size=reference_classes.shape),
        reference_classes,
    )
    reference = np.eye(4, dtype=np.float32)[reference_classes]
    prediction = np.eye(4, dtype=np.float32)[predicted_classes]
    accuracy_per_slice = (reference_classes == predicted_classes).reshape(4, -1).mean(axis=1)
    assert 0.6 < accuracy_per_slice.mean() < 0.95  # the example is neither perfect nor random
    dice = float(to_numpy(original_dice_coefficient(reference, prediction)))
    assert dice == pytest.approx(accuracy_per_slice.mean(), abs=1e-6)
    assert volume_metrics.original_dice_coefficient(reference, prediction) == pytest.approx(
        accuracy_per_slice.mean(), abs=1e-9
    )
    # slices of equal size: the mean of the slice accuracies is the accuracy of the whole batch
    scores = volume_metrics.original_notebook_scores(predicted_classes, reference_classes)
    assert scores["Dice (all classes, with background)"] == pytest.approx(dice, abs=1e-6)


def test_original_dice_pitfall_an_empty_answer_scores_the_background_share():
    """Predicting background everywhere scores the share of background pixels on the original
    Dice, while the whole-tumour Dice is 0."""
    one_hot, all_background = mostly_background_case()
    hard_background = np.eye(4, dtype=np.float32)[np.zeros(one_hot.shape[:-1], dtype=np.int64)]
    background_share = one_hot[..., 0].reshape(len(one_hot), -1).mean(axis=1)
    assert background_share.min() < 1.0
    dice = float(to_numpy(original_dice_coefficient(one_hot, hard_background)))
    assert dice == pytest.approx(background_share.mean(), abs=1e-6)
    assert dice > 0.98
    whole_tumour = RegionDice("WT")
    whole_tumour.update_state(one_hot, all_background)
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


@pytest.mark.slow
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
        metrics=[*region_metrics(), original_dice_coefficient, original_sensitivity],
    )
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)  # no custom_objects needed
    assert isinstance(restored.loss, DiceCrossEntropyLoss)
    assert restored.loss.dice_weight == 0.5
    images = np.random.default_rng(11).normal(size=(2, 8, 8, 2)).astype(np.float32)
    one_hot, _ = random_case(11, shape=(2, 8, 8))
    results = restored.evaluate(images, one_hot, verbose=0, return_dict=True)
    assert {
        "dice_WT",
        "specificity_ET",
        "original_dice_coefficient",
        "original_sensitivity",
    } <= set(results)
    expected = model.evaluate(images, one_hot, verbose=0, return_dict=True)
    for name, value in expected.items():
        assert results[name] == pytest.approx(value, rel=1e-5), name


@pytest.mark.real_data
def test_original_dice_of_an_empty_answer_on_real_slices_is_the_voxel_accuracy():
    """On real BraTS slices 22-121 at 128 x 128 (the original notebook's input), one case per
    batch: predicting background everywhere reads exactly the share of background pixels on the
    original Dice (and on its sensitivity), 0.97 or more on average over cases (0.96 to 0.998 per
    case on the 24 cases of the sample)."""
    from brats_tutorial.data_sources import sample_dir
    from brats_tutorial.discovery import find_cases
    from brats_tutorial.loading import load_case
    from brats_tutorial.preprocessing import PreprocessingSettings, one_hot, preprocess_case
    from brats_tutorial.training_metrics import original_sensitivity

    folder = sample_dir()
    if folder is None:
        pytest.skip("real BraTS sample not found (../shared/brats18_sample or BRATS_SAMPLE_DIR)")
    settings = PreprocessingSettings(image_size=128)
    values = []
    for case_files in find_cases(folder)[:6]:
        _, classes = preprocess_case(load_case(case_files, settings.modalities), settings)
        reference = one_hot(classes)  # float32 (100, 128, 128, 4)
        empty = one_hot(np.zeros_like(classes))
        background_share = float(np.mean(classes == 0))
        dice = float(to_numpy(original_dice_coefficient(reference, empty)))
        assert dice == pytest.approx(background_share, abs=1e-6), case_files.case_id
        values.append(dice)
        assert float(to_numpy(original_sensitivity(reference, empty))) == pytest.approx(
            background_share, abs=1e-6
        )
    assert np.mean(values) >= 0.97, values
