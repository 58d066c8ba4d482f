"""From a loaded case to network-ready slices: slice window, normalisation, resizing.

One case becomes ``images: float16 (S, size, size, C)`` and ``classes: uint8 (S, size, size)``
with class indices {0, 1, 2, 3}, where S is the number of axial slices kept (100 by default,
slices 22 to 121 as in the original notebook) and C the number of modalities (FLAIR and T1ce by
default).

Axis conventions: volumes are (x, y, z) as stored in the NIfTI files; axial slice ``s`` is
``volume[:, :, s]``, an (x, y) image. Slice stacks are (S, x, y) or (S, x, y, C).

Resizing uses :func:`scipy.ndimage.zoom` with ``grid_mode=True`` (pixel centres at half-pixel
positions, the convention of ``cv2.resize`` and ``tf.image.resize``) and edge values repeated
past the border. Images are interpolated linearly; masks take the class of the nearest pixel, so
no new class appears. The original notebook one-hot encoded the mask and resized it bilinearly,
which gives soft, non-one-hot values along every edge: :func:`resize_onehot_bilinear` keeps that
mistake for the preprocessing chapter to show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from .constants import (
    DEFAULT_MODALITIES,
    IMAGE_SIZE,
    MASK_INTERPOLATIONS,
    MODALITIES,
    NORMALISATIONS,
    NUM_CLASSES,
    SLICE_COUNT,
    SLICE_START,
)
from .errors import BratsDataError
from .labels import labels_to_classes
from .loading import Case

#: Bumped whenever preprocessing changes its output for the same settings; caches built by an
#: older version are then rebuilt.
PREPROCESSING_VERSION: int = 1


@dataclass(frozen=True)
class PreprocessingSettings:
    """How cases are turned into slices.

    Attributes:
        slice_start: first axial slice kept (22 in the original notebook).
        slice_count: number of consecutive axial slices kept (100: slices 22 to 121).
        modalities: the channels, in this order; any subset of
            ("flair", "t1", "t1ce", "t2") without repeats. A list is stored as a tuple.
        normalisation: "zscore" (per case and modality: mean 0 and standard deviation 1 over
            the brain voxels, i.e. voxels > 0 of that modality in the whole volume; the
            background stays 0) or "max" (per case and modality: divide by the maximum of the
            whole volume; see :func:`normalise_max` for how the original notebook differs).
        image_size: in-plane size after resizing, in pixels (128).
        mask_interpolation: "nearest" (each output pixel takes the class under its centre) or
            "label_aware" (each class's one-hot map is resized linearly, then the most likely
            class is kept: smoother edges, still one class per pixel).

    Raises:
        ValueError: when a value is out of range, naming it.
    """

    slice_start: int = SLICE_START
    slice_count: int = SLICE_COUNT
    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    normalisation: str = "zscore"
    image_size: int = IMAGE_SIZE
    mask_interpolation: str = "nearest"

    def __post_init__(self) -> None:
        if isinstance(self.modalities, str):
            raise ValueError(
                f"modalities must be a sequence of names such as ('flair', 't1ce'), "
                f"got the string {self.modalities!r}"
            )
        object.__setattr__(self, "modalities", tuple(self.modalities))
        for name in ("slice_start", "slice_count", "image_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.slice_start < 0:
            raise ValueError(f"slice_start must be >= 0, got {self.slice_start}")
        if self.slice_count < 1:
            raise ValueError(f"slice_count must be >= 1, got {self.slice_count}")
        if self.image_size < 1:
            raise ValueError(f"image_size must be >= 1, got {self.image_size}")
        if not self.modalities:
            raise ValueError(f"modalities must name at least one of {list(MODALITIES)}")
        unknown = [m for m in self.modalities if m not in MODALITIES]
        if unknown:
            raise ValueError(f"unknown modalities {unknown}; choose from {list(MODALITIES)}")
        if len(set(self.modalities)) != len(self.modalities):
            raise ValueError(f"modalities repeat a name: {list(self.modalities)}")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(
                f"normalisation must be one of {list(NORMALISATIONS)}, got {self.normalisation!r}"
            )
        if self.mask_interpolation not in MASK_INTERPOLATIONS:
            raise ValueError(
                f"mask_interpolation must be one of {list(MASK_INTERPOLATIONS)}, "
                f"got {self.mask_interpolation!r}"
            )

    @property
    def slice_stop(self) -> int:
        """One past the last axial slice kept (122 by default)."""
        return self.slice_start + self.slice_count

    @property
    def num_channels(self) -> int:
        """Number of image channels, ``len(modalities)``."""
        return len(self.modalities)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (modalities as a list)."""
        data = asdict(self)
        data["modalities"] = list(self.modalities)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessingSettings:
        """Settings from :meth:`to_dict`'s dict (validated again)."""
        return cls(**data)


