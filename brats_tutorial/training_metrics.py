"""Metrics reported during training: Dice, sensitivity and specificity of the BraTS regions.

Each metric is a stateful ``keras.metrics.Metric`` that accumulates pixel counts (true and false
positives and negatives) over the whole epoch and computes the ratio at the end, so the value is
the Dice of the epoch's pixels, not an average of per-batch values. The predicted class of a
pixel is the argmax of the softmax output; the reference class is the argmax of a one-hot
``y_true`` or an integer ``y_true`` directly. Regions (whole tumour WT, tumour core TC,
enhancing tumour ET) are sets of classes from :data:`brats_tutorial.constants.REGION_CLASSES`.

Conventions when a ratio has nothing to count, the **epoch rule**: the counts are those of the
whole epoch, so a 0/0 means that no pixel of the epoch (every slice of every batch) counts:

- Dice = 1 when the region is empty in both reference and prediction over the epoch;
- sensitivity = 1 when the whole epoch has no reference pixel of the region, whatever was
  predicted (nothing to miss; false positives are left to Dice and specificity);
- specificity = 1 when the reference region covers every pixel of the epoch (nothing to reject).

With BraTS slices this 0/0 is rare for WT and TC; for ET it happens on an epoch (or a validation
set) without any enhancing tumour. The 3D metrics of :mod:`brats_tutorial.volume_metrics` score
one case at a time and follow the **per-case (BraTS) rule** instead: an empty reference gives
sensitivity 1 only when nothing was predicted, 0 when anything was (specificity's own 0/0 takes
the mirror rule). Both rules agree whenever the ratio is not 0/0. Use these metrics to follow
training, and :mod:`~brats_tutorial.volume_metrics` to report a model.

Counts are float32 variables like Keras's own confusion metrics: exact up to 2**24 pixels per
count, then rounded with a relative error near 1e-7, negligible for these ratios.

The metric classes and functions are registered with Keras's serialisation, so a model compiled
with them saves and loads once this module is imported.

The ``original_*`` functions rewrite the original notebook's Keras-backend metrics in
``keras.ops`` for the comparison chapter; they mix all channels, background included.
"""

from __future__ import annotations

import keras
from keras import ops

from .constants import REGION_CLASSES, REGIONS


def _to_class_indices(y_true, y_pred):
    """Class index per pixel for reference and prediction.

    Args:
        y_true: one-hot ``(B, H, W, K)``, or integer ``(B, H, W)`` or ``(B, H, W, 1)``.
        y_pred: probabilities ``(B, H, W, K)``.

    Returns:
        two int32 tensors ``(B, H, W)``.
    """
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    if len(y_true.shape) == len(y_pred.shape):
        if y_true.shape[-1] == 1:
            reference = ops.squeeze(y_true, axis=-1)
        else:
            reference = ops.argmax(y_true, axis=-1)
    else:
        reference = y_true
    return ops.cast(reference, "int32"), predicted


def _in_region(classes, region: str):
    """Boolean tensor: is each pixel's class in ``region``?"""
    members = [ops.equal(classes, class_index) for class_index in REGION_CLASSES[region]]
    result = members[0]
    for member in members[1:]:
        result = ops.logical_or(result, member)
    return result


