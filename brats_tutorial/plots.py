"""Figures the chapters share: slices with label overlays, regions, data summaries, scores.

Conventions, the same in every figure:

- Label colours are defined once, in :data:`LABEL_COLOURS` (file labels 1 necrotic /
  non-enhancing core, 2 oedema, 4 enhancing tumour) and :data:`REGION_COLOURS` (WT, TC, ET).
  The colours come from the Okabe-Ito palette, which stays distinct under colour blindness.
- An axial slice is shown through :func:`display_slice`, which rotates it so that anterior is
  up and the patient's left is on the image's left (BraTS volumes are stored LPS: the first
  axis runs to the patient's left, the second to posterior).
- Functions that draw one panel take an optional ``ax``; functions that draw several take an
  optional ``axes``. Every figure function returns the :class:`~matplotlib.figure.Figure` and
  gives each panel a title and axis labels.

In a notebook a figure made here is shown once at the end of the cell by the inline backend;
assign the result (``figure = show_modalities(case, 80)``) or end the line with ``;`` so that
it is not shown a second time as the cell's value.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .constants import (
    CLASS_NAMES,
    FILE_LABELS,
    IMAGE_SIZE,
    LABEL_TO_CLASS,
    MODALITIES,
    NUM_CLASSES,
    REGION_LABELS,
    REGION_NAMES,
    REGIONS,
    SLICE_COUNT,
    SLICE_START,
)
from .evaluation import CASE_COLUMN, SUMMARY_ROWS
from .labels import check_labels, classes_to_labels, region_mask
from .loading import Case
from .preprocessing import one_hot, resize_classes, resize_onehot_bilinear
from .volume_metrics import ORIGINAL_NOTEBOOK_METRICS

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
#: Colour of the "notebook" bars in :func:`plot_pitfall`.
_NOTEBOOK_COLOUR = "#999999"
#: Default keys of the original notebook's scores, with the bar labels shown for them.
NOTEBOOK_SCORE_LABELS: dict[str, str] = dict(
    zip(
        ORIGINAL_NOTEBOOK_METRICS,
        ("notebook\nDice (pooled)", "notebook\nsensitivity", "notebook\nspecificity"),
    )
)
#: Columns that may hold the case ids of a per-case table (else its index does).
_CASE_ID_COLUMNS = ("case_id", CASE_COLUMN)


# --------------------------------------------------------------------------------------------
# Slices and colours
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
# Cases
# --------------------------------------------------------------------------------------------


def _new_axes(
    count: int, axes: Sequence[Axes] | None, panel_size: float = 3.0
) -> tuple[Figure, list[Axes]]:
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


def _new_ax(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        figure, ax = plt.subplots(figsize=figsize, layout="constrained")
        return figure, ax
    return ax.figure, ax


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
    figure, panels = _new_axes(len(names) + int(show_mask), axes)
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
    figure, panels = _new_axes(len(REGIONS), axes)
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


# --------------------------------------------------------------------------------------------
# Data summaries
# --------------------------------------------------------------------------------------------


def _extent_table(
    extents: pd.DataFrame | Mapping | np.ndarray | Sequence,
    case_ids: Sequence[str] | None,
    first_column: str,
    last_column: str,
) -> pd.DataFrame:
    if isinstance(extents, pd.DataFrame):
        missing = [c for c in (first_column, last_column) if c not in extents.columns]
        if missing:
            raise KeyError(f"extents lack columns {missing}; columns are {list(extents.columns)}")
        if "case_id" in extents.columns:  # e.g. realism.intensity_statistics: rows per modality
            extents = extents.drop_duplicates("case_id")
        ids = extents["case_id"] if "case_id" in extents.columns else extents.index
        table = pd.DataFrame(
            {
                "first": extents[first_column].to_numpy(dtype=float),
                "last": extents[last_column].to_numpy(dtype=float),
            },
        )
        table["case_id"] = [str(i) for i in ids]
    elif isinstance(extents, Mapping):
        pairs = np.array(
            [[np.nan, np.nan] if v is None else v for v in extents.values()], dtype=float
        )
        table = pd.DataFrame(
            {"first": pairs[:, 0], "last": pairs[:, 1], "case_id": [str(k) for k in extents]}
        )
    else:
        pairs = np.asarray(extents, dtype=float)
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise ValueError(
                f"extents must be (N, 2) rows of (first, last); got shape {pairs.shape}"
            )
        table = pd.DataFrame(
            {
                "first": pairs[:, 0],
                "last": pairs[:, 1],
                "case_id": [str(i) for i in range(len(pairs))],
            }
        )
    if case_ids is not None:
        if len(case_ids) != len(table):
            raise ValueError(f"{len(case_ids)} case ids for {len(table)} extents")
        table["case_id"] = [str(i) for i in case_ids]
    return table


def plot_axial_extent(
    extents: pd.DataFrame | Mapping | np.ndarray | Sequence,
    case_ids: Sequence[str] | None = None,
    ax: Axes | None = None,
    first_column: str = "first_slice",
    last_column: str = "last_slice",
) -> Figure:
    """First and last tumour slice of each case as horizontal bars, over the kept slice window.

    The window of the original notebook (slices 22..121) is shaded; cases whose tumour reaches
    outside it are drawn in another colour and counted in the title.

    Args:
        extents: one of
            - a DataFrame with columns ``first_column`` and ``last_column`` (and ``case_id``,
              else the index names the cases), e.g. from
              :func:`brats_tutorial.realism.intensity_statistics` (repeated case rows are
              taken once);
            - a mapping case id -> (first, last), or ``None`` for a case without tumour;
            - an (N, 2) array of (first, last) rows.
            Slices are inclusive; NaN marks a case without tumour (no bar).
        case_ids: names for the rows (overrides the ones found in ``extents``).
        ax: axes to draw into (default: a new figure).
        first_column, last_column: column names when ``extents`` is a DataFrame.

    Returns:
        The figure. Bar ``i`` spans ``first - 0.5 .. last + 0.5`` so whole slices are covered.
    """
    table = _extent_table(extents, case_ids, first_column, last_column)
    window_first, window_last = SLICE_START, SLICE_START + SLICE_COUNT - 1
    # One bar row per case, capped so that hundreds of real cases still fit on a page.
    figure, ax = _new_ax(ax, (7.0, min(1.2 + 0.28 * len(table), 9.0)))
    has_tumour = table["first"].notna() & table["last"].notna()
    outside = has_tumour & ((table["first"] < window_first) | (table["last"] > window_last))
    ax.axvspan(
        window_first - 0.5,
        window_last + 0.5,
        color="#DDDDDD",
        zorder=0,
        label=f"kept slices {window_first}..{window_last}",
    )
    positions = np.arange(len(table))
    for selection, colour, label in (
        (has_tumour & ~outside, REGION_COLOURS["WT"], "tumour inside the window"),
        (outside, LABEL_COLOURS[1], "tumour reaches outside"),
    ):
        rows = table[selection]
        if len(rows):
            ax.barh(
                positions[selection.to_numpy()],
                rows["last"] - rows["first"] + 1,
                left=rows["first"] - 0.5,
                height=0.7,
                color=colour,
                label=label,
                zorder=2,
            )
    if len(table) <= 40:
        ax.set_yticks(positions, table["case_id"], fontsize="x-small")
    ax.invert_yaxis()
    ax.set_xlabel("axial slice index (inclusive)")
    ax.set_ylabel("case")
    ax.set_title(
        f"Axial extent of the tumour: {int(outside.sum())} of {int(has_tumour.sum())} cases "
        f"reach outside slices {window_first}..{window_last}",
        fontsize="medium",
    )
    ax.legend(fontsize="x-small", loc="best")
    return figure


def plot_intensity_histograms(
    volumes: Case | Mapping[str, np.ndarray],
    bins: int | np.ndarray = 100,
    brain_only: bool = True,
    density: bool = True,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "intensity",
    log: bool = False,
) -> Figure:
    """Histogram of the intensities of several volumes, one line each.

    Pass a :class:`~brats_tutorial.loading.Case` to compare its modalities, or a mapping to
    compare anything else: one modality across cases (``{case_id: volume}``), or one volume
    before and after normalisation.

    Args:
        volumes: a case (its ``images``) or a mapping name -> float array of any shape.
        bins: number of bins, shared edges over all volumes; or explicit bin edges.
        brain_only: ignore voxels equal to 0 (the background of skull-stripped BraTS images).
        density: normalise each histogram to area 1, so volumes of different sizes compare.
        ax: axes to draw into (default: a new figure).
        title: figure title (default names the case, or "Intensity histograms").
        xlabel: label of the intensity axis.
        log: logarithmic count axis.

    Returns:
        The figure; each histogram is a :class:`~matplotlib.patches.StepPatch` labelled with its
        name, drawn on the same bin edges.
    """
    if isinstance(volumes, Case):
        default_title = f"Intensity histograms of {volumes.case_id}" + (
            " (brain voxels)" if brain_only else ""
        )
        named = {m: volumes.images[m] for m in case_modalities(volumes, None)}
    else:
        default_title = "Intensity histograms" + (" (brain voxels)" if brain_only else "")
        named = dict(volumes)
    if not named:
        raise ValueError("no volumes to plot")
    values = {}
    for name, volume in named.items():
        flat = np.asarray(volume, dtype=np.float64).ravel()
        values[name] = flat[flat != 0] if brain_only else flat
    if np.ndim(bins) == 0:
        nonempty = [v for v in values.values() if v.size]
        low = min(v.min() for v in nonempty) if nonempty else 0.0
        high = max(v.max() for v in nonempty) if nonempty else 1.0
        edges = np.linspace(low, high if high > low else low + 1.0, int(bins) + 1)
    else:
        edges = np.asarray(bins, dtype=np.float64)
    figure, ax = _new_ax(ax, (6.0, 3.5))
    for name, flat in values.items():
        counts, _ = np.histogram(flat, bins=edges, density=density and flat.size > 0)
        ax.stairs(counts, edges, label=str(name), linewidth=1.5)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density" if density else "voxel count")
    ax.set_title(title if title is not None else default_title, fontsize="medium")
    ax.legend(fontsize="small")
    return figure


def compare_resizing(
    classes_slice: np.ndarray,
    size: int | None = None,
    class_index: int | None = None,
    axes: Sequence[Axes] | None = None,
    zoom: bool = True,
) -> Figure:
    """Nearest versus bilinear resizing of a one-hot mask slice: bilinear makes soft labels.

    Both resizings are the package's own (:mod:`brats_tutorial.preprocessing`): nearest
    neighbour on the class map (:func:`~brats_tutorial.preprocessing.resize_classes`, then one-hot)
    and the original notebook's one-hot-then-bilinear
    (:func:`~brats_tutorial.preprocessing.resize_onehot_bilinear`). Panels: the class map; the
    nearest channel of one class (only 0 and 1); the bilinear channel of that class (values
    between 0 and 1 along the borders).

    Args:
        classes_slice: (H, W) integer class indices {0, 1, 2, 3} (see
            :func:`brats_tutorial.labels.labels_to_classes`), as displayed.
        size: side of the resized slice (default :data:`~brats_tutorial.constants.IMAGE_SIZE`).
        class_index: class whose channel is shown, 1..3 (default: the most frequent tumour class
            of the slice, else 2, oedema).
        axes: three axes to draw into (default: a new figure).
        zoom: zoom all panels on the tumour (with a margin) so the borders are visible.

    Returns:
        The figure; the title counts the bilinear pixels holding soft values (strictly between
        0 and 1). Panel images: panel 1 the class map as RGBA, panels 2 and 3 float32
        (size, size) channel values.
    """
    classes = np.asarray(classes_slice)
    if classes.ndim != 2:
        raise ValueError(f"expected an (H, W) class slice, got shape {classes.shape}")
    if classes.size and (classes.min() < 0 or classes.max() >= NUM_CLASSES):
        raise ValueError(
            f"class indices must be in 0..{NUM_CLASSES - 1}, got {np.unique(classes).tolist()}"
        )
    size = IMAGE_SIZE if size is None else int(size)
    if class_index is None:
        counts = np.bincount(classes.ravel().astype(np.intp), minlength=NUM_CLASSES)[1:]
        class_index = int(np.argmax(counts)) + 1 if counts.any() else 2
    nearest = one_hot(resize_classes(classes[None].astype(np.uint8), size)[0])
    bilinear = resize_onehot_bilinear(classes[None].astype(np.uint8), size)[0]
    soft_values = (bilinear > 1e-6) & (bilinear < 1 - 1e-6)
    soft = int(np.count_nonzero(soft_values))
    soft_channel = int(np.count_nonzero(soft_values[..., class_index]))

    figure, panels = _new_axes(3, axes)
    original = panels[0]
    original.set_facecolor("black")
    original.imshow(label_rgba(classes_to_labels(classes), 1.0), interpolation="nearest")
    original.set_title(f"class map {classes.shape[0]}×{classes.shape[1]}", fontsize="medium")
    add_label_legend(figure)
    class_name = CLASS_NAMES[class_index]
    images = []
    for ax, resized, method in ((panels[1], nearest, "nearest"), (panels[2], bilinear, "bilinear")):
        images.append(
            ax.imshow(
                resized[..., class_index],
                cmap="viridis",
                vmin=0.0,
                vmax=1.0,
                interpolation="nearest",
            )
        )
        values = resized[..., class_index]
        inside = int(np.count_nonzero((values > 1e-6) & (values < 1 - 1e-6)))
        ax.set_title(
            f"{method} {size}×{size}: '{class_name}'\n{inside} soft pixels", fontsize="medium"
        )
    for ax in panels:
        label_slice_axes(ax)
    figure.colorbar(
        images[-1], ax=panels[1:], shrink=0.8, label=f"value of the '{class_name}' channel"
    )
    if zoom and np.any(classes > 0):
        rows, columns = np.nonzero(classes > 0)
        scale = size / np.array(classes.shape, dtype=float)
        margin = 4
        for ax, factor in ((panels[0], np.ones(2)), (panels[1], scale), (panels[2], scale)):
            # pixel edges in the panel's own pixels; pixel i spans i - 0.5 .. i + 0.5
            height, width = np.array(classes.shape) * factor
            top = max(rows.min() * factor[0] - margin, 0.0) - 0.5
            bottom = min((rows.max() + 1) * factor[0] + margin, height) - 0.5
            left = max(columns.min() * factor[1] - margin, 0.0) - 0.5
            right = min((columns.max() + 1) * factor[1] + margin, width) - 0.5
            ax.set_xlim(left, right)
            ax.set_ylim(bottom, top)
    figure.suptitle(
        f"Resizing a one-hot mask: bilinear leaves {soft} soft values over all channels "
        f"({soft_channel} in '{class_name}'), nearest none"
    )
    return figure


# --------------------------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------------------------


def _history_table(history: pd.DataFrame | Mapping | str | Path) -> pd.DataFrame:
    if isinstance(history, pd.DataFrame):
        return history
    if isinstance(history, (str, Path)):
        return pd.read_csv(history)
    if hasattr(history, "history") and isinstance(history.history, Mapping):  # keras History
        return pd.DataFrame(history.history)
    if isinstance(history, Mapping):
        return pd.DataFrame(dict(history))
    raise TypeError(f"cannot read a training history from {type(history).__name__}")


def plot_learning_curves(
    history: pd.DataFrame | Mapping | str | Path,
    metrics: Sequence[str] = ("loss", "dice_WT", "dice_TC", "dice_ET"),
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Training and validation curves, one panel per metric.

    Args:
        history: a DataFrame with one row per epoch; a path to the CSV written by
            ``keras.callbacks.CSVLogger``; a ``keras.callbacks.History`` or its ``history`` dict.
            Column ``m`` is the training value of metric ``m``, ``val_m`` the validation value
            (drawn when present). An ``epoch`` column (0-based, as CSVLogger writes) gives the
            x axis, shown from 1 as Keras prints epochs.
        metrics: which metrics to draw.
        axes: one axes per metric (default: a new one-row figure).

    Returns:
        The figure; the best validation epoch is marked (lowest for losses, highest otherwise).

    Raises:
        KeyError: naming a metric that the history lacks, with the columns it has.
    """
    table = _history_table(history)
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise KeyError(f"history lacks {missing}; its columns are {list(table.columns)}")
    epochs = (table["epoch"].to_numpy() if "epoch" in table.columns else np.arange(len(table))) + 1
    figure, panels = _new_axes(len(metrics), axes, panel_size=3.2)
    for ax, metric in zip(panels, metrics):
        ax.plot(epochs, table[metric].to_numpy(), marker=".", label="training")
        validation = f"val_{metric}"
        if validation in table.columns:
            values = table[validation].to_numpy(dtype=float)
            ax.plot(epochs, values, marker=".", label="validation")
            if np.isfinite(values).any():
                best = int(np.nanargmin(values) if "loss" in metric else np.nanargmax(values))
                ax.plot(
                    [epochs[best]],
                    [values[best]],
                    marker="*",
                    markersize=12,
                    linestyle="none",
                    color="black",
                    label=f"best validation (epoch {epochs[best]})",
                )
        ax.set_title(metric, fontsize="medium")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend(fontsize="x-small")
    figure.suptitle("Learning curves: training vs validation")
    return figure


