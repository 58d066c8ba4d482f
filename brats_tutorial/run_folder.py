"""A training run's folder: every file a run writes and reads, in one place.

A run folder holds::

    split.json            the patient split (train / validation / test case ids)
    preprocessing.json    the preprocessing settings of the cache it trained on
    config.json           the training configuration (model, epochs, 2.5D context, target, ...)
    inference.json        how to predict with it: test-time mirroring, post-processing
    training_log.csv      one row per finished epoch
    timing.json           how long the training took (wall and CPU seconds), when it was measured
    precision.json        the Keras dtype policy it trained with, and from which epoch (a run
                          resumed on another device can change policy part-way)
    predictions/          label maps predicted with the run's best model (.npy), kept so that
                          the chapters predict each patient once (course.run_predictions)
    best.keras, best.json the model with the lowest validation loss, and that loss
    last.keras            the model after the last finished epoch
    backup/               the resume state while a run is unfinished (deleted at its end)

The chapters (:mod:`brats_tutorial.course`) and the command line (``brats-tutorial train``,
``predict``, ``evaluate``) both read and write runs through :class:`RunFolder`, so a run trained
in a chapter can be used from the command line and the reverse. Run folders are named after
their settings with :func:`brats_tutorial.settings_key.settings_key`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import save_json_atomic
from .constants import RUN_INFERENCE_FILE, RUN_SETTINGS_FILE, RUN_SPLIT_FILE
from .errors import BratsDataError
from .preprocessing import PreprocessingSettings
from .splits import PatientSplit, load_split, save_split

#: Files of a run folder besides the split, preprocessing and inference files of ``constants``.
CONFIG_FILE: str = "config.json"
LOG_FILE: str = "training_log.csv"
BEST_MODEL_FILE: str = "best.keras"
LAST_MODEL_FILE: str = "last.keras"
TIMING_FILE: str = "timing.json"
PRECISION_FILE: str = "precision.json"
PREDICTIONS_FOLDER: str = "predictions"
BACKUP_FOLDER: str = "backup"


@dataclass(frozen=True)
class RunFolder:
    """The files of one training run (see the module docstring).

    Attributes:
        path: the run folder.
    """

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def split_path(self) -> Path:
        return self.path / RUN_SPLIT_FILE

    @property
    def preprocessing_path(self) -> Path:
        return self.path / RUN_SETTINGS_FILE

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def inference_path(self) -> Path:
        return self.path / RUN_INFERENCE_FILE

    @property
    def log_path(self) -> Path:
        return self.path / LOG_FILE

    @property
    def best_model_path(self) -> Path:
        return self.path / BEST_MODEL_FILE

    @property
    def best_info_path(self) -> Path:
        return self.best_model_path.with_suffix(".json")

    @property
    def last_model_path(self) -> Path:
        return self.path / LAST_MODEL_FILE

    @property
    def predictions_dir(self) -> Path:
        return self.path / PREDICTIONS_FOLDER

    @property
    def timing_path(self) -> Path:
        return self.path / TIMING_FILE

    @property
    def precision_path(self) -> Path:
        return self.path / PRECISION_FILE

    @property
    def default_backup_dir(self) -> Path:
        return self.path / BACKUP_FOLDER

    def _needed(self, path: Path) -> Path:
        if not path.exists():
            raise BratsDataError(path, "not found: is this a run folder that training wrote?")
        return path

    def save_split(self, split: PatientSplit) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        save_split(self.split_path, split)

    def load_split(self) -> PatientSplit:
        return load_split(self._needed(self.split_path))

    def save_preprocessing(self, settings: PreprocessingSettings) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        save_json_atomic(self.preprocessing_path, settings.to_dict())

    def load_preprocessing(self) -> PreprocessingSettings:
        return PreprocessingSettings.from_dict(
            json.loads(self._needed(self.preprocessing_path).read_text())
        )

    def save_config(self, config: dict[str, Any]) -> None:
        """Write the training configuration (paths as text)."""
        self.path.mkdir(parents=True, exist_ok=True)
        save_json_atomic(
            self.config_path,
            {k: str(v) if isinstance(v, Path) else v for k, v in config.items()},
        )

    def load_config(self) -> dict[str, Any]:
        """The training configuration as written by :meth:`save_config` ({} if none)."""
        return json.loads(self.config_path.read_text()) if self.config_path.exists() else {}

    def save_inference(self, settings) -> None:
        """Write :class:`~brats_tutorial.inference.InferenceSettings`."""
        self.path.mkdir(parents=True, exist_ok=True)
        save_json_atomic(self.inference_path, settings.to_dict())

    def load_inference(self):
        """The run's :class:`~brats_tutorial.inference.InferenceSettings` (defaults: no
        mirroring, no post-processing, when the run has no ``inference.json``)."""
        from .inference import InferenceSettings

        if not self.inference_path.exists():
            return InferenceSettings()
        return InferenceSettings.from_dict(json.loads(self.inference_path.read_text()))

    def save_timing(self, wall_seconds: float, cpu_seconds: float) -> None:
        """Record how long the training took: wall-clock and process CPU seconds."""
        self.path.mkdir(parents=True, exist_ok=True)
        save_json_atomic(
            self.timing_path, {"wall_s": round(wall_seconds, 1), "cpu_s": round(cpu_seconds, 1)}
        )

    def load_timing(self) -> dict[str, float] | None:
        """``{"wall_s": ..., "cpu_s": ...}`` as :meth:`save_timing` wrote it, or ``None`` when the
        run has no record (trained before timings were kept, or by other code)."""
        if not self.timing_path.exists():
            return None
        return json.loads(self.timing_path.read_text())

    def record_precision(self, precision: str, first_epoch: int) -> None:
        """Record that training runs under the dtype policy ``precision`` from ``first_epoch`` on.

        Entries from ``first_epoch`` on are replaced (a new run, ``first_epoch=0``, starts a new
        record; a resumed run redoes its unfinished epoch); a policy equal to the previous entry's
        adds nothing.

        Args:
            precision: e.g. ``"mixed_float16"``.
            first_epoch: index of the first epoch trained under it (0-based).
        """
        record = self.load_precision() or {"history": []}
        history = [entry for entry in record["history"] if entry["first_epoch"] < first_epoch]
        if not history or history[-1]["precision"] != precision:
            history.append({"first_epoch": int(first_epoch), "precision": precision})
        self.path.mkdir(parents=True, exist_ok=True)
        save_json_atomic(self.precision_path, {"precision": precision, "history": history})

    def load_precision(self) -> dict[str, Any] | None:
        """What :meth:`record_precision` wrote, or ``None`` for a run without a record.

        Returns:
            ``{"precision": the latest policy, "history": [{"first_epoch": 0, "precision":
            "mixed_float16"}, {"first_epoch": 3, "precision": "float32"}, ...]}``.
        """
        if not self.precision_path.exists():
            return None
        return json.loads(self.precision_path.read_text())

    def load_best_model(self):
        """The run's best model (``best.keras``), for inference: what a chapter needs to use a run
        that the command line trained, with :meth:`load_preprocessing` and
        :meth:`load_inference`."""
        from .model import load_trained_model

        return load_trained_model(self._needed(self.best_model_path))

    def is_finished(self, epochs: int, backup_dir: Path | None = None) -> bool:
        """Whether a run of ``epochs`` epochs ended here: a best model, a log of ``epochs``
        rows, and no resume state left.
        """
        backup_dir = backup_dir or self.default_backup_dir
        if not (self.best_model_path.exists() and self.log_path.exists()) or backup_dir.exists():
            return False
        import pandas as pd

        try:
            history = pd.read_csv(self.log_path)
        except (pd.errors.EmptyDataError, OSError):
            return False
        return len(history.drop_duplicates("epoch", keep="last")) == epochs
