"""Tests of the figures and the slice viewer (the sub-package brats_tutorial.figures).

Figures are checked through their artists (image arrays, bar positions, line data) and, for
the label colours, through the rendered pixels; never against stored images.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from brats_tutorial.data_sources import sample_dir  # noqa: E402
from brats_tutorial.discovery import CaseFiles, find_cases  # noqa: E402
from brats_tutorial.errors import BratsDataError  # noqa: E402
from brats_tutorial.figures import (  # noqa: E402
    case_figures,
    data_figures,
    result_figures,
    slice_display,
    viewer,
)
from brats_tutorial.loading import Case, load_case  # noqa: E402

# BraTS stores volumes LPS: voxel (i, j, k) sits at RAS world (-i, 239 - j, k).
BRATS_AFFINE = np.array([[-1.0, 0, 0, 0], [0, -1.0, 0, 239.0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
SHAPE = (24, 20, 10)  # not square, so a swapped axis shows
# Region membership written out here, independently of the package: WT {1,2,4}, TC {1,4}, ET {4}.
REGION_SETS = {"WT": (1, 2, 4), "TC": (1, 4), "ET": (4,)}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_case(with_mask: bool = True, modalities=("flair", "t1", "t1ce", "t2")) -> Case:
    """A small synthetic case whose tumour grows from slice 2 to slice 6 then vanishes."""
    rng = np.random.default_rng(0)
    images = {}
    for offset, modality in enumerate(modalities):
        volume = rng.uniform(1.0, 2.0, SHAPE).astype(np.float32) * (offset + 1)
        volume[:2] = 0  # background rows, as in skull-stripped images
        images[modality] = volume
    mask = np.zeros(SHAPE, dtype=np.uint8)
    for z in range(2, 7):
        radius = z - 1
        mask[10 - radius : 10 + radius + 2, 8 - radius : 8 + radius + 1, z] = 2
        mask[10 - radius + 1 : 10 + radius, 8 - radius + 1 : 8 + radius, z] = 1
        mask[10, 8, z] = 4
    return Case(
        case_id="Synthetic_001",
        images=images,
        mask=mask if with_mask else None,
        affine=BRATS_AFFINE,
        header=nib.Nifti1Header(),
        spacing=(1.0, 1.0, 1.0),
        files=CaseFiles("Synthetic_001", Path("synthetic")),
    )


def plain_axes(figure: Figure) -> list:
    """The figure's panels, leaving colour bars out."""
    return [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]


def expected_overlay(labels: np.ndarray, opacity: float) -> np.ndarray:
    """RGBA an overlay should hold: the label's colour where labelled, fully clear elsewhere."""
    expected = np.zeros(labels.shape + (4,))
    for label, colour in slice_display.LABEL_COLOURS.items():
        expected[labels == label] = (*to_rgba(colour)[:3], opacity)
    return expected


# ------------------------------------------------------------------------------------------
# Orientation
# ------------------------------------------------------------------------------------------


def _affines() -> list:
    affines = [pytest.param(BRATS_AFFINE, id="brats-lps")]
    sample = sample_dir()
    if sample is not None:
        flair = sorted(sample.glob("*/*_flair.nii.gz"))
        if flair:
            affines.append(pytest.param(nib.load(flair[0]).affine, id="real-sample"))
    return affines


@pytest.mark.parametrize("affine", _affines())
def test_display_slice_puts_anterior_up_and_patient_left_on_the_left(affine):
    shape = (240, 240, 3)
    i, j, k = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    world = nib.affines.apply_affine(affine, np.stack([i, j, k], axis=-1))  # RAS mm
    right = slice_display.display_slice(world[..., 0], 1)  # RAS x grows toward the patient's right
    anterior = slice_display.display_slice(world[..., 1], 1)  # RAS y grows toward anterior
    assert np.all(np.diff(anterior, axis=0) < 0), "rows must go from anterior (top) to posterior"
    assert np.all(np.diff(right, axis=1) > 0), "columns must go from patient left to right"


def test_display_slice_shape_channels_and_bounds():
    volume = np.arange(np.prod(SHAPE)).reshape(SHAPE)
    shown = slice_display.display_slice(volume, 4)
    assert shown.shape == (SHAPE[1], SHAPE[0])
    assert sorted(shown.ravel()) == sorted(volume[:, :, 4].ravel())
    channels = np.stack([volume, -volume], axis=-1)
    shown_channels = slice_display.display_slice(channels, 4)
    assert shown_channels.shape == (SHAPE[1], SHAPE[0], 2)
    np.testing.assert_array_equal(shown_channels[..., 0], shown)
    np.testing.assert_array_equal(shown_channels[..., 1], -shown)
    for bad in (-1, SHAPE[2]):
        with pytest.raises(ValueError, match="slice index"):
            slice_display.display_slice(volume, bad)


