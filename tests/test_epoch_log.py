"""The compact training log: one short line per epoch, live and from a saved log."""

from __future__ import annotations

import numpy as np
import pandas as pd

from brats_tutorial.backend import start_keras

keras = start_keras()

from brats_tutorial.epoch_log import EpochLog, epoch_line, history_lines  # noqa: E402


def test_a_line_holds_the_losses_and_the_validation_dice_of_each_region() -> None:
    logs = {"loss": 0.5, "val_loss": 0.25, "dice_WT": 0.9, "val_dice_WT": 0.8, "val_dice_TC": 0.7}
    line = epoch_line(4, 20, logs, seconds=12.4)
    assert line == "epoch  5/20  loss 0.500  val_loss 0.250  val Dice WT 0.800 TC 0.700  (12 s)"
    # Training Dice is left out (the line stays short), missing metrics are skipped.
    assert "0.900" not in line
    assert epoch_line(0, None, {}) == "epoch 1"


def test_history_lines_count_a_resumed_epoch_once() -> None:
    history = pd.DataFrame(
        {"epoch": [0, 1, 1, 2], "loss": [3.0, 2.0, 1.5, 1.0], "val_loss": [2.0, 1.8, 1.4, 1.2]}
    )
    lines = history_lines(history)
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert "loss 1.500" in lines[1], "the last row of a repeated epoch is the one kept"


def test_the_callback_prints_one_line_per_epoch_of_a_real_fit() -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    printed: list[str] = []
    history = model.fit(
        x, y, validation_data=(x, y), epochs=3, verbose=0, callbacks=[EpochLog(3, printed.append)]
    )
    assert len(printed) == 3
    for epoch, line in enumerate(printed):
        assert line.startswith(f"epoch {epoch + 1}/3")
        assert f"val_loss {history.history['val_loss'][epoch]:.3f}" in line
