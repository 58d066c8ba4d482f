"""What keeping the data and the slice cache on Drive costs: sizes and times of
``brats-tutorial store save`` and ``store restore`` (:mod:`brats_tutorial.runtime_store`).

Run from the repository root::

    python benchmarks/bench_runtime_store.py [--work-dir /tmp/brats_store_bench]

It decompresses the 24 real BraTS 2018 cases of the course's sample (``../shared/brats18_sample``)
to plain ``.nii`` files, as the Kaggle copy of BraTS 2020 stores them, builds their slice cache in
the full profile's settings (128 x 128, FLAIR and T1ce, 100 slices), then saves a store in a folder
of the local disk (standing in for Google Drive, whose speed is not measured here) and restores
it after deleting the data and the cache. It prints, and writes to
``brats_tutorial/results/runtime_store.csv``, the sizes of the data folder, its cache and both
archives, the times of save and restore, and the same sizes scaled to BraTS 2020's 369 training
cases (an estimate: the sizes of 24 BraTS 2018 cases, times 369 / 24).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from brats_tutorial.cache import build_cache  # noqa: E402
from brats_tutorial.data_sources import sample_dir  # noqa: E402
from brats_tutorial.profiles import get_profile  # noqa: E402
from brats_tutorial.runtime_store import (  # noqa: E402
    CACHE_ARCHIVE,
    DATA_ARCHIVE,
    cache_root,
    restore_store,
    save_store,
)

BRATS_2020_CASES = 369
OUTPUT = ROOT / "brats_tutorial" / "results" / "runtime_store.csv"


def folder_bytes(folder: Path) -> int:
    """Apparent size of every file below ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def decompress_sample(sample: Path, data_dir: Path) -> int:
    """Write every case of the sample as plain .nii files; returns the number of cases."""
    cases = sorted(p for p in sample.iterdir() if p.is_dir())
    for case in cases:
        (data_dir / case.name).mkdir(parents=True)
        for source in sorted(case.glob("*.nii.gz")):
            with (
                gzip.open(source) as packed,
                open(data_dir / case.name / source.name[:-3], "wb") as out,
            ):
                shutil.copyfileobj(packed, out)
    return len(cases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/brats_store_bench"))
    args = parser.parse_args()
    sample = sample_dir()
    if sample is None:
        print("the real BraTS sample (../shared/brats18_sample) is not here: nothing to measure")
        return 2
    if args.work_dir.exists():
        shutil.rmtree(args.work_dir)
    data_dir = args.work_dir / "runtime" / "MICCAI_BraTS2020_TrainingData"
    store_dir = args.work_dir / "drive" / "brats_store"
    load_start = os.getloadavg()
    cases = decompress_sample(sample, data_dir)
    settings = get_profile("full").preprocessing_settings()
    build_cache(data_dir, None, settings, progress=False)
    data_bytes, cache_bytes = folder_bytes(data_dir), folder_bytes(cache_root(data_dir))

    start = time.perf_counter()
    save_report = save_store(data_dir, store_dir)
    save_seconds = time.perf_counter() - start
    shutil.rmtree(data_dir)
    shutil.rmtree(cache_root(data_dir))
    start = time.perf_counter()
    restore_report = restore_store(store_dir)
    restore_seconds = time.perf_counter() - start
    again = build_cache(data_dir, None, settings, progress=False)
    assert not again.built, f"the restored cache rebuilt {again.built}"

    scale = BRATS_2020_CASES / cases
    rows = [
        ("data_folder_bytes", data_bytes, "bytes", "measured", f"{cases} cases, plain .nii"),
        ("cache_bytes", cache_bytes, "bytes", "measured", "full profile's settings"),
        (
            "data_archive_bytes",
            save_report.archive_bytes[DATA_ARCHIVE],
            "bytes",
            "measured",
            DATA_ARCHIVE,
        ),
        (
            "cache_archive_bytes",
            save_report.archive_bytes[CACHE_ARCHIVE],
            "bytes",
            "measured",
            CACHE_ARCHIVE,
        ),
        ("save_seconds", save_seconds, "s", "measured", "store save, local disk"),
        ("restore_seconds", restore_seconds, "s", "measured", "store restore, local disk"),
    ]
    for name, value, unit, _, note in list(rows):
        rows.append(
            (
                f"{name}_brats2020",
                value * scale,
                unit,
                "estimate",
                f"{note}; x {BRATS_2020_CASES}/{cases}",
            )
        )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    describe = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    provenance = {
        "commit": commit,
        "describe": describe,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_start": " ".join(f"{v:.2f}" for v in load_start),
        "cases": f"the {cases} cases of the BraTS 2018 sample, decompressed to plain .nii",
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUTPUT, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "value", "unit", "kind", "note", *provenance])
        for row in rows:
            writer.writerow([*row, *provenance.values()])
    for name, value, unit, kind, note in rows:
        shown = f"{value / 1e9:.2f} GB" if unit == "bytes" else f"{value:.1f} s"
        print(f"{name:32s} {shown:>10s}  {kind:9s} {note}")
    print("\n".join(restore_report.lines()))
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