# ------------------------------------------------------------------------------------------
# Colours and overlays
# ------------------------------------------------------------------------------------------


def test_label_colours_are_defined_once_and_used_by_colormap_and_legend():
    assert set(slice_display.LABEL_COLOURS) == {1, 2, 4}
    assert len({to_rgba(c) for c in slice_display.LABEL_COLOURS.values()}) == 3
    assert slice_display.REGION_COLOURS["ET"] == slice_display.LABEL_COLOURS[4]
    cmap, norm = slice_display.label_colormap()
    assert cmap(norm(0))[3] == 0.0
    for label, colour in slice_display.LABEL_COLOURS.items():
        np.testing.assert_allclose(cmap(norm(label)), to_rgba(colour))
    figure, ax = plt.subplots()
    legend = slice_display.add_label_legend(ax)
    for handle, text, label in zip(legend.legend_handles, legend.get_texts(), (1, 2, 4)):
        np.testing.assert_allclose(
            handle.get_facecolor(), to_rgba(slice_display.LABEL_COLOURS[label])
        )
        assert text.get_text().startswith(f"{label}:")
    region_legend = slice_display.add_region_legend(figure)
    for handle, region in zip(region_legend.legend_handles, ("WT", "TC", "ET")):
        np.testing.assert_allclose(
            to_rgba(handle.get_color()), to_rgba(slice_display.REGION_COLOURS[region])
        )


def test_overlay_labels_colours_land_on_the_labelled_pixels():
    rows, columns = 4, 6
    image = np.linspace(0.0, 1.0, rows * columns).reshape(rows, columns)
    labels = np.zeros((rows, columns), dtype=np.uint8)
    labels[0, 1], labels[1, 4], labels[2, 2], labels[3, 5], labels[3, 0] = 1, 2, 4, 4, 2
    opacity = 0.6
    figure = plt.figure(figsize=(columns, rows), dpi=20)
    ax = figure.add_axes((0, 0, 1, 1))
    slice_display.overlay_labels(ax, image, labels, alpha=opacity, vmin=0.0, vmax=1.0)

    overlay = np.asarray(ax.images[-1].get_array())
    np.testing.assert_allclose(overlay, expected_overlay(labels, opacity), atol=1e-6)

    # The rendered pixels: grey image blended with the label colour at the overlay's opacity.
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3] / 255.0
    height = pixels.shape[0]
    for row in range(rows):
        for column in range(columns):
            x, y = ax.transData.transform((column, row))
            rendered = pixels[int(round(height - y)), int(round(x))]
            grey = np.full(3, image[row, column])
            label = int(labels[row, column])
            if label:
                colour = np.array(to_rgba(slice_display.LABEL_COLOURS[label])[:3])
                expected = (1 - opacity) * grey + opacity * colour
            else:
                expected = grey
            np.testing.assert_allclose(
                rendered, expected, atol=0.02, err_msg=f"pixel {(row, column)}"
            )


def test_overlays_reject_unknown_labels_and_mismatched_shapes():
    figure, ax = plt.subplots()
    image = np.ones((3, 3))
    with pytest.raises(BratsDataError, match="unknown label values"):
        slice_display.overlay_labels(ax, image, np.full((3, 3), 3, dtype=np.uint8))
    with pytest.raises(BratsDataError):
        slice_display.overlay_regions(ax, image, np.full((3, 3), 5, dtype=np.uint8))
    with pytest.raises(ValueError, match="differ in shape"):
        slice_display.overlay_labels(ax, image, np.zeros((3, 4), dtype=np.uint8))


def test_overlay_regions_outlines_each_region_half_a_pixel_outside():
    labels = np.zeros((14, 16), dtype=np.uint8)
    labels[2:10, 3:13] = 2
    labels[4:8, 5:11] = 1
    labels[5:7, 6:9] = 4
    figure, ax = plt.subplots()
    slice_display.overlay_regions(ax, np.ones(labels.shape), labels)
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contours) == 3
    found = {}
    for contour in contours:
        colour = tuple(np.round(contour.get_edgecolor()[0], 6))
        vertices = np.concatenate([path.vertices for path in contour.get_paths()])
        found[colour] = (
            vertices[:, 0].min(),
            vertices[:, 0].max(),
            vertices[:, 1].min(),
            vertices[:, 1].max(),
        )
    for region, members in REGION_SETS.items():
        rows, columns = np.nonzero(np.isin(labels, members))
        expected = (columns.min() - 0.5, columns.max() + 0.5, rows.min() - 0.5, rows.max() + 0.5)
        colour = tuple(np.round(to_rgba(slice_display.REGION_COLOURS[region]), 6))
        np.testing.assert_allclose(found[colour], expected, atol=1e-6, err_msg=region)