class _RegionCounts(keras.metrics.Metric):
    """Accumulates true/false positives/negatives of one region; subclasses give the ratio."""

    kind: str = ""

    def __init__(
        self,
        region: str,
        name: str | None = None,
        dtype: str | None = None,
        region_output: bool = False,
    ) -> None:
        if region not in REGION_CLASSES:
            raise ValueError(f"unknown region {region!r}; choose one of {list(REGIONS)}")
        super().__init__(name=name or f"{self.kind}_{region}", dtype=dtype or "float32")
        self.region = region
        self.region_output = bool(region_output)
        self.true_positives = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="true_positives"
        )
        self.false_positives = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="false_positives"
        )
        self.false_negatives = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="false_negatives"
        )
        self.true_negatives = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="true_negatives"
        )

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add the counts of one batch.

        Args:
            y_true: one-hot ``(B, H, W, K)`` or integer class indices ``(B, H, W)``.
            y_pred: class probabilities ``(B, H, W, K)``; with ``region_output``, region
                probabilities ``(B, H, W, 3)`` (sigmoid channels WT, TC, ET), a pixel being in
                the region when its channel is >= 0.5.
            sample_weight: not supported (must be ``None``).
        """
        if sample_weight is not None:
            raise NotImplementedError(f"{self.name} does not support sample_weight")
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        if self.region_output:
            if len(y_true.shape) == len(y_pred.shape):
                reference = ops.cast(ops.argmax(y_true, axis=-1), "int32")
            else:
                reference = ops.cast(y_true, "int32")
            channel = y_pred[..., REGIONS.index(self.region)]
            in_prediction = ops.greater_equal(ops.cast(channel, "float32"), 0.5)
        else:
            reference, predicted = _to_class_indices(y_true, y_pred)
            in_prediction = _in_region(predicted, self.region)
        in_reference = _in_region(reference, self.region)

        def count(condition):
            return ops.sum(ops.cast(condition, "float32"))

        not_reference = ops.logical_not(in_reference)
        not_prediction = ops.logical_not(in_prediction)
        self.true_positives.assign_add(count(ops.logical_and(in_reference, in_prediction)))
        self.false_positives.assign_add(count(ops.logical_and(not_reference, in_prediction)))
        self.false_negatives.assign_add(count(ops.logical_and(in_reference, not_prediction)))
        self.true_negatives.assign_add(count(ops.logical_and(not_reference, not_prediction)))

    def reset_state(self) -> None:
        for variable in (
            self.true_positives,
            self.false_positives,
            self.false_negatives,
            self.true_negatives,
        ):
            variable.assign(ops.zeros((), dtype="float32"))

    def get_config(self) -> dict:
        return {
            "region": self.region,
            "name": self.name,
            "dtype": self.dtype,
            "region_output": self.region_output,
        }


def _ratio_or_one(numerator, denominator):
    """``numerator / denominator``, and 1 where the denominator is 0 (the epoch rule)."""
    safe = ops.where(denominator > 0, denominator, ops.ones_like(denominator))
    return ops.where(denominator > 0, numerator / safe, ops.ones_like(denominator))


@keras.saving.register_keras_serializable(package="brats_tutorial")
class RegionDice(_RegionCounts):
    """Dice ``2 TP / (2 TP + FP + FN)`` of a region over the epoch; named ``dice_<region>``.

    1 when the region is empty in both reference and prediction over the whole epoch (the same
    value as :func:`brats_tutorial.volume_metrics.dice` gives for one case).
    """

    kind = "dice"

    def result(self):
        numerator = 2.0 * self.true_positives
        return _ratio_or_one(numerator, numerator + self.false_positives + self.false_negatives)


@keras.saving.register_keras_serializable(package="brats_tutorial")
class RegionSensitivity(_RegionCounts):
    """Sensitivity (recall) ``TP / (TP + FN)`` of a region over the epoch; named
    ``sensitivity_<region>``.

    Epoch rule: 1 when the whole epoch has no reference pixel of the region, even if the region
    was predicted. :func:`brats_tutorial.volume_metrics.sensitivity` (per-case BraTS rule) gives
    0 for that prediction; see the module docstring.
    """

    kind = "sensitivity"

    def result(self):
        return _ratio_or_one(self.true_positives, self.true_positives + self.false_negatives)


@keras.saving.register_keras_serializable(package="brats_tutorial")
class RegionSpecificity(_RegionCounts):
    """Specificity ``TN / (TN + FP)`` of a region over the epoch; named ``specificity_<region>``.

    Epoch rule: 1 when the reference region covers every pixel of the epoch, even if some were
    missed (:func:`brats_tutorial.volume_metrics.specificity` gives 0 then).
    """

    kind = "specificity"

    def result(self):
        return _ratio_or_one(self.true_negatives, self.true_negatives + self.false_positives)


def region_metrics(target: str = "classes") -> list[keras.metrics.Metric]:
    """The nine training metrics: Dice, then sensitivity, then specificity of WT, TC and ET.

    Args:
        target: "classes" for a softmax model, "regions" for a model with sigmoid WT, TC, ET
            outputs (see :data:`brats_tutorial.constants.TARGETS`).
    """
    metrics: list[keras.metrics.Metric] = []
    for metric_class in (RegionDice, RegionSensitivity, RegionSpecificity):
        metrics.extend(
            metric_class(region, region_output=target == "regions") for region in REGIONS
        )
    return metrics


@keras.saving.register_keras_serializable(package="brats_tutorial")
def original_sensitivity(y_true, y_pred):
    """The original notebook's ``sensitivity``, over all channels, background included.

    ``sum(round(clip(y_true * y_pred, 0, 1))) / (sum(round(clip(y_true, 0, 1))) + epsilon)``.
    Since the background channel holds most pixels, this is close to the background's recall.

    Args:
        y_true: one-hot float ``(B, H, W, K)``.
        y_pred: probabilities float ``(B, H, W, K)``.

    Returns:
        float32 scalar.
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    true_positives = ops.sum(ops.round(ops.clip(y_true * y_pred, 0.0, 1.0)))
    possible_positives = ops.sum(ops.round(ops.clip(y_true, 0.0, 1.0)))
    return true_positives / (possible_positives + keras.config.epsilon())


@keras.saving.register_keras_serializable(package="brats_tutorial")
def original_specificity(y_true, y_pred):
    """The original notebook's ``specificity``, over all channels, background included.

    ``sum(round(clip((1 - y_true) * (1 - y_pred), 0, 1))) /
    (sum(round(clip(1 - y_true, 0, 1))) + epsilon)``.

    Args:
        y_true: one-hot float ``(B, H, W, K)``.
        y_pred: probabilities float ``(B, H, W, K)``.

    Returns:
        float32 scalar.
    """
    # The same formula as the sensitivity, on the complements of both arrays.
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    return original_sensitivity(1.0 - y_true, 1.0 - y_pred)
