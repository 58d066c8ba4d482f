"""Data augmentation of training batches, the same random transform for images and masks.

Three levels, named by :data:`AUGMENTATIONS`:

- ``"none"``: slices as stored;
- ``"flip"``: each slice mirrored left-right with probability 1/2 (the course's default; done
  inside the pipelines, which draw the coins themselves);
- ``"rich"``: what nnU-Net does in 2D, scaled down (:func:`rich_augment_batch`): mirroring
  along both in-plane axes, a small rotation and scaling, and a per-modality intensity scale
  and shift.

Everything here is NumPy and SciPy on whole batches, so it runs the same under every Keras
backend (TensorFlow, JAX, PyTorch), inside ``tf.data`` (through ``tf.numpy_function``) or a
``keras.utils.PyDataset``. Masks are moved with nearest-neighbour interpolation, so no new class
appears; images linearly. Pixels moved in from outside the slice are background (0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: Augmentation levels, from none to rich.
AUGMENTATIONS: tuple[str, ...] = ("none", "flip", "rich")


def resolve_augmentation(augment: bool | str) -> str:
    """The augmentation level of an ``augment`` argument: ``False`` -> "none", ``True`` ->
    "flip", or one of :data:`AUGMENTATIONS` unchanged.

    >>> resolve_augmentation(True), resolve_augmentation("rich")
    ('flip', 'rich')
    """
    if augment is True:
        return "flip"
    if augment is False or augment is None:
        return "none"
    if augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {list(AUGMENTATIONS)} or a bool, got {augment!r}")
    return augment


@dataclass(frozen=True)
class RichAugmentation:
    """Settings of :func:`rich_augment_batch` (defaults in the spirit of nnU-Net, milder).

    Attributes:
        flip_probability: chance of a mirror along each in-plane axis, independently.
        spatial_probability: chance of a rotation and scaling of a slice.
        max_rotation_degrees: rotation angle drawn from [-max, max] degrees.
        scale_range: zoom factor drawn from this interval (> 1 enlarges).
        intensity_probability: chance, per slice and modality, of an intensity change.
        intensity_scale_range: multiplier of the brain's intensities.
        intensity_shift: added value drawn from [-shift, shift] (z-score units: standard
            deviations of the brain).
    """

    flip_probability: float = 0.5
    spatial_probability: float = 0.5
    max_rotation_degrees: float = 15.0
    scale_range: tuple[float, float] = (0.9, 1.1)
    intensity_probability: float = 0.5
    intensity_scale_range: tuple[float, float] = (0.9, 1.1)
    intensity_shift: float = 0.1


def _rotation_and_scaling(
    image: np.ndarray, classes: np.ndarray, angle_degrees: float, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate and scale one slice about its centre.

    Args:
        image: float32 (H, W, C).
        classes: uint8 (H, W).

    Returns:
        float32 (H, W, C) (linear), uint8 (H, W) (nearest); outside pixels become 0.
    """
    angle = np.deg2rad(angle_degrees)
    # affine_transform maps output coordinates to input ones: the inverse transform.
    inverse = np.array(
        [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], dtype=np.float64
    ) / float(scale)
    centre = (np.array(classes.shape, dtype=np.float64) - 1) / 2
    offset = centre - inverse @ centre
    moved_image = np.empty_like(image)
    for channel in range(image.shape[-1]):
        moved_image[..., channel] = ndimage.affine_transform(
            image[..., channel], inverse, offset=offset, order=1, mode="constant", cval=0.0
        )
    moved_classes = ndimage.affine_transform(
        classes, inverse, offset=offset, order=0, mode="constant", cval=0
    )
    return moved_image, moved_classes


def rich_augment_batch(
    images: np.ndarray,
    classes: np.ndarray,
    rng: np.random.Generator,
    modality_count: int | None = None,
    settings: RichAugmentation = RichAugmentation(),
) -> tuple[np.ndarray, np.ndarray]:
    """Randomly mirror, rotate, scale and change the intensities of a batch of slices.

    Each slice draws its own transform; image and mask move together. The intensity change is
    per modality and applies only to brain pixels (non-zero), so the background stays 0. With
    2.5D inputs (:mod:`brats_tutorial.slice_context`) channel ``j * modality_count + c`` is
    modality ``c`` of neighbour ``j``: all neighbours of a modality get the same change.

    Args:
        images: float16 or float32 (B, H, W, C); not modified.
        classes: uint8 (B, H, W); not modified.
        rng: the random generator (seed it for reproducible batches).
        modality_count: modalities per neighbour slice (default: C, no neighbours).
        settings: probabilities and ranges.

    Returns:
        ``(images, classes)``: new arrays of the input dtypes and shapes.
    """
    images_out = np.array(images, dtype=np.float32)
    classes_out = np.array(classes, dtype=np.uint8)
    channels = images_out.shape[-1]
    modality_count = modality_count or channels
    if channels % modality_count:
        raise ValueError(f"{channels} channels are not a multiple of {modality_count} modalities")
    modality_of_channel = np.arange(channels) % modality_count
    for index in range(images_out.shape[0]):
        image, mask = images_out[index], classes_out[index]
        if rng.random() < settings.flip_probability:
            image, mask = image[::-1], mask[::-1]
        if rng.random() < settings.flip_probability:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if rng.random() < settings.spatial_probability:
            angle = rng.uniform(-settings.max_rotation_degrees, settings.max_rotation_degrees)
            scale = rng.uniform(*settings.scale_range)
            image, mask = _rotation_and_scaling(np.ascontiguousarray(image), mask, angle, scale)
        image = np.array(image)
        changed = rng.random(modality_count) < settings.intensity_probability
        if changed.any():
            factors = np.where(
                changed, rng.uniform(*settings.intensity_scale_range, modality_count), 1.0
            )
            shifts = np.where(
                changed,
                rng.uniform(-settings.intensity_shift, settings.intensity_shift, modality_count),
                0.0,
            )
            brain = image != 0
            adjusted = image * factors[modality_of_channel].astype(np.float32) + shifts[
                modality_of_channel
            ].astype(np.float32)
            image = np.where(brain, adjusted, np.float32(0))
        images_out[index], classes_out[index] = image, mask
    return images_out.astype(images.dtype, copy=False), classes_out