def _zscore_statistics(volume: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the voxels > 0 (0, 0 when there are none)."""
    values = volume[volume > 0]
    if values.size == 0:
        return 0.0, 0.0
    return float(values.mean(dtype=np.float64)), float(values.std(dtype=np.float64))


def _apply_zscore(part: np.ndarray, mean: float, std: float) -> np.ndarray:
    """(part - mean) / std where part > 0, else 0; float32 of part's shape."""
    if std <= 0:
        return np.zeros(part.shape, dtype=np.float32)
    scaled = (part.astype(np.float32, copy=False) - np.float32(mean)) / np.float32(std)
    return np.where(part > 0, scaled, np.float32(0))


def normalise_zscore(volume: np.ndarray) -> np.ndarray:
    """Z-score over the brain: mean 0 and standard deviation 1 over voxels > 0.

    The statistics come from every voxel > 0 of this volume (all slices, not only the slice
    window). Voxels <= 0 are background and are set to 0. A volume without brain voxels gives
    zeros; a brain of one constant value gives zeros too (its standard deviation is 0).

    Args:
        volume: one modality of one case, any shape, e.g. float32 (240, 240, 155).

    Returns:
        float32 array of the same shape.
    """
    volume = np.asarray(volume, dtype=np.float32)
    return _apply_zscore(volume, *_zscore_statistics(volume))


def normalise_max(volume: np.ndarray) -> np.ndarray:
    """Divide by the volume's maximum, so that values lie in [0, 1] for non-negative images.

    Here the maximum is per case and per modality, over the whole volume (all slices). The
    original notebook instead divided each training batch by the batch's single maximum, taken
    after slicing (slices 22 to 121) and resizing, over both channels together; with its batch
    of one patient, FLAIR and T1ce were scaled by the same number, so the brighter modality
    decided the scale of the other.

    Args:
        volume: one modality of one case, any shape, e.g. float32 (240, 240, 155).

    Returns:
        float32 array of the same shape; zeros when the maximum is <= 0.
    """
    volume = np.asarray(volume, dtype=np.float32)
    return _apply_max(volume, float(volume.max()) if volume.size else 0.0)


def _apply_max(part: np.ndarray, maximum: float) -> np.ndarray:
    """part / maximum as float32; zeros when maximum <= 0."""
    if maximum <= 0:
        return np.zeros(part.shape, dtype=np.float32)
    return part.astype(np.float32, copy=False) / np.float32(maximum)


def _normalised_window(volume: np.ndarray, window: slice, normalisation: str) -> np.ndarray:
    """Normalise with statistics of the whole volume, computing only the slice window.

    Args:
        volume: float32 (X, Y, Z).

    Returns:
        float32 (X, Y, S), the same values as ``normalise_*(volume)[:, :, window]``.
    """
    part = volume[:, :, window]
    if normalisation == "zscore":
        return _apply_zscore(part, *_zscore_statistics(volume))
    return _apply_max(part, float(volume.max()) if volume.size else 0.0)


def _size_pair(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        pair = (int(size), int(size))
    else:
        pair = tuple(int(s) for s in size)
        if len(pair) != 2:
            raise ValueError(f"size must be an int or (height, width), got {size!r}")
    if min(pair) < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return pair  # type: ignore[return-value]


def _resize_stack_linear(stack: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Linear resize of float32 (N, H, W) slice by slice -> float32 (N, size[0], size[1])."""
    count, height, width = stack.shape
    output = np.empty((count, *size), dtype=np.float32)
    if (height, width) == size:
        output[...] = stack
        return output
    zoom = (size[0] / height, size[1] / width)
    # Slice by slice: zooming the whole stack with factor 1 along N would still interpolate
    # along N (twice the work) for nothing.
    for index in range(count):
        ndimage.zoom(
            stack[index], zoom, output=output[index], order=1, mode="nearest", grid_mode=True
        )
    return output


def resize_images(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize every slice and channel linearly (cv2.resize's INTER_LINEAR convention).

    Args:
        images: float32 (S, H, W, C).
        size: output side in pixels, or (height, width).

    Returns:
        float32 (S, size, size, C).
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images must be (S, H, W, C), got shape {images.shape}")
    height, width = _size_pair(size)
    slices, _, _, channels = images.shape
    by_channel = np.moveaxis(images, -1, 1).reshape(slices * channels, *images.shape[1:3])
    resized = _resize_stack_linear(by_channel, (height, width))
    return np.moveaxis(resized.reshape(slices, channels, height, width), 1, -1).copy()


def resize_classes(classes: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize class maps by nearest neighbour: each output pixel takes the class under its centre.

    No value appears that was not in the input.

    Args:
        classes: uint8 (S, H, W), class indices.
        size: output side in pixels, or (height, width).

    Returns:
        uint8 (S, size, size).
    """
    classes = np.asarray(classes)
    if classes.ndim != 3:
        raise ValueError(f"classes must be (S, H, W), got shape {classes.shape}")
    height, width = _size_pair(size)
    zoom = (1.0, height / classes.shape[1], width / classes.shape[2])
    return ndimage.zoom(
        classes.astype(np.uint8, copy=False), zoom, order=0, mode="nearest", grid_mode=True
    )


def one_hot(classes: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """One-hot encode class indices.

    Args:
        classes: integer array of any shape (...), values in 0..num_classes-1.

    Returns:
        float32 (..., num_classes).
    """
    classes = np.asarray(classes)
    return (classes[..., None] == np.arange(num_classes, dtype=classes.dtype)).astype(np.float32)


def resize_onehot_bilinear(
    classes: np.ndarray, size: int | tuple[int, int], num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """The original notebook's mask resizing: one-hot, then bilinear resize. A pitfall.

    Kept to demonstrate the mistake: along every edge between classes the result is a blend
    such as (0.3, 0, 0.7, 0), not a one-hot vector, so the "ground truth" the network was
    trained on is soft and its Dice is computed against fractions.

    Args:
        classes: uint8 (S, H, W), class indices.
        size: output side in pixels, or (height, width).
        num_classes: length of the one-hot vectors.

    Returns:
        float32 (S, size, size, num_classes); each pixel sums to 1 but need not be one-hot.
    """
    return resize_images(one_hot(classes, num_classes), size)


def resize_classes_label_aware(
    classes: np.ndarray, size: int | tuple[int, int], num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Resize class maps by resizing each class's one-hot map linearly, then taking the argmax.

    Edges are smoother than with nearest neighbour and every pixel still holds one class.

    Args:
        classes: uint8 (S, H, W), class indices.
        size: output side in pixels, or (height, width).
        num_classes: number of classes.

    Returns:
        uint8 (S, size, size).
    """
    return np.argmax(resize_onehot_bilinear(classes, size, num_classes), axis=-1).astype(np.uint8)


def preprocess_case(
    case: Case, settings: PreprocessingSettings
) -> tuple[np.ndarray, np.ndarray | None]:
    """Turn one loaded case into network-ready slices.

    Steps: normalise each modality over its whole volume, keep the axial slices
    ``settings.slice_start`` to ``settings.slice_stop - 1``, resize them to
    ``settings.image_size``, stack the modalities as channels in ``settings.modalities`` order;
    map the mask's labels {0, 1, 2, 4} to classes {0, 1, 2, 3} and resize it the same way
    (nearest neighbour, or label-aware).

    Args:
        case: a loaded case holding at least ``settings.modalities``; images float32 (X, Y, Z),
            mask uint8 (X, Y, Z) labels {0, 1, 2, 4} or ``None``.
        settings: the preprocessing settings.

    Returns:
        ``(images, classes)``: images float16 (S, size, size, C); classes uint8
        (S, size, size) with class indices {0, 1, 2, 3}, or ``None`` when the case has no mask.
        S = ``settings.slice_count``, C = ``len(settings.modalities)``.

    Raises:
        BratsDataError: if a modality was not loaded, or the volume has fewer slices than the
            window needs.
    """
    missing = [m for m in settings.modalities if m not in case.images]
    if missing:
        raise BratsDataError(
            case.files.folder,
            f"case {case.case_id}: modalities {missing} were not loaded (loaded: {sorted(case.images)})",
        )
    depth = case.images[settings.modalities[0]].shape[2]
    if settings.slice_stop > depth:
        raise BratsDataError(
            case.files.folder,
            f"case {case.case_id} has {depth} axial slices; the window "
            f"{settings.slice_start}..{settings.slice_stop - 1} needs {settings.slice_stop}",
        )
    window = slice(settings.slice_start, settings.slice_stop)
    size = settings.image_size
    height, width = case.images[settings.modalities[0]].shape[:2]

    images = np.empty((settings.slice_count, size, size, settings.num_channels), dtype=np.float16)
    for channel, modality in enumerate(settings.modalities):
        volume = np.asarray(case.images[modality], dtype=np.float32)  # (X, Y, Z)
        normalised = _normalised_window(volume, window, settings.normalisation)  # (X, Y, S)
        slices = np.moveaxis(normalised, 2, 0)  # (S, X, Y)
        images[..., channel] = _resize_stack_linear(slices, (size, size))

    if case.mask is None:
        return images, None
    mask_window = case.mask[:, :, window]
    classes = np.ascontiguousarray(
        np.moveaxis(labels_to_classes(mask_window, case.files.mask or case.case_id), 2, 0)
    )  # uint8 (S, X, Y)
    if (height, width) == (size, size):
        return images, classes
    if settings.mask_interpolation == "nearest":
        classes = resize_classes(classes, size)
    else:
        classes = resize_classes_label_aware(classes, size)
    return images, classes
