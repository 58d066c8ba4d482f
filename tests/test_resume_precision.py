"""A run resumed on a device that chooses another precision continues correctly.

A Colab session can come back on another GPU, or none: a run saved under ``"mixed_float16"``
(a ``LossScaleOptimizer`` around Adam) resumes under ``"float32"`` (a CPU), and the reverse. The
precision is forced through ``TrainingConfig.precision``, as ``"auto"`` would choose it on each
device. Runs under the TensorFlow and JAX backends (Makefile target test-jax).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from brats_tutorial.training import TrainingConfig, train

#: Training slices of the tiny cache (4 patients x 40 slices) / batch 32.
STEPS_PER_EPOCH = 5


class Interrupt(Exception):
    """Stands for a Colab disconnect."""


def _optimizer_state(model: keras.Model) -> list[np.ndarray]:
    """Adam's variables (step counter, moments), inside a LossScaleOptimizer or not."""
    optimizer = model.optimizer
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    return [keras.ops.convert_to_numpy(variable) for variable in optimizer.variables]


def _model_state(model: keras.Model) -> dict[str, list[np.ndarray]]:
    return {
        "weights": [np.array(weight) for weight in model.get_weights()],
        "optimizer": _optimizer_state(model),
    }


class StopAfterFirstEpoch(keras.callbacks.Callback):
    """Keep the state at the end of epoch 0 (after it is backed up), then interrupt."""

    def __init__(self) -> None:
        super().__init__()
        self.state: dict[str, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch, logs=None):
        self.state = _model_state(self.model)
        raise Interrupt("disconnected after epoch 0")


class StateAtStart(keras.callbacks.Callback):
    """Keep the state at the start of training, after the backup was restored."""

    def __init__(self) -> None:
        super().__init__()
        self.state: dict[str, list[np.ndarray]] = {}

    def on_train_begin(self, logs=None):
        self.state = _model_state(self.model)


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
@pytest.mark.parametrize(
    "saved_precision, new_precision",
    [("mixed_float16", "float32"), ("float32", "mixed_float16")],
)
def test_run_resumed_under_another_precision_carries_its_state_over(
    tmp_path, tiny_cache, capsys, restore_policy, saved_precision, new_precision
):
    info, split, _ = tiny_cache
    settings = dict(model_preset="quick", epochs=2, batch_size=32, seed=3)
    config = TrainingConfig(tmp_path / "run", precision=saved_precision, **settings)
    stop = StopAfterFirstEpoch()
    with pytest.raises(Interrupt):
        train(config, info.cache_dir, split, callbacks=[stop], verbose=0)
    assert config.run_folder.load_precision()["precision"] == saved_precision
    assert int(stop.state["optimizer"][0]) == STEPS_PER_EPOCH  # Adam's step counter
    capsys.readouterr()

    # The session comes back on another device: same run, another policy.
    config = TrainingConfig(tmp_path / "run", precision=new_precision, **settings)
    start = StateAtStart()
    result = train(config, info.cache_dir, split, callbacks=[start], verbose=0)

    # At the hand-over the model and Adam are exactly where the first device left them.
    for name in ("weights", "optimizer"):
        assert len(start.state[name]) == len(stop.state[name])
        for restored, saved in zip(start.state[name], stop.state[name]):
            np.testing.assert_array_equal(restored, saved)
    # The run continued (epoch 1 only) under the new policy, its schedule counting on.
    assert result.resumed
    assert result.history["epoch"].tolist() == [0, 1]
    assert result.precision == new_precision
    assert result.previous_precision == saved_precision
    assert keras.mixed_precision.global_policy().name == new_precision
    loss_scaled = isinstance(result.model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert loss_scaled == (new_precision == "mixed_float16")
    iterations = int(keras.ops.convert_to_numpy(result.model.optimizer.iterations))
    assert iterations == 2 * STEPS_PER_EPOCH
    # The run folder records both parts, and the output says what happened.
    assert config.run_folder.load_precision() == {
        "precision": new_precision,
        "history": [
            {"first_epoch": 0, "precision": saved_precision},
            {"first_epoch": 1, "precision": new_precision},
        ],
    }
    message = capsys.readouterr().out
    assert saved_precision in message and new_precision in message
    assert "carried over" in message
    assert config.is_finished()