# ------------------------------------------------------------------------------------------
# Every figure: title and labelled axes, drawing into given axes
# ------------------------------------------------------------------------------------------


def _per_case_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d", "e"],
            "Dice_WT": [0.91, 0.85, 0.40, 0.77, 0.66],
            "Dice_TC": [0.80, np.nan, 0.20, 0.70, 0.55],
            "Dice_ET": [0.75, 0.60, 0.10, 0.65, 0.50],
        }
    )


def _history() -> pd.DataFrame:
    epochs = np.arange(5)
    table = {"epoch": epochs, "loss": 1.0 / (epochs + 1), "val_loss": [1.0, 0.7, 0.6, 0.65, 0.62]}
    for region, shift in (("WT", 0.0), ("TC", 0.1), ("ET", 0.2)):
        table[f"dice_{region}"] = 0.2 + 0.15 * epochs - shift
        # The validation Dice peaks one epoch after the lowest validation loss (epoch 2): the
        # star must follow val_loss (the epoch best.keras keeps), not each panel's own peak.
        table[f"val_dice_{region}"] = [0.1, 0.4, 0.45, 0.6 - shift / 2, 0.5]
    return pd.DataFrame(table)


# Keys as brats_tutorial.evaluation.evaluate_case writes them.
NOTEBOOK_KEYS = [
    "Dice (all classes, with background)",
    "Sensitivity (all classes)",
    "Specificity (all classes)",
]
SCORES = dict(
    zip(NOTEBOOK_KEYS + ["Dice_WT", "Dice_TC", "Dice_ET"], [0.97, 0.98, 0.995, 0.71, 0.52, 0.40])
)


def _figure_calls():
    case = make_case()
    labels = slice_display.display_slice(case.mask, 5)
    image = slice_display.display_slice(case.images["flair"], 5)
    prediction = np.where(labels == 1, 4, labels).astype(np.uint8)
    classes = np.where(labels == 4, 3, labels).astype(np.uint8)
    extents = pd.DataFrame(
        {
            "case_id": ["x", "y", "z"],
            "first_slice": [30, 10, np.nan],
            "last_slice": [90, 60, np.nan],
        }
    )
    return {
        "show_modalities": lambda: case_figures.show_modalities(case, 5),
        "show_regions": lambda: case_figures.show_regions(case, 5),
        "plot_axial_extent": lambda: data_figures.plot_axial_extent(extents),
        "plot_intensity_histograms": lambda: data_figures.plot_intensity_histograms(case),
        "compare_resizing": lambda: data_figures.compare_resizing(classes, size=12),
        "plot_learning_curves": lambda: result_figures.plot_learning_curves(_history()),
        "plot_score_boxes": lambda: result_figures.plot_score_boxes(_per_case_table()),
        "compare_prediction": lambda: result_figures.compare_prediction(
            image, labels, prediction, "case 1, slice 5"
        ),
        "plot_pitfall": lambda: result_figures.plot_pitfall(SCORES),
    }


@pytest.mark.parametrize("name", list(_figure_calls()))
def test_every_figure_has_titles_and_labelled_axes(name):
    figure = _figure_calls()[name]()
    assert isinstance(figure, Figure)
    panels = plain_axes(figure)
    assert panels
    for ax in panels:
        assert ax.get_title(), f"{name}: a panel has no title"
        assert ax.get_xlabel() and ax.get_ylabel(), (
            f"{name}: panel '{ax.get_title()}' lacks axis labels"
        )


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax: data_figures.plot_axial_extent(np.array([[30, 90], [10, 60]]), ax=ax),
        lambda ax: data_figures.plot_intensity_histograms({"a": np.arange(1.0, 50.0)}, ax=ax),
        lambda ax: result_figures.plot_score_boxes(_per_case_table(), ax=ax),
        lambda ax: result_figures.plot_pitfall(SCORES, ax=ax),
    ],
    ids=["extent", "histograms", "boxes", "pitfall"],
)
def test_single_panel_figures_draw_into_a_given_axes(draw):
    figure, ax = plt.subplots()
    before = plt.get_fignums()
    assert draw(ax) is figure
    assert plt.get_fignums() == before
    assert ax.get_title()


def test_multi_panel_figures_draw_into_given_axes_and_check_their_number():
    case = make_case()
    figure, axes = plt.subplots(1, 5)
    assert case_figures.show_modalities(case, 4, axes=axes) is figure
    assert all(ax.images for ax in axes)
    with pytest.raises(ValueError, match="need 3 axes"):
        case_figures.show_regions(case, 4, axes=axes)