def case_scores(per_case: pd.DataFrame, id_column: str | None = None) -> tuple[pd.DataFrame, list]:
    """The case rows of a per-case score table, and their case ids.

    Accepts the table of :func:`brats_tutorial.evaluation.evaluate_folder` (index ``Case``) or
    its CSV read back, whose summary rows (``Mean``, ``StdDev``, ``Median``, ...) are dropped.

    Args:
        per_case: one row per case.
        id_column: column of the case ids; ``None`` takes ``case_id`` or ``Case`` when present,
            else the index.

    Returns:
        ``(rows, ids)``: the table without summary rows, and its case ids in row order.
    """
    if id_column is None:
        id_column = next((c for c in _CASE_ID_COLUMNS if c in per_case.columns), None)
    ids = per_case[id_column].tolist() if id_column is not None else per_case.index.tolist()
    keep = np.array([str(i) not in SUMMARY_ROWS for i in ids], dtype=bool)
    return per_case[keep], [i for i, k in zip(ids, keep) if k]


def plot_score_boxes(
    per_case: pd.DataFrame,
    metric: str = "Dice",
    regions: Sequence[str] = REGIONS,
    ax: Axes | None = None,
) -> Figure:
    """Box plot of a per-case score for each region, with every case drawn as a dot.

    Args:
        per_case: one row per case, columns ``f"{metric}_{region}"`` (e.g. "Dice_WT"), as
            :func:`brats_tutorial.evaluation.evaluate_folder` returns; summary rows are ignored.
        metric: the score's prefix, e.g. "Dice", "HD95", "Sensitivity".
        regions: which regions, in order.
        ax: axes to draw into (default: a new figure).

    Returns:
        The figure. NaN and infinite scores are left out and counted in the title.

    Raises:
        KeyError: naming the missing columns.
    """
    columns = [f"{metric}_{region}" for region in regions]
    per_case, _ = case_scores(per_case)
    missing = [c for c in columns if c not in per_case.columns]
    if missing:
        raise KeyError(f"per-case table lacks {missing}; its columns are {list(per_case.columns)}")
    figure, ax = _new_ax(ax, (1.6 * len(regions) + 1.5, 3.8))
    data = []
    dropped = 0
    for column in columns:
        values = per_case[column].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        dropped += values.size - finite.size
        data.append(finite)
    positions = np.arange(1, len(regions) + 1)
    boxes = ax.boxplot(data, positions=positions, widths=0.5, showfliers=False, patch_artist=True)
    for patch, region in zip(boxes["boxes"], regions):
        patch.set_facecolor(REGION_COLOURS[region])
        patch.set_alpha(0.6)
    for median_line in boxes["medians"]:
        median_line.set_color("black")
    jitter = np.random.default_rng(0)
    for position, values, _region in zip(positions, data, regions):
        offsets = jitter.uniform(-0.12, 0.12, size=values.size)
        ax.scatter(position + offsets, values, s=14, color="black", zorder=3, label=None)
    ax.set_xticks(
        positions, [f"{region}\n{REGION_NAMES[region]}" for region in regions], fontsize="small"
    )
    ax.set_xlabel("region")
    ax.set_ylabel(metric)
    if metric.lower() == "dice":
        ax.set_ylim(-0.02, 1.02)
    note = f", {dropped} undefined left out" if dropped else ""
    ax.set_title(f"Per-case {metric} by region ({len(per_case)} cases{note})", fontsize="medium")
    return figure


