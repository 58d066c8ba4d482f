"""A training log a reader can read: one short line per epoch.

Keras' own ``verbose=2`` prints two long lines per epoch with every training and validation
metric, which a book cuts off before the numbers that matter. :class:`EpochLog` prints one line
per finished epoch instead: the epoch, the training and validation loss, the validation Dice of
each region and the epoch's seconds. :func:`history_lines` writes the same lines from a saved
log (``training_log.csv``), so a chapter that loads a finished run shows what training printed.

Example::

    train(config, cache_dir, split, verbose=0, callbacks=[EpochLog(config.epochs)])
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import keras
import pandas as pd

__all__ = ["EpochLog", "epoch_line", "history_lines"]

#: Regions whose validation Dice the line shows, when the log has them.
REGIONS: tuple[str, ...] = ("WT", "TC", "ET")


def epoch_line(
    epoch: int, epochs: int | None, logs: Mapping[str, float], seconds: float | None = None
) -> str:
    """One line for one epoch.

    Args:
        epoch: 0-based epoch (Keras' and CSVLogger's numbering); printed from 1.
        epochs: the run's number of epochs (``None``: not printed).
        logs: the epoch's metrics by Keras name (``loss``, ``val_loss``, ``val_dice_WT``, ...).
        seconds: the epoch's wall time (``None``: not printed).

    >>> epoch_line(0, 20, {"loss": 1.2346, "val_loss": 0.9876, "val_dice_WT": 0.5, "val_dice_ET": 0.25})
    'epoch  1/20  loss 1.235  val_loss 0.988  val Dice WT 0.500 ET 0.250'
    """
    width = len(str(epochs)) if epochs else 1
    parts = [f"epoch {epoch + 1:>{width}}" + (f"/{epochs}" if epochs else "")]
    for name in ("loss", "val_loss"):
        if name in logs:
            parts.append(f"{name} {float(logs[name]):.3f}")
    dice = [
        f"{region} {float(logs[f'val_dice_{region}']):.3f}"
        for region in REGIONS
        if f"val_dice_{region}" in logs
    ]
    if dice:
        parts.append("val Dice " + " ".join(dice))
    if seconds is not None:
        parts.append(f"({seconds:.0f} s)")
    return "  ".join(parts)


def history_lines(history: pd.DataFrame, epochs: int | None = None) -> list[str]:
    """:func:`epoch_line` for every row of a training log (one row per epoch, an ``epoch``
    column, 0-based, as ``keras.callbacks.CSVLogger`` writes it; a resumed run's repeated epochs
    count once, the last kept)."""
    table = history.drop_duplicates("epoch", keep="last") if "epoch" in history else history
    lines = []
    for position, (_, row) in enumerate(table.iterrows()):
        epoch = int(row["epoch"]) if "epoch" in row else position
        lines.append(epoch_line(epoch, epochs or len(table), row.to_dict()))
    return lines


class EpochLog(keras.callbacks.Callback):
    """Print :func:`epoch_line` at the end of every epoch (use with ``fit(..., verbose=0)``).

    Args:
        epochs: the run's number of epochs, printed as ``epoch 3/20`` (``None``: just ``3``).
        print_function: where the lines go (``print`` by default; a list's ``append`` in tests).
    """

    def __init__(self, epochs: int | None = None, print_function=print) -> None:
        super().__init__()
        self.epochs = epochs
        self.print_function = print_function
        self._started = time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        seconds = time.perf_counter() - self._started
        self.print_function(epoch_line(epoch, self.epochs, logs or {}, seconds))