# ------------------------------------------------------------------------------------------
# Case figures
# ------------------------------------------------------------------------------------------


def test_show_modalities_shows_each_modality_and_the_labels():
    case = make_case()
    figure = case_figures.show_modalities(case, 4)
    panels = plain_axes(figure)
    assert len(panels) == 5
    for ax, modality in zip(panels, ("flair", "t1", "t1ce", "t2")):
        np.testing.assert_array_equal(
            ax.images[0].get_array(), slice_display.display_slice(case.images[modality], 4)
        )
        assert modality.lower() in ax.get_title().lower()
    labels = slice_display.display_slice(case.mask, 4)
    np.testing.assert_array_equal(
        panels[-1].images[0].get_array(), slice_display.display_slice(case.images["flair"], 4)
    )
    np.testing.assert_allclose(
        panels[-1].images[1].get_array(),
        expected_overlay(labels, slice_display.DEFAULT_OPACITY),
        atol=1e-6,
    )
    assert len(plain_axes(case_figures.show_modalities(case, 4, with_mask=False))) == 4
    assert len(plain_axes(case_figures.show_modalities(make_case(with_mask=False), 4))) == 4
    assert len(plain_axes(case_figures.show_modalities(case, 4, modalities=["t2", "flair"]))) == 3
    with pytest.raises(KeyError, match="t1"):
        case_figures.show_modalities(
            make_case(modalities=("flair", "t1ce")), 4, modalities=("flair", "t1")
        )


def _same_frame_around(panels, image: np.ndarray) -> None:
    """Every panel shows one field of view, and it holds every non-zero pixel of ``image``."""
    limits = {(ax.get_xlim(), ax.get_ylim()) for ax in panels}
    assert len(limits) == 1, limits
    (left, right), (bottom, top) = limits.pop()
    rows, columns = np.nonzero(image)
    assert left <= columns.min() - 0.5 and columns.max() + 0.5 <= right
    assert top <= rows.min() - 0.5 and rows.max() + 0.5 <= bottom


def test_case_figures_fit_the_text_column_in_a_grid_zoomed_on_the_brain():
    case = make_case()
    figure = case_figures.show_modalities(case, 4)
    panels = plain_axes(figure)
    # The column is about 750 px wide; at the book's 80-90 dpi a figure must stay under 8.5 in.
    assert figure.get_size_inches()[0] <= 8.5
    rows = sorted({round(ax.get_position().y0, 3) for ax in panels})
    assert len(rows) == 2, "four sequences and the labels: two rows, not one long strip"
    _same_frame_around(panels, slice_display.display_slice(case.images["flair"], 4))
    regions = case_figures.show_regions(case, 5)
    assert regions.get_size_inches()[0] <= 8.5
    _same_frame_around(plain_axes(regions), slice_display.display_slice(case.images["flair"], 5))
    whole = case_figures.show_modalities(case, 4, zoom=False)
    width = slice_display.display_slice(case.images["flair"], 4).shape[1]
    assert plain_axes(whole)[0].get_xlim() == (-0.5, width - 0.5)
    grid_figure, grid = case_figures.panel_grid(5)
    assert len(grid) == 5 and len(grid_figure.axes) == 5  # the sixth cell of the grid is removed


def test_brain_limits_frame_a_square_around_the_brain():
    image = np.zeros((40, 40))
    image[10:20, 5:35] = 1.0
    (left, right), (bottom, top) = case_figures.brain_limits([image], margin=2)
    assert right - left == bottom - top == 34  # the longer side, 30 + 2 margins
    assert left <= 4.5 and right >= 34.5 and top <= 9.5 and bottom >= 19.5
    assert case_figures.brain_limits([np.zeros((4, 4))]) is None


def test_show_regions_colours_exactly_each_region():
    case = make_case()
    figure = case_figures.show_regions(case, 5)
    labels = slice_display.display_slice(case.mask, 5)
    panels = plain_axes(figure)
    assert len(panels) == 3
    for ax, region in zip(panels, ("WT", "TC", "ET")):
        inside = np.isin(labels, REGION_SETS[region])
        fill = np.asarray(ax.images[1].get_array())
        np.testing.assert_array_equal(fill[..., 3] > 0, inside)
        colour = np.array(to_rgba(slice_display.REGION_COLOURS[region])[:3])
        np.testing.assert_allclose(
            fill[inside][:, :3], np.tile(colour, (inside.sum(), 1)), atol=1e-6
        )
        assert region in ax.get_title() and f"{inside.sum()} voxels" in ax.get_title()
    with pytest.raises(ValueError, match="no mask"):
        case_figures.show_regions(make_case(with_mask=False), 5)


