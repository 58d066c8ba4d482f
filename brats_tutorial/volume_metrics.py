"""Metrics on full 3D volumes, as the BraTS challenge reports them (numpy and scipy, no Keras).

Region metrics (:func:`dice`, :func:`sensitivity`, :func:`specificity`, :func:`hd95`) take two
boolean masks of the same shape, usually ``bool (240, 240, 155)``, one region (WT, TC or ET) of a
prediction and of the reference. :func:`region_scores` computes all four for the three regions
from file-label volumes.

Conventions for empty masks (BraTS ranks an empty reference as a detection question: predicting
nothing is perfect, predicting anything is wrong on every metric):

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

The original notebook's metrics, kept to show the pitfall, are in
:func:`original_notebook_scores`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, generate_binary_structure

from .constants import HD95_ONE_EMPTY_MM, NUM_CLASSES, REGIONS
from .labels import region_mask

#: Names of the region metrics, in the order of the columns of :func:`region_scores`.
REGION_METRICS: tuple[str, ...] = ("Dice", "Sensitivity", "Specificity", "HD95")
#: Keys of :func:`original_notebook_scores`.
ORIGINAL_NOTEBOOK_METRICS: tuple[str, ...] = (
    "Dice (all classes, with background)",
    "Sensitivity (all classes)",
    "Specificity (all classes)",
)
#: ``keras.backend.epsilon()``, which the original notebook adds to its denominators.
KERAS_EPSILON: float = 1e-7
#: Smoothing term of the original notebook's Dice.
ORIGINAL_DICE_SMOOTH: float = 1.0


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
        Sensitivity in [0, 1]. With an empty reference (0/0): 1 when the prediction is empty
        too, 0 when it is not, the same as Dice (see the module docstring).
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


def _union_bounding_box(
    first: np.ndarray, second: np.ndarray, margin: int
) -> tuple[slice, ...]:
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
    pairs = reference_classes.astype(np.intp).ravel() * NUM_CLASSES + prediction_classes.astype(
        np.intp
    ).ravel()
    return np.bincount(pairs, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def original_notebook_scores(
    prediction_classes: np.ndarray, reference_classes: np.ndarray
) -> dict[str, float]:
    """The original notebook's "Dice", "sensitivity" and "specificity" of one case (the pitfall).

    The notebook's Keras metrics, applied to one-hot arrays of all four classes, background
    included, with every voxel given flattened together:

    - Dice: per class c, ``(2 * sum(t_c * p_c) + 1) / (sum(t_c) + sum(p_c) + 1)`` (smooth = 1),
      averaged over the four classes;
    - sensitivity: ``sum(round(clip(t * p))) / (sum(round(clip(t))) + epsilon)`` over all four
      channels, which for one-hot arrays is the voxel accuracy;
    - specificity: ``sum(round(clip((1 - t) * (1 - p)))) / (sum(round(clip(1 - t))) + epsilon)``
      over all four channels, which is ``1 - (1 - accuracy) / 3``.

    The notebook fed Keras one case per batch (its 100-slice window, 128 x 128) and Keras averaged
    the batch values; computing on one case's whole volume is what it did per batch. We use hard
    predicted classes (one-hot), not softmax probabilities. Background dominates all three:
    predicting no tumour at all still scores about 0.99 on sensitivity and specificity.

    Args:
        prediction_classes: integer array of any shape (e.g. (240, 240, 155)), class indices
            {0, 1, 2, 3}.
        reference_classes: integer array of the same shape, class indices {0, 1, 2, 3}.

    Returns:
        dict with the keys of :data:`ORIGINAL_NOTEBOOK_METRICS`.
    """
    confusion = class_confusion_matrix(prediction_classes, reference_classes).astype(np.float64)
    intersection = np.diag(confusion)
    reference_sizes = confusion.sum(axis=1)
    prediction_sizes = confusion.sum(axis=0)
    per_class_dice = (2.0 * intersection + ORIGINAL_DICE_SMOOTH) / (
        reference_sizes + prediction_sizes + ORIGINAL_DICE_SMOOTH
    )
    voxels = confusion.sum()
    correct = intersection.sum()
    # One-hot: each voxel has one positive channel (a hit when correct) and NUM_CLASSES - 1
    # negative ones; all of those are negative in both arrays for a correct voxel, all but one
    # for a wrong voxel.
    true_negatives = (NUM_CLASSES - 1) * correct + (NUM_CLASSES - 2) * (voxels - correct)
    return {
        ORIGINAL_NOTEBOOK_METRICS[0]: float(per_class_dice.mean()),
        ORIGINAL_NOTEBOOK_METRICS[1]: float(correct / (voxels + KERAS_EPSILON)),
        ORIGINAL_NOTEBOOK_METRICS[2]: float(
            true_negatives / ((NUM_CLASSES - 1) * voxels + KERAS_EPSILON)
        ),
    }
