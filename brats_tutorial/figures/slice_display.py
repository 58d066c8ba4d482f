"""Colours, slices and panels: the pieces every figure of the course is built from.

What is here:

- the colours, defined once: :data:`LABEL_COLOURS` (file labels 1 necrotic / non-enhancing core,
  2 oedema, 4 enhancing tumour) and :data:`REGION_COLOURS` (WT, TC, ET), from the Okabe-Ito
  palette, which stays distinct under colour blindness; their legends
  (:func:`add_label_legend`, :func:`add_region_legend`);
- choosing what to show: :func:`display_slice` (an axial slice turned for display),
  :func:`intensity_range`, :func:`largest_tumour_slice`, :func:`case_modalities`;
- drawing one slice into one axes: :func:`show_image`, :func:`overlay_labels`,
  :func:`overlay_regions`, and the RGBA images behind them (:func:`label_rgba`,
  :func:`mask_rgba`, :func:`label_colormap`);
- the panels a figure draws into: :func:`panel_row`, :func:`single_panel`.

An axial slice is shown through :func:`display_slice`, which rotates it so that anterior is up and
the patient's left is on the image's left (BraTS volumes are stored LPS: the first axis runs to the
patient's left, the second to posterior).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..constants import (
    CLASS_NAMES,
    FILE_LABELS,
    LABEL_TO_CLASS,
    MODALITIES,
    REGION_NAMES,
    REGIONS,
)
from ..labels import check_labels, region_mask
from ..loading import Case

#: Colour of each tumour label (file labels); background stays transparent.
LABEL_COLOURS: dict[int, str] = {
    1: "#D55E00",  # necrotic / non-enhancing core: vermillion
    2: "#009E73",  # oedema: bluish green
    4: "#F0E442",  # enhancing tumour: yellow
}
#: Short name of each tumour label, for legends.
LABEL_NAMES: dict[int, str] = {
    label: CLASS_NAMES[LABEL_TO_CLASS[label]] for label in FILE_LABELS if label != 0
}
#: Colour of each BraTS region, for contours and box plots. ET is label 4, so it keeps its colour.
REGION_COLOURS: dict[str, str] = {
    "WT": "#56B4E9",  # whole tumour: sky blue
    "TC": "#CC79A7",  # tumour core: reddish purple
    "ET": LABEL_COLOURS[4],  # enhancing tumour: yellow
}
#: What each modality shows, used in panel titles.
MODALITY_DESCRIPTIONS: dict[str, str] = {
    "flair": "FLAIR: fluid dark, oedema bright",
    "t1": "T1: anatomy, tumour faint",
    "t1ce": "T1ce (contrast): enhancing rim bright",
    "t2": "T2: fluid and oedema bright",
}
#: Quarter turns :func:`numpy.rot90` applies to an axial slice so that anterior is up.
DISPLAY_ROTATION: int = -1
#: Axis labels of a displayed axial slice.
SLICE_XLABEL = "patient left → right"
SLICE_YLABEL = "posterior → anterior"
#: Overlay opacity used when none is given.
DEFAULT_OPACITY = 0.5

# --------------------------------------------------------------------------------------------
# Choosing what to show
# --------------------------------------------------------------------------------------------


def display_slice(volume: np.ndarray, index: int) -> np.ndarray:
    """Axial slice ``index`` of a volume, rotated for display (anterior up, patient left on the left).

    Args:
        volume: (X, Y, Z) array of any dtype, e.g. float32 (240, 240, 155) image or uint8 mask;
            (X, Y, Z, C) arrays keep their channels.
        index: axial slice, ``0 <= index < Z``.

    Returns:
        (Y, X) (or (Y, X, C)) view of ``volume[:, :, index]`` turned by :data:`DISPLAY_ROTATION`
        quarter turns, same dtype.

    Raises:
        ValueError: if the volume is not 3D/4D or ``index`` is outside the volume.
    """
    volume = np.asarray(volume)
    if volume.ndim not in (3, 4):
        raise ValueError(f"expected an (X, Y, Z) or (X, Y, Z, C) volume, got shape {volume.shape}")
    depth = volume.shape[2]
    if not 0 <= int(index) < depth:
        raise ValueError(f"slice index {index} outside 0..{depth - 1}")
    return np.rot90(volume[:, :, int(index)], k=DISPLAY_ROTATION, axes=(0, 1))


def intensity_range(
    image: np.ndarray, lower: float = 1.0, upper: float = 99.0
) -> tuple[float, float]:
    """Display range of an MRI image: percentiles of its non-zero (brain) voxels.

    Args:
        image: float array of any shape; 0 is background (BraTS images are skull-stripped).
        lower, upper: percentiles, 0..100.

    Returns:
        ``(vmin, vmax)`` with ``vmin < vmax`` (falls back to the full range, then to (0, 1)).
    """
    values = np.asarray(image, dtype=np.float64)
    brain = values[values != 0]
    if brain.size == 0:
        brain = values.ravel()
    if brain.size == 0:
        return 0.0, 1.0
    vmin, vmax = (float(v) for v in np.percentile(brain, [lower, upper]))
    if vmax <= vmin:
        vmin, vmax = float(brain.min()), float(brain.max())
    if vmax <= vmin:
        vmin, vmax = min(vmin, 0.0), max(vmax, vmin + 1.0)
    return vmin, vmax


def largest_tumour_slice(mask: np.ndarray | None) -> int:
    """Axial slice with the most tumour voxels (the middle slice when there is no tumour).

    Args:
        mask: (X, Y, Z) labels {0, 1, 2, 4}, or ``None``.

    Returns:
        Slice index in 0..Z-1 (``None`` gives 77, the middle of a BraTS volume).
    """
    if mask is None:
        return 77
    per_slice = np.count_nonzero(np.asarray(mask), axis=(0, 1))
    if per_slice.max(initial=0) == 0:
        return int(mask.shape[2] // 2)
    return int(np.argmax(per_slice))


def case_modalities(case: Case, modalities: Sequence[str] | None = None) -> list[str]:
    """Modalities to show for ``case``: ``modalities`` checked, or every loaded one, FLAIR first.

    Raises:
        KeyError: naming the modalities asked for that the case did not load.
    """
    if modalities is None:
        loaded = [m for m in MODALITIES if m in case.images]
        return loaded + [m for m in case.images if m not in loaded]
    missing = [m for m in modalities if m not in case.images]
    if missing:
        raise KeyError(
            f"case {case.case_id} has no {missing} loaded (loaded: {list(case.images)}); "
            "pass them to load_case(..., modalities=...)"
        )
    return list(modalities)


# --------------------------------------------------------------------------------------------
# Colours and legends
# --------------------------------------------------------------------------------------------


def label_colormap() -> tuple[ListedColormap, BoundaryNorm]:
    """Colormap and norm that colour file labels {0, 1, 2, 4} with :data:`LABEL_COLOURS`.

    Use as ``ax.imshow(labels, cmap=cmap, norm=norm, interpolation="nearest")``; background (0)
    is transparent. Other values get the nearest bin's colour, so check labels first.

    Returns:
        ``(cmap, norm)``.
    """
    colours = [(0.0, 0.0, 0.0, 0.0)] + [to_rgba(LABEL_COLOURS[label]) for label in FILE_LABELS[1:]]
    boundaries = [-0.5, 0.5, 1.5, 3.0, 4.5]  # bins around 0, 1, 2 and 4
    cmap = ListedColormap(colours, name="brats_labels")
    return cmap, BoundaryNorm(boundaries, cmap.N)


def label_rgba(label_slice: np.ndarray, opacity: float = DEFAULT_OPACITY) -> np.ndarray:
    """RGBA image of a label slice in :data:`LABEL_COLOURS`.

    Args:
        label_slice: (H, W) integer file labels {0, 1, 2, 4}.
        opacity: alpha of tumour pixels, 0..1; background gets alpha 0.

    Returns:
        float32 (H, W, 4), values in 0..1.

    Raises:
        BratsDataError: if a value is not a BraTS label.
    """
    labels = np.asarray(label_slice)
    check_labels(labels)
    lookup = np.zeros((max(FILE_LABELS) + 1, 4), dtype=np.float32)
    for label, colour in LABEL_COLOURS.items():
        lookup[label] = (*to_rgba(colour)[:3], opacity)
    return lookup[labels.astype(np.intp)]


def mask_rgba(mask_slice: np.ndarray, colour: str, opacity: float = DEFAULT_OPACITY) -> np.ndarray:
    """RGBA image of a boolean mask: ``colour`` with alpha ``opacity`` where true, clear elsewhere.

    Args:
        mask_slice: (H, W) bool (or 0/1) array.
        colour: any matplotlib colour.
        opacity: alpha of the true pixels, 0..1.

    Returns:
        float32 (H, W, 4).
    """
    mask = np.asarray(mask_slice).astype(bool)
    rgba = np.zeros(mask.shape + (4,), dtype=np.float32)
    rgba[mask] = (*to_rgba(colour)[:3], opacity)
    return rgba


def _legend(target: Axes | Figure, handles: list, legend_options: dict) -> Legend:
    if isinstance(target, Figure):
        engine = target.get_layout_engine()
        constrained = engine is not None and type(engine).__name__ == "ConstrainedLayoutEngine"
        options = {
            "loc": "outside lower center" if constrained else "lower center",
            "ncols": len(handles),
            "fontsize": "small",
            "frameon": False,
        }
    else:
        options = {"loc": "lower right", "fontsize": "x-small", "framealpha": 0.8}
    options.update(legend_options)
    return target.legend(handles=handles, **options)


def add_label_legend(
    target: Axes | Figure, labels: Sequence[int] = (1, 2, 4), **legend_options
) -> Legend:
    """Legend of the tumour labels' colours, in a panel or below a whole figure.

    Args:
        target: an axes (legend in its lower right corner) or a figure (legend in one row
            below the panels).
        labels: which file labels to list.
        legend_options: passed to ``target.legend``, overriding the placement above.

    Returns:
        The legend.
    """
    handles = [
        Patch(
            facecolor=LABEL_COLOURS[label], edgecolor="none", label=f"{label}: {LABEL_NAMES[label]}"
        )
        for label in labels
    ]
    return _legend(target, handles, legend_options)


def add_region_legend(
    target: Axes | Figure, regions: Sequence[str] = REGIONS, **legend_options
) -> Legend:
    """Legend of the region colours (WT, TC, ET), in a panel or below a whole figure.

    Args:
        target: an axes or a figure, as in :func:`add_label_legend`.
        regions: which regions to list.
        legend_options: passed to ``target.legend``.

    Returns:
        The legend.
    """
    handles = [
        Line2D(
            [],
            [],
            color=REGION_COLOURS[region],
            linewidth=2,
            label=f"{region}: {REGION_NAMES[region]}",
        )
        for region in regions
    ]
    return _legend(target, handles, legend_options)


# --------------------------------------------------------------------------------------------
# One slice in one axes
# --------------------------------------------------------------------------------------------


def label_slice_axes(ax: Axes) -> None:
    """Label the axes of a displayed slice (patient directions) and hide the voxel ticks."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(SLICE_XLABEL, fontsize="small")
    ax.set_ylabel(SLICE_YLABEL, fontsize="small")