def test_largest_tumour_slice():
    case = make_case()
    counts = [(case.mask[:, :, z] > 0).sum() for z in range(SHAPE[2])]
    assert slice_display.largest_tumour_slice(case.mask) == int(np.argmax(counts))
    assert slice_display.largest_tumour_slice(np.zeros(SHAPE, dtype=np.uint8)) == SHAPE[2] // 2


# ------------------------------------------------------------------------------------------
# Data summaries
# ------------------------------------------------------------------------------------------


def _bars(ax) -> list:
    return [
        bar
        for container in ax.containers
        if isinstance(container, BarContainer)
        for bar in container
    ]


def test_plot_axial_extent_draws_each_case_over_the_window():
    extents = pd.DataFrame(
        {
            "case_id": ["p", "q", "r", "s"],
            "first_slice": [30, 10, np.nan, 60],
            "last_slice": [90, 60, np.nan, 130],
        }
    )
    figure = data_figures.plot_axial_extent(extents)
    ax = figure.axes[0]
    tick_names = [t.get_text() for t in ax.get_yticklabels()]
    assert tick_names == ["p", "q", "r", "s"]
    bars = {tick_names[int(round(bar.get_y() + bar.get_height() / 2))]: bar for bar in _bars(ax)}
    assert set(bars) == {"p", "q", "s"}  # r has no tumour
    window_first, window_last = 22, 121  # the original notebook's slices 22..121
    for row in extents.dropna().itertuples():
        bar = bars[row.case_id]
        assert bar.get_x() == pytest.approx(row.first_slice - 0.5)
        assert bar.get_x() + bar.get_width() == pytest.approx(row.last_slice + 0.5)
        outside = row.first_slice < window_first or row.last_slice > window_last
        expected = slice_display.LABEL_COLOURS[1] if outside else slice_display.REGION_COLOURS["WT"]
        np.testing.assert_allclose(bar.get_facecolor(), to_rgba(expected))
    spans = [p for p in ax.patches if p not in _bars(ax)]
    assert len(spans) == 1
    assert spans[0].get_x() == pytest.approx(window_first - 0.5)
    assert spans[0].get_x() + spans[0].get_width() == pytest.approx(window_last + 0.5)
    assert "2 of 3 cases" in ax.get_title()

    # The same extents as an (N, 2) array and as a mapping give the same bars.
    array_bars = _bars(
        data_figures.plot_axial_extent(np.array([[30, 90], [10, 60], [60, 130]])).axes[0]
    )
    mapping_bars = _bars(
        data_figures.plot_axial_extent({"p": (30, 90), "q": (10, 60), "s": (60, 130)}).axes[0]
    )

    def spans_of(bar_list) -> list:
        return sorted((bar.get_x(), bar.get_width()) for bar in bar_list)

    for other in (array_bars, mapping_bars):
        assert spans_of(other) == spans_of(bars.values())
    with pytest.raises(ValueError):
        data_figures.plot_axial_extent(np.array([1, 2, 3]))

    # A statistics table repeats each case (one row per modality and region): one bar per case.
    repeated = pd.concat([extents.assign(modality=m) for m in ("flair", "t1")], ignore_index=True)
    repeated_ax = data_figures.plot_axial_extent(repeated).axes[0]
    assert [t.get_text() for t in repeated_ax.get_yticklabels()] == ["p", "q", "r", "s"]
    assert len(_bars(repeated_ax)) == 3


def test_plot_intensity_histograms_counts_brain_voxels():
    rng = np.random.default_rng(3)
    first = rng.normal(100, 10, 500)
    second = rng.normal(200, 30, 300)
    first[:100] = 0.0  # background
    figure = data_figures.plot_intensity_histograms({"first": first, "second": second}, bins=20)
    ax = figure.axes[0]
    steps = [p for p in ax.patches if isinstance(p, StepPatch)]
    assert [s.get_label() for s in steps] == ["first", "second"]
    for step, values in zip(steps, (first, second)):
        heights, edges, _ = step.get_data()
        expected, _ = np.histogram(values[values != 0], bins=edges, density=True)
        np.testing.assert_allclose(heights, expected)
    counts = data_figures.plot_intensity_histograms(
        {"first": first}, brain_only=False, density=False
    ).axes[0]
    heights, _, _ = [p for p in counts.patches if isinstance(p, StepPatch)][0].get_data()
    assert heights.sum() == first.size


