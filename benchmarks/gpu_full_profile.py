"""The full profile on a GPU under JAX: what the book's full-profile estimates need, in one run.

For the first GPU machine available (JAX, no TensorFlow; ``benchmarks/gpu_full_profile.sh``
installs and runs it). From the repository root::

    KERAS_BACKEND=jax python benchmarks/gpu_full_profile.py [--epochs 3] [--data-dir DIR]
    KERAS_BACKEND=jax python benchmarks/gpu_full_profile.py --dry-run   # CPU, under a minute

Each part runs in a fresh Python process, so its peak accelerator memory is its own
(``jax.Device.memory_stats()["peak_bytes_in_use"]``; empty where JAX gives none, e.g. the CPU):

1. ``train``: the full profile (:func:`brats_tutorial.course.prepare_data`,
   :func:`~brats_tutorial.course.prepare_training_data`, :func:`brats_tutorial.training.train`:
   the full preset at 128 x 128, batch 32, flips, its ``PyDataset`` pipeline and callbacks) for a
   few epochs on the course's sample (``--data-dir``, else ``../shared/brats18_sample``, else a
   synthetic BraTS-like set, named in the output), with the precision
   :func:`brats_tutorial.device.choose_precision` picks. Training and validation phases are timed
   per epoch (``PhaseTimer`` of ``benchmarks/bench_training.py``); the first epoch, which
   compiles, is left out of the rates when there are later ones.
2. ``preset:quick``, ``preset:full``, ``preset:original``: training slices/s of every model
   preset on fixed in-memory batches (``time_training`` of
   ``benchmarks/bench_model_presets.py``) at the same batch and size.

From the measured rates it prints the full profile's epoch time at BraTS 2020's size (369
training cases, split as the full profile splits them) and the whole run's time (the profile's
epochs), and the throughput the full preset reached in TFLOPS (operations counted from the
model, as in ``benchmarks/full_scale_rehearsal.py``). Every number goes to a CSV like the
rehearsal's (``brats_tutorial/results/gpu_full_profile.csv``): one row per quantity (name, value,
unit, kind, note) with the provenance (commit, ``git describe --dirty``, date, device, precision,
software, data).

``--dry-run`` runs the same code on the CPU with tiny settings (4 synthetic cases, 8 slices
each, 32 x 32, batch 2, 1 epoch, 1 step per preset, compilation included, XLA's costly
optimisations off) to check the script, not to measure; its CSV goes to the temporary folder
unless ``--csv`` says otherwise. The parts share a persistent JAX compilation cache in the
run's temporary folder (``JAX_COMPILATION_CACHE_DIR`` when set), so a part does not compile
again what an earlier part compiled; the training part runs first.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
sys.path.insert(0, str(BENCHMARKS))  # bench_training, bench_model_presets, full_scale_rehearsal
try:
    import brats_tutorial  # noqa: F401
except ImportError:  # run from a source checkout without `pip install -e .`
    sys.path.insert(0, str(REPOSITORY))

if os.environ.setdefault("KERAS_BACKEND", "jax") != "jax":
    sys.exit(
        f"error: this script measures the JAX backend; KERAS_BACKEND is "
        f"{os.environ['KERAS_BACKEND']!r} (unset it or set KERAS_BACKEND=jax)"
    )

from brats_tutorial.atomic import save_text_atomic  # noqa: E402
from brats_tutorial.data_sources import WORK_DIR_ENV, sample_dir  # noqa: E402
from brats_tutorial.profiles import Profile, get_profile  # noqa: E402

RESULTS_CSV: Path = REPOSITORY / "brats_tutorial" / "results" / "gpu_full_profile.csv"
PRESET_ORDER: tuple[str, ...] = ("quick", "full", "original")
BRATS2020_TRAINING_CASES: int = 369
CSV_COLUMNS: tuple[str, ...] = (
    "name",
    "value",
    "unit",
    "kind",
    "note",
    "commit",
    "describe",
    "date",
    "device",
    "precision",
    "software",
    "data",
    "dry_run",
)
#: The rows every run writes (a value may be empty where the device gives none, e.g. the peak
#: accelerator memory on a CPU).
ROW_NAMES: tuple[str, ...] = (
    "full_profile_training_slices_per_second",
    "full_profile_validation_slices_per_second",
    "full_profile_first_epoch_seconds",
    "full_profile_epoch_seconds_sample",
    "full_profile_peak_accelerator_memory",
    "full_profile_last_val_loss",
    "full_preset_forward_gflops_per_slice",
    "full_profile_achieved_tflops",
    *(
        f"preset_{name}_{quantity}"
        for name in PRESET_ORDER
        for quantity in ("parameters", "slices_per_second", "peak_accelerator_memory")
    ),
    "brats2020_training_slices_per_epoch",
    "brats2020_validation_slices_per_epoch",
    "brats2020_epoch_seconds",
    "brats2020_run_minutes",
)


def dry_run_profile(profile: Profile) -> Profile:
    """Tiny settings for ``--dry-run``: 4 cases, 32 x 32, batch 2, 1 epoch (same code paths)."""
    return replace(profile, max_cases=4, synthetic_cases=4, image_size=32, batch_size=2, epochs=1)


def run_profile(args: argparse.Namespace) -> Profile:
    """The profile this run trains: the full profile, with ``--epochs``, or the dry run's."""
    profile = get_profile("full")
    if args.dry_run:
        return dry_run_profile(profile)
    # Without the sample, a synthetic set of the sample's size (24 cases), not the profile's 60.
    return replace(profile, epochs=args.epochs, synthetic_cases=24)


