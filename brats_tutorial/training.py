"""Training: ``train(config, cache_dir, split)`` builds the pipelines, the model and the optimiser,
trains, logs to CSV, saves the best and the last model atomically, and resumes after an
interruption (a Colab disconnect) from the last finished epoch with the same learning-rate
schedule.

Resuming works through :class:`keras.callbacks.BackupAndRestore`: after every epoch the model,
the optimiser (its step counter drives the learning-rate schedule) and the epoch number are
written to ``backup_dir``; a later call with the same ``backup_dir`` continues from there. Point
``backup_dir`` (or ``output_dir``) at Google Drive on Colab so a disconnect loses at most one
epoch.

Resuming on another device: a Colab session can come back on another GPU, or none, and
``precision="auto"`` then chooses another dtype policy. The policy each part of the run trained
with is recorded in the run folder (:meth:`~brats_tutorial.run_folder.RunFolder.load_precision`).
Weights are float32 variables under every policy, but ``"mixed_float16"`` wraps the optimiser in
a ``LossScaleOptimizer``, and Keras 3 (3.15) loads a backup saved with the other optimiser
structure with only a warning, "Skipping variable loading for optimizer": the step counter
restarts at 0 (so does the learning-rate schedule) and Adam's moments are lost. So when the
backup's optimiser is loss-scaled and the new one is not, or the reverse, ``train`` reads the
backup into a model compiled the way it was saved, copies the weights and the wrapped Adam's
variables into the new model, rewrites the backup in the new structure, prints what it did, and
continues under the new policy. (``"float32"`` and ``"mixed_bfloat16"`` have the same structure:
nothing to convert.)

Several GPUs: the GPUs are those of the backend in use (:func:`brats_tutorial.device.gpu_devices`:
TensorFlow's or JAX's device list, which honour ``CUDA_VISIBLE_DEVICES``), counted once
(:func:`plan_devices`). With more than one, training is data-parallel with the backend's own
engine: ``tf.distribute.MirroredStrategy`` under TensorFlow, over exactly those GPUs (the model
is built and compiled in its scope; see :func:`brats_tutorial.tf_data.distribution_strategy`),
and ``keras.distribution.DataParallel`` over those GPUs under JAX. ``batch_size`` is per GPU: the
global batch is ``batch_size`` times the number of GPUs, so each GPU keeps the same work per step
and an epoch has proportionally fewer steps. Under PyTorch, Keras has no data-parallel engine
here: one GPU trains. The tests check the count, the global batch and the choice of engine with
patched device lists; this path has not been run on a multi-GPU machine in this project yet.
"""

from __future__ import annotations

import contextlib
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
from .device import apply_precision, choose_precision, gpu_devices, gpu_info
from .errors import BratsDataError
from .losses import RegionDiceBCELoss, dice_ce_loss, original_loss
from .model import build_model
from .profiles import Profile, get_profile
from .run_folder import RunFolder
from .splits import PatientSplit
from .training_metrics import region_metrics