def test_compare_resizing_shows_hard_nearest_and_soft_bilinear_values():
    classes = np.zeros((4, 4), dtype=np.uint8)
    classes[:, 2:] = 2  # oedema in the right half
    figure = data_figures.compare_resizing(classes, size=8, class_index=2, zoom=False)
    _, nearest_ax, bilinear_ax = plain_axes(figure)
    nearest = np.asarray(nearest_ax.images[0].get_array())
    bilinear = np.asarray(bilinear_ax.images[0].get_array())
    # Upsizing by 2 with half-pixel centres: output pixel d samples input position (d + 0.5) / 2 - 0.5.
    positions = (np.arange(8) + 0.5) / 2 - 0.5
    step = (np.arange(4) >= 2).astype(float)
    expected_bilinear = np.interp(positions, np.arange(4), step)  # 0, 0, 0, .25, .75, 1, 1, 1
    np.testing.assert_allclose(bilinear, np.tile(expected_bilinear, (8, 1)), atol=1e-6)
    np.testing.assert_array_equal(nearest, np.tile(np.repeat(step, 2), (8, 1)))
    assert "16 soft" in bilinear_ax.get_title()  # 2 soft columns x 8 rows
    # Classes in the label colours, channel values in grey levels: never the same colour map.
    assert all(
        ax.images[0].get_cmap().name == data_figures.CHANNEL_COLOURMAP
        for ax in (nearest_ax, bilinear_ax)
    )
    # (not viridis or cividis, whose yellow and green ends look like the labels' colours)
    assert data_figures.CHANNEL_COLOURMAP not in ("viridis", "cividis")
    # One field of view in every panel, whatever its resolution: the 4 x 4 map and the 8 x 8
    # channels cover the same extent, and zooming frames all three alike.
    extents = {tuple(ax.images[0].get_extent()) for ax in plain_axes(figure)}
    assert extents == {(-0.5, 3.5, 3.5, -0.5)}
    tumour = np.zeros((48, 48), dtype=np.uint8)
    tumour[20:26, 30:40] = 3
    zoomed = data_figures.compare_resizing(tumour, size=16)
    _same_frame_around(plain_axes(zoomed), tumour)
    assert plain_axes(zoomed)[0].get_xlim()[1] - plain_axes(zoomed)[0].get_xlim()[0] < 48
    with pytest.raises(ValueError, match="class indices"):
        data_figures.compare_resizing(np.full((4, 4), 4, dtype=np.uint8))


# ------------------------------------------------------------------------------------------
# Training and evaluation
# ------------------------------------------------------------------------------------------


def _check_learning_curves(figure: Figure, history: pd.DataFrame) -> None:
    panels = plain_axes(figure)
    assert [ax.get_title() for ax in panels] == ["loss", "dice_WT", "dice_TC", "dice_ET"]
    for ax in panels:
        metric = ax.get_title()
        lines = {line.get_label(): line for line in ax.get_lines()}
        np.testing.assert_allclose(lines["training"].get_xdata(), history["epoch"] + 1)
        np.testing.assert_allclose(lines["training"].get_ydata(), history[metric])
        np.testing.assert_allclose(lines["validation"].get_ydata(), history[f"val_{metric}"])
        kept_row = history["val_loss"].idxmin()  # the epoch best.keras holds, in every panel
        kept = [line for label, line in lines.items() if label.startswith("kept in best.keras")]
        assert len(kept) == 1, list(lines)
        assert kept[0].get_xdata()[0] == history.loc[kept_row, "epoch"] + 1
        assert kept[0].get_ydata()[0] == pytest.approx(history.loc[kept_row, f"val_{metric}"])
    # The column is about 750 px wide; at the book's 80-90 dpi a figure must stay under 8.5 in.
    assert figure.get_size_inches()[0] <= 8.5


def test_plot_learning_curves_from_table_csv_and_history(tmp_path):
    history = _history()
    _check_learning_curves(result_figures.plot_learning_curves(history), history)
    csv_path = tmp_path / "training_log.csv"
    history.to_csv(csv_path, index=False)
    _check_learning_curves(result_figures.plot_learning_curves(csv_path), history)
    _check_learning_curves(result_figures.plot_learning_curves(str(csv_path)), history)
    keras_like = SimpleNamespace(history={k: list(v) for k, v in history.items()})
    _check_learning_curves(result_figures.plot_learning_curves(keras_like), history)


def test_plot_learning_curves_marks_the_kept_epoch_not_each_panels_best():
    history = _history()
    assert history["val_dice_WT"].idxmax() != history["val_loss"].idxmin()  # the case that matters
    figure = result_figures.plot_learning_curves(history)
    stars = {
        ax.get_title(): line.get_xdata()[0]
        for ax in plain_axes(figure)
        for line in ax.get_lines()
        if line.get_label().startswith("kept")
    }
    assert set(stars.values()) == {history.loc[history["val_loss"].idxmin(), "epoch"] + 1}, stars
    assert result_figures.kept_epoch_index(history) == 2
    assert result_figures.kept_epoch_index(history, monitor="absent") is None


