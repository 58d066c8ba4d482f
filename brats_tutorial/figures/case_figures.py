"""Figures of one case: its modalities side by side, and the regions BraTS scores.

Both draw one axial slice of a loaded :class:`~brats_tutorial.loading.Case`, turned for display by
:func:`~brats_tutorial.figures.slice_display.display_slice`. New figures are sized for the book's
text column (:data:`FIGURE_WIDTH_INCHES`, about 750 pixels at the chapters' 90 dpi), laid out in a
grid rather than one long row, and zoomed on the brain, so that thin structures such as the
enhancing rim stay visible.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
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
    show_image,
)

#: Width of a new figure, in inches: about 750 pixels at the 90 dpi the chapters draw at, the
#: width of the book's text column, so that the page shows the figure at its own size.
FIGURE_WIDTH_INCHES: float = 8.4
#: Pixels of background kept around the brain when a figure zooms on it.
BRAIN_MARGIN: int = 6


def panel_grid(
    count: int,
    axes: Sequence[Axes] | None = None,
    columns: int | None = None,
    width: float = FIGURE_WIDTH_INCHES,
) -> tuple[Figure, list[Axes]]:
    """The figure and ``count`` square panels: a new grid as wide as the text column, or ``axes``.

    Args:
        count: number of panels.
        axes: axes to draw into (any shape, flattened), or ``None`` for a new figure.
        columns: panels per row of a new figure (default: 2 up to four panels, else 3); grid
            cells left over are removed.
        width: width of a new figure in inches; its height follows from square panels.

    Returns:
        ``(figure, panels)``: the figure and ``count`` axes, row by row.

    Raises:
        ValueError: if ``axes`` holds another number of axes than ``count``.
    """
    if axes is not None:
        axes = list(np.ravel(axes))
        if len(axes) != count:
            raise ValueError(f"need {count} axes, got {len(axes)}")
        return axes[0].figure, axes
    columns = min(count, columns or (2 if count <= 4 else 3))
    rows = -(-count // columns)
    panel = width / columns
    figure, grid = plt.subplots(
        rows, columns, figsize=(width, rows * (panel + 0.35) + 0.5), layout="constrained"
    )
    cells = list(np.ravel(grid))
    for ax in cells[count:]:
        figure.delaxes(ax)
    return figure, cells[:count]


def brain_limits(
    image_slices: Sequence[np.ndarray], margin: int = BRAIN_MARGIN
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Axis limits that frame the brain of displayed slices: ``((left, right), (bottom, top))``.

    Args:
        image_slices: float (H, W) slices of one case, as displayed; the brain is where any of
            them is non-zero.
        margin: pixels kept around the brain.

    Returns:
        The limits for ``ax.set_xlim`` and ``ax.set_ylim`` (image rows grow downwards, so
        bottom > top), or ``None`` when no slice holds a non-zero pixel.
    """
    brain = np.logical_or.reduce([np.asarray(image) != 0 for image in image_slices])
    if not brain.any():
        return None
    rows, columns = np.nonzero(brain)
    height, width = brain.shape
    top, bottom = max(rows.min() - margin, 0), min(rows.max() + 1 + margin, height)
    left, right = max(columns.min() - margin, 0), min(columns.max() + 1 + margin, width)
    # A square frame, so that every panel shows the same field of view at the same scale.
    side = max(bottom - top, right - left)
    centre_row, centre_column = (top + bottom) / 2, (left + right) / 2
    return (
        (centre_column - side / 2 - 0.5, centre_column + side / 2 - 0.5),
        (centre_row + side / 2 - 0.5, centre_row - side / 2 - 0.5),
    )


def _zoom(panels: Sequence[Axes], limits) -> None:
    if limits is not None:
        for ax in panels:
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])


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
    zoom: bool = True,
) -> Figure:
    """One axial slice of each modality in a grid, plus the labels over FLAIR.

    Args:
        case: a loaded case; images float32 (X, Y, Z), mask uint8 (X, Y, Z) labels {0, 1, 2, 4}.
        slice_index: axial slice, 0..Z-1.
        modalities: which to show, in order (default: every loaded one, FLAIR, T1, T1ce, T2).
        with_mask: add a last panel with the labels over FLAIR (skipped when the case has none).
        axes: one axes per panel to draw into (default: a new figure of :func:`panel_grid`, two
            rows of two or three panels, as wide as the text column).
        alpha: opacity of the label colours.
        zoom: frame every panel on the brain of the slice (the same field of view in each); the
            images themselves stay whole.

    Returns:
        The figure; each modality is scaled by :func:`intensity_range` of its whole volume.
    """
    names = case_modalities(case, modalities)
    show_mask = with_mask and case.mask is not None
    figure, panels = panel_grid(len(names) + int(show_mask), axes)
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
    if zoom:
        _zoom(panels, brain_limits([display_slice(case.images[m], slice_index) for m in names]))
    figure.suptitle(f"{case.case_id}, axial slice {slice_index}", wrap=True)
    return figure


def show_regions(
    case: Case,
    slice_index: int,
    modality: str = "flair",
    axes: Sequence[Axes] | None = None,
    alpha: float = DEFAULT_OPACITY,
    zoom: bool = True,
) -> Figure:
    """The three BraTS regions of one slice, one panel each, filled and outlined over an image.

    Args:
        case: a loaded case with a mask, uint8 (X, Y, Z) labels {0, 1, 2, 4}.
        slice_index: axial slice, 0..Z-1.
        modality: background image (falls back to the first loaded modality).
        axes: three axes to draw into (default: a new one-row figure as wide as the text
            column).
        alpha: opacity of the fill.
        zoom: frame every panel on the brain of the slice (the same field of view in each).

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
    figure, panels = panel_grid(len(REGIONS), axes, columns=len(REGIONS))
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
    if zoom:
        _zoom(panels, brain_limits([image]))
    figure.suptitle(
        f"{case.case_id}, axial slice {slice_index}: the regions BraTS scores, on {background.upper()}",
        wrap=True,
    )
    return figure
