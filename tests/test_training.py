"""train(): it learns, it logs, it saves atomically, and it resumes after an interruption."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from brats_tutorial.model import load_trained_model
from brats_tutorial.training import TrainingConfig, train


class Interrupt(Exception):
    """Stands for a Colab disconnect."""


class InterruptAfter(keras.callbacks.Callback):
    """Raise after ``batches`` training batches of epoch ``epoch``."""

    def __init__(self, epoch: int, batches: int) -> None:
        super().__init__()
        self.epoch, self.batches, self.current_epoch = epoch, batches, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current_epoch == self.epoch and batch + 1 >= self.batches:
            raise Interrupt(f"interrupted in epoch {self.epoch} after {self.batches} batches")


def _config(tmp_path, name, **overrides) -> TrainingConfig:
    settings = dict(model_preset="quick", epochs=3, batch_size=32, seed=1, precision="float32")
    settings.update(overrides)
    return TrainingConfig(output_dir=tmp_path / name, **settings)


@pytest.mark.slow
def test_interrupted_run_resumes_and_ends_like_an_uninterrupted_one(tmp_path, tiny_cache):
    info, split, settings = tiny_cache
    uninterrupted = train(_config(tmp_path, "whole"), info.cache_dir, split, verbose=0)

    config = _config(tmp_path, "interrupted")
    with pytest.raises(Interrupt):
        train(
            config, info.cache_dir, split, callbacks=[InterruptAfter(epoch=1, batches=3)], verbose=0
        )
    # The first epoch finished and was logged and backed up; the second did not finish.
    assert pd.read_csv(config.log_path)["epoch"].tolist() == [0]
    assert config.resolved_backup_dir.exists()
    assert config.last_model_path.exists()
    assert not list(config.output_dir.glob(".*.keras")), "no half-written model left behind"

    resumed = train(config, info.cache_dir, split, verbose=0)
    # A run trained in one call records its time; a resumed one cannot know its earlier part.
    assert uninterrupted.config.run_folder.load_timing()["wall_s"] > 0
    assert config.run_folder.load_timing() is None
    assert resumed.resumed and not uninterrupted.resumed
    # Resumed under the same precision: nothing to carry over, one policy on record.
    assert resumed.previous_precision is None
    assert config.run_folder.load_precision() == {
        "precision": "float32",
        "history": [{"first_epoch": 0, "precision": "float32"}],
    }
    assert resumed.history["epoch"].tolist() == uninterrupted.history["epoch"].tolist() == [0, 1, 2]
    # Same learning-rate schedule: the optimiser continued counting steps where it stopped.
    steps = int(keras.ops.convert_to_numpy(uninterrupted.model.optimizer.iterations))
    assert int(keras.ops.convert_to_numpy(resumed.model.optimizer.iterations)) == steps
    assert not config.resolved_backup_dir.exists(), "backup removed once the run finished"
    # The best model on disk loads and predicts the right shape.
    model = load_trained_model(config.best_model_path)
    size = settings.image_size
    assert model.predict(np.zeros((1, size, size, 2), np.float32), verbose=0).shape == (
        1,
        size,
        size,
        4,
    )


def test_config_checks_its_values(tmp_path):
    with pytest.raises(ValueError, match="loss"):
        TrainingConfig(output_dir=tmp_path, loss="focal")
    with pytest.raises(ValueError, match="pipeline"):
        TrainingConfig(output_dir=tmp_path, pipeline="torch")
    quick = TrainingConfig.from_profile("quick", tmp_path, epochs=2)
    assert quick.epochs == 2 and quick.model_preset == "quick"
    full = TrainingConfig.from_profile("full", tmp_path)
    assert full.model_preset == "full" and full.epochs > quick.epochs


@pytest.mark.slow
def test_same_seed_gives_the_same_run_on_the_cpu(tmp_path, tiny_cache):
    """Seeds fix weights, shuffling and flips: two runs from scratch log the same numbers."""
    info, split, _ = tiny_cache
    runs = [
        train(_config(tmp_path, f"seed_{i}", epochs=1, seed=7), info.cache_dir, split, verbose=0)
        for i in range(2)
    ]
    other = train(
        _config(tmp_path, "other_seed", epochs=1, seed=8), info.cache_dir, split, verbose=0
    )
    first, second = (run.history.drop(columns="epoch") for run in runs)
    pd.testing.assert_frame_equal(first, second, rtol=1e-4)
    assert not np.allclose(first["loss"], other.history["loss"], rtol=1e-4)


@pytest.mark.slow
def test_every_improvement_trains_and_is_saved_in_the_run(tmp_path, tiny_cache):
    """2.5D context, rich augmentation and region-based training together: the model takes
    (2k + 1) C channels and gives 3 sigmoid outputs, and config.json records the choices."""
    import json

    info, split, settings = tiny_cache
    config = TrainingConfig(
        tmp_path / "improved",
        epochs=1,
        batch_size=16,
        context_slices=1,
        augment="rich",
        target="regions",
    )
    result = train(config, info.cache_dir, split, verbose=0)
    assert result.model.input_shape == (None, settings.image_size, settings.image_size, 6)
    assert result.model.output_shape[-1] == 3
    saved = json.loads(config.run_folder.config_path.read_text())
    assert (saved["context_slices"], saved["augment"], saved["target"]) == (1, "rich", "regions")
    assert {"dice_WT", "val_dice_ET"} <= set(result.history.columns)
    assert config.is_finished()
