"""Measure what each improvement of the course's recipe is worth, on real patients.

Each variant changes one thing of the ``cpu`` profile's recipe (the book's real-data model:
FLAIR + T1ce, 64 x 64, quick U-Net, 20 epochs, left-right flips, softmax over 4 classes), trains
on the training patients, and is scored per patient on the validation patients (where choices
are made) and on the test patients (reported, never tuned on), in 3D, at the original
240 x 240 x 155 resolution: Dice and HD95 of the whole tumour (WT), tumour core (TC) and
enhancing tumour (ET). Test-time mirroring and post-processing reuse the baseline's model; the
post-processing thresholds are chosen on the validation patients only.

The split is fixed (stated, not cross-validated: five folds would cost five times the CPU): the
``cpu`` profile's split of the data folder, seed 0, validation fraction 0.15 and test fraction
0.25, i.e. 14 / 4 / 6 patients of the 24-case BraTS 2018 sample.

Writes one CSV row per variant, patient and region (``--csv``, default
``brats_tutorial/results/improvements.csv``, which the package ships for chapter 9) with the
commit, the date, the machine, the training wall and CPU seconds, and prints per variant the
mean Dice and HD95 on the validation and test patients and the paired difference to the baseline per patient (mean, smallest and largest).

A variant whose run folder already holds a finished run (with its ``timing.json``) is not
trained again: its model is reloaded and scored, so a second call with more variants costs only
the new trainings. On the model of a finished run the predictions and scores are deterministic:
scoring the same runs again gave identical numbers (measured: largest difference 0.0).

Measured on the 24-case sample, 2-core CPU, TensorFlow backend, 2026-11-30: 250 to 320 s of
training CPU time per variant at 64 x 64 and 20 epochs (the same recipe varied by 20 % between
two runs), about twice that for 40 epochs or 96 x 96, and 25 to 55 s to predict and score the 10
patients. ``size_128`` (about 4 times the baseline's time) was not run.

Run from the repository root (about 5 minutes per trained variant on a 2-core CPU)::

    python benchmarks/improvements.py                       # every variant, the course's sample
    python benchmarks/improvements.py --variants baseline regions mirror
    python benchmarks/improvements.py --data-dir /path/to/BraTS --csv my_results.csv
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from brats_tutorial.backend import start_keras

keras = start_keras()

from brats_tutorial import course  # noqa: E402
from brats_tutorial.constants import DEFAULT_MODALITIES  # noqa: E402
from brats_tutorial.data_sources import default_work_dir, sample_dir  # noqa: E402
from brats_tutorial.discovery import find_cases  # noqa: E402
from brats_tutorial.evaluation import evaluate_case  # noqa: E402
from brats_tutorial.inference import (  # noqa: E402
    InferenceSettings,
    choose_inference_settings,
    predict_case,
)
from brats_tutorial.loading import load_case  # noqa: E402
from brats_tutorial.profiles import get_profile  # noqa: E402
from brats_tutorial.run_folder import settings_key  # noqa: E402
from brats_tutorial.training import TrainingConfig, load_trained_model, train  # noqa: E402

REGIONS = ("WT", "TC", "ET")


@dataclass(frozen=True)
class Variant:
    """One row of the comparison.

    Attributes:
        name: short name.
        description: what changes against the baseline.
        preprocessing: overrides of the profile's preprocessing settings.
        training: overrides of the profile's training configuration.
        mirror: test-time mirroring.
        postprocess: post-processing thresholds chosen on the validation patients.
        model_of: reuse the trained model of this variant (no training).
    """

    name: str
    description: str
    preprocessing: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    mirror: bool = False
    postprocess: bool = False
    model_of: str | None = None


ALL_MODALITIES = ("flair", "t1", "t1ce", "t2")
VARIANTS: dict[str, Variant] = {
    variant.name: variant
    for variant in (
        Variant(
            "baseline", "cpu profile: FLAIR + T1ce, 64 x 64, 20 epochs, flips, 4-class softmax"
        ),
        Variant("four_modalities", "all four modalities", {"modalities": ALL_MODALITIES}),
        Variant(
            "context_1", "2.5D: one neighbouring slice on each side", training={"context_slices": 1}
        ),
        Variant(
            "rich_augment", "flips, rotation, scaling, intensity", training={"augment": "rich"}
        ),
        Variant(
            "regions",
            "region-based: sigmoid WT, TC, ET, Dice + BCE",
            training={"target": "regions"},
        ),
        Variant(
            "mirror", "test-time mirroring (baseline's model)", mirror=True, model_of="baseline"
        ),
        Variant(
            "postprocess",
            "post-processing chosen on validation (baseline's model)",
            postprocess=True,
            model_of="baseline",
        ),
        Variant(
            "seed_1",
            "the baseline trained again with another seed: how much a rerun alone changes",
            training={"seed": 1},
        ),
        Variant("epochs_40", "40 epochs instead of 20", training={"epochs": 40}),
        Variant(
            "rich_mirror_post",
            "rich augmentation + mirroring + post-processing (rich_augment's model)",
            mirror=True,
            postprocess=True,
            model_of="rich_augment",
        ),
        Variant(
            "rich_mirror",
            "rich augmentation + mirroring (rich_augment's model): the adopted recipe",
            mirror=True,
            model_of="rich_augment",
        ),
        Variant(
            "rich_30",
            "rich augmentation, 30 epochs",
            training={"augment": "rich", "epochs": 30},
        ),
        Variant("size_96", "96 x 96 instead of 64 x 64", {"image_size": 96}),
        Variant("size_128", "128 x 128 instead of 64 x 64", {"image_size": 128}),
        Variant(
            "combined",
            "four modalities + 2.5D (1) + regions + mirroring + post-processing",
            {"modalities": ALL_MODALITIES},
            {"context_slices": 1, "target": "regions"},
            mirror=True,
            postprocess=True,
        ),
    )
}


def commit() -> str:
    try:
        text = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], capture_output=True, text=True
        ).stdout
        return text + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    from brats_tutorial.device import gpu_info

    gpus = gpu_info()
    accelerator = ", ".join(gpu.name for gpu in gpus) if gpus else "no GPU"
    return (
        f"{platform.machine()} {os.cpu_count()} CPU cores, {accelerator}, "
        f"Python {platform.python_version()}, Keras {keras.__version__} ({keras.backend.backend()})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="default: the course's sample")
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--csv", type=Path, default=Path("brats_tutorial/results/improvements.csv"))
    parser.add_argument("--work-dir", type=Path, default=None, help="runs and caches go here")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the training")
    parser.add_argument(
        "--epochs", type=int, default=None, help="override every variant's epochs (a quick check)"
    )
    args = parser.parse_args(argv)

    data_dir = args.data_dir or sample_dir()
    if data_dir is None:
        print(
            "no data: pass --data-dir or put the sample in ../shared/brats18_sample",
            file=sys.stderr,
        )
        return 2
    # The baseline is the cpu profile's recipe before this benchmark (flips only, softmax, FLAIR
    # and T1ce, plain prediction), written out so that adopting a step into the profile does
    # not change what the variants are compared with.
    profile = replace(
        get_profile("cpu"),
        modalities=DEFAULT_MODALITIES,
        context_slices=0,
        target="classes",
        augment="flip",
        mirror=False,
        tune_postprocessing=False,
    )
    work_dir = args.work_dir or default_work_dir() / "improvements"
    cases = find_cases(data_dir)
    by_id = {case.case_id: case for case in cases}
    stamp = {
        "commit": commit(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
    }
    print(f"{stamp['date']}  commit {stamp['commit']}  {stamp['machine']}")

    wanted = list(args.variants)
    for variant_name in list(wanted):  # a reused model must be trained too
        base = VARIANTS[variant_name].model_of
        if base and base not in wanted:
            wanted.insert(0, base)
    models: dict[str, tuple] = {}
    rows: list[dict] = []
    for name in wanted:
        variant = VARIANTS[name]
        settings = profile.preprocessing_settings(**variant.preprocessing)
        split_path = work_dir / f"split_seed{args.seed}.json"
        info, split = course.split_and_cache(
            data_dir, cases, profile, split_path, settings, seed=args.seed, progress=False
        )
        wall = cpu = float("nan")
        if variant.model_of:
            model, wall, cpu = models[variant.model_of]
            trained_here = False
        else:
            key = settings_key([settings.to_dict(), variant.training, args.seed, args.epochs])
            run = work_dir / "runs" / f"{name}_{key}"
            overrides = dict(variant.training)
            if args.epochs:
                overrides["epochs"] = args.epochs
            config = TrainingConfig.from_profile(profile, run, **{"seed": args.seed, **overrides})
            timing_path = run / "timing.json"
            if config.is_finished() and timing_path.exists():  # trained by an earlier call
                timing = json.loads(timing_path.read_text())
                wall, cpu, trained_here = timing["wall_s"], timing["cpu_s"], False
                print(f"{name}: reusing the finished run {run}")
            else:
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                train(config, info.cache_dir, split, verbose=0)
                wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
                timing_path.write_text(json.dumps({"wall_s": wall, "cpu_s": cpu}))
                trained_here = True
            model = load_trained_model(config.best_model_path)
            models[name] = (model, wall, cpu)
        inference = InferenceSettings(mirror=variant.mirror)
        if variant.postprocess:
            validation_cases = [by_id[case_id] for case_id in split.validation]
            inference, _ = choose_inference_settings(
                model, validation_cases, settings, mirror=variant.mirror
            )
        start = time.perf_counter()
        for part in ("validation", "test"):
            for case_id in getattr(split, part):
                case = load_case(by_id[case_id], settings.modalities, load_mask=True)
                labels = predict_case(model, case, settings, inference=inference)
                scores = evaluate_case(labels, case.mask, case.spacing, case_id)
                for region in REGIONS:
                    rows.append(
                        {
                            "variant": name,
                            "description": variant.description,
                            "part": part,
                            "case_id": case_id,
                            "region": region,
                            "dice": scores[f"Dice_{region}"],
                            "hd95_mm": scores[f"HD95_{region}"],
                            "train_wall_s": round(wall, 1),
                            "train_cpu_s": round(cpu, 1),
                            "trained_here": trained_here,
                            "inference": str(inference.to_dict()),
                            **stamp,
                        }
                    )
        predict_seconds = time.perf_counter() - start
        table = pd.DataFrame([r for r in rows if r["variant"] == name])
        means = table.groupby(["part", "region"])["dice"].mean().unstack()[list(REGIONS)]
        print(
            f"\n{name}: {variant.description}\n  training {wall:.0f} s wall, {cpu:.0f} s CPU; "
            f"predicting and scoring {predict_seconds:.0f} s; inference {inference.to_dict()}\n"
            + means.round(3).to_string()
        )
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(args.csv.with_suffix(".partial.csv"), index=False)

    results = pd.DataFrame(rows)
    temporary = args.csv.with_suffix(".tmp")
    results.to_csv(temporary, index=False)
    temporary.replace(args.csv)
    args.csv.with_suffix(".partial.csv").unlink(missing_ok=True)
    print(f"\nper-patient results: {args.csv}")
    print(summary(results).to_string())
    return 0


def summary(results: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """Per variant and part: mean Dice and HD95 per region, and the paired Dice difference to
    the baseline (mean [min, max] over the patients)."""
    lines = []
    for (variant, part), table in results.groupby(["variant", "part"], sort=False):
        line = {"variant": variant, "part": part, "patients": table["case_id"].nunique()}
        for region in REGIONS:
            rows = table[table["region"] == region].set_index("case_id")
            line[f"Dice_{region}"] = round(rows["dice"].mean(), 3)
            line[f"HD95_{region}"] = round(rows["hd95_mm"].mean(), 1)
            base = results[
                (results["variant"] == baseline)
                & (results["part"] == part)
                & (results["region"] == region)
            ].set_index("case_id")["dice"]
            if variant != baseline and len(base):
                difference = (rows["dice"] - base).dropna()
                line[f"diff_{region}"] = (
                    f"{difference.mean():+.3f} [{difference.min():+.3f}, {difference.max():+.3f}]"
                )
        line["train_wall_s"] = table["train_wall_s"].iloc[0]
        lines.append(line)
    return pd.DataFrame(lines)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
