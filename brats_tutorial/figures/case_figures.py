"""Figures of one case: its modalities side by side, and the regions BraTS scores.

Both draw one axial slice of a loaded :class:`~brats_tutorial.loading.Case`, turned for display by
:func:`~brats_tutorial.figures.slice_display.display_slice`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..constants import REGION_LABELS, REGION_NAMES, REGIONS
from ..labels import region_mask
from ..loading import Case
from .slice_display import (
    DEFAULT_OPACITY,
    MODALITY_DESCRIPTIONS,
    REGION_COLOURS,
    add_label_legend,
    add_region_legend,
    case_modalities,
    display_slice,
    intensity_range,
    mask_rgba,
    overlay_labels,
    panel_row,
    show_image,
)


def _background_modality(case: Case, preferred: str = "flair") -> str:
    if preferred in case.images:
        return preferred
    return case_modalities(case, None)[0]


def show_modalities(
    case: Case,
    slice_index: int,
    modalities: Sequence[str] | None = None,
    with_mask: bool = True,
    axes: Sequence[Axes] | None = None,
    alpha: float = DEFAULT_OPACITY,
) -> Figure:
    """One axial slice of each modality side by side, plus the labels over FLAIR.

    Args:
        case: a loaded case; images float32 (X, Y, Z), mask uint8 (X, Y, Z) labels {0, 1, 2, 4}.
        slice_index: axial slice, 0..Z-1.
        modalities: which to show, in order (default: every loaded one, FLAIR, T1, T1ce, T2).
        with_mask: add a last panel with the labels over FLAIR (skipped when the case has none).
        axes: one axes per panel to draw into (default: a new one-row figure).
        alpha: opacity of the label colours.

    Returns:
        The figure; each modality is scaled by :func:`intensity_range` of its whole volume.
    """
    names = case_modalities(case, modalities)
    show_mask = with_mask and case.mask is not None
    figure, panels = panel_row(len(names) + int(show_mask), axes)
    for ax, modality in zip(panels, names):
        volume = case.images[modality]
        vmin, vmax = intensity_range(volume)
        show_image(
            ax,
            display_slice(volume, slice_index),
            vmin,
            vmax,
            MODALITY_DESCRIPTIONS.get(modality, modality),
        )
    if show_mask:
        background = _background_modality(case)
        volume = case.images[background]
        vmin, vmax = intensity_range(volume)
        overlay_labels(
            panels[-1],
            display_slice(volume, slice_index),
            display_slice(case.mask, slice_index),
            alpha=alpha,
            vmin=vmin,
            vmax=vmax,
            title=f"labels on {background.upper()}",
        )
        add_label_legend(figure)
    figure.suptitle(f"{case.case_id}, axial slice {slice_index}")
    return figure


def show_regions(
    case: Case,
    slice_index: int,
    modality: str = "flair",
    axes: Sequence[Axes] | None = None,
    alpha: float = DEFAULT_OPACITY,
) -> Figure:
    """The three BraTS regions of one slice, one panel each, filled and outlined over an image.

    Args:
        case: a loaded case with a mask, uint8 (X, Y, Z) labels {0, 1, 2, 4}.
        slice_index: axial slice, 0..Z-1.
        modality: background image (falls back to the first loaded modality).
        axes: three axes to draw into (default: a new one-row figure).
        alpha: opacity of the fill.

    Returns:
        The figure; panel titles give each region's labels and its voxel count in the slice.

    Raises:
        ValueError: if the case has no mask.
    """
    if case.mask is None:
        raise ValueError(f"case {case.case_id} has no mask to show regions of")
    background = _background_modality(case, modality)
    volume = case.images[background]
    vmin, vmax = intensity_range(volume)
    image = display_slice(volume, slice_index)
    labels = display_slice(case.mask, slice_index)
    figure, panels = panel_row(len(REGIONS), axes)
    for ax, region in zip(panels, REGIONS):
        mask = region_mask(labels, region)
        label_text = ", ".join(str(label) for label in REGION_LABELS[region])
        show_image(
            ax,
            image,
            vmin,
            vmax,
            f"{region} ({REGION_NAMES[region]})\nlabels {label_text}: {int(mask.sum())} voxels",
        )
        ax.imshow(mask_rgba(mask, REGION_COLOURS[region], alpha), interpolation="nearest")
        if mask.any():
            ax.contour(
                mask.astype(np.float32),
                levels=[0.5],
                colors=[REGION_COLOURS[region]],
                linewidths=1.0,
            )
    add_region_legend(figure)
    figure.suptitle(
        f"{case.case_id}, axial slice {slice_index}: the regions BraTS scores, on {background.upper()}"
    )
    return figure
