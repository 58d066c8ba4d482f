"""Figures of training and evaluation results: learning curves, per-case scores, predictions.

- :func:`plot_learning_curves`: training and validation curves from a Keras history;
- :func:`plot_score_boxes`: per-case scores of each region (the table of
  :func:`brats_tutorial.evaluation.evaluate_folder`);
- :func:`compare_prediction`: image, reference and prediction of one slice;
- :func:`plot_pitfall`: the original notebook's scores next to BraTS region Dice.

Choosing which cases to show is table logic, in :mod:`brats_tutorial.evaluation`
(:func:`~brats_tutorial.evaluation.best_median_worst`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..constants import REGION_NAMES, REGIONS
from ..evaluation import case_scores
from ..volume_metrics import ORIGINAL_NOTEBOOK_METRICS
from .slice_display import (
    DEFAULT_OPACITY,
    REGION_COLOURS,
    add_label_legend,
    intensity_range,
    overlay_labels,
    panel_row,
    show_image,
    single_panel,
)

#: Colour of the "notebook" bars in :func:`plot_pitfall`.
_NOTEBOOK_COLOUR = "#999999"
#: Default keys of the original notebook's scores, with the bar labels shown for them.
NOTEBOOK_SCORE_LABELS: dict[str, str] = dict(
    zip(
        ORIGINAL_NOTEBOOK_METRICS,
        ("notebook\nDice (pooled)", "notebook\nsensitivity", "notebook\nspecificity"),
    )
)

# --------------------------------------------------------------------------------------------
# Training
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


def kept_epoch_index(table: pd.DataFrame, monitor: str = "val_loss") -> int | None:
    """Row of the epoch whose model ``best.keras`` keeps: the lowest ``monitor`` (``val_loss``).

    Args:
        table: one row per epoch (the training log).
        monitor: the column the checkpoint watched, lowest wins (as ``AtomicCheckpoints``).

    Returns:
        The positional row index, or ``None`` when the column is missing or all NaN.
    """
    if monitor not in table.columns:
        return None
    values = table[monitor].to_numpy(dtype=float)
    if not np.isfinite(values).any():
        return None
    return int(np.nanargmin(values))


def plot_learning_curves(
    history: pd.DataFrame | Mapping | str | Path,
    metrics: Sequence[str] = ("loss", "dice_WT", "dice_TC", "dice_ET"),
    axes: Sequence[Axes] | None = None,
    monitor: str = "val_loss",
    columns: int = 2,
) -> Figure:
    """Training and validation curves, one panel per metric.

    Args:
        history: a DataFrame with one row per epoch; a path to the CSV written by
            ``keras.callbacks.CSVLogger``; a ``keras.callbacks.History`` or its ``history`` dict.
            Column ``m`` is the training value of metric ``m``, ``val_m`` the validation value
            (drawn when present). An ``epoch`` column (0-based, as CSVLogger writes) gives the
            x axis, shown from 1 as Keras prints epochs.
        metrics: which metrics to draw.
        axes: one axes per metric (default: a new figure, ``columns`` panels per row, sized for
            a text column of about 750 pixels at 90 dpi).
        monitor: the column the checkpoint watched (lowest wins): the epoch it picks, the one
            ``best.keras`` holds, is marked with a star in **every** panel.
        columns: panels per row of a new figure.

    Returns:
        The figure.

    Raises:
        KeyError: naming a metric that the history lacks, with the columns it has.
    """
    table = _history_table(history)
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise KeyError(f"history lacks {missing}; its columns are {list(table.columns)}")
    epochs = (table["epoch"].to_numpy() if "epoch" in table.columns else np.arange(len(table))) + 1
    if axes is None:
        import matplotlib.pyplot as plt

        per_row = max(1, min(columns, len(metrics)))
        rows = -(-len(metrics) // per_row)
        figure, grid = plt.subplots(
            rows,
            per_row,
            figsize=(3.6 * per_row, 2.9 * rows + 0.5),
            squeeze=False,
            layout="constrained",
        )
        panels = list(grid.ravel())
        for extra in panels[len(metrics) :]:
            extra.remove()
        panels = panels[: len(metrics)]
    else:
        figure, panels = panel_row(len(metrics), axes)
    kept = kept_epoch_index(table, monitor)
    for ax, metric in zip(panels, metrics):
        ax.plot(epochs, table[metric].to_numpy(), marker=".", label="training")
        validation = f"val_{metric}"
        shown = metric
        if validation in table.columns:
            ax.plot(epochs, table[validation].to_numpy(dtype=float), marker=".", label="validation")
            shown = validation
        if kept is not None:
            ax.plot(
                [epochs[kept]],
                [float(table[shown].iloc[kept])],
                marker="*",
                markersize=12,
                linestyle="none",
                color="black",
                label=f"kept in best.keras (epoch {epochs[kept]}, lowest {monitor})",
            )
        ax.set_title(metric, fontsize="medium")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    panels[0].legend(fontsize="x-small")  # the same three entries in every panel: shown once
    figure.suptitle("Learning curves: training vs validation", wrap=True)
    return figure


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


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
    figure, ax = single_panel(ax, (1.6 * len(regions) + 1.5, 3.8))
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
    figure, panels = panel_row(3, axes)
    vmin, vmax = intensity_range(image_slice)
    show_image(panels[0], image_slice, vmin, vmax, "image")
    overlay_labels(panels[1], image_slice, reference_slice, alpha, vmin, vmax, "reference (expert)")
    overlay_labels(panels[2], image_slice, prediction_slice, alpha, vmin, vmax, "prediction")
    add_label_legend(figure)
    figure.suptitle(title, wrap=True)
    return figure


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
    figure, ax = single_panel(ax, (min(0.95 * len(keys) + 1.4, 7.8), 3.8))  # fits the text column
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


def plot_paired_differences(
    differences: pd.DataFrame,
    variants: Sequence[str] | None = None,
    title: str | None = None,
    xlabel: str = "Dice minus the baseline's Dice, same patient",
) -> Figure:
    """One panel per region: each patient's score difference to the baseline, one row per variant.

    Args:
        differences: long table from :func:`brats_tutorial.evaluation.paired_differences`
            (``variant``, ``case_id``, ``region``, ``difference``).
        variants: rows, top to bottom (default: in the table's order).
        title: figure title.
        xlabel: label of the difference axis.

    Returns:
        The figure: a dot per patient, a bar at the mean, a dashed line at 0 (no change).
    """
    import matplotlib.pyplot as plt

    variants = list(variants or dict.fromkeys(differences["variant"]))
    regions = [r for r in REGIONS if r in set(differences["region"])]
    # About 8 inches wide whatever the number of regions: the width of the book's text column.
    figure, axes = plt.subplots(
        1,
        len(regions),
        figsize=(min(8.0, 2.2 * len(regions) + 1.6), 0.34 * len(variants) + 1.8),
        sharey=True,
        layout="constrained",
    )
    axes = np.atleast_1d(axes)
    rng = np.random.default_rng(0)  # vertical jitter only, so dots of equal value stay apart
    for ax, region in zip(axes, regions):
        for row, variant in enumerate(variants):
            values = differences[
                (differences["variant"] == variant) & (differences["region"] == region)
            ]["difference"].to_numpy(dtype=float)
            if not len(values):
                continue
            ax.scatter(
                values,
                row + rng.uniform(-0.15, 0.15, len(values)),
                s=18,
                color="tab:blue",
                alpha=0.7,
            )
            ax.plot([values.mean()] * 2, [row - 0.3, row + 0.3], color="black", linewidth=2)
        ax.axvline(0, color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"{region} ({REGION_NAMES[region]})", fontsize="small")
        ax.tick_params(axis="x", labelsize="x-small")
    axes[0].set_yticks(range(len(variants)), variants, fontsize="small")
    axes[0].invert_yaxis()
    figure.supxlabel(xlabel, fontsize="small")
    if title:
        figure.suptitle(title, fontsize="medium", wrap=True)
    return figure
