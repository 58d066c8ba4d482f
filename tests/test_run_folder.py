"""The run folder: one place for a run's files; settings names are stable; a run counts as
finished only with all its epochs, a best model and no resume state."""

from __future__ import annotations

import pytest

from brats_tutorial.errors import BratsDataError
from brats_tutorial.inference import InferenceSettings
from brats_tutorial.postprocessing import PostprocessingSettings
from brats_tutorial.preprocessing import PreprocessingSettings
from brats_tutorial.run_folder import RunFolder
from brats_tutorial.settings_key import settings_key
from brats_tutorial.splits import PatientSplit


def test_saved_settings_come_back_equal(tmp_path):
    folder = RunFolder(tmp_path / "run")
    split = PatientSplit(train=["a", "b"], validation=["c"], test=["d"])
    settings = PreprocessingSettings(image_size=64, modalities=("flair", "t1", "t1ce", "t2"))
    inference = InferenceSettings(mirror=True, postprocessing=PostprocessingSettings(10, 200))
    folder.save_split(split)
    folder.save_preprocessing(settings)
    folder.save_inference(inference)
    assert folder.load_split() == split
    assert folder.load_preprocessing() == settings
    assert folder.load_inference() == inference


def test_a_run_without_inference_settings_predicts_plainly_and_missing_files_are_named(tmp_path):
    folder = RunFolder(tmp_path / "run")
    assert folder.load_inference() == InferenceSettings()
    with pytest.raises(BratsDataError, match="split.json"):
        folder.load_split()


def test_finished_needs_every_epoch_a_best_model_and_no_backup(tmp_path):
    folder = RunFolder(tmp_path)
    assert not folder.is_finished(2)
    folder.best_model_path.write_text("model")
    folder.log_path.write_text("epoch,loss\n0,1.0\n")
    assert not folder.is_finished(2)  # one epoch of two
    folder.log_path.write_text("epoch,loss\n0,1.0\n1,0.5\n1,0.5\n")
    assert folder.is_finished(2)  # an epoch logged twice (resumed) counts once
    folder.default_backup_dir.mkdir()
    assert not folder.is_finished(2)


def test_settings_keys_are_stable_and_tell_settings_apart():
    one = {"image_size": 64, "modalities": ["flair", "t1ce"]}
    assert settings_key(one) == settings_key(dict(reversed(list(one.items()))))
    assert settings_key(one) != settings_key({**one, "image_size": 128})


def test_precision_record_keeps_each_policy_from_its_first_epoch(tmp_path):
    folder = RunFolder(tmp_path / "run")
    assert folder.load_precision() is None  # a run trained before the record existed
    folder.record_precision("mixed_float16", first_epoch=0)
    folder.record_precision("mixed_float16", first_epoch=2)  # resumed on the same kind of GPU
    folder.record_precision("float32", first_epoch=3)  # resumed on a CPU
    assert folder.load_precision() == {
        "precision": "float32",
        "history": [
            {"first_epoch": 0, "precision": "mixed_float16"},
            {"first_epoch": 3, "precision": "float32"},
        ],
    }
    folder.record_precision("mixed_bfloat16", first_epoch=3)  # epoch 3 redone elsewhere
    assert [entry["precision"] for entry in folder.load_precision()["history"]] == [
        "mixed_float16",
        "mixed_bfloat16",
    ]
    folder.record_precision("float32", first_epoch=0)  # a new run in this folder
    assert folder.load_precision() == {
        "precision": "float32",
        "history": [{"first_epoch": 0, "precision": "float32"}],
    }
