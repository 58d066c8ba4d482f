"""Train the original notebook's recipe on real patients and measure what it finds on unseen ones.

The recipe (:mod:`brats_tutorial.original_recipe`): slices 22 to 121, FLAIR + T1ce divided by
their maximum, bilinear images and bilinear one-hot targets, the U-Net without batch
normalisation, Adam 1e-3, loss cross-entropy + 1 - background-included Dice. The script prints

- the machine (platform, CPU count, Keras backend, GPUs), the date, the commit and the case ids;
- the training time and the last epoch's own metrics (the notebook's Dice, sensitivity and
  specificity, on the training and the validation patients);
- for each evaluated patient: the voxels predicted as tumour (and those in the reference), the
  notebook's scores of the whole volume and the BraTS region Dice (WT, TC, ET).

The patients: ``--split-json`` reads a saved split (``{"train": [...], "validation": [...],
"test": [...]}``), else :func:`brats_tutorial.splits.split_patients` with ``--split-seed``. The
model trains on the training part, is scored every epoch on the validation part, and the
validation patients are evaluated (``--evaluate test`` evaluates the test part instead: keep it
for the final, reported numbers).

Defaults are the original's full-size settings, for a GPU: 128 x 128, preset ``"original"``
(31 M parameters), batch 100 (one patient's slices, as the original generator), 35 epochs (an
assumption: not checked against the notebook). ``--cpu`` switches to settings that run in about
1.5 minutes on a 2-core CPU: 64 x 64, base 8 filters, depth 3, dropout 0.5 (still no batch
norm), 15 epochs, batch 32. Any explicit option overrides the shortcut.

Measured on the real BraTS 2018 sample (14 training, 4 validation patients of the saved split),
2-core CPU, TensorFlow backend: with ``--cpu`` the whole script takes about 1.5 minutes (loading
6 s, preparing the slices 6 s, ``fit`` 70-85 s for 15 epochs, predicting and scoring 4 patients
5 s); with ``--cpu --epochs 5``, 48 s. The loss froze at 0.3119 by epoch 3, exactly the loss
of a network that answers "background" with probability 1 - 1e-7 (the cross-entropy's clip)
everywhere, and no tumour voxel was predicted on any validation patient, while the notebook's own
Dice, sensitivity and specificity read 0.98, 0.98 and 0.99. Seeds 0, 1, 2 and networks of base 8
(depth 3), 16 and 32 (depth 4, batch 100) all did the same. With a learning rate of 1e-4 instead
(not the recipe), the base-8 network did find tumour (whole-tumour Dice 0.32 to 0.44) while its
own training Dice read 0.979, lower than the collapsed network's 0.982.

Run from the repository root::

    python benchmarks/original_recipe.py                                  # GPU: the original
    python benchmarks/original_recipe.py --cpu --split-json split.json --csv original.csv
    KERAS_BACKEND=jax python benchmarks/original_recipe.py --split-json split.json
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from brats_tutorial.backend import start_keras  # noqa: E402

keras = start_keras()

from brats_tutorial.constants import DEFAULT_MODALITIES  # noqa: E402
from brats_tutorial.data_sources import sample_dir  # noqa: E402
from brats_tutorial.device import gpu_info  # noqa: E402
from brats_tutorial.discovery import CaseFiles, find_cases  # noqa: E402
from brats_tutorial.evaluation import evaluate_case  # noqa: E402
from brats_tutorial.loading import Case, load_case  # noqa: E402
from brats_tutorial.model import PRESETS, UNetConfig, count_parameters  # noqa: E402
from brats_tutorial.original_recipe import (  # noqa: E402
    ORIGINAL_METRIC_NAMES,
    OriginalRecipeConfig,
    predict_original_recipe,
    train_original_recipe,
)
from brats_tutorial.splits import PatientSplit, load_split, split_patients  # noqa: E402

#: The ``--cpu`` shortcut: a few minutes for 14 training patients on a 2-core CPU.
CPU_SETTINGS: dict[str, object] = {
    "image_size": 64,
    "base_filters": 8,
    "depth": 3,
    "dropout": 0.5,
    "epochs": 15,
    "batch_size": 32,
}
#: The defaults: the original notebook's settings (a GPU's work).
GPU_SETTINGS: dict[str, object] = {
    "image_size": 128,
    "preset": "original",
    "epochs": 35,
    "batch_size": 100,
}
#: Columns of the printed per-patient table.
SHOWN_COLUMNS: tuple[str, ...] = (
    "predicted tumour voxels",
    "reference tumour voxels",
    "Dice (all classes, with background)",
    "Sensitivity (all classes)",
    "Specificity (all classes)",
    "Dice_WT",
    "Dice_TC",
    "Dice_ET",
)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("data_dir", nargs="?", type=Path, help="a BraTS folder (default: the real sample)")
    add("--split-json", type=Path, help="a saved patient split (train/validation/test)")
    add("--split-seed", type=int, default=0, help="seed of split_patients without --split-json")
    add(
        "--evaluate",
        choices=("validation", "test"),
        default="validation",
        help="which part to evaluate (default: validation; keep test for the final numbers)",
    )
    add("--cpu", action="store_true", help=f"small settings for a CPU: {CPU_SETTINGS}")
    add("--image-size", type=int, help="slice side in pixels (128)")
    add("--preset", choices=sorted(PRESETS), help="model preset ('original')")
    add("--base-filters", type=int, help="a U-Net without batch norm of this width, not a preset")
    add("--depth", type=int, help="poolings of that U-Net (with --base-filters; default 4)")
    add("--dropout", type=float, help="dropout of that U-Net (with --base-filters; default 0.5)")
    add("--epochs", type=int, help="epochs (35)")
    add("--batch-size", type=int, help="slices per step (100: one patient, as the original)")
    add("--learning-rate", type=float, default=1e-3, help="Adam's learning rate (1e-3)")
    add("--seed", type=int, default=0, help="seed of weights, dropout and shuffling")
    add("--max-train-cases", type=int, help="only the first N training cases (a smoke test)")
    add("--csv", type=Path, help="write the per-patient table here, details as # lines")
    add("--verbose", type=int, default=2, help="fit's verbosity (0, 1, 2)")
    arguments = parser.parse_args(argv)
    shortcut = dict(CPU_SETTINGS if arguments.cpu else GPU_SETTINGS)
    if arguments.preset is not None or arguments.base_filters is not None:
        # A network named on the command line replaces the shortcut's network entirely.
        for key in ("preset", "base_filters", "depth", "dropout"):
            shortcut.pop(key, None)
    for key, value in shortcut.items():
        if getattr(arguments, key) is None:
            setattr(arguments, key, value)
    if arguments.preset is not None and arguments.base_filters is not None:
        parser.error("give either --preset or --base-filters, not both")
    return arguments


def recipe_config(arguments: argparse.Namespace) -> OriginalRecipeConfig:
    """The :class:`OriginalRecipeConfig` the arguments ask for."""
    if arguments.base_filters is not None:
        model: str | UNetConfig = UNetConfig(
            base_filters=arguments.base_filters,
            depth=arguments.depth if arguments.depth is not None else 4,
            batch_norm=False,
            dropout=arguments.dropout if arguments.dropout is not None else 0.5,
        )
    else:
        model = arguments.preset or "original"
    return OriginalRecipeConfig(
        image_size=arguments.image_size,
        model=model,
        epochs=arguments.epochs,
        batch_size=arguments.batch_size,
        learning_rate=arguments.learning_rate,
        seed=arguments.seed,
    )


def git_commit() -> str:
    """``git rev-parse HEAD`` of the repository (with "+ uncommitted changes" when dirty)."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    return commit + (" + uncommitted changes" if dirty else "")


