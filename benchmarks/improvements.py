"""Measure what each improvement of the course's recipe is worth, on real patients, against
the noise of training again.

Each variant changes one thing of the baseline recipe (the ``cpu`` profile's recipe before any
step was adopted: FLAIR + T1ce, 64 x 64, quick U-Net, 20 epochs, left-right flips, softmax over
4 classes), trains on the training patients once per seed (``--seeds``, default 0 1 2), and is
scored per patient on the validation patients (where choices are made) and on the test patients
(reported, never consulted), in 3D, at the original 240 x 240 x 155 resolution: Dice and HD95 of
the whole tumour (WT), tumour core (TC) and enhancing tumour (ET). Test-time mirroring and
post-processing reuse the model of the same seed (the baseline's, or rich augmentation's); the
post-processing thresholds are chosen on the validation patients only.

The adoption rule (:mod:`brats_tutorial.effects`, fixed before the numbers): on the validation
patients, a variant's effect (the mean over seeds of its paired difference of mean Dice to the
baseline of the same seed) must exceed the noise (the baseline's own standard deviation over
seeds), averaged over the three regions, with no region worse by more than its noise.

The split is fixed (stated, not cross-validated: five folds would cost five times the CPU): the
``cpu`` profile's split of the data folder, seed 0, validation fraction 0.15 and test fraction
0.25, i.e. 14 / 4 / 6 patients of the 24-case BraTS 2018 sample.

Writes one CSV row per variant, seed, patient and region (``--csv``, default
``brats_tutorial/results/improvements.csv``, which the package ships for chapter 9) with the
commit, the date, the machine, the training wall and CPU seconds; prints per variant and seed the
mean Dice, then the summary with effects, noise and the rule's verdict. Run it from a committed
tree: the commit column says ``+dirty`` otherwise.

A run whose folder already holds a finished run is not trained again:
its model is reloaded and scored, so a call with more variants or seeds costs only the new
trainings (and an interrupted call resumes where it stopped).

Run from the repository root (about 5 minutes per trained variant and seed on a 2-core CPU,
measured 2026-11-30: 250 to 320 s of training CPU time at 64 x 64 and 20 epochs)::

    python benchmarks/improvements.py                          # the default variants, seeds 0 1 2
    python benchmarks/improvements.py --variants baseline mirror --seeds 0 1
    python benchmarks/improvements.py --data-dir /path/to/BraTS --csv my_results.csv
"""

from __future__ import annotations

import argparse
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
from brats_tutorial.effects import adoption, effects, seed_means  # noqa: E402
from brats_tutorial.evaluation import evaluate_case  # noqa: E402
from brats_tutorial.inference import (  # noqa: E402
    InferenceSettings,
    choose_inference_settings,
    predict_case,
)
from brats_tutorial.loading import load_case  # noqa: E402
from brats_tutorial.model import load_trained_model  # noqa: E402
from brats_tutorial.profiles import get_profile  # noqa: E402
from brats_tutorial.settings_key import settings_key  # noqa: E402
from brats_tutorial.training import TrainingConfig, train  # noqa: E402

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


