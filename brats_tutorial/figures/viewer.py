"""Browse a case slice by slice: an ipywidgets viewer for a live notebook, an animation for the book.

Widgets need a running kernel, so in the static HTML book :func:`slice_viewer` shows nothing
that moves; :func:`slice_animation` with :func:`animation_html` embeds a small player (frames as
PNG in the page) that still steps through the slices there.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets
import numpy as np
from IPython.display import HTML, display
from matplotlib.animation import FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..constants import SLICE_COUNT, SLICE_START
from ..loading import Case
from .case_figures import brain_limits
from .slice_display import (
    DEFAULT_OPACITY,
    MODALITY_DESCRIPTIONS,
    add_label_legend,
    case_modalities,
    display_slice,
    intensity_range,
    label_rgba,
    label_slice_axes,
    largest_tumour_slice,
)


def draw_case_slice(
    ax: Axes,
    case: Case,
    modality: str,
    slice_index: int,
    opacity: float = DEFAULT_OPACITY,
    with_mask: bool = True,
    display_range: tuple[float, float] | None = None,
) -> Axes:
    """Draw one axial slice of one modality, with the labels over it, into ``ax``.

    Args:
        ax: the axes.
        case: a loaded case; images float32 (X, Y, Z), mask uint8 (X, Y, Z) labels {0, 1, 2, 4}.
        modality: which image, e.g. "flair".
        slice_index: axial slice, 0..Z-1.
        opacity: opacity of the label colours, 0..1 (0 hides them).
        with_mask: draw the labels (when the case has a mask).
        display_range: (vmin, vmax) of the image (default: :func:`intensity_range` of the volume).

    Returns:
        ``ax``: its first image is the slice, the second (when drawn) the RGBA overlay.
    """
    volume = case.images[modality]
    vmin, vmax = display_range if display_range is not None else intensity_range(volume)
    ax.imshow(
        display_slice(volume, slice_index),
        cmap="gray",
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
    )
    if with_mask and case.mask is not None:
        ax.imshow(
            label_rgba(display_slice(case.mask, slice_index), opacity), interpolation="nearest"
        )
        add_label_legend(ax)
    label_slice_axes(ax)
    ax.set_title(
        f"{case.case_id}\n{MODALITY_DESCRIPTIONS.get(modality, modality)}, slice {slice_index}",
        fontsize="small",
    )
    return ax


def slice_viewer(
    case: Case,
    modalities: Sequence[str] | None = None,
    slice_index: int | None = None,
    opacity: float = DEFAULT_OPACITY,
    figure_size: float = 5.0,
    continuous_update: bool = True,
) -> ipywidgets.interactive:
    """Widget to browse a case: modality dropdown, slice slider, label opacity slider.

    Each change redraws a matplotlib figure (a :class:`~matplotlib.figure.Figure` outside pyplot,
    shown with :func:`IPython.display.display`). Needs a live kernel to respond; display the
    returned widget as a cell's last value. Works with ipywidgets 7.7 (Colab's front end) and 8.

    Args:
        case: a loaded case; images float32 (X, Y, Z), mask uint8 (X, Y, Z) labels {0, 1, 2, 4}.
        modalities: dropdown choices (default: every loaded modality, FLAIR first).
        slice_index: starting slice (default: the slice with the most tumour).
        opacity: starting opacity of the labels (the slider is disabled when there is no mask).
        figure_size: side of the figure in inches.
        continuous_update: redraw while the slider is dragged, not only on release.

    Returns:
        The :class:`ipywidgets.interactive`; ``children`` are the dropdown, the slice slider, the
        opacity slider and the output area; ``result`` is the figure last drawn.
    """
    names = case_modalities(case, modalities)
    depth = next(iter(case.images.values())).shape[2]
    start = largest_tumour_slice(case.mask) if slice_index is None else int(slice_index)
    display_ranges = {m: intensity_range(case.images[m]) for m in names}

    def draw(modality: str, slice_index: int, opacity: float) -> Figure:
        figure = Figure(figsize=(figure_size, figure_size), dpi=80, layout="constrained")
        draw_case_slice(
            figure.add_subplot(),
            case,
            modality,
            slice_index,
            opacity,
            display_range=display_ranges[modality],
        )
        display(figure)
        return figure

    modality_widget = ipywidgets.Dropdown(options=names, value=names[0], description="modality")
    slice_widget = ipywidgets.IntSlider(
        value=start,
        min=0,
        max=depth - 1,
        step=1,
        description="slice",
        continuous_update=continuous_update,
    )
    opacity_widget = ipywidgets.FloatSlider(
        value=opacity,
        min=0.0,
        max=1.0,
        step=0.05,
        description="labels",
        disabled=case.mask is None,
        continuous_update=continuous_update,
    )
    widget = ipywidgets.interactive(
        draw, modality=modality_widget, slice_index=slice_widget, opacity=opacity_widget
    )
    if widget.result is None:
        # ipywidgets 8 draws when the widget is built; 7 (Colab's 7.7.1) only once a front end
        # displays it. Draw now on both, so that ``result`` is the figure before any display.
        widget.update()
    return widget


def slice_animation(
    case: Case,
    modality: str = "flair",
    slices: Sequence[int] | range | None = None,
    step: int = 5,
    with_mask: bool = True,
    opacity: float = DEFAULT_OPACITY,
    figure_size: float = 4.5,
    dpi: int = 80,
    interval_ms: int = 250,
    zoom: bool = True,
) -> FuncAnimation:
    """Animation stepping through the axial slices of one modality, labels drawn over it.

    The figure is built outside pyplot, so a notebook does not show a stray still image; turn it
    into HTML with :func:`animation_html`. The defaults give 20 frames whose image is 360 pixels
    wide, large enough to read the labels, with the labels' legend below the image; the frames
    stay small enough to embed in the page (a few hundred kB each at most).

    Args:
        case: a loaded case; images float32 (X, Y, Z), mask uint8 (X, Y, Z) labels {0, 1, 2, 4}.
        modality: which image.
        slices: slices to choose from (default: the kept window, slices 22..121).
        step: take every ``step``-th of ``slices``.
        with_mask: draw the labels (when the case has a mask).
        opacity: opacity of the label colours.
        figure_size: width of the figure in inches (the image is square; the legend adds height
            below it when labels are drawn).
        dpi: resolution of the frames: a frame is ``figure_size * dpi`` pixels wide.
        interval_ms: time between frames.
        zoom: frame the image on the brain of the whole volume (the same frame in every slice).

    Returns:
        The :class:`~matplotlib.animation.FuncAnimation`; one frame per chosen slice.

    Raises:
        ValueError: if no slice is chosen or one is outside the volume.
    """
    case_modalities(case, [modality])
    volume = case.images[modality]
    chosen = range(SLICE_START, SLICE_START + SLICE_COUNT) if slices is None else slices
    frames = list(chosen)[:: max(int(step), 1)]
    if not frames:
        raise ValueError("no slices to animate")
    for index in frames:
        display_slice(volume, index)  # raises for a slice outside the volume
    show_mask = with_mask and case.mask is not None
    vmin, vmax = intensity_range(volume)

    legend_height = 0.9 if show_mask else 0.0
    figure = Figure(
        figsize=(figure_size, figure_size + legend_height), dpi=dpi, layout="constrained"
    )
    ax = figure.add_subplot()
    image = ax.imshow(
        display_slice(volume, frames[0]), cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest"
    )
    overlay = None
    if show_mask:
        overlay = ax.imshow(
            label_rgba(display_slice(case.mask, frames[0]), opacity), interpolation="nearest"
        )
        add_label_legend(figure, ncols=1, fontsize="small")
    label_slice_axes(ax)
    title = ax.set_title("", fontsize="medium")
    if zoom:
        brain = np.any(volume != 0, axis=2)[:, :, None]  # every slice's brain, one frame for all
        limits = brain_limits([display_slice(brain, 0)])
        if limits is not None:
            ax.set_xlim(*limits[0])
            ax.set_ylim(*limits[1])

    def update(index: int) -> list:
        image.set_data(display_slice(volume, index))
        artists = [image, title]
        if overlay is not None:
            overlay.set_data(label_rgba(display_slice(case.mask, index), opacity))
            artists.append(overlay)
        title.set_text(f"{case.case_id}: {modality.upper()}, axial slice {index}")
        return artists

    update(frames[0])
    return FuncAnimation(
        figure, update, frames=frames, interval=interval_ms, blit=False, repeat=True
    )


def animation_html(animation: FuncAnimation, default_mode: str = "loop") -> HTML:
    """Self-contained HTML player of an animation (frames embedded as PNG, via ``to_jshtml``).

    Args:
        animation: e.g. from :func:`slice_animation`.
        default_mode: "loop", "once" or "reflect".

    Returns:
        :class:`IPython.display.HTML`; its ``data`` is the page fragment (check ``len(data)`` to
        see what the animation adds to the book).
    """
    return HTML(animation.to_jshtml(default_mode=default_mode))