def machine_details() -> dict[str, str]:
    """Platform, CPU count, Keras backend and version, GPUs, date and commit."""
    gpus = gpu_info()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu count": str(os.cpu_count()),
        "keras": f"{keras.__version__}, backend {keras.config.backend()}",
        "gpus": ", ".join(gpu.name for gpu in gpus) if gpus else "none",
        "commit": git_commit(),
    }


def choose_split(arguments: argparse.Namespace, case_ids: list[str]) -> PatientSplit:
    """The saved split, or a new one from the seed; every case in it must be in the folder."""
    if arguments.split_json is not None:
        split = load_split(arguments.split_json)
    else:
        split = split_patients(case_ids, seed=arguments.split_seed)
    absent = sorted(set(split.all_case_ids) - set(case_ids))
    if absent:
        raise SystemExit(f"cases of the split are not in the data folder: {absent}")
    return split


class FitTimer(keras.callbacks.Callback):
    """Wall time of ``fit`` itself (first epoch's compilation included, data preparation not)."""

    def __init__(self) -> None:
        super().__init__()
        self.start = self.seconds = 0.0

    def on_train_begin(self, logs=None) -> None:
        self.start = time.perf_counter()

    def on_train_end(self, logs=None) -> None:
        self.seconds = time.perf_counter() - self.start


