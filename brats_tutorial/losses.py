"""Segmentation losses, written with ``keras.ops`` so they run on every Keras backend.

All functions take

- ``y_true``: one-hot reference, float ``(B, H, W, K)``;
- ``y_pred``: softmax probabilities, float ``(B, H, W, K)``;

cast both to float32 first (so they are safe under a mixed-precision policy) and return a
float32 scalar: these are batch-level quantities (Dice is summed over the whole batch before
dividing), so per-sample weights do not apply.

Every function and class here is registered with Keras's serialisation, so a model compiled with
them saves and loads without ``custom_objects`` once this module is imported.

The ``original_*`` functions reproduce the original notebook for the comparison chapter, with
its pitfall: its Dice pools the pixels of all four one-hot channels, background included, so for
a one-hot prediction it equals the pixel accuracy, about 0.99 even for a network that predicts
no tumour at all. Its NumPy twin for whole volumes is
:func:`brats_tutorial.volume_metrics.original_dice_coefficient`.
"""

from __future__ import annotations

import keras
from keras import ops

from .constants import ORIGINAL_DICE_SMOOTH, REGION_CLASSES, REGIONS

#: Probabilities are clipped to [EPSILON, 1 - EPSILON] before the logarithm.
EPSILON: float = 1e-7


def _as_float32(y_true, y_pred):
    """Cast both tensors to float32 and check they have the same rank."""
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    if len(y_true.shape) != len(y_pred.shape):
        raise ValueError(
            "y_true must be one-hot with the same shape as y_pred, got "
            f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}"
        )
    return y_true, y_pred


@keras.saving.register_keras_serializable(package="brats_tutorial")
def categorical_crossentropy(y_true, y_pred):
    """Mean over pixels of ``-sum_k y_true[k] * log(y_pred[k])``.

    Args:
        y_true: one-hot float ``(B, H, W, K)``.
        y_pred: softmax probabilities float ``(B, H, W, K)``; clipped to ``[1e-7, 1 - 1e-7]``.

    Returns:
        float32 scalar.
    """
    y_true, y_pred = _as_float32(y_true, y_pred)
    y_pred = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -ops.mean(ops.sum(y_true * ops.log(y_pred), axis=-1))


def per_class_dice(y_true, y_pred, smooth: float = 1e-5):
    """Soft Dice of each class, with sums over the whole batch.

    ``dice[k] = (2 * sum(t_k * p_k) + smooth) / (sum(t_k) + sum(p_k) + smooth)`` where the sums
    run over batch, height and width. A class absent from both reference and prediction scores 1.

    Args:
        y_true: one-hot float ``(B, H, W, K)``.
        y_pred: probabilities float ``(B, H, W, K)``.
        smooth: added to numerator and denominator.

    Returns:
        float32 ``(K,)``.
    """
    y_true, y_pred = _as_float32(y_true, y_pred)
    axes = tuple(range(len(y_pred.shape) - 1))
    intersection = ops.sum(y_true * y_pred, axis=axes)
    denominator = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return (2.0 * intersection + smooth) / (denominator + smooth)


@keras.saving.register_keras_serializable(package="brats_tutorial")
def soft_dice_loss(y_true, y_pred, include_background: bool = False, smooth: float = 1e-5):
    """``1 - mean_k dice[k]`` with :func:`per_class_dice` (Dice per class over the batch).

    Args:
        y_true: one-hot float ``(B, H, W, K)``.
        y_pred: probabilities float ``(B, H, W, K)``.
        include_background: average class 0 in as well (by default only classes 1..K-1).
        smooth: see :func:`per_class_dice`; small, so an absent class the network predicts even
            faintly costs a Dice near 0 for that class.

    Returns:
        float32 scalar in [0, 1]; 0 for a perfect prediction.
    """
    dice = per_class_dice(y_true, y_pred, smooth=smooth)
    if not include_background:
        dice = dice[1:]
    return 1.0 - ops.mean(dice)


@keras.saving.register_keras_serializable(package="brats_tutorial")
class DiceCrossEntropyLoss(keras.losses.Loss):
    """``dice_weight * soft_dice_loss + ce_weight * categorical_crossentropy``.

    Cross-entropy gives every pixel a gradient from the first step; Dice keeps the small tumour
    classes from being swamped by the background. Serialisable: a model compiled with it saves
    and loads (``keras.saving``) without ``custom_objects``, once this module is imported.

    Args:
        dice_weight: weight of the soft Dice loss.
        ce_weight: weight of the categorical cross-entropy.
        include_background: include class 0 in the Dice average.
        smooth: Dice smoothing, see :func:`per_class_dice`.
        name: loss name shown by Keras.

    Call: ``loss(y_true, y_pred)`` with one-hot ``y_true`` and softmax ``y_pred``, both
    ``(B, H, W, K)``; returns a float32 scalar.
    """

    def __init__(
        self,
        dice_weight: float = 1.0,
        ce_weight: float = 1.0,
        include_background: bool = False,
        smooth: float = 1e-5,
        name: str = "dice_ce_loss",
        reduction: str = "sum_over_batch_size",
        dtype: str | None = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.dice_weight = float(dice_weight)
        self.ce_weight = float(ce_weight)
        self.include_background = bool(include_background)
        self.smooth = float(smooth)

    def call(self, y_true, y_pred):
        dice = soft_dice_loss(
            y_true, y_pred, include_background=self.include_background, smooth=self.smooth
        )
        crossentropy = categorical_crossentropy(y_true, y_pred)
        return self.dice_weight * dice + self.ce_weight * crossentropy

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            dice_weight=self.dice_weight,
            ce_weight=self.ce_weight,
            include_background=self.include_background,
            smooth=self.smooth,
        )
        return config


