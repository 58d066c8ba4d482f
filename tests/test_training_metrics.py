"""Tests of brats_tutorial.training_metrics against NumPy references written here.

Runs under the TensorFlow and JAX backends.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from brats_tutorial import volume_metrics
from brats_tutorial.training_metrics import (
    RegionDice,
    RegionSensitivity,
    RegionSpecificity,
    original_sensitivity,
    original_specificity,
    region_metrics,
)

#: The BraTS regions written out here as class indices, independently of the package constants.
REGION_CLASS_SETS = {"WT": {1, 2, 3}, "TC": {1, 3}, "ET": {3}}
METRIC_CLASSES = {
    "dice": RegionDice,
    "sensitivity": RegionSensitivity,
    "specificity": RegionSpecificity,
}


def to_float(value) -> float:
    return float(keras.ops.convert_to_numpy(value))


def random_case(seed: int, shape=(2, 12, 12)):
    """Integer reference classes (B, H, W) and softmax-like probabilities (B, H, W, 4)."""
    generator = np.random.default_rng(seed)
    reference = generator.choice(4, size=shape, p=[0.6, 0.1, 0.2, 0.1])
    probabilities = generator.random(size=(*shape, 4)).astype(np.float32)
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    return reference, probabilities


def numpy_region_scores(reference: np.ndarray, probabilities: np.ndarray, region: str) -> dict:
    """Dice, sensitivity and specificity of a region with the conventions of the module."""
    predicted = probabilities.argmax(axis=-1)
    in_reference = np.isin(reference, list(REGION_CLASS_SETS[region]))
    in_prediction = np.isin(predicted, list(REGION_CLASS_SETS[region]))
    tp = np.sum(in_reference & in_prediction)
    fp = np.sum(~in_reference & in_prediction)
    fn = np.sum(in_reference & ~in_prediction)
    tn = np.sum(~in_reference & ~in_prediction)
    return {
        "dice": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 1.0,
        "sensitivity": tp / (tp + fn) if tp + fn else 1.0,
        "specificity": tn / (tn + fp) if tn + fp else 1.0,
    }


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", ["dice", "sensitivity", "specificity"])
@pytest.mark.parametrize("region", ["WT", "TC", "ET"])
def test_region_metric_matches_numpy_for_one_hot_and_integer_references(seed, kind, region):
    reference, probabilities = random_case(seed)
    expected = numpy_region_scores(reference, probabilities, region)[kind]
    for y_true in (
        np.eye(4, dtype=np.float32)[reference],
        reference.astype(np.int32),
        reference[..., None].astype(np.int32),
    ):
        metric = METRIC_CLASSES[kind](region)
        metric.update_state(y_true, probabilities)
        assert to_float(metric.result()) == pytest.approx(expected, rel=1e-6)


def test_accumulating_two_batches_equals_one_call_on_their_concatenation():
    first_reference, first_probabilities = random_case(2)
    second_reference, second_probabilities = random_case(3, shape=(3, 12, 12))
    all_reference = np.concatenate([first_reference, second_reference])
    all_probabilities = np.concatenate([first_probabilities, second_probabilities])
    for metric_in_parts, metric_at_once in zip(region_metrics(), region_metrics()):
        metric_in_parts.update_state(np.eye(4)[first_reference], first_probabilities)
        metric_in_parts.update_state(np.eye(4)[second_reference], second_probabilities)
        metric_at_once.update_state(np.eye(4)[all_reference], all_probabilities)
        together = to_float(metric_at_once.result())
        assert to_float(metric_in_parts.result()) == pytest.approx(together, rel=1e-6)
        kind, region = metric_at_once.name.split("_")
        expected = numpy_region_scores(all_reference, all_probabilities, region)[kind]
        assert together == pytest.approx(expected, rel=1e-6)
        # Not the mean of the per-batch values (unless by chance):
        batches = (
            (first_reference, first_probabilities),
            (second_reference, second_probabilities),
        )
        per_batch = [numpy_region_scores(r, p, region)[kind] for r, p in batches]
        if abs(np.mean(per_batch) - expected) > 1e-3:
            assert together != pytest.approx(np.mean(per_batch), rel=1e-4)


def test_reset_state_forgets_the_previous_epoch():
    reference, probabilities = random_case(4)
    other_reference, other_probabilities = random_case(5)
    metric = RegionDice("WT")
    metric.update_state(reference, probabilities)
    metric.reset_state()
    metric.update_state(other_reference, other_probabilities)
    expected = numpy_region_scores(other_reference, other_probabilities, "WT")["dice"]
    assert to_float(metric.result()) == pytest.approx(expected, rel=1e-6)
    metric.reset_state()
    assert to_float(metric.true_positives) == 0.0
    assert to_float(metric.result()) == 1.0  # nothing counted: empty in both


def test_empty_region_conventions():
    background = np.zeros((1, 8, 8), dtype=np.int32)
    predicts_background = np.eye(4, dtype=np.float32)[background]
    predicts_enhancing = np.eye(4, dtype=np.float32)[background + 3]
    # Empty in both: Dice 1, sensitivity 1.
    for metric in (RegionDice("ET"), RegionSensitivity("ET"), RegionSpecificity("ET")):
        metric.update_state(background, predicts_background)
        assert to_float(metric.result()) == 1.0
    # Empty reference, region predicted everywhere: Dice 0, sensitivity 1, specificity 0.
    expected = {RegionDice: 0.0, RegionSensitivity: 1.0, RegionSpecificity: 0.0}
    for metric_class, value in expected.items():
        metric = metric_class("ET")
        metric.update_state(background, predicts_enhancing)
        assert to_float(metric.result()) == value
    # Reference covers every pixel and is found: specificity 1 by convention.
    metric = RegionSpecificity("WT")
    metric.update_state(background + 2, predicts_enhancing)
    assert to_float(metric.result()) == 1.0


def test_training_and_volume_sensitivity_state_their_two_rules_on_the_same_empty_reference():
    # One slice without enhancing tumour in its reference; one prediction finds none, the other
    # claims ET on 4 pixels (a false positive).
    reference = np.zeros((1, 8, 8), dtype=np.int32)
    reference[0, 2:5, 2:5] = 2  # oedema only: WT present, ET empty
    false_positive = reference.copy()
    false_positive[0, 6:8, 6:8] = 3
    reference_et = np.isin(reference[0], [3])
    for predicted, volume_rule in ((reference, 1.0), (false_positive, 0.0)):
        training = RegionSensitivity("ET")
        training.update_state(reference, np.eye(4, dtype=np.float32)[predicted])
        # Epoch rule: no reference ET pixel in the whole epoch, so 1 whatever was predicted.
        assert to_float(training.result()) == 1.0
        # Per-case BraTS rule: 1 only when nothing is predicted, 0 for the false positive.
        assert volume_metrics.sensitivity(np.isin(predicted[0], [3]), reference_et) == volume_rule
    # Where the reference is not empty, both rules give TP / (TP + FN).
    training = RegionSensitivity("WT")
    training.update_state(reference, np.eye(4, dtype=np.float32)[false_positive])
    volume = volume_metrics.sensitivity(np.isin(false_positive[0], [1, 2, 3]), reference[0] > 0)
    assert to_float(training.result()) == pytest.approx(volume) == 1.0


def test_region_metrics_names_and_regions():
    metrics = region_metrics()
    names = [metric.name for metric in metrics]
    expected = [
        f"{kind}_{region}"
        for kind in ("dice", "sensitivity", "specificity")
        for region in ("WT", "TC", "ET")
    ]
    assert names == expected
    with pytest.raises(ValueError, match="unknown region"):
        RegionDice("XX")


def test_metric_config_round_trip():
    metric = RegionSensitivity("TC")
    restored = keras.metrics.deserialize(keras.metrics.serialize(metric))
    assert isinstance(restored, RegionSensitivity)
    assert restored.region == "TC" and restored.name == "sensitivity_TC"


def test_metrics_in_compiled_model_match_numpy():
    """Inside fit/evaluate on the current backend, the epoch value is the pooled count ratio."""
    generator = np.random.default_rng(6)
    images = generator.normal(size=(6, 8, 8, 2)).astype(np.float32)
    reference = generator.choice(4, size=(6, 8, 8), p=[0.5, 0.1, 0.3, 0.1])
    inputs = keras.Input((8, 8, 2))
    outputs = keras.layers.Conv2D(4, 1, activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=region_metrics())
    one_hot = np.eye(4, dtype=np.float32)[reference]
    results = model.evaluate(images, one_hot, batch_size=2, verbose=0, return_dict=True)
    probabilities = keras.ops.convert_to_numpy(model.predict(images, verbose=0))
    for region in ("WT", "TC", "ET"):
        expected = numpy_region_scores(reference, probabilities, region)
        for kind in ("dice", "sensitivity", "specificity"):
            assert results[f"{kind}_{region}"] == pytest.approx(expected[kind], rel=1e-5)


def numpy_original_sensitivity(one_hot: np.ndarray, probabilities: np.ndarray) -> float:
    true_positives = np.sum(np.round(np.clip(one_hot * probabilities, 0, 1)))
    return true_positives / (np.sum(np.round(np.clip(one_hot, 0, 1))) + 1e-7)


def numpy_original_specificity(one_hot: np.ndarray, probabilities: np.ndarray) -> float:
    true_negatives = np.sum(np.round(np.clip((1 - one_hot) * (1 - probabilities), 0, 1)))
    return true_negatives / (np.sum(np.round(np.clip(1 - one_hot, 0, 1))) + 1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_original_metrics_match_numpy(seed):
    reference, probabilities = random_case(seed)
    # Sharpen so that many probabilities are above 0.5 and rounding matters.
    probabilities = probabilities**3
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    one_hot = np.eye(4, dtype=np.float32)[reference]
    assert to_float(original_sensitivity(one_hot, probabilities)) == pytest.approx(
        numpy_original_sensitivity(one_hot, probabilities), rel=1e-5
    )
    assert to_float(original_specificity(one_hot, probabilities)) == pytest.approx(
        numpy_original_specificity(one_hot, probabilities), rel=1e-5
    )
    # the package's NumPy twins, used on whole volumes, agree with the Keras functions
    from brats_tutorial import volume_metrics

    assert volume_metrics.original_sensitivity(one_hot, probabilities) == pytest.approx(
        to_float(original_sensitivity(one_hot, probabilities)), rel=1e-5
    )
    assert volume_metrics.original_specificity(one_hot, probabilities) == pytest.approx(
        to_float(original_specificity(one_hot, probabilities)), rel=1e-5
    )


def test_original_metrics_look_good_for_a_network_that_finds_no_tumour():
    reference = np.zeros((1, 32, 32), dtype=np.int64)
    reference[0, 10:14, 10:14] = 2  # 16 oedema pixels out of 1024
    one_hot = np.eye(4, dtype=np.float32)[reference]
    all_background = np.eye(4, dtype=np.float32)[np.zeros_like(reference)]
    assert to_float(original_sensitivity(one_hot, all_background)) > 0.98
    assert to_float(original_specificity(one_hot, all_background)) > 0.99
    sensitivity = RegionSensitivity("WT")
    sensitivity.update_state(one_hot, all_background)
    assert to_float(sensitivity.result()) == 0.0
