"""A backend-agnostic input pipeline: ``keras.utils.PyDataset`` over cached slices, NumPy only.

Works with ``model.fit`` under every Keras backend (TensorFlow, JAX, PyTorch). It does the
same work as :func:`brats_tutorial.tf_data.make_tf_dataset`, one batch per ``__getitem__``.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from .augmentation import resolve_augmentation
from .batches import check_context, check_slice_arrays, gather_batch
from .constants import NUM_CLASSES


class SliceDataset(keras.utils.PyDataset):
    """Batches of (images, masks) from in-memory (or memory-mapped) slices.

    Each epoch visits every slice exactly once; with ``shuffle`` the order is new each epoch
    (``on_epoch_end`` draws it), reproducible from ``seed``. Random flips depend only on
    (seed, epoch, batch index), so they are the same whichever worker builds a batch.

    Args:
        images: float16 or float32 (N, H, W, C).
        classes: uint8 (N, H, W), class indices {0, ..., num_classes - 1}.
        batch_size: slices per batch; the last batch may be smaller.
        shuffle: reshuffle the slices every epoch.
        augment: ``False``/"none", ``True``/"flip" (each slice mirrored left-right, the x
            axis, axis 1, with probability 1/2, image and mask together) or "rich" (see
            :func:`brats_tutorial.augmentation.rich_augment_batch`).
        one_hot: masks as float32 one-hot (B, H, W, num_classes); else uint8 (B, H, W).
        seed: seed of the shuffles and flips.
        num_classes: length of the one-hot vectors.
        context_slices: 2.5D input: ``k`` neighbours on each side stacked as channels, C
            becomes (2k + 1) C (see :mod:`brats_tutorial.slice_context`).
        slices_per_case: slices of each patient in ``images`` (needed with ``context_slices``).
        batch_multiple: every batch holds a multiple of this many slices: the number of devices
            a batch is split over (``keras.distribution.DataParallel`` under JAX splits a batch
            evenly, and fails on a last batch of, say, 7 slices over 2 GPUs). The last batch is
            cut to a multiple, so up to ``batch_multiple - 1`` slices of an epoch are left out
            (other ones each epoch when shuffling; the same last ones without). Must divide
            ``batch_size``.
        **kwargs: passed to ``keras.utils.PyDataset`` (``workers``, ``use_multiprocessing``,
            ``max_queue_size``). Threads (the default) share the epoch counter; with
            ``use_multiprocessing=True`` each process keeps its own copy.

    Batches: ``(images float32 (B, H, W, (2k + 1) C), masks)``.
    """

    def __init__(
        self,
        images: np.ndarray,
        classes: np.ndarray,
        batch_size: int = 32,
        shuffle: bool = True,
        augment: bool | str = False,
        one_hot: bool = True,
        seed: int = 0,
        num_classes: int = NUM_CLASSES,
        context_slices: int = 0,
        slices_per_case: int | None = None,
        batch_multiple: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_slice_arrays(images, classes)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if batch_multiple < 1 or batch_size % batch_multiple:
            raise ValueError(
                f"batch_multiple must be >= 1 and divide batch_size {batch_size}, "
                f"got {batch_multiple}"
            )
        self.images = images
        self.classes = classes
        self.batch_size = int(batch_size)
        # Slices used per epoch: the last batch cut to a multiple of batch_multiple.
        self.used_slices = images.shape[0] - images.shape[0] % self.batch_size % batch_multiple
        self.shuffle = shuffle
        self.augment = resolve_augmentation(augment)
        self.context_slices = int(context_slices)
        self.slices_per_case = check_context(images.shape[0], self.context_slices, slices_per_case)
        self.one_hot = one_hot
        self.seed = int(seed)
        self.num_classes = int(num_classes)
        self.epoch = 0
        self.order = self._order_for_epoch(0)

    def _order_for_epoch(self, epoch: int) -> np.ndarray:
        """int64 (N,): the slice order of an epoch."""
        count = self.images.shape[0]
        if not self.shuffle:
            return np.arange(count)
        return np.random.default_rng([self.seed, epoch]).permutation(count)

    def __len__(self) -> int:
        """Number of batches per epoch."""
        return math.ceil(self.used_slices / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``index`` of the current epoch.

        Returns:
            ``(images float32 (B, H, W, C), masks)``: float32 one-hot (B, H, W, num_classes)
            or uint8 class indices (B, H, W).
        """
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range 0..{len(self) - 1}")
        end = min((index + 1) * self.batch_size, self.used_slices)
        batch_indices = self.order[index * self.batch_size : end]
        flips, rich_rng = None, None
        if self.augment == "flip":
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            flips = rng.random(len(batch_indices)) < 0.5
        elif self.augment == "rich":
            rich_rng = np.random.default_rng([self.seed, self.epoch, index, 2])
        batch_images, batch_classes = gather_batch(
            self.images,
            self.classes,
            batch_indices,
            flips=flips,
            rich_rng=rich_rng,
            context_slices=self.context_slices,
            slices_per_case=self.slices_per_case,
        )
        batch_images = batch_images.astype(np.float32, copy=False)
        if not self.one_hot:
            return batch_images, batch_classes
        masks = np.zeros((*batch_classes.shape, self.num_classes), dtype=np.float32)
        for class_index in range(self.num_classes):
            masks[..., class_index] = batch_classes == class_index
        return batch_images, masks

    def on_epoch_end(self) -> None:
        """Move to the next epoch: new order (when shuffling) and new flips."""
        self.epoch += 1
        self.order = self._order_for_epoch(self.epoch)
