"""Metrics on full 3D volumes, as the BraTS challenge reports them (numpy and scipy, no Keras).

Region metrics (:func:`dice`, :func:`sensitivity`, :func:`specificity`, :func:`hd95`) take two
boolean masks of the same shape, usually ``bool (240, 240, 155)``, one region (WT, TC or ET) of a
prediction and of the reference. :func:`region_scores` computes all four for the three regions
from file-label volumes.

Conventions for empty masks, the **per-case (BraTS) rule** (BraTS ranks an empty reference as a
detection question: predicting nothing is perfect, predicting anything is wrong on every metric):

=================================  ======  ===========  ===========  ==========================
prediction / reference             Dice    Sensitivity  Specificity  HD95 (mm)
=================================  ======  ===========  ===========  ==========================
both empty                         1       1            TN/(TN+FP)   0
reference empty, prediction not    0       0            TN/(TN+FP)   ``HD95_ONE_EMPTY_MM`` (373.13)
prediction empty, reference not    0       0            TN/(TN+FP)   ``HD95_ONE_EMPTY_MM`` (373.13)
=================================  ======  ===========  ===========  ==========================

Sensitivity TP/(TP+FN) is 0/0 when the reference is empty. We follow Dice: 1 when the prediction
is empty too, 0 when it is not, so that a false-positive enhancing tumour in a case without one
costs as much on sensitivity as on Dice (and the mean over cases cannot hide it). Specificity
TN/(TN+FP) is counted over every voxel of the volume, as BraTS does; it is therefore close to 1
for any sensible prediction. Its own 0/0 case (a reference with no negative voxel, never met in
BraTS) takes the mirror convention: specificity(p, r) = sensitivity(~p, ~r).

The training metrics of :mod:`brats_tutorial.training_metrics` (``sensitivity_<region>`` in the
Keras logs) count over a whole epoch and follow another rule where the reference is empty: the
**epoch rule**, sensitivity 1 whatever was predicted. A false-positive enhancing tumour in a case
without one therefore scores sensitivity 0 here and 1 there; the two agree whenever the reference
is not empty.

The original notebook's metrics, kept to show the pitfall, are :func:`original_dice_coefficient`,
:func:`original_sensitivity` and :func:`original_specificity` (NumPy twins of the Keras functions
in :mod:`brats_tutorial.losses` and :mod:`brats_tutorial.training_metrics`), and
:func:`original_notebook_scores`, all three on one case's class volume.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure

from .constants import HD95_ONE_EMPTY_MM, KERAS_EPSILON, NUM_CLASSES, ORIGINAL_DICE_SMOOTH, REGIONS
from .labels import region_mask

#: Names of the region metrics, in the order of the columns of :func:`region_scores`.
REGION_METRICS: tuple[str, ...] = ("Dice", "Sensitivity", "Specificity", "HD95")
#: Keys of :func:`original_notebook_scores`.
ORIGINAL_NOTEBOOK_METRICS: tuple[str, ...] = (
    "Dice (all classes, with background)",
    "Sensitivity (all classes)",
    "Specificity (all classes)",
)


def _check_pair(prediction: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prediction = np.asarray(prediction, dtype=bool)
    reference = np.asarray(reference, dtype=bool)
    if prediction.shape != reference.shape:
        raise ValueError(
            f"prediction shape {prediction.shape} differs from reference shape {reference.shape}"
        )
    return prediction, reference


def _counts(prediction: np.ndarray, reference: np.ndarray) -> tuple[int, int, int, int]:
    """(TP, FP, FN, TN) of two boolean masks of the same shape."""
    true_positives = int(np.count_nonzero(prediction & reference))
    predicted = int(np.count_nonzero(prediction))
    actual = int(np.count_nonzero(reference))
    false_positives = predicted - true_positives
    false_negatives = actual - true_positives
    true_negatives = prediction.size - true_positives - false_positives - false_negatives
    return true_positives, false_positives, false_negatives, true_negatives


def _dice_from_counts(true_positives: int, false_positives: int, false_negatives: int) -> float:
    denominator = 2 * true_positives + false_positives + false_negatives
    return 1.0 if denominator == 0 else 2.0 * true_positives / denominator


def _rate(hits: int, misses: int, wrong_elsewhere: int) -> float:
    """hits / (hits + misses); when that is 0/0, 1 if nothing was claimed elsewhere, else 0."""
    if hits + misses == 0:
        return 1.0 if wrong_elsewhere == 0 else 0.0
    return hits / (hits + misses)


def dice(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Dice coefficient 2|P∩R| / (|P| + |R|).

    Args:
        prediction: bool (X, Y, Z), the predicted region.
        reference: bool (X, Y, Z), the reference region.

    Returns:
        Dice in [0, 1]; 1 when both masks are empty, 0 when exactly one is.
    """
    prediction, reference = _check_pair(prediction, reference)
    true_positives, false_positives, false_negatives, _ = _counts(prediction, reference)
    return _dice_from_counts(true_positives, false_positives, false_negatives)