def compare_prediction(
    image_slice: np.ndarray,
    reference_slice: np.ndarray,
    prediction_slice: np.ndarray,
    title: str,
    axes: Sequence[Axes] | None = None,
    alpha: float = DEFAULT_OPACITY,
) -> Figure:
    """Image, reference labels and predicted labels of one slice, side by side.

    Args:
        image_slice: float (H, W), as displayed (see :func:`display_slice`).
        reference_slice: (H, W) file labels {0, 1, 2, 4}, the expert segmentation.
        prediction_slice: (H, W) file labels {0, 1, 2, 4}, the model's (convert class indices
            with :func:`brats_tutorial.labels.classes_to_labels`).
        title: figure title, e.g. the case and slice.
        axes: three axes to draw into (default: a new figure).
        alpha: opacity of the label colours.

    Returns:
        The figure.
    """
    figure, panels = _new_axes(3, axes)
    vmin, vmax = intensity_range(image_slice)
    show_image(panels[0], image_slice, vmin, vmax, "image")
    overlay_labels(panels[1], image_slice, reference_slice, alpha, vmin, vmax, "reference (expert)")
    overlay_labels(panels[2], image_slice, prediction_slice, alpha, vmin, vmax, "prediction")
    add_label_legend(figure)
    figure.suptitle(title)
    return figure


