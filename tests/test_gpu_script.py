"""benchmarks/gpu_full_profile.py, the script for the first GPU machine, checked on the CPU.

Its ``--dry-run`` runs the same code with tiny settings under the JAX backend; the CSV must hold
every number the book's full-profile estimates need, with its provenance.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
SCRIPT = REPOSITORY / "benchmarks" / "gpu_full_profile.py"
PRESETS = ("quick", "full", "original")
#: What the book's full-profile estimates need from a GPU run.
EXPECTED_ROWS = (
    "full_profile_training_slices_per_second",
    "full_profile_validation_slices_per_second",
    "full_profile_first_epoch_seconds",
    "full_profile_epoch_seconds_sample",
    "full_profile_peak_accelerator_memory",
    "full_profile_last_val_loss",
    "full_preset_forward_gflops_per_slice",
    "full_profile_achieved_tflops",
    *(f"preset_{name}_parameters" for name in PRESETS),
    *(f"preset_{name}_slices_per_second" for name in PRESETS),
    *(f"preset_{name}_peak_accelerator_memory" for name in PRESETS),
    "brats2020_training_slices_per_epoch",
    "brats2020_validation_slices_per_epoch",
    "brats2020_epoch_seconds",
    "brats2020_run_minutes",
)
#: Rows that may be empty: JAX gives no memory statistics on the CPU.
MAY_BE_EMPTY = {name for name in EXPECTED_ROWS if name.endswith("_peak_accelerator_memory")}


def _environment(tmp_path: Path, backend: str) -> dict[str, str]:
    environment = {**os.environ, "KERAS_BACKEND": backend}
    environment["BRATS_WORK_DIR"] = str(tmp_path / "work")
    environment.pop("BRATS_DATA_DIR", None)
    environment.pop("JAX_PLATFORMS", None)
    return environment


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """Run the script once with --dry-run under JAX: (completed process, CSV rows by name)."""
    folder = tmp_path_factory.mktemp("gpu_script")
    csv_path = folder / "gpu_full_profile.csv"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--csv", str(csv_path)],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env=_environment(folder, "jax"),
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with open(csv_path, newline="") as file:
        rows = list(csv.DictReader(file))
    return completed, rows


@pytest.mark.slow
def test_dry_run_writes_every_expected_row_once_with_its_provenance(dry_run):
    completed, rows = dry_run
    names = [row["name"] for row in rows]
    assert sorted(names) == sorted(EXPECTED_ROWS)
    for row in rows:
        assert row["kind"] in ("measured", "estimate"), row
        assert row["note"], row
        assert row["dry_run"] == "True"
        assert row["precision"] == "float32"  # what choose_precision picks on a CPU
        assert row["device"].startswith("cpu"), row["device"]
        for column in ("commit", "describe", "date", "software", "data"):
            assert row[column], (column, row)
        if row["value"] == "":
            assert row["name"] in MAY_BE_EMPTY, row
        else:
            value = float(row["value"])
            assert math.isfinite(value) and value > 0, row
    assert "synthetic data" in rows[0]["data"]  # a dry run never reads real data
    assert "DRY RUN" in completed.stdout


@pytest.mark.slow
def test_dry_run_numbers_agree_with_the_package(dry_run):
    """Parameter counts are those of the presets; the BraTS 2020 epoch is the full profile's."""
    from brats_tutorial.model import PRESETS as PRESET_CONFIGS
    from brats_tutorial.model import build_model, count_parameters
    from brats_tutorial.profiles import get_profile
    from brats_tutorial.splits import split_patients

    _, rows = dry_run
    values = {row["name"]: row["value"] for row in rows}
    for name in PRESETS:
        model = build_model(PRESET_CONFIGS[name], input_shape=(32, 32, 2), num_classes=4)
        assert int(float(values[f"preset_{name}_parameters"])) == count_parameters(model)

    full = get_profile("full")
    split = split_patients(
        [f"BraTS20_Training_{number:03d}" for number in range(1, 370)],
        full.validation_fraction,
        full.test_fraction,
    )
    slices = full.preprocessing_settings().slice_count
    assert int(float(values["brats2020_training_slices_per_epoch"])) == len(split.train) * slices
    assert (
        int(float(values["brats2020_validation_slices_per_epoch"]))
        == len(split.validation) * slices
    )
    epoch = len(split.train) * slices / float(
        values["full_profile_training_slices_per_second"]
    ) + len(split.validation) * slices / float(values["full_profile_validation_slices_per_second"])
    assert float(values["brats2020_epoch_seconds"]) == pytest.approx(epoch, rel=1e-6)
    assert float(values["brats2020_run_minutes"]) >= full.epochs * epoch / 60 * (1 - 1e-6)


def test_another_backend_is_refused(tmp_path):
    """The script measures JAX; KERAS_BACKEND=tensorflow stops it with a message."""
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--dry-run", "--csv", str(tmp_path / "out.csv")],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env=_environment(tmp_path, "tensorflow"),
        timeout=120,
    )
    assert completed.returncode != 0
    assert "KERAS_BACKEND" in completed.stderr and "jax" in completed.stderr
    assert not (tmp_path / "out.csv").exists()