def slice_count(args: argparse.Namespace) -> int:
    """Axial slices per case: the full profile's (100), or 8 in a dry run."""
    return 8 if args.dry_run else get_profile("full").preprocessing_settings().slice_count


def peak_accelerator_bytes() -> float | None:
    """Peak bytes in use on the first JAX device since this process started (``None``: no
    statistics, e.g. on the CPU)."""
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else float(peak)


def device_description() -> str:
    """The JAX device that runs the model, e.g. ``"gpu: NVIDIA H200 (1 device)"``."""
    import jax

    devices = jax.devices()
    kind = getattr(devices[0], "device_kind", str(devices[0]))
    return f"{devices[0].platform}: {kind} ({len(devices)} device{'s' * (len(devices) > 1)})"


# -- The parts, each run in its own process ---------------------------------------------------


def part_train(args: argparse.Namespace, work_dir: Path) -> dict:
    """Train the (full) profile for its epochs; timings, validation loss and peak memory."""
    import keras
    import numpy as np
    from bench_training import PhaseTimer
    from full_scale_rehearsal import convolution_multiply_adds

    from brats_tutorial.course import prepare_data, prepare_training_data
    from brats_tutorial.device import choose_precision
    from brats_tutorial.training import TrainingConfig, train

    profile = run_profile(args)
    precision = choose_precision()
    data_dir = args.data_dir or (None if args.dry_run else sample_dir())
    data = prepare_data(profile, data_dir, synthetic=data_dir is None)
    settings = profile.preprocessing_settings(slice_count=slice_count(args))
    info, split = prepare_training_data(data, settings, progress=False)
    config = TrainingConfig.from_profile(profile, work_dir / "run", precision=precision)
    timer = PhaseTimer()
    result = train(config, info.cache_dir, split, callbacks=[timer], verbose=0)
    multiply_adds, _ = convolution_multiply_adds(result.model)
    training_slices = len(split.train) * settings.slice_count
    validation_slices = len(split.validation) * settings.slice_count
    compile_in_rate = len(timer.train_seconds) == 1  # else epoch 1 (compilation) is left out
    later = slice(None) if compile_in_rate else slice(1, None)
    train_seconds = float(np.median(timer.train_seconds[later]))
    validation_seconds = float(np.median(timer.validation_seconds[later]))
    return {
        "data": f"{data.source} ({data.data_dir}), {len(split.train)} training and "
        f"{len(split.validation)} validation patients, {settings.slice_count} slices each",
        "precision": result.precision,
        "epochs": len(timer.train_seconds),
        "compile_in_rate": compile_in_rate,
        "training_slices": training_slices,
        "validation_slices": validation_slices,
        "training_slices_per_second": training_slices / train_seconds,
        "validation_slices_per_second": validation_slices / validation_seconds,
        "first_epoch_seconds": timer.train_seconds[0] + timer.validation_seconds[0],
        "epoch_seconds": train_seconds + validation_seconds,
        "last_val_loss": float(result.history["val_loss"].iloc[-1]),
        "forward_flops": 2.0 * multiply_adds,
        "peak_bytes": peak_accelerator_bytes(),
        "device": device_description(),
        "software": f"Python {platform.python_version()}, Keras {keras.__version__} "
        f"({keras.backend.backend()}), JAX {__import__('jax').__version__}",
    }


