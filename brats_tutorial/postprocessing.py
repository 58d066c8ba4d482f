"""Post-processing of predicted label maps: what nnU-Net's BraTS entry did after the network.

Two steps, each off by default (a threshold of 0):

- **small components**: connected pieces of predicted tumour (whole tumour, 3D,
  26-connectivity) smaller than ``min_component_voxels`` are set to background: a 2D network
  judges each slice alone and leaves specks that no 3D view would;
- **small enhancing tumour**: when the whole predicted enhancing tumour of a patient is smaller
  than ``min_enhancing_voxels``, it becomes necrosis (label 1). Low-grade gliomas often have no
  enhancing tumour; BraTS scores an empty reference as Dice 1 if nothing is predicted and 0
  otherwise, so a few false enhancing voxels cost a whole point of ET Dice. The threshold is
  chosen on validation patients (:func:`choose_min_enhancing_voxels`), never on test patients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from .labels import region_mask
from .volume_metrics import dice


@dataclass(frozen=True)
class PostprocessingSettings:
    """Thresholds of :func:`postprocess_labels` (0 switches a step off).

    Attributes:
        min_component_voxels: tumour components with fewer voxels are removed.
        min_enhancing_voxels: a predicted enhancing tumour with fewer voxels in all becomes
            necrosis (label 1).
    """

    min_component_voxels: int = 0
    min_enhancing_voxels: int = 0

    def __post_init__(self) -> None:
        for name in ("min_component_voxels", "min_enhancing_voxels"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
            object.__setattr__(self, name, int(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def remove_small_components(labels: np.ndarray, min_voxels: int) -> np.ndarray:
    """Set to background every connected piece of tumour with fewer than ``min_voxels`` voxels.

    Args:
        labels: uint8 (X, Y, Z), labels {0, 1, 2, 4}.
        min_voxels: size threshold; 0 or 1 keeps everything.

    Returns:
        uint8 (X, Y, Z), a new array.

    >>> labels = np.zeros((5, 5, 5), np.uint8); labels[0, 0, 0] = 2; labels[2:4, 2:4, 2:4] = 1
    >>> int((remove_small_components(labels, 2) > 0).sum())
    8
    """
    labels = np.array(labels, dtype=np.uint8)
    if min_voxels <= 1:
        return labels
    components, count = ndimage.label(labels > 0, structure=np.ones((3, 3, 3), dtype=bool))
    if count == 0:
        return labels
    sizes = np.bincount(components.ravel())
    small = sizes < min_voxels
    small[0] = False
    labels[small[components]] = 0
    return labels


def relabel_small_enhancing(labels: np.ndarray, min_voxels: int) -> np.ndarray:
    """Turn a predicted enhancing tumour (4) smaller than ``min_voxels`` in all into necrosis (1).

    Args:
        labels: uint8 (X, Y, Z), labels {0, 1, 2, 4}.

    Returns:
        uint8 (X, Y, Z), a new array.

    >>> labels = np.array([4, 4, 2], np.uint8)
    >>> relabel_small_enhancing(labels, 3).tolist(), relabel_small_enhancing(labels, 2).tolist()
    ([1, 1, 2], [4, 4, 2])
    """
    labels = np.array(labels, dtype=np.uint8)
    enhancing = labels == 4
    if 0 < enhancing.sum() < min_voxels:
        labels[enhancing] = 1
    return labels


def postprocess_labels(labels: np.ndarray, settings: PostprocessingSettings) -> np.ndarray:
    """Both steps: small components first, then the small enhancing tumour.

    Args:
        labels: uint8 (X, Y, Z), labels {0, 1, 2, 4}.

    Returns:
        uint8 (X, Y, Z), a new array.
    """
    labels = remove_small_components(labels, settings.min_component_voxels)
    return relabel_small_enhancing(labels, settings.min_enhancing_voxels)


def choose_min_enhancing_voxels(
    predictions: Sequence[np.ndarray],
    references: Sequence[np.ndarray],
    candidates: Sequence[int] = (0, 50, 100, 200, 300, 500, 750, 1000),
) -> tuple[int, dict[int, float]]:
    """The enhancing-tumour threshold with the best mean ET Dice over some (validation) patients.

    Args:
        predictions: per patient, uint8 (X, Y, Z) predicted labels {0, 1, 2, 4} (after the other
            post-processing steps, if any).
        references: per patient, the expert's labels, same shapes.
        candidates: thresholds to try, in voxels.

    Returns:
        ``(threshold, mean_dice)``: the best threshold (the smallest one on a tie) and the mean
        ET Dice of every candidate.

    >>> reference = np.zeros(8, np.uint8); prediction = reference.copy(); prediction[:2] = 4
    >>> choose_min_enhancing_voxels([prediction], [reference], candidates=(0, 3))
    (3, {0: 0.0, 3: 1.0})
    """
    if len(predictions) != len(references) or not len(predictions):
        raise ValueError("give one reference per prediction, and at least one of each")
    scores: dict[int, float] = {}
    for threshold in candidates:
        values = [
            dice(
                region_mask(relabel_small_enhancing(prediction, threshold), "ET"),
                region_mask(reference, "ET"),
            )
            for prediction, reference in zip(predictions, references)
        ]
        scores[int(threshold)] = float(np.mean(values))
    return best_threshold(scores), scores


def best_threshold(scores: dict[int, float]) -> int:
    """The threshold with the highest score; the smallest of them on a tie, so that a step that
    does not help stays off.

    >>> best_threshold({0: 0.5, 100: 0.7, 250: 0.7})
    100
    """
    best = max(scores.values())
    return min(threshold for threshold, value in scores.items() if value == best)
