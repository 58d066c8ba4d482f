"""Label conversions and BraTS region masks.

File labels are {0, 1, 2, 4}; class indices are {0, 1, 2, 3}. Regions: WT = {1, 2, 4},
TC = {1, 4}, ET = {4} in file labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .constants import CLASS_TO_LABEL, FILE_LABELS, LABEL_TO_CLASS, REGION_CLASSES, REGION_LABELS
from .errors import BratsDataError

_LABEL_LOOKUP = np.zeros(256, dtype=np.uint8)
for _label, _class in LABEL_TO_CLASS.items():
    _LABEL_LOOKUP[_label] = _class
_CLASS_LOOKUP = np.zeros(256, dtype=np.uint8)
for _class, _label in CLASS_TO_LABEL.items():
    _CLASS_LOOKUP[_class] = _label


def check_labels(labels: np.ndarray, source: str | Path = "<array>") -> None:
    """Raise :class:`BratsDataError` naming ``source`` if ``labels`` holds values outside {0, 1, 2, 4}.

    Args:
        labels: integer array of any shape, file labels.
        source: the file the labels came from, for the message.
    """
    values = np.unique(labels)
    unknown = [v.item() for v in values if v not in FILE_LABELS]
    if unknown:
        raise BratsDataError(
            source, f"unknown label values {unknown}; BraTS labels are {list(FILE_LABELS)}"
        )


def labels_to_classes(labels: np.ndarray, source: str | Path = "<array>") -> np.ndarray:
    """Map file labels {0, 1, 2, 4} to class indices {0, 1, 2, 3}.

    Args:
        labels: integer array of any shape (uint8 or int16 as stored).
        source: file name used in the error message.

    Returns:
        uint8 array of the same shape with values in {0, 1, 2, 3}.

    Raises:
        BratsDataError: if a value is not a BraTS label.

    >>> labels_to_classes(np.array([0, 1, 2, 4])).tolist()
    [0, 1, 2, 3]
    """
    check_labels(labels, source)
    return _LABEL_LOOKUP[np.asarray(labels).astype(np.intp)]


def classes_to_labels(classes: np.ndarray) -> np.ndarray:
    """Map class indices {0, 1, 2, 3} back to file labels {0, 1, 2, 4}.

    Args:
        classes: integer array of any shape with values in {0, 1, 2, 3}.

    Returns:
        uint8 array of the same shape with values in {0, 1, 2, 4}.

    >>> classes_to_labels(np.array([[0, 3], [1, 2]])).tolist()
    [[0, 4], [1, 2]]
    """
    classes = np.asarray(classes)
    if classes.size and (classes.min() < 0 or classes.max() > 3):
        raise ValueError(f"class indices must be in 0..3, got {np.unique(classes).tolist()}")
    return _CLASS_LOOKUP[classes.astype(np.intp)]


def region_mask(labels: np.ndarray, region: str) -> np.ndarray:
    """Boolean mask of a BraTS region from file labels.

    Args:
        labels: integer array of any shape, file labels {0, 1, 2, 4}.
        region: "WT", "TC" or "ET".

    Returns:
        bool array of the same shape.

    >>> labels = np.array([0, 1, 2, 4])
    >>> [region_mask(labels, region).tolist() for region in ("WT", "TC", "ET")]
    [[False, True, True, True], [False, True, False, True], [False, False, False, True]]
    """
    return np.isin(labels, REGION_LABELS[region])


def region_mask_from_classes(classes: np.ndarray, region: str) -> np.ndarray:
    """Boolean mask of a BraTS region from class indices {0, 1, 2, 3}.

    Args:
        classes: integer array of any shape, class indices.
        region: "WT", "TC" or "ET".

    Returns:
        bool array of the same shape.
    """
    return np.isin(classes, REGION_CLASSES[region])


def regions_to_labels(
    whole_tumour: np.ndarray, tumour_core: np.ndarray, enhancing_tumour: np.ndarray
) -> np.ndarray:
    """File labels from three nested region masks, as nnU-Net rebuilds them for BraTS.

    Oedema (2) where the whole tumour is, then necrosis / non-enhancing core (1) where the tumour
    core is, then enhancing tumour (4) where the enhancing tumour is; later regions win, so the
    result is nested even if the masks are not (an enhancing voxel outside the predicted core
    still becomes 4).

    Args:
        whole_tumour, tumour_core, enhancing_tumour: bool arrays of one shape.

    Returns:
        uint8 array of that shape, labels {0, 1, 2, 4}.

    >>> regions_to_labels(np.array([1, 1, 1, 0]), np.array([0, 1, 1, 0]), np.array([0, 0, 1, 0]))
    array([2, 1, 4, 0], dtype=uint8)
    """
    labels = np.zeros(np.shape(whole_tumour), dtype=np.uint8)
    labels[np.asarray(whole_tumour, dtype=bool)] = 2
    labels[np.asarray(tumour_core, dtype=bool)] = 1
    labels[np.asarray(enhancing_tumour, dtype=bool)] = 4
    return labels