def best_median_worst(
    per_case: pd.DataFrame,
    column: str = "Dice_WT",
    higher_is_better: bool | None = None,
    id_column: str | None = None,
) -> list:
    """Case ids of the best, the median and the worst case by one score.

    Args:
        per_case: one row per case (summary rows such as ``Mean`` are ignored, see
            :func:`case_scores`).
        column: the score, e.g. "Dice_WT" or "HD95_ET".
        higher_is_better: direction of the score; ``None`` infers it from the name (distances,
            names starting with "HD" or containing "distance", are better when lower).
        id_column: column holding the case ids (default: ``case_id`` or ``Case``, else the index).

    Returns:
        ``[best, median, worst]``. The median case holds the lower median of the scores
        (:func:`statistics.median_low`); ties go to the earlier row. Rows with NaN scores are
        ignored. With fewer than three cases ids repeat.

    Raises:
        KeyError: if ``column`` is missing. ValueError: if no row has a score.
    """
    if column not in per_case.columns:
        raise KeyError(f"per-case table lacks '{column}'; its columns are {list(per_case.columns)}")
    if higher_is_better is None:
        name = column.lower()
        higher_is_better = not (name.startswith("hd") or "distance" in name)
    rows, all_ids = case_scores(per_case, id_column)
    all_scores = rows[column].to_numpy(dtype=float)
    valid = ~np.isnan(all_scores)
    if not valid.any():
        raise ValueError(f"no case has a '{column}' score")
    scores = all_scores[valid]
    ids = [i for i, v in zip(all_ids, valid) if v]
    quality = scores if higher_is_better else -scores
    best = int(np.flatnonzero(quality == quality.max())[0])
    worst = int(np.flatnonzero(quality == quality.min())[0])
    median = int(np.flatnonzero(scores == statistics.median_low(scores.tolist()))[0])
    return [ids[best], ids[median], ids[worst]]


