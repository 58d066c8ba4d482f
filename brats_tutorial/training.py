"""Training: ``train(config, cache_dir, split)`` builds the pipelines, the model and the optimiser,
trains, logs to CSV, saves the best and the last model atomically, and resumes after an
interruption (a Colab disconnect) from the last finished epoch with the same learning-rate
schedule.

Resuming works through :class:`keras.callbacks.BackupAndRestore`: after every epoch the model,
the optimiser (its step counter drives the learning-rate schedule) and the epoch number are
written to ``backup_dir``; a later call with the same ``backup_dir`` continues from there. Point
``backup_dir`` (or ``output_dir``) at Google Drive on Colab so a disconnect loses at most one
epoch.

Several GPUs: when more than one GPU is visible (:func:`brats_tutorial.device.gpu_info`),
training is data-parallel with the backend's own engine: ``tf.distribute.MirroredStrategy``
under TensorFlow (the model is built and compiled in its scope; see
:func:`brats_tutorial.tf_data.distribution_strategy`) and ``keras.distribution.DataParallel``
under JAX. ``batch_size`` is per GPU: the global batch is ``batch_size`` times the number of
GPUs, so each GPU keeps the same work per step and an epoch has proportionally fewer steps.
This path has not been run on a multi-GPU machine in this project yet.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from .atomic import atomic_path, save_json_atomic
from .augmentation import resolve_augmentation
from .cache import load_cached_arrays
from .constants import NUM_CLASSES, TARGETS
from .device import apply_precision, choose_precision, gpu_info
from .losses import RegionDiceBCELoss, dice_ce_loss, original_loss
from .model import build_model
from .profiles import Profile, get_profile
from .run_folder import RunFolder
from .splits import PatientSplit
from .training_metrics import region_metrics

LOSSES = ("dice_ce", "original")
PIPELINES = ("auto", "tf_data", "py_dataset")


@dataclass
class TrainingConfig:
    """Everything ``train`` needs besides the data.

    Attributes:
        output_dir: where the log (``training_log.csv``), ``best.keras``, ``last.keras`` and
            ``config.json`` go.
        model_preset: key of :data:`brats_tutorial.model.PRESETS` ("quick", "full", "original").
        epochs: total epochs of the run (a resumed run stops at the same total).
        batch_size: slices per batch per device (scaled by the number of GPUs).
        learning_rate: initial learning rate of Adam; cosine decay to zero over the run.
        loss: "dice_ce" (Dice without background + cross-entropy, the course default) or
            "original" (the original notebook's background-included Dice + cross-entropy).
            Region-based training (``target="regions"``) always uses
            :class:`~brats_tutorial.losses.RegionDiceBCELoss`.
        augment: "none", "flip" (random left-right flips of training slices; ``True`` means
            this) or "rich" (:func:`brats_tutorial.augmentation.rich_augment_batch`).
        context_slices: 2.5D input: neighbours on each side stacked as channels
            (:mod:`brats_tutorial.slice_context`); 0 is plain 2D.
        target: "classes" (softmax over 4 classes) or "regions" (3 sigmoid outputs WT, TC, ET).
        seed: seeds weights, shuffling and augmentation (reproducible on the CPU).
        precision: "auto" (chosen by the GPU: float16 on Turing/Volta, bfloat16 on Ampere and
            newer, float32 on the CPU), or a Keras dtype policy name.
        pipeline: "auto" (tf.data under TensorFlow, PyDataset otherwise), "tf_data" or
            "py_dataset".
        backup_dir: folder of the resume state; default ``output_dir / "backup"``.
        monitor: the quantity that picks the best model (minimised).
    """

    output_dir: Path
    model_preset: str = "quick"
    epochs: int = 4
    batch_size: int = 16
    learning_rate: float = 3e-3
    loss: str = "dice_ce"
    augment: bool | str = "flip"
    context_slices: int = 0
    target: str = "classes"
    seed: int = 0
    precision: str = "auto"
    pipeline: str = "auto"
    backup_dir: Path | None = None
    monitor: str = "val_loss"

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        if self.backup_dir is not None:
            self.backup_dir = Path(self.backup_dir)
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        self.augment = resolve_augmentation(self.augment)
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        if self.context_slices < 0:
            raise ValueError(f"context_slices must be >= 0, got {self.context_slices}")
        if self.pipeline not in PIPELINES:
            raise ValueError(f"pipeline must be one of {PIPELINES}, got {self.pipeline!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError("epochs and batch_size must be >= 1 and learning_rate > 0")

    @classmethod
    def from_profile(
        cls, profile: Profile | str | None, output_dir: str | Path, **overrides
    ) -> TrainingConfig:
        """The configuration of a profile ("quick", "cpu" or "full"), with optional overrides."""
        if not isinstance(profile, Profile):
            profile = get_profile(profile)
        config = cls(
            output_dir=Path(output_dir),
            model_preset=profile.model_preset,
            epochs=profile.epochs,
            batch_size=profile.batch_size,
            learning_rate=profile.learning_rate,
            augment=profile.augment,
            context_slices=profile.context_slices,
            target=profile.target,
        )
        return replace(config, **overrides)

    @property
    def run_folder(self) -> RunFolder:
        """The files of this run (:class:`~brats_tutorial.run_folder.RunFolder`)."""
        return RunFolder(self.output_dir)

    @property
    def resolved_backup_dir(self) -> Path:
        """The folder holding the resume state."""
        return self.backup_dir or self.run_folder.default_backup_dir

    @property
    def log_path(self) -> Path:
        return self.run_folder.log_path

    @property
    def best_model_path(self) -> Path:
        return self.run_folder.best_model_path

    @property
    def last_model_path(self) -> Path:
        return self.run_folder.last_model_path

    def is_finished(self) -> bool:
        """Whether this run ended: all its epochs logged, a best model, no resume state."""
        return self.run_folder.is_finished(self.epochs, self.resolved_backup_dir)


@dataclass
class TrainingResult:
    """What ``train`` returns.

    Attributes:
        model: the trained model (weights of the last epoch).
        history: one row per finished epoch of the whole run (resumed parts included), read from
            the CSV log: ``epoch``, ``loss``, ``dice_WT``, ..., ``val_loss``, ``val_dice_WT``, ...
        config: the configuration used.
        precision: the dtype policy used.
        resumed: whether this call continued an interrupted run.
        devices: number of devices trained on.
    """

    model: keras.Model
    history: pd.DataFrame
    config: TrainingConfig
    precision: str
    resumed: bool
    devices: int = 1
    extra: dict = field(default_factory=dict)

    @property
    def epochs_completed(self) -> int:
        return len(self.history)


class AtomicCheckpoints(keras.callbacks.Callback):
    """Save ``last.keras`` after every epoch and ``best.keras`` when ``monitor`` improves.

    Each file is written to a temporary name and renamed, so an interruption never leaves a
    half-written model. The best value is kept in ``best.json`` so a resumed run does not
    replace a better model from before the interruption.
    """

    def __init__(self, best_path: Path, last_path: Path, monitor: str = "val_loss") -> None:
        super().__init__()
        self.best_path = Path(best_path)
        self.last_path = Path(last_path)
        self.monitor = monitor
        self.best_info_path = self.best_path.with_suffix(".json")
        self.best = math.inf

    def on_train_begin(self, logs=None) -> None:
        if self.best_info_path.exists() and self.best_path.exists():
            self.best = float(json.loads(self.best_info_path.read_text())["value"])

    def _save(self, path: Path) -> None:
        with atomic_path(path, suffix=".keras") as temporary:
            self.model.save(temporary)

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        self._save(self.last_path)
        value = logs.get(self.monitor)
        if value is not None and float(value) < self.best:
            self.best = float(value)
            self._save(self.best_path)
            save_json_atomic(
                self.best_info_path, {"monitor": self.monitor, "value": self.best, "epoch": epoch}
            )


def _make_pipeline(
    kind: str,
    images: np.ndarray,
    classes: np.ndarray,
    batch_size: int,
    training: bool,
    seed: int,
    augment: bool | str = False,
    context_slices: int = 0,
    slices_per_case: int | None = None,
):
    options = dict(
        batch_size=batch_size,
        shuffle=training,
        augment=augment,
        seed=seed,
        context_slices=context_slices,
        slices_per_case=slices_per_case,
    )
    if kind == "tf_data":
        from .tf_data import make_tf_dataset

        return make_tf_dataset(images, classes, **options)
    from .py_dataset import SliceDataset

    return SliceDataset(images, classes, **options)


def _loss(config: TrainingConfig):
    if config.target == "regions":
        return RegionDiceBCELoss()
    if config.loss == "original":
        return original_loss
    return dice_ce_loss()


def _read_history(log_path: Path) -> pd.DataFrame:
    if not log_path.exists() or log_path.stat().st_size == 0:
        return pd.DataFrame()
    history = pd.read_csv(log_path)
    # A run resumed after an interruption may log an epoch twice; keep the last.
    return history.drop_duplicates("epoch", keep="last").reset_index(drop=True)


def _gpu_count() -> int:
    return len(gpu_info())


def train(
    config: TrainingConfig,
    cache_dir: str | Path,
    split: PatientSplit,
    callbacks: list[keras.callbacks.Callback] | tuple = (),
    verbose: int | str = "auto",
) -> TrainingResult:
    """Train a U-Net on cached slices of the split's training patients.

    Args:
        config: see :class:`TrainingConfig`.
        cache_dir: a cache built by :func:`brats_tutorial.cache.build_cache`.
        split: patients for training and validation (the test patients are never read here).
        callbacks: extra Keras callbacks (e.g. one that stops the run, to demonstrate resuming).
        verbose: passed to ``fit``.

    Returns:
        A :class:`TrainingResult`. Calling ``train`` again with the same configuration after an
        interruption continues from the last finished epoch and ends after ``config.epochs``
        epochs in all. A run trained in one call records its wall and CPU seconds in its folder
        (:meth:`~brats_tutorial.run_folder.RunFolder.load_timing`); a resumed run records none.
    """
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    config.output_dir.mkdir(parents=True, exist_ok=True)
    backup_dir = config.resolved_backup_dir
    resumed = backup_dir.exists() and any(backup_dir.iterdir())
    # The run's recorded time (timing.json) is that of one uninterrupted call: a resumed run's
    # earlier part is unknown, so it has none.
    config.run_folder.timing_path.unlink(missing_ok=True)
    if not resumed:
        # A new run: the previous run's log in this folder is replaced, its models are kept
        # until this run writes better ones.
        config.log_path.unlink(missing_ok=True)
        config.best_model_path.with_suffix(".json").unlink(missing_ok=True)
    config.run_folder.save_config(asdict(config))

    keras.utils.set_random_seed(config.seed)
    precision = choose_precision() if config.precision == "auto" else config.precision
    apply_precision(precision)

    train_images, train_classes = load_cached_arrays(cache_dir, split.train)
    validation_images, validation_classes = load_cached_arrays(cache_dir, split.validation)
    channels = train_images.shape[-1] * (2 * config.context_slices + 1)
    image_size = train_images.shape[1]
    # Every cached patient has the same slice window, so the stack splits evenly by patient.
    slices_per_case = len(train_images) // len(split.train)

    backend = keras.config.backend()
    pipeline = config.pipeline
    if pipeline == "auto":
        pipeline = "tf_data" if backend == "tensorflow" else "py_dataset"

    devices = max(1, _gpu_count())
    global_batch = config.batch_size * devices
    steps_per_epoch = max(1, math.ceil(len(train_images) / global_batch))

    def build_and_compile() -> keras.Model:
        model = build_model(
            config.model_preset,
            input_shape=(image_size, image_size, channels),
            num_classes=NUM_CLASSES,
            target=config.target,
        )
        schedule = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=steps_per_epoch * config.epochs
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=schedule),
            loss=_loss(config),
            metrics=region_metrics(config.target),
        )
        return model

    if devices > 1 and backend == "tensorflow":
        from .tf_data import distribution_strategy

        with distribution_strategy().scope():
            model = build_and_compile()
    else:
        if devices > 1 and backend == "jax":
            keras.distribution.set_distribution(keras.distribution.DataParallel())
        model = build_and_compile()

    train_data = _make_pipeline(
        pipeline,
        train_images,
        train_classes,
        global_batch,
        training=True,
        seed=config.seed,
        augment=config.augment,
        context_slices=config.context_slices,
        slices_per_case=slices_per_case,
    )
    validation_data = _make_pipeline(
        pipeline,
        validation_images,
        validation_classes,
        global_batch,
        training=False,
        seed=config.seed,
        context_slices=config.context_slices,
        slices_per_case=slices_per_case,
    )
    all_callbacks = [
        keras.callbacks.BackupAndRestore(str(backup_dir)),
        keras.callbacks.CSVLogger(str(config.log_path), append=True),
        AtomicCheckpoints(config.best_model_path, config.last_model_path, config.monitor),
        *callbacks,
    ]
    model.fit(
        train_data,
        validation_data=validation_data,
        epochs=config.epochs,
        callbacks=all_callbacks,
        shuffle=False,  # the pipelines shuffle (by slice, reproducibly from the seed)
        verbose=verbose,
    )
    if not resumed:
        config.run_folder.save_timing(
            time.perf_counter() - start_wall, time.process_time() - start_cpu
        )
    return TrainingResult(
        model=model,
        history=_read_history(config.log_path),
        config=config,
        precision=precision,
        resumed=resumed,
        devices=devices,
    )