def dice_ce_loss(
    dice_weight: float = 1.0, ce_weight: float = 1.0, include_background: bool = False
) -> DiceCrossEntropyLoss:
    """The course's training loss: :class:`DiceCrossEntropyLoss` with these weights."""
    return DiceCrossEntropyLoss(
        dice_weight=dice_weight, ce_weight=ce_weight, include_background=include_background
    )


@keras.saving.register_keras_serializable(package="brats_tutorial")
def original_dice_coefficient(y_true, y_pred, smooth: float = ORIGINAL_DICE_SMOOTH):
    """The original notebook's ``dice_coefficient``: one Dice over pixels *and* channels.

    For each slice ``b`` of the batch, the sums run over height, width and all K one-hot channels
    together, background included (``axis=[1, 2, 3]``)::

        dice_b = (2 * sum(t_b * p_b) + smooth) / (sum(t_b) + sum(p_b) + smooth)

    and the result is the mean of ``dice_b`` over the batch. For a one-hot prediction
    ``sum(t_b * p_b)`` counts the pixels given their right class and ``sum(t_b) + sum(p_b)`` is
    twice the number of pixels, so the value is the **pixel accuracy** of the slice: a network
    that predicts background everywhere scores the share of background pixels (about 0.99).

    Args:
        y_true: one-hot float ``(B, H, W, K)``.
        y_pred: probabilities (or one-hot) float ``(B, H, W, K)``.
        smooth: the notebook's 1e-6.

    Returns:
        float32 scalar.
    """
    y_true, y_pred = _as_float32(y_true, y_pred)
    axes = tuple(range(1, len(y_pred.shape)))
    intersection = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return ops.mean((2.0 * intersection + smooth) / (total + smooth))


@keras.saving.register_keras_serializable(package="brats_tutorial")
def original_loss(y_true, y_pred):
    """The original notebook's training loss: cross-entropy ``+ 1 - original_dice_coefficient``.

    Args:
        y_true: one-hot float ``(B, H, W, K)`` (soft targets are allowed: the original notebook
            trained on bilinearly resized one-hot masks).
        y_pred: softmax probabilities float ``(B, H, W, K)``.

    Returns:
        float32 scalar.
    """
    return (
        categorical_crossentropy(y_true, y_pred) + 1.0 - original_dice_coefficient(y_true, y_pred)
    )


def regions_from_one_hot(y_true):
    """The nested BraTS regions of a one-hot class reference.

    Args:
        y_true: one-hot float ``(B, H, W, 4)`` over classes {0, 1, 2, 3} (3: enhancing tumour).

    Returns:
        float32 ``(B, H, W, 3)``: channels WT (classes 1, 2, 3), TC (1, 3), ET (3), each 0 or 1.
    """
    y_true = ops.cast(y_true, "float32")
    channels = [
        sum(y_true[..., class_index] for class_index in REGION_CLASSES[region])
        for region in REGIONS
    ]
    return ops.stack(channels, axis=-1)


@keras.saving.register_keras_serializable(package="brats_tutorial")
class RegionDiceBCELoss(keras.losses.Loss):
    """Region-based loss as nnU-Net trains BraTS: soft Dice + binary cross-entropy per region.

    The network has three sigmoid outputs, one per nested region (WT, TC, ET), instead of a
    softmax over classes; each is a yes/no question on its own, and the loss is the mean over the
    regions of ``1 - soft Dice`` (summed over the whole batch) plus the mean binary
    cross-entropy. The reference regions are built from the usual one-hot class masks, so the
    input pipelines stay the same.

    Call: ``loss(y_true, y_pred)`` with one-hot ``y_true`` ``(B, H, W, 4)`` and sigmoid
    ``y_pred`` ``(B, H, W, 3)``; returns a float32 scalar.
    """

    def __init__(
        self,
        smooth: float = 1e-5,
        name: str = "region_dice_bce_loss",
        reduction: str = "sum_over_batch_size",
        dtype: str | None = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.smooth = float(smooth)

    def call(self, y_true, y_pred):
        regions = regions_from_one_hot(y_true)
        y_pred = ops.cast(y_pred, "float32")
        axes = tuple(range(len(y_pred.shape) - 1))
        intersection = ops.sum(regions * y_pred, axis=axes)
        total = ops.sum(regions, axis=axes) + ops.sum(y_pred, axis=axes)
        dice = (2.0 * intersection + self.smooth) / (total + self.smooth)
        clipped = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        crossentropy = -ops.mean(
            regions * ops.log(clipped) + (1.0 - regions) * ops.log(1.0 - clipped)
        )
        return (1.0 - ops.mean(dice)) + crossentropy

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(smooth=self.smooth)
        return config