def load_cases(files_by_id: dict[str, CaseFiles], case_ids: Sequence[str]) -> list[Case]:
    """Load FLAIR, T1ce and the mask of each case."""
    return [load_case(files_by_id[case_id], DEFAULT_MODALITIES) for case_id in case_ids]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    arguments = parse_arguments(argv)
    data_dir = arguments.data_dir or sample_dir()
    if data_dir is None:
        raise SystemExit("no data folder: pass one, or set BRATS_SAMPLE_DIR to the real sample")
    config = recipe_config(arguments)
    files_by_id = {c.case_id: c for c in find_cases(data_dir) if c.has_mask}
    split = choose_split(arguments, sorted(files_by_id))
    train_ids = split.train[: arguments.max_train_cases or None]
    evaluated_ids = getattr(split, arguments.evaluate)

    details = machine_details()
    details.update(
        {
            "data": str(Path(data_dir).resolve()),
            "settings": str(config),
            "training cases": " ".join(train_ids),
            "validation cases": " ".join(split.validation),
            f"evaluated ({arguments.evaluate}) cases": " ".join(evaluated_ids),
        }
    )
    for key, value in details.items():
        print(f"{key}: {value}")

    start = time.perf_counter()
    training_cases = load_cases(files_by_id, train_ids)
    validation_cases = load_cases(files_by_id, split.validation)
    loading_seconds = time.perf_counter() - start
    start = time.perf_counter()
    timer = FitTimer()
    model, history = train_original_recipe(
        config, training_cases, validation_cases, verbose=arguments.verbose, callbacks=[timer]
    )
    training_seconds = time.perf_counter() - start
    del training_cases
    last = history.iloc[-1]
    details.update(
        {
            "parameters": str(count_parameters(model)),
            "loading seconds": f"{loading_seconds:.1f}",
            "training seconds": f"{training_seconds:.1f} in all: "
            f"{training_seconds - timer.seconds:.1f} preparing the slices, {timer.seconds:.1f} "
            f"in fit ({config.epochs} epochs with validation, compilation included)",
        }
    )
    for prefix, part in (("", "training"), ("val_", "validation")):
        values = ", ".join(
            f"{name.replace('original_', '')} {last[prefix + name]:.4f}"
            for name in ORIGINAL_METRIC_NAMES
            if prefix + name in last
        )
        loss = last[prefix + "loss"]
        details[f"last epoch, own metrics on {part}"] = f"loss {loss:.4f}, {values}"
    print(f"parameters: {details['parameters']}")
    print(f"loading seconds: {details['loading seconds']}")
    print(f"training seconds: {details['training seconds']}")
    for part in ("training", "validation"):
        print(f"last epoch, own metrics on {part}: {details[f'last epoch, own metrics on {part}']}")

    evaluated_cases = (
        validation_cases
        if arguments.evaluate == "validation"
        else load_cases(files_by_id, evaluated_ids)
    )
    start = time.perf_counter()
    rows = []
    for case in evaluated_cases:
        labels = predict_original_recipe(model, case, config.image_size)
        row = evaluate_case(labels, case.mask, case.spacing, case.case_id)
        row["predicted tumour voxels"] = int(np.count_nonzero(labels))
        row["reference tumour voxels"] = int(np.count_nonzero(case.mask))
        rows.append(row)
    table = pd.DataFrame.from_records(rows).set_index("Case")
    details["prediction and evaluation seconds"] = f"{time.perf_counter() - start:.1f}"
    print(f"prediction and evaluation seconds: {details['prediction and evaluation seconds']}")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"\nper patient ({arguments.evaluate}), predicted from the whole volume:")
        print(table[list(SHOWN_COLUMNS)].round(4).to_string())

    if arguments.csv is not None:
        arguments.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(arguments.csv, "w") as stream:
            for key, value in details.items():
                stream.write(f"# {key}: {value}\n")
            table.to_csv(stream)
        print(f"\nwritten: {arguments.csv}")
    return table


if __name__ == "__main__":
    main()