#: What a plain call measures: the baseline, every single step and the two inference steps on
#: the rich-augmentation model (the recipe the cpu profile had adopted). The others (more epochs,
#: larger slices, all steps combined) stay available by name.
DEFAULT_VARIANTS: tuple[str, ...] = (
    "baseline",
    "mirror",
    "postprocess",
    "rich_augment",
    "rich_mirror",
    "four_modalities",
    "context_1",
    "regions",
)
#: Training seeds of a plain call: each trained variant is trained once per seed.
DEFAULT_SEEDS: tuple[int, ...] = (0, 1, 2)


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
    parser.add_argument(
        "--variants", nargs="+", choices=tuple(VARIANTS), default=list(DEFAULT_VARIANTS)
    )
    parser.add_argument("--csv", type=Path, default=Path("brats_tutorial/results/improvements.csv"))
    parser.add_argument("--work-dir", type=Path, default=None, help="runs and caches go here")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the patient split")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(DEFAULT_SEEDS),
        help="training seeds: every trained variant is trained once per seed (default: 0 1 2)",
    )
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
    models: dict[tuple[str, int], tuple] = {}
    rows: list[dict] = []
    split_path = work_dir / f"split_seed{args.split_seed}.json"
    for name in wanted:
        variant = VARIANTS[name]
        settings = profile.preprocessing_settings(**variant.preprocessing)
        info, split = course.split_and_cache(
            data_dir, cases, profile, split_path, settings, seed=args.split_seed, progress=False
        )
        for seed in args.seeds:
            rows += measure_variant(
                variant, seed, args, profile, settings, info, split, by_id, work_dir, models, stamp
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


def measure_variant(
    variant: Variant, seed, args, profile, settings, info, split, by_id, work_dir, models, stamp
) -> list[dict]:
    """Train (or reload) one variant with one seed, and score it on every validation and test
    patient: one row per patient and region."""
    wall = cpu = float("nan")
    if variant.model_of:
        model, wall, cpu = models[(variant.model_of, seed)]
        trained_here = False
    else:
        key = settings_key([settings.to_dict(), variant.training, seed, args.epochs])
        run = work_dir / "runs" / f"{variant.name}_seed{seed}_{key}"
        overrides = {"seed": seed, **variant.training}
        if args.epochs:
            overrides["epochs"] = args.epochs
        config = TrainingConfig.from_profile(profile, run, **overrides)
        trained_here = not config.is_finished()
        if trained_here:
            train(config, info.cache_dir, split, verbose=0)
        else:  # trained by an earlier call
            print(f"{variant.name} seed {seed}: reusing the finished run {run}")
        # train() records the time of a run trained in one call; a resumed run has none (NaN).
        timing = config.run_folder.load_timing() or {"wall_s": float("nan"), "cpu_s": float("nan")}
        wall, cpu = timing["wall_s"], timing["cpu_s"]
        model = load_trained_model(config.best_model_path)
        models[(variant.name, seed)] = (model, wall, cpu)
    inference = InferenceSettings(mirror=variant.mirror)
    if variant.postprocess:
        validation_cases = [by_id[case_id] for case_id in split.validation]
        inference, _ = choose_inference_settings(
            model, validation_cases, settings, mirror=variant.mirror
        )
    start = time.perf_counter()
    rows = []
    for part in ("validation", "test"):
        for case_id in getattr(split, part):
            case = load_case(by_id[case_id], settings.modalities, load_mask=True)
            labels = predict_case(model, case, settings, inference=inference)
            scores = evaluate_case(labels, case.mask, case.spacing, case_id)
            for region in REGIONS:
                rows.append(
                    {
                        "variant": variant.name,
                        "description": variant.description,
                        "seed": seed,
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
    table = pd.DataFrame(rows)
    means = table.groupby(["part", "region"])["dice"].mean().unstack()[list(REGIONS)]
    print(
        f"\n{variant.name} seed {seed}: {variant.description}\n  training {wall:.0f} s wall, "
        f"{cpu:.0f} s CPU; predicting and scoring {time.perf_counter() - start:.0f} s; "
        f"inference {inference.to_dict()}\n" + means.round(3).to_string()
    )
    return rows


def summary(results: pd.DataFrame, baseline: str = "baseline") -> pd.DataFrame:
    """Per variant, on the validation patients: mean Dice per region (mean over seeds), the
    effect against the baseline with its spread over seeds, the noise of a rerun, and the
    verdict of the adoption rule (:mod:`brats_tutorial.effects`); test means beside, reported
    only."""
    table = effects(results, baseline).reset_index()
    verdict = adoption(effects(results, baseline))
    test_means = seed_means(results, "test").groupby(level="variant").mean()
    lines = []
    for variant, rows in table.groupby("variant", sort=False):
        line = {"variant": variant, "seeds": int(rows["seeds"].min())}
        for _, row in rows.iterrows():
            region = row["region"]
            line[f"val_{region}"] = round(row["variant_dice"], 3)
            line[f"effect_{region}"] = f"{row['effect']:+.3f} (sd {row['effect_sd']:.3f})"
            line[f"noise_{region}"] = round(row["noise"], 3)
            line[f"test_{region}"] = round(test_means.loc[variant, region], 3)
        line["adopted"] = bool(verdict.loc[variant, "adopted"])
        line["reason"] = verdict.loc[variant, "reason"]
        lines.append(line)
    return pd.DataFrame(lines)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