def part_preset(args: argparse.Namespace, name: str) -> dict:
    """Training slices/s of one preset on fixed in-memory batches, and its peak memory."""
    from bench_model_presets import random_batch, time_training

    from brats_tutorial.constants import NUM_CLASSES
    from brats_tutorial.device import apply_precision, choose_precision
    from brats_tutorial.model import PRESETS

    profile = run_profile(args)
    apply_precision(choose_precision())
    images, masks = random_batch(
        profile.batch_size, profile.image_size, len(profile.modalities), NUM_CLASSES, seed=0
    )
    warmup, steps = (0, 1) if args.dry_run else (args.warmup_steps, args.steps)
    parameters, seconds_per_step = time_training(PRESETS[name], images, masks, warmup, steps)
    return {
        "parameters": parameters,
        "slices_per_second": profile.batch_size / seconds_per_step,
        "peak_bytes": peak_accelerator_bytes(),
        "note": f"batch {profile.batch_size} x {profile.image_size}x{profile.image_size}x"
        f"{len(profile.modalities)}, {warmup} warm-up + {steps} timed train_on_batch steps",
    }


def run_part(part: str, args: argparse.Namespace, work_dir: Path) -> dict:
    """Run one part in a fresh Python process (its own peak memory) and return its numbers.

    A dry run, a check of the code rather than a measurement, runs the parts in this process:
    four fewer start-ups of Python, Keras and JAX.
    """
    if args.dry_run:
        print(f"-- {part} (in this process: dry run)", flush=True)
        os.environ[WORK_DIR_ENV] = str(work_dir / "brats_work")
        if part == "train":
            return part_train(args, work_dir)
        return part_preset(args, part.split(":", 1)[1])
    output = work_dir / f"part_{part.replace(':', '_')}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--part", part]
    command += ["--work-dir", str(work_dir), "--epochs", str(args.epochs)]
    command += ["--warmup-steps", str(args.warmup_steps), "--steps", str(args.steps)]
    command += ["--dry-run"] * args.dry_run
    if args.data_dir is not None:
        command += ["--data-dir", str(args.data_dir)]
    print(f"-- {part}", flush=True)
    start = time.perf_counter()
    completed = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": "jax"})
    if completed.returncode != 0:
        raise SystemExit(f"error: part {part} failed (exit status {completed.returncode})")
    print(f"   ({time.perf_counter() - start:.0f} s)", flush=True)
    return json.loads(output.read_text())


# -- The whole run ----------------------------------------------------------------------------


