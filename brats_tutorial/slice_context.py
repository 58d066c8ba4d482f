"""2.5D input: each slice together with its neighbours above and below, as extra channels.

The cheapest form of "3D context" for a 2D network: with ``context_slices = k`` the network
sees slices ``s - k, ..., s, ..., s + k`` of the same patient, stacked along the channel axis,
and predicts the mask of slice ``s`` only. Neighbours never cross from one patient to the next:
at the ends of a patient's stack (the slice window in training, the whole volume at inference)
the nearest existing slice is repeated.

Channel order: offset ``-k`` first, then ``-k + 1``, ..., ``+k``; within each offset the
modalities in their usual order. With FLAIR and T1ce and ``k = 1`` the six channels are
FLAIR(s-1), T1ce(s-1), FLAIR(s), T1ce(s), FLAIR(s+1), T1ce(s+1).
"""

from __future__ import annotations

import numpy as np


def neighbour_indices(
    slice_indices: np.ndarray, slices_per_case: int, context_slices: int
) -> np.ndarray:
    """Indices of each slice's neighbours in a stack of patients of ``slices_per_case`` slices.

    Args:
        slice_indices: int (B,), indices into the concatenated stack of all patients' slices
            (patient ``p`` holds indices ``p * slices_per_case`` to ``(p + 1) * slices_per_case - 1``).
        slices_per_case: slices of each patient (100 for the course's slice window).
        context_slices: neighbours on each side, ``k >= 0``.

    Returns:
        int64 (B, 2k + 1): for each slice, the indices of slices ``s - k`` to ``s + k`` of the same
        patient, clipped to that patient's first and last slice.

    >>> neighbour_indices(np.array([0, 4, 5]), slices_per_case=5, context_slices=1).tolist()
    [[0, 0, 1], [3, 4, 4], [5, 5, 6]]
    """
    if slices_per_case < 1:
        raise ValueError(f"slices_per_case must be >= 1, got {slices_per_case}")
    if context_slices < 0:
        raise ValueError(f"context_slices must be >= 0, got {context_slices}")
    slice_indices = np.asarray(slice_indices, dtype=np.int64)
    first = (slice_indices // slices_per_case) * slices_per_case
    offsets = np.arange(-context_slices, context_slices + 1, dtype=np.int64)
    neighbours = slice_indices[:, None] + offsets[None, :]
    return np.clip(neighbours, first[:, None], first[:, None] + slices_per_case - 1)


def stack_neighbours(images: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Gather slices and their neighbours into the channel axis.

    Args:
        images: (N, H, W, C), any dtype (float16 in the cache), may be memory-mapped.
        neighbours: int (B, 2k + 1) from :func:`neighbour_indices`.

    Returns:
        (B, H, W, (2k + 1) * C), ``images``' dtype, a new array; channel ``j * C + c`` is
        modality ``c`` of neighbour ``j`` (offset ``j - k``).

    >>> images = np.arange(3, dtype=np.float32).reshape(3, 1, 1, 1)  # slice s holds the value s
    >>> stack_neighbours(images, neighbour_indices(np.array([1]), 3, 1))[0, 0, 0].tolist()
    [0.0, 1.0, 2.0]
    """
    batch, width = neighbours.shape
    gathered = images[neighbours.reshape(-1)]  # (B * (2k+1), H, W, C)
    _, height, size, channels = gathered.shape
    gathered = gathered.reshape(batch, width, height, size, channels)
    return np.ascontiguousarray(
        np.moveaxis(gathered, 1, 3).reshape(batch, height, size, width * channels)
    )


def context_from_channels(model_channels: int, modality_count: int) -> int:
    """The ``context_slices`` of a model with ``model_channels`` inputs for ``modality_count``
    modalities: ``model_channels = (2k + 1) * modality_count``.

    Raises:
        ValueError: when ``model_channels`` is not an odd multiple of ``modality_count``.

    >>> context_from_channels(6, 2)
    1
    """
    width, remainder = divmod(model_channels, modality_count)
    if remainder or width % 2 == 0:
        raise ValueError(
            f"a model with {model_channels} input channels does not fit {modality_count} "
            "modalities: it needs (2k + 1) x modalities channels"
        )
    return (width - 1) // 2
