"""What both input pipelines do to one batch: check the arrays, gather the batch's slices (with
their neighbours for 2.5D inputs), augment, cast.

:func:`brats_tutorial.tf_data.make_tf_dataset` (TensorFlow) and
:class:`brats_tutorial.py_dataset.SliceDataset` (any Keras backend) call :func:`gather_batch`,
so the two pipelines give the same batches for the same indices and random draws.
"""

from __future__ import annotations

import numpy as np

from .augmentation import rich_augment_batch
from .slice_context import neighbour_indices, stack_neighbours


def check_slice_arrays(images: np.ndarray, classes: np.ndarray) -> None:
    """Raise ValueError unless ``images`` is (N, H, W, C) and ``classes`` (N, H, W) with N > 0."""
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W, C), got shape {images.shape}")
    if classes.ndim != 3 or classes.shape != images.shape[:3]:
        raise ValueError(
            f"classes must be (N, H, W) matching images {images.shape}, got {classes.shape}"
        )
    if images.shape[0] == 0:
        raise ValueError("no slices: images is empty")


def check_context(count: int, context_slices: int, slices_per_case: int | None) -> int:
    """Check the 2.5D settings of a pipeline over ``count`` slices; returns slices per case.

    Raises:
        ValueError: ``context_slices < 0``, or ``context_slices > 0`` without a
            ``slices_per_case`` that divides ``count``.
    """
    if context_slices < 0:
        raise ValueError(f"context_slices must be >= 0, got {context_slices}")
    if context_slices == 0:
        return slices_per_case or count
    if not slices_per_case or count % slices_per_case:
        raise ValueError(
            f"context_slices={context_slices} needs slices_per_case dividing the {count} slices, "
            f"got {slices_per_case}"
        )
    return slices_per_case


def gather_batch(
    images: np.ndarray,
    classes: np.ndarray,
    batch_indices: np.ndarray,
    flips: np.ndarray | None = None,
    rich_rng: np.random.Generator | None = None,
    context_slices: int = 0,
    slices_per_case: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The images and classes of one batch, as new arrays (the stored ones are never touched).

    Args:
        images: float16 or float32 (N, H, W, C), may be memory-mapped.
        classes: uint8 (N, H, W).
        batch_indices: int (B,), slices of the batch.
        flips: bool (B,): mirror these slices left-right (the "flip" augmentation), or None.
        rich_rng: a random generator for the "rich" augmentation, or None.
        context_slices: neighbours on each side stacked as channels (0: plain 2D).
        slices_per_case: slices of each patient (needed when ``context_slices > 0``).

    Returns:
        images of ``images``' dtype (B, H, W, (2k + 1) C) and uint8 classes (B, H, W) of the
        centre slices.
    """
    batch_indices = np.asarray(batch_indices, dtype=np.int64)
    if context_slices:
        batch_images = stack_neighbours(
            images, neighbour_indices(batch_indices, slices_per_case, context_slices)
        )
    else:
        batch_images = np.asarray(images[batch_indices])  # fancy indexing copies
    batch_classes = np.array(classes[batch_indices], dtype=np.uint8)
    if flips is not None and flips.any():
        batch_images[flips] = batch_images[flips, ::-1]  # before any cast: fewer bytes
        batch_classes[flips] = batch_classes[flips, ::-1]
    if rich_rng is not None:
        batch_images, batch_classes = rich_augment_batch(
            batch_images, batch_classes, rich_rng, modality_count=images.shape[-1]
        )
    return batch_images, batch_classes
