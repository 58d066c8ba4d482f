"""Training throughput: the project's train() through its own pipeline vs bare train steps.

Prints slices per second for

- bare: ``model.fit`` on one fixed in-memory batch repeated (no input pipeline, no callbacks
  beyond Keras's own), the ceiling for this model on this machine;
- project: ``brats_tutorial.training.train`` on the cached synthetic slices, fed by its own
  pipeline (tf.data under TensorFlow, PyDataset otherwise), with its CSV log, checkpoints and
  backup callbacks; the training phase of each epoch is timed (validation is reported apart).

Target: the project's training phase reaches at least 90 % of the bare throughput. Epoch 1 of
each (compilation) is left out.

    python benchmarks/bench_training.py                      # quick preset, 64 x 64, CPU
    python benchmarks/bench_training.py --preset original --image-size 128 --batch-size 100

On a GPU machine with JAX and no TensorFlow, ``benchmarks/gpu_check.sh`` runs it for the quick,
full and original presets under the JAX backend.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from brats_tutorial.cache import build_cache, load_cached_arrays
from brats_tutorial.device import apply_precision, choose_precision
from brats_tutorial.losses import dice_ce_loss
from brats_tutorial.model import build_model
from brats_tutorial.preprocessing import PreprocessingSettings
from brats_tutorial.splits import split_patients
from brats_tutorial.synthetic import generate_dataset
from brats_tutorial.training import TrainingConfig, train
from brats_tutorial.training_metrics import region_metrics


def peak_memory_gib() -> float | None:
    """Peak accelerator memory in GiB under JAX (``None`` elsewhere or on the CPU)."""
    if keras.config.backend() != "jax":
        return None
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**30


class PhaseTimer(keras.callbacks.Callback):
    """Wall time of each epoch's training phase (first batch to validation start) and validation."""

    def __init__(self) -> None:
        super().__init__()
        self.train_seconds: list[float] = []
        self.validation_seconds: list[float] = []
        self._start = self._validation_start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._validation_start = 0.0

    def on_test_begin(self, logs=None):
        self._validation_start = time.perf_counter()
        self.train_seconds.append(self._validation_start - self._start)

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        if self._validation_start:
            self.validation_seconds.append(end - self._validation_start)
        else:
            self.train_seconds.append(end - self._start)


class FixedBatches(keras.utils.PyDataset):
    """The same in-memory batch ``steps`` times: no input pipeline to speak of."""

    def __init__(self, images: np.ndarray, masks: np.ndarray, steps: int) -> None:
        super().__init__()
        self.images, self.masks, self.steps = images, masks, steps

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int):
        return self.images, self.masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()

    precision = choose_precision() if args.precision == "auto" else args.precision
    print(
        f"backend {keras.config.backend()}, precision {precision}, preset {args.preset}, "
        f"{args.image_size}x{args.image_size}, batch {args.batch_size}"
    )
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        generate_dataset(folder / "data", n_cases=args.cases, seed=0)
        settings = PreprocessingSettings(image_size=args.image_size)
        info = build_cache(folder / "data", folder / "cache", settings, progress=False)
        split = split_patients(info.case_ids, seed=0)
        images, classes = load_cached_arrays(info.cache_dir, split.train)
        steps = int(np.ceil(len(images) / args.batch_size))
        print(
            f"{len(split.train)} training patients, {len(images)} slices, {steps} steps per epoch"
        )

        # Bare: one fixed batch, the same number of steps per epoch.
        apply_precision(precision)
        model = build_model(args.preset, input_shape=images.shape[1:])
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3), loss=dice_ce_loss(), metrics=region_metrics()
        )
        batch_images = np.asarray(images[: args.batch_size], np.float32)
        batch_masks = np.eye(4, dtype=np.float32)[classes[: args.batch_size]]
        timer = PhaseTimer()
        model.fit(
            FixedBatches(batch_images, batch_masks, steps),
            epochs=args.epochs,
            callbacks=[timer],
            verbose=0,
        )
        bare = steps * args.batch_size / np.median(timer.train_seconds[1:])

        # Project: train() with its pipeline and callbacks.
        timer = PhaseTimer()
        config = TrainingConfig(
            output_dir=folder / "run",
            model_preset=args.preset,
            epochs=args.epochs,
            batch_size=args.batch_size,
            precision=precision,
        )
        train(config, info.cache_dir, split, callbacks=[timer], verbose=0)
        project = len(images) / np.median(timer.train_seconds[1:])
        validation = (
            np.median(timer.validation_seconds[1:]) if timer.validation_seconds else float("nan")
        )

    print(f"bare train steps (fixed in-memory batch): {bare:8.0f} slices/s")
    print(
        f"train() with its own pipeline:            {project:8.0f} slices/s "
        f"({100 * project / bare:.0f} % of bare; target >= 90 %)"
    )
    print(f"validation + checkpoints per epoch:       {validation:8.2f} s")
    peak = peak_memory_gib()
    if peak is not None:
        print(f"peak accelerator memory (whole run):      {peak:8.2f} GiB")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