LOSSES = ("dice_ce", "original")
PIPELINES = ("auto", "tf_data", "py_dataset")
#: The file in which ``keras.callbacks.BackupAndRestore`` keeps the model and optimiser state
#: (keras/src/callbacks/backup_and_restore.py, Keras 3.15).
BACKUP_WEIGHTS_FILE = "latest.weights.h5"
#: The policy whose ``Model.compile`` wraps the optimiser in a ``LossScaleOptimizer``.
LOSS_SCALED_PRECISION = "mixed_float16"


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
            newer, float32 when the backend sees no GPU), or a Keras dtype policy name. A run
            resumed under another policy continues in the new one (see the module docstring).
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
        previous_precision: the policy the interrupted part of a resumed run trained with, when
            it differs from ``precision`` (resumed on another device); else ``None``.
    """

    model: keras.Model
    history: pd.DataFrame
    config: TrainingConfig
    precision: str
    resumed: bool
    devices: int = 1
    previous_precision: str | None = None
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
    batch_multiple: int = 1,
):
    """The input pipeline ``kind`` over the slices.

    ``batch_multiple``: the devices a batch is split over evenly (JAX's ``DataParallel``); the
    PyDataset cuts its last batch to a multiple of it, tf.data drops a partial last batch.
    (``MirroredStrategy`` splits uneven batches itself: 1 there.)
    """
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

        return make_tf_dataset(images, classes, drop_remainder=batch_multiple > 1, **options)
    from .py_dataset import SliceDataset

    return SliceDataset(images, classes, batch_multiple=batch_multiple, **options)


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


@dataclass(frozen=True)
class DevicePlan:
    """Where ``train`` computes and how it splits a batch.

    Attributes:
        gpus: the backend's GPUs (:func:`brats_tutorial.device.gpu_devices`), e.g.
            ``["/gpu:0", "/gpu:1"]``; empty on a CPU.
        engine: "single" (one device), "mirrored_strategy" (TensorFlow, more than one GPU) or
            "jax_data_parallel" (JAX, more than one GPU).
        devices: devices trained on in parallel: ``len(gpus)`` for the two multi-GPU engines,
            else 1.
        global_batch: slices per optimiser step, ``batch_size * devices``.
    """

    gpus: tuple[str, ...]
    engine: str
    devices: int
    global_batch: int


def plan_devices(
    batch_size: int, gpus: list[str] | None = None, backend: str | None = None
) -> DevicePlan:
    """The devices and global batch of a training run, from one count of the backend's GPUs.

    Args:
        batch_size: slices per batch per device.
        gpus: the GPUs; default :func:`brats_tutorial.device.gpu_devices`.
        backend: the Keras backend; default the one in use.
    """
    gpus = tuple(gpu_devices() if gpus is None else gpus)
    backend = backend or keras.config.backend()
    engines = {"tensorflow": "mirrored_strategy", "jax": "jax_data_parallel"}
    engine = engines.get(backend, "single") if len(gpus) > 1 else "single"
    devices = len(gpus) if engine != "single" else 1
    return DevicePlan(gpus, engine, devices, batch_size * devices)


def _resolve_precision(precision: str, plan: DevicePlan) -> str:
    """``precision``, or for "auto" the policy of the GPUs (float32 when the backend has none:
    ``nvidia-smi`` may list GPUs that the backend cannot use)."""
    if precision != "auto":
        return precision
    return choose_precision(gpu_info()) if plan.gpus else "float32"


def _backup_is_loss_scaled(weights_path: Path) -> bool:
    """Whether a ``BackupAndRestore`` weights file holds a ``LossScaleOptimizer``'s state.

    Keras saves an object's tracked attributes as sub-groups, so the optimiser that a
    ``LossScaleOptimizer`` wraps is the group ``optimizer/inner_optimizer``
    (keras/src/saving/saving_lib.py, Keras 3.15). The file itself is asked, not the run's record:
    it is what will be loaded.
    """
    import h5py

    with h5py.File(weights_path, "r") as weights_file:
        return "optimizer/inner_optimizer" in weights_file


def _wrapped_optimizer(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The optimiser a ``LossScaleOptimizer`` wraps, or ``optimizer`` itself."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.inner_optimizer
    return optimizer


def _convert_backup(
    weights_path: Path, model: keras.Model, build_and_compile, saved_policy: str
) -> None:
    """Carry a backup saved with the other optimiser structure over to ``model`` and rewrite it.

    Args:
        weights_path: the ``BackupAndRestore`` weights file.
        model: the compiled model of this call; receives the saved weights and optimiser state.
        build_and_compile: builds and compiles a model like ``model`` under the global policy.
        saved_policy: a policy with the saved optimiser structure (``"mixed_float16"`` for a
            loss-scaled one, else ``"float32"``).
    """
    policy = keras.mixed_precision.global_policy().name
    apply_precision(saved_policy)
    try:
        saved = build_and_compile()
    finally:
        apply_precision(policy)
    saved.optimizer.build(saved.trainable_variables)
    saved.load_weights(weights_path)
    saved_optimizer = _wrapped_optimizer(saved.optimizer)
    if int(keras.ops.convert_to_numpy(saved_optimizer.iterations)) == 0:
        raise BratsDataError(
            weights_path,
            "the optimiser state of this backup could not be read (step counter 0), so resuming "
            "would restart the learning-rate schedule: delete the backup folder to train this "
            "run again from the start",
        )
    model.optimizer.build(model.trainable_variables)
    optimizer = _wrapped_optimizer(model.optimizer)
    shapes = [tuple(variable.shape) for variable in optimizer.variables]
    saved_shapes = [tuple(variable.shape) for variable in saved_optimizer.variables]
    if shapes != saved_shapes:
        raise BratsDataError(
            weights_path,
            f"its optimiser has {len(saved_shapes)} variables that do not match this model's "
            f"{len(shapes)}: was it saved with another configuration? Delete the backup folder to "
            "train this run again from the start",
        )
    model.set_weights(saved.get_weights())
    for variable, saved_variable in zip(optimizer.variables, saved_optimizer.variables):
        variable.assign(keras.ops.convert_to_numpy(saved_variable))
    with atomic_path(weights_path, suffix=".weights.h5") as temporary:
        model.save_weights(temporary)


def _carry_over_precision(
    config: TrainingConfig,
    backup_dir: Path,
    model: keras.Model,
    build_and_compile,
    precision: str,
    resumed: bool,
) -> str | None:
    """Make a resumed run's backup loadable under ``precision`` and record the policy.

    Returns:
        The policy the interrupted part trained with when it differs from ``precision`` (the
        message saying so is printed), else ``None``.
    """
    run_folder = config.run_folder
    record = run_folder.load_precision() if resumed else None
    previous = record["precision"] if record else None
    first_epoch = len(_read_history(config.log_path)) if resumed else 0
    weights_path = backup_dir / BACKUP_WEIGHTS_FILE
    converted = False
    if resumed and weights_path.exists():
        saved_loss_scaled = _backup_is_loss_scaled(weights_path)
        if saved_loss_scaled != (precision == LOSS_SCALED_PRECISION):
            saved_policy = LOSS_SCALED_PRECISION if saved_loss_scaled else "float32"
            _convert_backup(weights_path, model, build_and_compile, saved_policy)
            converted = True
            if previous is None or previous == precision:  # no record, or a stale one
                previous = saved_policy if saved_loss_scaled else "float32 or mixed_bfloat16"
    run_folder.record_precision(precision, first_epoch)
    if previous is None or previous == precision:
        return None
    carried = "weights and optimiser state (step counter, Adam moments) carried over" + (
        f", backup rewritten for {precision}" if converted else ""
    )
    print(
        f"Resuming {config.output_dir} after {first_epoch} finished "
        f"epoch{'' if first_epoch == 1 else 's'}: they trained "
        f"under {previous}, this device uses {precision}; {carried}. The run continues under "
        f"{precision} (recorded in {run_folder.precision_path.name})."
    )
    return previous


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
    plan = plan_devices(config.batch_size)
    precision = _resolve_precision(config.precision, plan)
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

    global_batch = plan.global_batch
    # JAX's DataParallel splits every batch evenly over the GPUs, the last one included.
    batch_multiple = plan.devices if plan.engine == "jax_data_parallel" else 1
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

    scope = contextlib.nullcontext()
    if plan.engine == "mirrored_strategy":
        from .tf_data import distribution_strategy

        scope = distribution_strategy(list(plan.gpus)).scope()
    elif plan.engine == "jax_data_parallel":
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=list(plan.gpus))
        )
    # Under MirroredStrategy the model, and the optimiser state that a resumed run carries
    # over, are created in the strategy's scope.
    with scope:
        model = build_and_compile()
        previous_precision = _carry_over_precision(
            config, backup_dir, model, build_and_compile, precision, resumed
        )

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
        batch_multiple=batch_multiple,
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
        batch_multiple=batch_multiple,
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
        devices=plan.devices,
        previous_precision=previous_precision,
    )
