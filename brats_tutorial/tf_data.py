"""``tf.data`` input pipeline over cached slices, and the multi-GPU strategy.

The only module of the package that imports TensorFlow.

How the pipeline stays fast: the slices are already preprocessed (see
:mod:`brats_tutorial.cache`), so one epoch is only shuffling, gathering and casting. The
pipeline shuffles slice *indices* (a full shuffle of every slice, redone each epoch), batches
them, and then works on whole batches: one NumPy gather of the batch's slices (with the optional
flips, done in place on the gathered copy: a broadcast ``tf.where`` was some 40 times slower), then
vectorised TensorFlow ops (cast to float32, one-hot), in parallel with
``num_parallel_calls=AUTOTUNE`` and ``prefetch``. The arrays stay NumPy arrays (in memory or
memory-mapped): they are never copied into the TensorFlow graph, which keeps start-up quick and
avoids the 2 GB limit of graph constants that ``from_tensor_slices`` hits on the full data set.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .augmentation import resolve_augmentation
from .batches import check_context, check_slice_arrays, gather_batch
from .constants import NUM_CLASSES


def make_tf_dataset(
    images: np.ndarray,
    classes: np.ndarray,
    batch_size: int = 32,
    shuffle: bool = True,
    augment: bool | str = False,
    one_hot: bool = True,
    seed: int = 0,
    num_classes: int = NUM_CLASSES,
    drop_remainder: bool = False,
    context_slices: int = 0,
    slices_per_case: int | None = None,
) -> tf.data.Dataset:
    """A ``tf.data.Dataset`` of (images, masks) batches from in-memory slices.

    Args:
        images: float16 or float32 (N, H, W, C), e.g. from
            :func:`brats_tutorial.cache.load_cached_arrays`; may be memory-mapped.
        classes: uint8 (N, H, W), class indices {0, ..., num_classes - 1}.
        batch_size: slices per batch.
        shuffle: shuffle all N slices, in a new order each epoch (reproducible from ``seed``).
        augment: ``False``/"none"; ``True``/"flip": flip each slice left-right at random
            (probability 1/2, a new draw each epoch), image and mask together (left-right is the
            volume's x axis, axis 1 here); "rich": see
            :func:`brats_tutorial.augmentation.rich_augment_batch`.
        one_hot: masks as float32 one-hot (B, H, W, num_classes); else uint8 class indices
            (B, H, W).
        seed: seed of the shuffle and of the flips.
        num_classes: length of the one-hot vectors.
        drop_remainder: drop the last, smaller batch.
        context_slices: 2.5D input: ``k`` neighbours on each side stacked as channels, C
            becomes (2k + 1) C (see :mod:`brats_tutorial.slice_context`).
        slices_per_case: slices of each patient in ``images`` (needed with ``context_slices``).

    Returns:
        A dataset yielding ``(images float32 (B, H, W, (2k + 1) C), masks)``; masks are float32
        (B, H, W, num_classes) one-hot or uint8 (B, H, W). B = ``batch_size`` except perhaps
        the last batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_slice_arrays(images, classes)
    augment = resolve_augmentation(augment)
    slices_per_case = check_context(len(images), context_slices, slices_per_case)
    count, height, width, channels = images.shape
    channels *= 2 * context_slices + 1

    def gather(batch_indices: np.ndarray, coins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """NumPy side: the batch's slices (see :func:`brats_tutorial.batches.gather_batch`)."""
        flips, rich_rng = None, None
        if augment == "flip":
            flips = coins % 2 == 1  # a fair coin per slice
        elif augment == "rich" and len(coins):
            rich_rng = np.random.default_rng(np.abs(coins).astype(np.uint64))
        return gather_batch(
            images,
            classes,
            batch_indices,
            flips=flips,
            rich_rng=rich_rng,
            context_slices=context_slices,
            slices_per_case=slices_per_case,
        )

    indices = tf.data.Dataset.range(count)
    if shuffle:
        indices = indices.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if augment != "none":
        coins = tf.data.Dataset.random(seed=seed + 1, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(indices, coins)
    else:
        dataset = indices
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

    def load_batch(
        batch_indices: tf.Tensor, batch_coins: tf.Tensor | None = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        if batch_coins is None:
            batch_coins = tf.zeros_like(batch_indices)
        batch_images, batch_classes = tf.numpy_function(
            gather,
            [batch_indices, batch_coins],
            [tf.as_dtype(images.dtype), tf.uint8],
            stateful=False,
        )
        batch_images = tf.ensure_shape(batch_images, [None, height, width, channels])
        batch_classes = tf.ensure_shape(batch_classes, [None, height, width])
        batch_images = tf.cast(batch_images, tf.float32)
        if one_hot:
            masks = tf.one_hot(tf.cast(batch_classes, tf.int32), num_classes, dtype=tf.float32)
        else:
            masks = batch_classes
        return batch_images, masks

    dataset = dataset.map(load_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def tensorflow_gpu_devices() -> list[str]:
    """The GPUs TensorFlow will compute on, named as ``MirroredStrategy`` takes them.

    Counts ``tf.config.list_physical_devices("GPU")``, which honours ``CUDA_VISIBLE_DEVICES``
    and does not start TensorFlow's runtime; empty with ``tensorflow-cpu`` or no GPU.

    Returns:
        ``["/gpu:0", ..., "/gpu:{n - 1}"]`` for n visible GPUs.
    """
    return [f"/gpu:{index}" for index in range(len(tf.config.list_physical_devices("GPU")))]


def distribution_strategy(devices: list[str] | None = None) -> tf.distribute.Strategy:
    """``MirroredStrategy`` over the GPUs when there are more than one, else the default strategy.

    Build and compile the model inside ``with distribution_strategy().scope():``; the batch size
    given to :func:`make_tf_dataset` is then the global batch, split across the GPUs.

    Args:
        devices: the GPUs to mirror the model on; default :func:`tensorflow_gpu_devices`.
            Training passes the list it scaled the global batch by, so both use one count.
    """
    if devices is None:
        devices = tensorflow_gpu_devices()
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy(devices=list(devices))
    return tf.distribute.get_strategy()