def sensitivity(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Sensitivity (recall) TP / (TP + FN).

    Args:
        prediction: bool (X, Y, Z).
        reference: bool (X, Y, Z).

    Returns:
        Sensitivity in [0, 1]. With an empty reference (0/0), the per-case BraTS rule: 1 when
        the prediction is empty too, 0 when it is not, the same as Dice (see the module
        docstring; :class:`brats_tutorial.training_metrics.RegionSensitivity` gives 1 in both
        cases, the epoch rule).
    """
    prediction, reference = _check_pair(prediction, reference)
    true_positives, false_positives, false_negatives, _ = _counts(prediction, reference)
    return _rate(true_positives, false_negatives, false_positives)


def specificity(prediction: np.ndarray, reference: np.ndarray) -> float:
    """Specificity TN / (TN + FP), counted over every voxel of the volume as BraTS does.

    Args:
        prediction: bool (X, Y, Z).
        reference: bool (X, Y, Z).

    Returns:
        Specificity in [0, 1]. When the reference has no negative voxel (0/0): 1 when the
        prediction has none either, else 0 (``specificity(p, r) == sensitivity(~p, ~r)``).
    """
    prediction, reference = _check_pair(prediction, reference)
    _, false_positives, false_negatives, true_negatives = _counts(prediction, reference)
    return _rate(true_negatives, false_positives, false_negatives)


def _union_bounding_box(first: np.ndarray, second: np.ndarray, margin: int) -> tuple[slice, ...]:
    """Slices of the bounding box of ``first | second`` grown by ``margin`` voxels, clipped."""
    box = []
    for axis in range(first.ndim):
        other_axes = tuple(a for a in range(first.ndim) if a != axis)
        occupied = np.flatnonzero(first.any(axis=other_axes) | second.any(axis=other_axes))
        start = max(int(occupied[0]) - margin, 0)
        stop = min(int(occupied[-1]) + 1 + margin, first.shape[axis])
        box.append(slice(start, stop))
    return tuple(box)


_BORDER_STRUCTURES: dict[int, np.ndarray] = {}


def surface(mask: np.ndarray) -> np.ndarray:
    """Border voxels of a mask, as medpy defines them.

    ``mask XOR binary_erosion(mask, generate_binary_structure(ndim, 1))``: the voxels of the mask
    with at least one face neighbour (6-connectivity in 3D) outside it. Voxels on the edge of the
    array count as border (erosion treats outside the array as background).

    Args:
        mask: bool (X, Y, Z).

    Returns:
        bool (X, Y, Z), a subset of ``mask``.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim not in _BORDER_STRUCTURES:
        _BORDER_STRUCTURES[mask.ndim] = generate_binary_structure(mask.ndim, 1)
    return mask ^ binary_erosion(mask, structure=_BORDER_STRUCTURES[mask.ndim])


def directed_surface_distances(
    source: np.ndarray, target: np.ndarray, spacing: Sequence[float] = (1.0, 1.0, 1.0)
) -> np.ndarray:
    """Distance in mm from each border voxel of ``source`` to the nearest one of ``target``.

    medpy's ``__surface_distances``: the Euclidean distance transform of ``~surface(target)``
    (``scipy.ndimage.distance_transform_edt`` with ``sampling=spacing``, exact), read at the
    border voxels of ``source``. No cropping here; :func:`hd95` crops first.

    Args:
        source: bool (X, Y, Z), not empty.
        target: bool (X, Y, Z), not empty.
        spacing: voxel size in mm along each axis.

    Returns:
        float64 (number of border voxels of ``source``,), in C order of the voxels.
    """
    source, target = _check_pair(source, target)
    if not source.any() or not target.any():
        raise ValueError("surface distances need two non-empty masks")
    return _distances_between_borders(surface(source), surface(target), spacing)


def _distances_between_borders(
    source_border: np.ndarray, target_border: np.ndarray, spacing: Sequence[float]
) -> np.ndarray:
    distance_to_target = distance_transform_edt(
        ~target_border, sampling=tuple(float(s) for s in spacing)
    )
    return distance_to_target[source_border]


def hd95(
    prediction: np.ndarray,
    reference: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    crop: bool = True,
) -> float:
    """Symmetric 95th-percentile Hausdorff distance in mm, as BraTS reports it.

    Definition: with medpy's border voxels (:func:`surface`) and directed distances
    (:func:`directed_surface_distances`), ``HD95 = max(p95(d(P -> R)), p95(d(R -> P)))``, where
    ``p95`` is ``numpy.percentile(..., 95)`` (linear interpolation): the larger of the two
    directed 95th percentiles, as MONAI's ``compute_hausdorff_distance(percentile=95)`` computes
    it. medpy's own ``hd95`` instead takes the 95th percentile of both directions pooled
    together, which lies between the two directed percentiles (up to interpolation), so it is
    usually a little smaller; the two agree when the directed percentiles agree.

    Speed: the distance transforms run on the bounding box of ``prediction | reference`` grown by
    one voxel, not on the whole volume, which gives the same numbers (proof in the comment in the
    code; the tests compare ``crop=True`` with ``crop=False``).

    Args:
        prediction: bool (X, Y, Z).
        reference: bool (X, Y, Z).
        spacing: voxel size in mm along each axis, e.g. (1.0, 1.0, 1.0) for BraTS.
        crop: compute on the bounding box (default) or on the whole volume (slow, for checks).

    Returns:
        HD95 in mm; 0 when both masks are empty, ``HD95_ONE_EMPTY_MM`` (373.13 mm, the diagonal
        of the BraTS volume) when exactly one is.
    """
    prediction, reference = _check_pair(prediction, reference)
    if len(spacing) != prediction.ndim:
        raise ValueError(f"spacing {tuple(spacing)} does not match {prediction.ndim} dimensions")
    has_prediction, has_reference = bool(prediction.any()), bool(reference.any())
    if not has_prediction and not has_reference:
        return 0.0
    if has_prediction != has_reference:
        return float(HD95_ONE_EMPTY_MM)
    if crop:
        # Why cropping changes nothing. Let B be the bounding box of P | R grown by 1 voxel and
        # clipped to the volume.
        # 1. Borders. Whether a mask voxel is a border voxel depends only on its 6 face
        #    neighbours. Every neighbour of a mask voxel lies in B or outside the volume, and
        #    binary_erosion treats outside its array as background (border_value=0); a
        #    neighbour cut off by the crop lies outside the mask bounding box, so it is
        #    background in the full volume too. So surface(P[B]) == surface(P)[B], and no
        #    border voxel lies outside B (same for R).
        # 2. Distances. distance_transform_edt is exact: at each voxel it gives the distance to
        #    the nearest zero of its input, here the nearest border voxel of the other mask.
        #    All those border voxels are inside B, so for any voxel in B the nearest one is the
        #    same whether the rest of the volume is there or not; physical distances depend
        #    only on index differences times the spacing, which the crop does not change.
        box = _union_bounding_box(prediction, reference, margin=1)
        prediction, reference = prediction[box], reference[box]
    prediction_border, reference_border = surface(prediction), surface(reference)
    prediction_to_reference = _distances_between_borders(
        prediction_border, reference_border, spacing
    )
    reference_to_prediction = _distances_between_borders(
        reference_border, prediction_border, spacing
    )
    return float(
        max(np.percentile(prediction_to_reference, 95), np.percentile(reference_to_prediction, 95))
    )


def mask_scores(
    prediction: np.ndarray, reference: np.ndarray, spacing: Sequence[float] = (1.0, 1.0, 1.0)
) -> dict[str, float]:
    """Dice, sensitivity, specificity and HD95 of one pair of masks, counting voxels once.

    Args:
        prediction: bool (X, Y, Z).
        reference: bool (X, Y, Z).
        spacing: voxel size in mm.

    Returns:
        ``{"Dice": ..., "Sensitivity": ..., "Specificity": ..., "HD95": ...}``, the same values
        as the separate functions.
    """
    prediction, reference = _check_pair(prediction, reference)
    true_positives, false_positives, false_negatives, true_negatives = _counts(
        prediction, reference
    )
    return {
        "Dice": _dice_from_counts(true_positives, false_positives, false_negatives),
        "Sensitivity": _rate(true_positives, false_negatives, false_positives),
        "Specificity": _rate(true_negatives, false_positives, false_negatives),
        "HD95": hd95(prediction, reference, spacing),
    }


def region_scores(
    prediction_labels: np.ndarray,
    reference_labels: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
) -> dict[str, float]:
    """BraTS scores of one case: the four region metrics for WT, TC and ET.

    Args:
        prediction_labels: uint8 (240, 240, 155), file labels {0, 1, 2, 4}.
        reference_labels: uint8 (240, 240, 155), file labels {0, 1, 2, 4}.
        spacing: voxel size in mm, (1, 1, 1) for BraTS.

    Returns:
        ``{"Dice_WT", "Sensitivity_WT", "Specificity_WT", "HD95_WT", ... TC ..., ... ET ...}``,
        ordered metric by metric (Dice_WT, Dice_TC, Dice_ET, Sensitivity_WT, ...), HD95 in mm.
    """
    prediction_labels = np.asarray(prediction_labels)
    reference_labels = np.asarray(reference_labels)
    if prediction_labels.shape != reference_labels.shape:
        raise ValueError(
            f"prediction shape {prediction_labels.shape} differs from "
            f"reference shape {reference_labels.shape}"
        )
    per_region = {
        region: mask_scores(
            region_mask(prediction_labels, region), region_mask(reference_labels, region), spacing
        )
        for region in REGIONS
    }
    return {
        f"{metric}_{region}": per_region[region][metric]
        for metric in REGION_METRICS
        for region in REGIONS
    }


def class_confusion_matrix(
    prediction_classes: np.ndarray, reference_classes: np.ndarray
) -> np.ndarray:
    """Voxel counts of (reference class, predicted class).

    Args:
        prediction_classes: integer array of any shape, class indices {0, 1, 2, 3}.
        reference_classes: integer array of the same shape, class indices {0, 1, 2, 3}.

    Returns:
        int64 (4, 4); entry [r, p] counts voxels of reference class r predicted as p.
    """
    prediction_classes = np.asarray(prediction_classes)
    reference_classes = np.asarray(reference_classes)
    if prediction_classes.shape != reference_classes.shape:
        raise ValueError(
            f"prediction shape {prediction_classes.shape} differs from "
            f"reference shape {reference_classes.shape}"
        )
    for name, classes in (("prediction", prediction_classes), ("reference", reference_classes)):
        if classes.size and (classes.min() < 0 or classes.max() >= NUM_CLASSES):
            raise ValueError(
                f"{name} class indices must be in 0..{NUM_CLASSES - 1}, "
                f"got {np.unique(classes).tolist()} (file labels? use labels_to_classes)"
            )
    pairs = (
        reference_classes.astype(np.intp).ravel() * NUM_CLASSES
        + prediction_classes.astype(np.intp).ravel()
    )
    return np.bincount(pairs, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def _as_float_pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.ndim < 2:
        raise ValueError(
            "y_true and y_pred must be (B, ..., K) arrays of the same shape, got "
            f"{y_true.shape} and {y_pred.shape}"
        )
    return y_true, y_pred


def original_dice_coefficient(
    y_true: np.ndarray, y_pred: np.ndarray, smooth: float = ORIGINAL_DICE_SMOOTH
) -> float:
    """The original notebook's Dice in NumPy: pooled over pixels and channels, mean over the batch.

    For each item ``b`` of the batch (first axis), sums over every other axis, the K one-hot
    channels included: ``(2 * sum(t_b * p_b) + smooth) / (sum(t_b) + sum(p_b) + smooth)``; then
    the mean over ``b``. For one-hot predictions this is the pixel accuracy of each item.

    Args:
        y_true: one-hot ``(B, H, W, K)`` (any float or integer dtype).
        y_pred: probabilities or one-hot, the same shape.
        smooth: the notebook's 1e-6.

    Returns:
        The mean over the batch, a Python float.

    >>> import numpy as np
    >>> t = np.eye(2)[[[0, 0, 1, 1]]]   # one "slice" of 4 pixels, 2 classes
    >>> p = np.eye(2)[[[0, 0, 0, 1]]]   # 3 of 4 pixels right
    >>> round(original_dice_coefficient(t, p), 6)
    0.75
    """
    y_true, y_pred = _as_float_pair(y_true, y_pred)
    axes = tuple(range(1, y_true.ndim))
    intersection = np.sum(y_true * y_pred, axis=axes)
    total = np.sum(y_true, axis=axes) + np.sum(y_pred, axis=axes)
    return float(np.mean((2.0 * intersection + smooth) / (total + smooth)))


def original_sensitivity(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The original notebook's ``sensitivity`` in NumPy, over every channel of the whole batch.

    ``sum(round(clip(t * p, 0, 1))) / (sum(round(clip(t, 0, 1))) + 1e-7)``; for one-hot arrays
    this is the pixel accuracy (``round`` rounds half to even, as ``keras.ops.round`` does).

    Args:
        y_true: one-hot ``(B, H, W, K)``.
        y_pred: probabilities or one-hot, the same shape.

    Returns:
        A Python float.
    """
    y_true, y_pred = _as_float_pair(y_true, y_pred)
    true_positives = np.sum(np.round(np.clip(y_true * y_pred, 0.0, 1.0)))
    possible_positives = np.sum(np.round(np.clip(y_true, 0.0, 1.0)))
    return float(true_positives / (possible_positives + KERAS_EPSILON))


def original_specificity(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The original notebook's ``specificity`` in NumPy: :func:`original_sensitivity` of the
    complements ``1 - y_true`` and ``1 - y_pred`` (arrays as there)."""
    y_true, y_pred = _as_float_pair(y_true, y_pred)
    return original_sensitivity(1.0 - y_true, 1.0 - y_pred)


def original_notebook_scores(
    prediction_classes: np.ndarray, reference_classes: np.ndarray
) -> dict[str, float]:
    """The original notebook's "Dice", "sensitivity" and "specificity" of one case (the pitfall).

    The notebook's Keras metrics applied to the one-hot arrays of all four classes, background
    included, with the case's voxels as one item (counted, not built as one-hot arrays, which
    for a 240 x 240 x 155 case would take 140 MB):

    - Dice: ``(2 * correct + 1e-6) / (2 * voxels + 1e-6)``, the **voxel accuracy**: each voxel
      has one positive channel in each array, and they agree when the voxel is right;
    - sensitivity: ``correct / (voxels + 1e-7)``, the voxel accuracy again;
    - specificity: the sensitivity of the complements, ``1 - (1 - accuracy) / 3``.

    Feeding the notebook the case's slices as one batch gives the same Dice up to the
    smoothing term: the mean over slices of each slice's accuracy, with slices of equal size, is
    the accuracy of the whole. We use hard predicted classes (one-hot), not probabilities.
    Background dominates all three: predicting no tumour at all scores the share of background
    voxels, about 0.99.

    Args:
        prediction_classes: integer array of any shape (e.g. (240, 240, 155)), class indices
            {0, 1, 2, 3}.
        reference_classes: integer array of the same shape, class indices {0, 1, 2, 3}.

    Returns:
        dict with the keys of :data:`ORIGINAL_NOTEBOOK_METRICS`.

    >>> import numpy as np
    >>> reference = np.array([0, 0, 0, 1, 2, 3])
    >>> scores = original_notebook_scores(np.zeros_like(reference), reference)
    >>> [round(value, 4) for value in scores.values()]   # 3 of 6 voxels right
    [0.5, 0.5, 0.8333]
    """
    confusion = class_confusion_matrix(prediction_classes, reference_classes).astype(np.float64)
    voxels = confusion.sum()
    correct = np.trace(confusion)
    # One-hot: each voxel has one positive channel (a hit when correct) and NUM_CLASSES - 1
    # negative ones; all of those are negative in both arrays for a correct voxel, all but one
    # for a wrong voxel.
    true_negatives = (NUM_CLASSES - 1) * correct + (NUM_CLASSES - 2) * (voxels - correct)
    return {
        ORIGINAL_NOTEBOOK_METRICS[0]: float(
            (2.0 * correct + ORIGINAL_DICE_SMOOTH) / (2.0 * voxels + ORIGINAL_DICE_SMOOTH)
        ),
        ORIGINAL_NOTEBOOK_METRICS[1]: float(correct / (voxels + KERAS_EPSILON)),
        ORIGINAL_NOTEBOOK_METRICS[2]: float(
            true_negatives / ((NUM_CLASSES - 1) * voxels + KERAS_EPSILON)
        ),
    }