def plot_pitfall(
    scores: Mapping[str, float] | pd.Series,
    notebook_keys: Mapping[str, str] | Sequence[str] = NOTEBOOK_SCORE_LABELS,
    region_keys: Sequence[str] = ("Dice_WT", "Dice_TC", "Dice_ET"),
    ax: Axes | None = None,
) -> Figure:
    """The original notebook's scores next to BraTS region Dice, for the same predictions.

    The notebook averages Dice, sensitivity and specificity over all four classes, background
    included; background fills most of the volume, so those numbers look excellent while the
    tumour regions are segmented much worse.

    Args:
        scores: a dict or DataFrame row holding the notebook's scores and the region Dice.
        notebook_keys: keys of the notebook's scores; a mapping key -> bar label, or keys alone.
        region_keys: keys of the region Dice scores, in WT, TC, ET order.
        ax: axes to draw into (default: a new figure).

    Returns:
        The figure; bar heights are the scores, written above each bar.

    Raises:
        KeyError: naming the missing keys.
    """
    values = dict(scores)
    labels = (
        dict(notebook_keys) if isinstance(notebook_keys, Mapping) else {k: k for k in notebook_keys}
    )
    keys = list(labels) + list(region_keys)
    missing = [k for k in keys if k not in values]
    if missing:
        raise KeyError(f"scores lack {missing}; keys are {list(values)}")
    colours = [_NOTEBOOK_COLOUR] * len(labels)
    names = list(labels.values())
    for key in region_keys:
        region = next((r for r in REGIONS if key.endswith(r)), None)
        colours.append(REGION_COLOURS.get(region, "#0072B2"))
        names.append(f"Dice {region}" if region else key)
    figure, ax = _new_ax(ax, (1.1 * len(keys) + 1.5, 3.8))
    heights = [float(values[k]) for k in keys]
    bars = ax.bar(np.arange(len(keys)), heights, color=colours, edgecolor="black", linewidth=0.5)
    ax.bar_label(bars, fmt="%.3f", fontsize="x-small")
    ax.set_xticks(np.arange(len(keys)), names, fontsize="x-small")
    ax.set_ylim(0, 1.1)
    ax.set_xlabel(
        "score (grey: the notebook's, over 4 classes with background; colours: BraTS regions)",
        fontsize="x-small",
    )
    ax.set_ylabel("score")
    ax.set_title("Same predictions, two ways of scoring", fontsize="medium")
    return figure