def test_plot_paired_differences_fits_the_text_column_and_marks_means():
    rows = [
        {
            "variant": variant,
            "case_id": f"p{patient}",
            "region": region,
            "difference": 0.01 * patient * (1 if variant == "a" else -1),
        }
        for variant in ("a", "b")
        for patient in range(1, 5)
        for region in ("WT", "TC", "ET")
    ]
    differences = pd.DataFrame(rows)
    figure = result_figures.plot_paired_differences(differences, title="t")
    assert figure.get_size_inches()[0] <= 8.5
    panels = plain_axes(figure)
    assert [ax.get_title().split()[0] for ax in panels] == ["WT", "TC", "ET"]
    means = sorted(
        line.get_xdata()[0] for line in panels[0].get_lines() if line.get_linewidth() == 2
    )
    np.testing.assert_allclose(means, [-0.025, 0.025])


def test_plot_pitfall_fits_the_text_column():
    assert result_figures.plot_pitfall(SCORES).get_size_inches()[0] <= 8.5


def test_plot_learning_curves_without_validation_and_missing_metric():
    history = _history()[["epoch", "loss"]]
    figure = result_figures.plot_learning_curves(history, metrics=("loss",))
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["training"]
    with pytest.raises(KeyError, match="dice_WT"):
        result_figures.plot_learning_curves(history)


def test_plot_score_boxes_shows_every_case_per_region():
    table = _per_case_table()
    ax = result_figures.plot_score_boxes(table).axes[0]
    dots = ax.collections
    assert len(dots) == 3
    for position, (dot, region) in enumerate(zip(dots, ("WT", "TC", "ET")), start=1):
        offsets = dot.get_offsets()
        values = table[f"Dice_{region}"].dropna().to_numpy()
        np.testing.assert_allclose(offsets[:, 1], values)
        assert np.all(np.abs(offsets[:, 0] - position) < 0.2)
        median = np.median(values)
        assert any(np.allclose(line.get_ydata(), [median, median]) for line in ax.get_lines())
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["WT", "TC", "ET"]
    assert "1 undefined" in ax.get_title() and "5 cases" in ax.get_title()
    with_summary = pd.concat(
        [
            table,
            pd.DataFrame(
                {"case_id": ["Mean"], "Dice_WT": [0.5], "Dice_TC": [0.5], "Dice_ET": [0.5]}
            ),
        ],
        ignore_index=True,
    )
    summary_ax = result_figures.plot_score_boxes(with_summary).axes[0]
    assert [len(dot.get_offsets()) for dot in summary_ax.collections] == [5, 4, 5]
    with pytest.raises(KeyError, match="HD95_WT"):
        result_figures.plot_score_boxes(table, metric="HD95")


def test_compare_prediction_overlays_reference_and_prediction():
    image = np.linspace(0.0, 1.0, 30).reshape(5, 6)
    reference = np.zeros((5, 6), dtype=np.uint8)
    reference[1:4, 1:4] = 2
    reference[2, 2] = 4
    prediction = np.zeros((5, 6), dtype=np.uint8)
    prediction[2:5, 3:6] = 1
    figure = result_figures.compare_prediction(image, reference, prediction, "case 7, slice 80")
    assert figure.get_suptitle() == "case 7, slice 80"
    image_ax, reference_ax, prediction_ax = plain_axes(figure)
    assert len(image_ax.images) == 1
    for ax, labels in ((reference_ax, reference), (prediction_ax, prediction)):
        expected = expected_overlay(labels, slice_display.DEFAULT_OPACITY)
        np.testing.assert_allclose(ax.images[1].get_array(), expected, atol=1e-6)


@pytest.mark.parametrize("scores", [SCORES, pd.DataFrame([SCORES]).iloc[0]], ids=["dict", "row"])
def test_plot_pitfall_bars_show_both_scorings(scores):
    ax = result_figures.plot_pitfall(scores).axes[0]
    bars = _bars(ax)
    keys = NOTEBOOK_KEYS + ["Dice_WT", "Dice_TC", "Dice_ET"]
    np.testing.assert_allclose([bar.get_height() for bar in bars], [SCORES[k] for k in keys])
    for bar, region in zip(bars[3:], ("WT", "TC", "ET")):
        np.testing.assert_allclose(
            bar.get_facecolor(), to_rgba(slice_display.REGION_COLOURS[region])
        )
    assert len({tuple(bar.get_facecolor()) for bar in bars[:3]}) == 1
    with pytest.raises(KeyError, match="Specificity"):
        result_figures.plot_pitfall({k: v for k, v in SCORES.items() if k != NOTEBOOK_KEYS[2]})


