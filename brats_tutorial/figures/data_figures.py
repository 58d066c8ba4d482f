"""Figures that summarise the data and what preprocessing does to it.

- :func:`plot_axial_extent`: which axial slices hold tumour, against the kept slice window;
- :func:`plot_intensity_histograms`: intensities of modalities, cases, or before and after
  normalisation;
- :func:`compare_resizing`: nearest versus bilinear resizing of a one-hot mask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..constants import CLASS_NAMES, IMAGE_SIZE, NUM_CLASSES, SLICE_COUNT, SLICE_START
from ..labels import classes_to_labels
from ..loading import Case
from ..preprocessing import one_hot, resize_classes, resize_onehot_bilinear
from .case_figures import panel_grid
from .slice_display import (
    LABEL_COLOURS,
    REGION_COLOURS,
    add_label_legend,
    case_modalities,
    label_rgba,
    label_slice_axes,
    single_panel,
)

#: Colour map of a one-hot channel's values (black 0 to white 1): no hue, so a value is never read
#: as one of the label colours.
CHANNEL_COLOURMAP = "gray"


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
    figure, ax = single_panel(ax, (7.0, min(1.2 + 0.28 * len(table), 9.0)))
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
    figure, ax = single_panel(ax, (6.0, 3.5))
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
    (:func:`~brats_tutorial.preprocessing.resize_onehot_bilinear`). Panels: the class map, in the
    label colours; the nearest channel of one class (only 0 and 1) and the bilinear channel of that
    class (values between 0 and 1 along the borders), both in grey levels from black (0) to white
    (1), so that a channel's values are never mistaken for classes. Every panel is drawn in the
    original slice's pixel coordinates and shows the same field of view.

    Args:
        classes_slice: (H, W) integer class indices {0, 1, 2, 3} (see
            :func:`brats_tutorial.labels.labels_to_classes`), as displayed.
        size: side of the resized slice (default :data:`~brats_tutorial.constants.IMAGE_SIZE`).
        class_index: class whose channel is shown, 1..3 (default: the most frequent tumour class
            of the slice, else 2, oedema).
        axes: three axes to draw into (default: a new one-row figure as wide as the text column).
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

    figure, panels = panel_grid(3, axes, columns=3)
    # Every panel in the original slice's pixel coordinates: a resized pixel covers H / size of
    # them, so the three panels share one field of view whatever their resolution.
    height, width = classes.shape
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    original = panels[0]
    original.set_facecolor("black")
    original.imshow(
        label_rgba(classes_to_labels(classes), 1.0), interpolation="nearest", extent=extent
    )
    original.set_title(f"class map {height}×{width}\n(label colours)", fontsize="medium")
    add_label_legend(figure)
    class_name = CLASS_NAMES[class_index]
    images = []
    for ax, resized, method in ((panels[1], nearest, "nearest"), (panels[2], bilinear, "bilinear")):
        images.append(
            ax.imshow(
                resized[..., class_index],
                cmap=CHANNEL_COLOURMAP,
                vmin=0.0,
                vmax=1.0,
                interpolation="nearest",
                extent=extent,
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
        margin = max(height, width) / 24  # in original pixels: the same frame in every panel
        top, bottom = (
            max(rows.min() - margin, 0.0) - 0.5,
            min(rows.max() + 1 + margin, height) - 0.5,
        )
        left = max(columns.min() - margin, 0.0) - 0.5
        right = min(columns.max() + 1 + margin, width) - 0.5
        for ax in panels:
            ax.set_xlim(left, right)
            ax.set_ylim(bottom, top)
    figure.suptitle(
        f"Resizing a one-hot mask: bilinear leaves {soft} soft values over all channels "
        f"({soft_channel} in '{class_name}'), nearest none",
        wrap=True,
    )
    return figure
