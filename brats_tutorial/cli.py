"""The ``brats-tutorial`` command line (also ``python -m brats_tutorial``).

Subcommands cover the whole path, each with ``--help``::

    brats-tutorial synthetic OUT_DIR --cases 12          # make a synthetic BraTS-like data set
    brats-tutorial check DATA_DIR                        # validate a data set, print the report
    brats-tutorial cache DATA_DIR                        # build the preprocessed slice cache
    brats-tutorial train DATA_DIR RUN_DIR --profile quick  # split by patient, cache, train
    brats-tutorial predict RUN_DIR DATA_DIR PRED_DIR     # whole-case predictions as NIfTI
    brats-tutorial evaluate PRED_DIR DATA_DIR            # per-patient 3D metrics + summary CSV
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .constants import DEFAULT_MODALITIES, IMAGE_SIZE, MODALITIES, SLICE_COUNT, SLICE_START
from .errors import BratsDataError
from .profiles import PROFILES

SPLIT_FILE = "split.json"
SETTINGS_FILE = "preprocessing.json"


def _settings_from_args(args: argparse.Namespace):
    from .preprocessing import PreprocessingSettings
    from .profiles import get_profile

    image_size = args.image_size or get_profile(getattr(args, "profile", None)).image_size
    return PreprocessingSettings(
        slice_start=args.slice_start,
        slice_count=args.slice_count,
        modalities=tuple(args.modalities),
        normalisation=args.normalisation,
        image_size=image_size,
    )


def _add_preprocessing_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("preprocessing")
    group.add_argument("--slice-start", type=int, default=SLICE_START, help="first axial slice (default %(default)s)")
    group.add_argument("--slice-count", type=int, default=SLICE_COUNT, help="number of axial slices (default %(default)s)")
    group.add_argument("--modalities", nargs="+", choices=MODALITIES, default=list(DEFAULT_MODALITIES), help="input channels (default: %(default)s)")
    group.add_argument("--normalisation", choices=("zscore", "max"), default="zscore", help="intensity normalisation (default %(default)s)")
    group.add_argument("--image-size", type=int, default=None, help=f"in-plane size after resizing (default: the profile's; {IMAGE_SIZE} in the full profile)")


def _command_synthetic(args: argparse.Namespace) -> int:
    from .synthetic import generate_dataset

    paths = generate_dataset(args.output_dir, n_cases=args.cases, seed=args.seed, compressed=args.compressed, progress=True)
    print(f"{len(paths)} synthetic cases in {args.output_dir}")
    return 0


def _command_check(args: argparse.Namespace) -> int:
    from .validation import check_command

    return check_command(args.data_dir)


def _command_cache(args: argparse.Namespace) -> int:
    from .cache import build_cache

    info = build_cache(args.data_dir, args.cache_dir, _settings_from_args(args), progress=True)
    print(f"cache: {info.cache_dir} ({len(info.case_ids)} cases; built {len(info.built)}, up to date {len(info.up_to_date)}, skipped {len(info.skipped)})")
    return 0


def _command_train(args: argparse.Namespace) -> int:
    from .atomic import save_json_atomic
    from .cache import build_cache
    from .discovery import find_cases
    from .profiles import get_profile
    from .splits import load_or_make_split
    from .training import TrainingConfig, train

    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    profile = get_profile(args.profile)
    settings = _settings_from_args(args)
    split_path = run_dir / SPLIT_FILE
    case_ids = [c.case_id for c in find_cases(args.data_dir) if c.has_mask]
    if profile.max_cases is not None:
        case_ids = case_ids[: profile.max_cases]
    split = load_or_make_split(
        split_path,
        case_ids,
        seed=args.seed,
        validation_fraction=profile.validation_fraction,
        test_fraction=profile.test_fraction,
    )
    print(f"patients: {len(split.train)} train, {len(split.validation)} validation, {len(split.test)} test ({split_path})")
    info = build_cache(args.data_dir, args.cache_dir, settings, case_ids=split.train + split.validation + split.test, progress=True)
    save_json_atomic(run_dir / SETTINGS_FILE, settings.to_dict())
    overrides = {k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size, "model_preset": args.preset, "seed": args.seed, "backup_dir": args.backup_dir}.items() if v is not None}
    config = TrainingConfig.from_profile(profile, run_dir, **overrides)
    result = train(config, info.cache_dir, split, verbose=2)
    print(f"trained {result.epochs_completed} epochs ({'resumed' if result.resumed else 'fresh start'}, {result.precision}); best model: {config.best_model_path}")
    return 0


def _command_predict(args: argparse.Namespace) -> int:
    from .inference import predict_folder
    from .splits import load_split
    from .training import load_trained_model

    run_dir = Path(args.run_dir)
    model_path = run_dir / args.model
    settings_path = run_dir / SETTINGS_FILE
    for needed in (model_path, settings_path):
        if not needed.exists():
            raise BratsDataError(needed, "not found: is this the folder `brats-tutorial train` wrote?")
    from .preprocessing import PreprocessingSettings

    settings = PreprocessingSettings.from_dict(json.loads(settings_path.read_text()))
    case_ids = None
    if args.split != "all":
        case_ids = getattr(load_split(run_dir / SPLIT_FILE), args.split)
    model = load_trained_model(model_path)
    report = predict_folder(model, args.data_dir, args.output_dir, settings, case_ids=case_ids)
    print(report.format())
    return 1 if report.failed else 0


def _command_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_folder, save_scores_csv, scores_table

    case_ids = None
    if args.run_dir is not None:
        from .splits import load_split

        case_ids = list(getattr(load_split(Path(args.run_dir) / SPLIT_FILE), args.split))
    per_case = evaluate_folder(args.predictions_dir, args.data_dir, case_ids=case_ids, missing=args.missing)
    csv_path = Path(args.csv) if args.csv else Path(args.predictions_dir).parent / "scores.csv"
    save_scores_csv(per_case, csv_path)
    print(scores_table(per_case).to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"per-case scores and summary: {csv_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="brats-tutorial", description="Brain-tumour segmentation on BraTS with a 2D U-Net: data, training, prediction, evaluation.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    synthetic = commands.add_parser("synthetic", help="make a synthetic BraTS-like data set", description="Write synthetic cases in the BraTS 2020 layout (240x240x155, int16 images, uint8 labels {0,1,2,4}).")
    synthetic.add_argument("output_dir", type=Path)
    synthetic.add_argument("--cases", type=int, default=12, help="number of cases (default %(default)s)")
    synthetic.add_argument("--seed", type=int, default=0)
    synthetic.add_argument("--compressed", action="store_true", help="write .nii.gz instead of .nii")
    synthetic.set_defaults(handler=_command_synthetic)

    check = commands.add_parser("check", help="validate a BraTS data set and print the report", description="Check every case: modalities present, shapes and affines agree, finite values, non-empty brain, valid labels, mask present. Exit status 1 if a case fails.")
    check.add_argument("data_dir", type=Path)
    check.set_defaults(handler=_command_check)

    cache = commands.add_parser("cache", help="build the preprocessed slice cache", description="Preprocess every case with a mask into a cache of float16 slices and uint8 classes (never inside the data folder).")
    cache.add_argument("data_dir", type=Path)
    cache.add_argument("--cache-dir", type=Path, default=None, help="default: beside the data folder")
    _add_preprocessing_arguments(cache)
    cache.set_defaults(handler=_command_cache)

    train = commands.add_parser("train", help="split by patient, build the cache and train a U-Net", description="Train on the training patients of a patient-level split saved in RUN_DIR/split.json. Re-running with the same RUN_DIR resumes an interrupted run.")
    train.add_argument("data_dir", type=Path)
    train.add_argument("run_dir", type=Path, help="where the split, logs and models go")
    train.add_argument("--profile", choices=tuple(PROFILES), default=None, help="quick: synthetic-sized, a few epochs; cpu: real data on a CPU in a few minutes (the book's model); full: real data on a GPU (default: $BRATS_PROFILE or quick)")
    train.add_argument("--preset", choices=("quick", "full", "original"), default=None, help="model preset (default: the profile's)")
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--cache-dir", type=Path, default=None)
    train.add_argument("--backup-dir", type=Path, default=None, help="resume state (e.g. on Google Drive); default RUN_DIR/backup")
    _add_preprocessing_arguments(train)
    train.set_defaults(handler=_command_train)

    predict = commands.add_parser("predict", help="predict whole cases and write <CASE>.nii.gz", description="Predict every slice of each case with a model from RUN_DIR and write BraTS submission files.")
    predict.add_argument("run_dir", type=Path)
    predict.add_argument("data_dir", type=Path)
    predict.add_argument("output_dir", type=Path)
    predict.add_argument("--model", default="best.keras", help="model file in RUN_DIR (default %(default)s)")
    predict.add_argument("--split", choices=("all", "train", "validation", "test"), default="test", help="which patients of RUN_DIR/split.json (default %(default)s; 'all' for every case)")
    predict.set_defaults(handler=_command_predict)

    evaluate = commands.add_parser("evaluate", help="per-patient 3D metrics and BraTS-style summary", description="Dice, sensitivity, specificity and HD95 for WT, TC, ET per patient; summary rows as in the BraTS ranking sheet.")
    evaluate.add_argument("predictions_dir", type=Path)
    evaluate.add_argument("data_dir", type=Path)
    evaluate.add_argument("--run-dir", type=Path, default=None, help="score exactly the patients of RUN_DIR/split.json's --split (a missing prediction then counts, see --missing)")
    evaluate.add_argument("--split", choices=("train", "validation", "test"), default="test", help="with --run-dir: which patients (default %(default)s)")
    evaluate.add_argument("--missing", choices=("error", "empty"), default="error", help="with --run-dir: a missing prediction is an error, or scored as all background as BraTS does (default %(default)s)")
    evaluate.add_argument("--csv", default=None, help="output CSV (default: scores.csv beside PREDICTIONS_DIR)")
    evaluate.set_defaults(handler=_command_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BratsDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        parser.error(str(error))
    return 2


if __name__ == "__main__":
    sys.exit(main())