def git_output(*arguments: str) -> str:
    """Output of a git command in the repository, or "unknown"."""
    try:
        completed = subprocess.run(
            ["git", *arguments], cwd=REPOSITORY, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return completed.stdout.strip() or "unknown"


def brats2020_slices(slices_per_case: int) -> tuple[int, int]:
    """Training and validation slices per epoch of the full profile on BraTS 2020's 369 cases."""
    from brats_tutorial.splits import split_patients

    profile = get_profile("full")
    split = split_patients(
        [f"BraTS20_Training_{number:03d}" for number in range(1, BRATS2020_TRAINING_CASES + 1)],
        profile.validation_fraction,
        profile.test_fraction,
    )
    return len(split.train) * slices_per_case, len(split.validation) * slices_per_case


def gibibytes(value: float | None) -> float | None:
    return None if value is None else value / 2**30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the training part")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: the sample")
    parser.add_argument("--warmup-steps", type=int, default=3, help="per preset")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per preset")
    parser.add_argument("--dry-run", action="store_true", help="tiny settings on the CPU")
    parser.add_argument("--csv", type=Path, default=None, help="results file")
    parser.add_argument("--work-dir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.steps < 1 or args.warmup_steps < 0:
        parser.error("--epochs and --steps must be >= 1, --warmup-steps >= 0")

    if args.part is not None:  # a child process of run_part
        work_dir = args.work_dir
        os.environ[WORK_DIR_ENV] = str(work_dir / "brats_work")
        if args.part == "train":
            numbers = part_train(args, work_dir)
        else:
            numbers = part_preset(args, args.part.split(":", 1)[1])
        save_text_atomic(work_dir / f"part_{args.part.replace(':', '_')}.json", json.dumps(numbers))
        return 0

    if args.dry_run:
        os.environ["JAX_PLATFORMS"] = "cpu"  # in the parts, before JAX starts
        # A check, not a measurement: XLA compiles faster without its costly optimisations.
        fast_compile = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {fast_compile}".strip()
    csv_path = args.csv or (
        Path(tempfile.gettempdir()) / "gpu_full_profile_dry_run.csv"
        if args.dry_run
        else RESULTS_CSV
    )
    run_start = time.perf_counter()
    full = get_profile("full")
    profile = run_profile(args)
    with tempfile.TemporaryDirectory(prefix="gpu_full_profile_") as temporary:
        work_dir = Path(temporary)
        # One persistent compilation cache for the parts: a part does not compile again what an
        # earlier one did (the weight initialisers of each shape, mostly). The training part
        # runs first, so its first epoch's compilation is measured whole.
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(work_dir / "jax_cache"))
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
        train_numbers = run_part("train", args, work_dir)
        presets = {name: run_part(f"preset:{name}", args, work_dir) for name in PRESET_ORDER}

    rows: list[dict[str, object]] = []

    def add(name: str, value, unit: str, kind: str, note: str) -> None:
        rows.append({"name": name, "value": value, "unit": unit, "kind": kind, "note": note})
        shown = "n/a" if value is None else f"{value:,.4g}" if isinstance(value, float) else value
        print(f"  [{kind}] {name} = {shown} {unit}  ({note})", flush=True)

    print(f"\ndevice {train_numbers['device']}, precision {train_numbers['precision']}")
    print(f"data: {train_numbers['data']}")
    epochs_note = (
        f"median of epochs 2-{train_numbers['epochs']}"
        if not train_numbers["compile_in_rate"]
        else "the only epoch, compilation included"
    )
    add(
        "full_profile_training_slices_per_second",
        train_numbers["training_slices_per_second"],
        "slices/s",
        "measured",
        f"train() training phase, {epochs_note}, {train_numbers['training_slices']} slices",
    )
    add(
        "full_profile_validation_slices_per_second",
        train_numbers["validation_slices_per_second"],
        "slices/s",
        "measured",
        f"validation phase with its checkpoints, {epochs_note}",
    )
    add(
        "full_profile_first_epoch_seconds",
        train_numbers["first_epoch_seconds"],
        "s",
        "measured",
        "epoch 1 (compilation included), training + validation",
    )
    add(
        "full_profile_epoch_seconds_sample",
        train_numbers["epoch_seconds"],
        "s",
        "measured",
        f"training + validation phases on this data, {epochs_note}",
    )
    add(
        "full_profile_peak_accelerator_memory",
        gibibytes(train_numbers["peak_bytes"]),
        "GiB",
        "measured",
        "jax memory_stats peak_bytes_in_use of the training process"
        + (" (none on this device)" if train_numbers["peak_bytes"] is None else ""),
    )
    add(
        "full_profile_last_val_loss",
        train_numbers["last_val_loss"],
        "",
        "measured",
        f"validation loss after {train_numbers['epochs']} epochs (a check that it learns)",
    )
    forward_flops = train_numbers["forward_flops"]
    add(
        "full_preset_forward_gflops_per_slice",
        forward_flops / 1e9,
        "GFLOP",
        "estimate",
        f"2 x multiply-adds of the convolutions of the full preset at {profile.image_size}x"
        f"{profile.image_size} (benchmarks/full_scale_rehearsal.py)",
    )
    add(
        "full_profile_achieved_tflops",
        3 * forward_flops * train_numbers["training_slices_per_second"] / 1e12,
        "TFLOPS",
        "estimate",
        "training slices/s x 3 x forward FLOPs (forward + backward ~ 3 x forward)",
    )
    for name in PRESET_ORDER:
        numbers = presets[name]
        add(f"preset_{name}_parameters", numbers["parameters"], "", "measured", "count_parameters")
        add(
            f"preset_{name}_slices_per_second",
            numbers["slices_per_second"],
            "slices/s",
            "measured",
            numbers["note"],
        )
        add(
            f"preset_{name}_peak_accelerator_memory",
            gibibytes(numbers["peak_bytes"]),
            "GiB",
            "measured",
            "jax memory_stats peak_bytes_in_use of its own process"
            + (" (none on this device)" if numbers["peak_bytes"] is None else ""),
        )
    full_slices = full.preprocessing_settings().slice_count
    training_slices, validation_slices = brats2020_slices(full_slices)
    add(
        "brats2020_training_slices_per_epoch",
        training_slices,
        "slices",
        "estimate",
        f"full profile's split of {BRATS2020_TRAINING_CASES} cases x {full_slices} slices",
    )
    add(
        "brats2020_validation_slices_per_epoch",
        validation_slices,
        "slices",
        "estimate",
        "as above, validation patients",
    )
    epoch_seconds = (
        training_slices / train_numbers["training_slices_per_second"]
        + validation_slices / train_numbers["validation_slices_per_second"]
    )
    add(
        "brats2020_epoch_seconds",
        epoch_seconds,
        "s",
        "estimate",
        "BraTS 2020's slices / the rates measured here (training and validation)",
    )
    add(
        "brats2020_run_minutes",
        full.epochs * epoch_seconds / 60
        + max(0.0, train_numbers["first_epoch_seconds"] - train_numbers["epoch_seconds"]) / 60,
        "min",
        "estimate",
        f"{full.epochs} epochs (the full profile's) x the epoch above + the first epoch's "
        "compilation (its extra time here); without download, check and cache",
    )
    missing = [name for name in ROW_NAMES if name not in {row["name"] for row in rows}]
    assert not missing, f"rows not written: {missing}"

    provenance = {
        "commit": git_output("rev-parse", "--short", "HEAD"),
        "describe": git_output("describe", "--dirty", "--always", "--tags"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": train_numbers["device"],
        "precision": train_numbers["precision"],
        "software": train_numbers["software"],
        "data": train_numbers["data"],
        "dry_run": args.dry_run,
    }
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, **provenance})
    save_text_atomic(csv_path, text.getvalue())
    rate = train_numbers["training_slices_per_second"]
    print(
        f"\nSummary{' (DRY RUN: tiny settings, not a measurement)' if args.dry_run else ''}: "
        f"{train_numbers['device']}, {train_numbers['precision']}; full profile "
        f"{rate:,.0f} training slices/s; BraTS 2020 epoch ~{epoch_seconds:,.0f} s, "
        f"{full.epochs} epochs ~{rows[-1]['value']:,.0f} min (estimates from the measured rates); "
        + ", ".join(
            f"{name} {presets[name]['slices_per_second']:,.0f} slices/s" for name in PRESET_ORDER
        )
        + f". Whole script {time.perf_counter() - run_start:.0f} s; results: {csv_path}"
    )
    if math.isnan(epoch_seconds):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