def show_image(
    ax: Axes,
    image_slice: np.ndarray,
    vmin: float | None = None,
    vmax: float | None = None,
    title: str | None = None,
) -> Axes:
    """Draw an image slice in grey with slice axis labels.

    Args:
        ax: the axes.
        image_slice: float (H, W), already turned by :func:`display_slice`.
        vmin, vmax: display range; missing ends come from :func:`intensity_range` of the slice.
        title: panel title, when given.

    Returns:
        ``ax``.
    """
    if vmin is None or vmax is None:
        low, high = intensity_range(image_slice)
        vmin = low if vmin is None else vmin
        vmax = high if vmax is None else vmax
    ax.imshow(image_slice, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    label_slice_axes(ax)
    if title is not None:
        ax.set_title(title, fontsize="medium")
    return ax


def overlay_labels(
    ax: Axes,
    image_slice: np.ndarray,
    label_slice: np.ndarray,
    alpha: float = DEFAULT_OPACITY,
    vmin: float | None = None,
    vmax: float | None = None,
    title: str | None = None,
    legend: bool = False,
) -> Axes:
    """Draw an image slice in grey with the tumour labels on top in :data:`LABEL_COLOURS`.

    Args:
        ax: the axes.
        image_slice: float (H, W), as displayed (see :func:`display_slice`).
        label_slice: (H, W) integer file labels {0, 1, 2, 4}, same orientation.
        alpha: opacity of the label colours, 0..1.
        vmin, vmax: display range of the image (default: :func:`intensity_range` of the slice).
        title: panel title (default "labels").
        legend: add :func:`add_label_legend`.

    Returns:
        ``ax``; its second image holds the overlay's float32 (H, W, 4) RGBA array.

    Raises:
        BratsDataError: if ``label_slice`` holds a value other than 0, 1, 2, 4.
        ValueError: if the two slices differ in shape.
    """
    if np.shape(image_slice) != np.shape(label_slice):
        raise ValueError(
            f"image {np.shape(image_slice)} and labels {np.shape(label_slice)} differ in shape"
        )
    show_image(ax, image_slice, vmin, vmax, title if title is not None else "labels")
    ax.imshow(label_rgba(label_slice, alpha), interpolation="nearest")
    if legend:
        add_label_legend(ax)
    return ax


def overlay_regions(
    ax: Axes,
    image_slice: np.ndarray,
    label_slice: np.ndarray,
    regions: Sequence[str] = REGIONS,
    vmin: float | None = None,
    vmax: float | None = None,
    title: str | None = None,
    legend: bool = True,
    linewidth: float = 1.5,
) -> Axes:
    """Draw an image slice in grey with the outline of each BraTS region in :data:`REGION_COLOURS`.

    The outline of a region is the 0.5 level of its 0/1 mask, so it runs half a pixel outside
    the region's pixels.

    Args:
        ax: the axes.
        image_slice: float (H, W), as displayed.
        label_slice: (H, W) file labels {0, 1, 2, 4}, same orientation.
        regions: which of "WT", "TC", "ET" to draw; regions absent from the slice are skipped.
        vmin, vmax: display range of the image.
        title: panel title (default "regions: WT, TC, ET").
        legend: add :func:`add_region_legend`.
        linewidth: width of the outlines in points.

    Returns:
        ``ax``.

    Raises:
        BratsDataError: if ``label_slice`` holds a value other than 0, 1, 2, 4.
    """
    labels = np.asarray(label_slice)
    if np.shape(image_slice) != labels.shape:
        raise ValueError(f"image {np.shape(image_slice)} and labels {labels.shape} differ in shape")
    check_labels(labels)
    show_image(
        ax,
        image_slice,
        vmin,
        vmax,
        title if title is not None else "regions: " + ", ".join(regions),
    )
    for region in regions:
        mask = region_mask(labels, region)
        if mask.any():
            ax.contour(
                mask.astype(np.float32),
                levels=[0.5],
                colors=[REGION_COLOURS[region]],
                linewidths=linewidth,
            )
    if legend:
        add_region_legend(ax, regions)
    return ax


# --------------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------------


def panel_row(
    count: int, axes: Sequence[Axes] | None = None, panel_size: float = 3.0
) -> tuple[Figure, list[Axes]]:
    """The figure and axes of a figure with ``count`` panels: a new row, or the ``axes`` given.

    Args:
        count: number of panels.
        axes: axes to draw into (any shape, flattened), or ``None`` for a new one-row figure of
            ``count`` panels, each about ``panel_size`` inches square, with constrained layout.
        panel_size: side of a new panel, in inches.

    Returns:
        ``(figure, panels)``: the figure the axes belong to, and ``count`` axes in order.

    Raises:
        ValueError: if ``axes`` holds another number of axes than ``count``.
    """
    if axes is None:
        figure, created = plt.subplots(
            1,
            count,
            figsize=(panel_size * count, panel_size + 0.6),
            squeeze=False,
            layout="constrained",
        )
        return figure, list(created[0])
    axes = list(np.ravel(axes))
    if len(axes) != count:
        raise ValueError(f"need {count} axes, got {len(axes)}")
    return axes[0].figure, axes


def single_panel(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The figure and axes of a one-panel figure: ``ax`` and its figure, or a new figure.

    Args:
        ax: axes to draw into, or ``None`` for a new figure of ``figsize`` inches with
            constrained layout.
        figsize: (width, height) of a new figure, in inches.

    Returns:
        ``(figure, ax)``.
    """
    if ax is None:
        figure, ax = plt.subplots(figsize=figsize, layout="constrained")
        return figure, ax
    return ax.figure, ax