# ------------------------------------------------------------------------------------------
# Viewer
# ------------------------------------------------------------------------------------------


def test_slice_viewer_builds_and_redraws_on_every_control():
    import ipywidgets

    case = make_case()
    widget = viewer.slice_viewer(case)
    modality, slice_slider, opacity, output = widget.children
    assert isinstance(modality, ipywidgets.Dropdown)
    assert list(modality.options) == ["flair", "t1", "t1ce", "t2"]
    assert isinstance(slice_slider, ipywidgets.IntSlider)
    assert (slice_slider.min, slice_slider.max) == (0, SHAPE[2] - 1)
    counts = [(case.mask[:, :, z] > 0).sum() for z in range(SHAPE[2])]
    assert slice_slider.value == int(np.argmax(counts))
    assert isinstance(opacity, ipywidgets.FloatSlider) and not opacity.disabled
    assert isinstance(output, ipywidgets.Output)

    def shown():
        ax = widget.result.axes[0]
        return np.asarray(ax.images[0].get_array()), np.asarray(ax.images[1].get_array())

    slice_slider.value = 3
    image, overlay = shown()
    np.testing.assert_array_equal(image, slice_display.display_slice(case.images["flair"], 3))
    labels = slice_display.display_slice(case.mask, 3)
    np.testing.assert_allclose(overlay, expected_overlay(labels, opacity.value), atol=1e-6)
    opacity.value = 0.8
    np.testing.assert_allclose(shown()[1], expected_overlay(labels, 0.8), atol=1e-6)
    modality.value = "t1ce"
    np.testing.assert_array_equal(shown()[0], slice_display.display_slice(case.images["t1ce"], 3))

    no_mask = viewer.slice_viewer(make_case(with_mask=False), slice_index=2)
    assert no_mask.children[2].disabled
    assert len(no_mask.result.axes[0].images) == 1


def _frames(html: str) -> list[bytes]:
    encoded = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)", html)
    return [base64.b64decode(re.sub(r"[^A-Za-z0-9+/=]", "", e)) for e in encoded]


def test_slice_animation_html_holds_one_frame_per_chosen_slice():
    from IPython.display import HTML

    case = make_case()
    animation = viewer.slice_animation(case, slices=range(0, 10), step=3, figure_size=1.5, dpi=40)
    html = viewer.animation_html(animation)
    assert isinstance(html, HTML)
    frames = _frames(html.data)
    assert len(frames) == len(range(0, 10, 3))
    decoded = [plt.imread(io.BytesIO(frame)) for frame in frames]
    # 1.5 in at 40 dpi: 60 pixels wide; the labels' legend adds height below the square image.
    assert all(frame.shape[1] == 60 and frame.shape[0] > 60 for frame in decoded)
    assert [t.get_text() for t in animation._fig.legends[0].get_texts()][0].startswith("1:")
    without_labels = viewer.slice_animation(
        case, slices=[2], with_mask=False, figure_size=1.5, dpi=40
    )
    assert plt.imread(io.BytesIO(_frames(viewer.animation_html(without_labels).data)[0])).shape[
        :2
    ] == (60, 60)
    assert not np.array_equal(decoded[0], decoded[1]), "frames of different slices must differ"
    with pytest.raises(ValueError, match="slice index"):
        viewer.slice_animation(case)  # the default window, 22..121, is outside a 10-slice volume
    with pytest.raises(KeyError):
        viewer.slice_animation(make_case(modalities=("t1",)), modality="flair", slices=[1])


# ------------------------------------------------------------------------------------------
# Real data
# ------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_figures_and_animation_on_a_real_case():
    folder = sample_dir()
    if folder is None:
        pytest.skip("real BraTS sample not found (../shared/brats18_sample or BRATS_SAMPLE_DIR)")
    case = load_case(find_cases(folder)[0])
    index = slice_display.largest_tumour_slice(case.mask)
    assert case.mask[:, :, index].any()
    figure = case_figures.show_modalities(case, index)
    assert len(plain_axes(figure)) == 5
    regions = case_figures.show_regions(case, index)
    wt_fill = np.asarray(plain_axes(regions)[0].images[1].get_array())
    assert (wt_fill[..., 3] > 0).sum() == np.count_nonzero(case.mask[:, :, index])
    html = viewer.animation_html(viewer.slice_animation(case)).data
    assert len(_frames(html)) == 20
    print(f"\nanimation of {case.case_id}: 20 frames, {len(html) / 1e6:.2f} MB of HTML")
    assert len(html) < 3e6
