"""The ``brats-tutorial`` command line (also ``python -m brats_tutorial``).

Subcommands cover the whole path, each with ``--help``::

    brats-tutorial download --zip PATH --dest DIR        # get BraTS 2020 (Kaggle, or a zip)
    brats-tutorial synthetic OUT_DIR --cases 12          # make a synthetic BraTS-like data set
    brats-tutorial check DATA_DIR                        # validate a data set, print the report
    brats-tutorial cache DATA_DIR                        # build the preprocessed slice cache
    brats-tutorial train DATA_DIR RUN_DIR --profile quick  # split by patient, cache, train
    brats-tutorial predict RUN_DIR DATA_DIR PRED_DIR     # whole-case predictions as NIfTI
    brats-tutorial evaluate PRED_DIR DATA_DIR            # per-patient 3D metrics + summary CSV
    brats-tutorial store save DATA_DIR STORE_DIR         # keep data + slice cache on Drive
    brats-tutorial store restore STORE_DIR               # ... and restore them on a new runtime

The scripts in ``data_scripts/`` (``download_brats.py``, ``make_synthetic.py``,
``check_dataset.py``, ``build_cache.py``) are the ``download``, ``synthetic``, ``check`` and
``cache`` subcommands under another name: same options, defaults and exit status.

Exit status:

- 0: done (and, for ``check`` and ``download``, every case passed the check);
- 1: a case failed (``check``, ``download``'s check, ``predict``);
- 2: bad arguments (argparse prints the usage) or unusable input data: a
  :class:`~brats_tutorial.errors.BratsDataError` or a failed download, printed as ``error: ...``
  without a traceback.

Any other exception is a bug, not bad input, and propagates with its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .augmentation import AUGMENTATIONS
from .constants import (
    DATA_DIR_ENV,
    DEFAULT_MODALITIES,
    IMAGE_SIZE,
    KAGGLE_DATASET_URL,
    MASK_INTERPOLATIONS,
    MODALITIES,
    NORMALISATIONS,
    PROFILE_ENV,
    RUN_SPLIT_FILE,
    SLICE_COUNT,
    SLICE_START,
    SYNTHETIC_CASES,
    TARGETS,
)
from .errors import BratsDataError
from .profiles import PROFILES, Profile, get_profile


def _integer_at_least(minimum: int):
    """An argparse ``type``: an integer >= ``minimum``, else a usage error naming the bound."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


_POSITIVE = _integer_at_least(1)
_NON_NEGATIVE = _integer_at_least(0)


def _profile_from_args(args: argparse.Namespace) -> Profile:
    """``--profile`` (checked by argparse), else ``$BRATS_PROFILE``, else quick; a bad
    ``$BRATS_PROFILE`` is a usage error."""
    try:
        return get_profile(getattr(args, "profile", None))
    except ValueError as error:  # only the environment variable can name an unknown profile
        args.command_parser.error(f"${PROFILE_ENV}: {error}")


def _settings_from_args(args: argparse.Namespace):
    from .preprocessing import PreprocessingSettings

    image_size = args.image_size or _profile_from_args(args).image_size
    try:
        return PreprocessingSettings(
            slice_start=args.slice_start,
            slice_count=args.slice_count,
            modalities=tuple(args.modalities),
            normalisation=args.normalisation,
            image_size=image_size,
            mask_interpolation=args.mask_interpolation,
        )
    except ValueError as error:  # what argparse cannot check alone, e.g. a repeated modality
        args.command_parser.error(str(error))


def _add_preprocessing_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("preprocessing")
    group.add_argument(
        "--slice-start",
        type=_NON_NEGATIVE,
        default=SLICE_START,
        help="first axial slice (default %(default)s)",
    )
    group.add_argument(
        "--slice-count",
        type=_POSITIVE,
        default=SLICE_COUNT,
        help="number of axial slices (default %(default)s)",
    )
    group.add_argument(
        "--modalities",
        nargs="+",
        choices=MODALITIES,
        default=list(DEFAULT_MODALITIES),
        help="input channels, in order (default: %(default)s)",
    )
    group.add_argument(
        "--normalisation",
        choices=NORMALISATIONS,
        default=NORMALISATIONS[0],
        help="intensity normalisation (default %(default)s)",
    )
    group.add_argument(
        "--image-size",
        type=_POSITIVE,
        default=None,
        help=f"in-plane size after resizing (default: the profile's, from --profile or ${PROFILE_ENV}; {IMAGE_SIZE} in the full profile)",
    )
    group.add_argument(
        "--mask-interpolation",
        choices=MASK_INTERPOLATIONS,
        default=MASK_INTERPOLATIONS[0],
        help="how masks are resized (default %(default)s)",
    )


def _add_no_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _add_command(
    commands: argparse._SubParsersAction, name: str, handler, **kwargs
) -> argparse.ArgumentParser:
    """Add subcommand ``name``, run by ``handler(args)``; ``kwargs`` go to ``add_parser``."""
    command = commands.add_parser(name, **kwargs)
    # The handler gets its own parser, to report a bad value it checks itself as a usage error.
    command.set_defaults(handler=handler, command_parser=command)
    return command


# Each subcommand below: ``_<name>_parser`` declares it and its arguments, ``_command_<name>``
# runs it; ``build_parser`` (at the end) assembles them in the order ``--help`` lists them.


def _download_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from .download import DOWNLOAD_SOURCES, MSD_TAR_URL

    download = _add_command(
        commands,
        "download",
        _command_download,
        help="get BraTS 2020 from Kaggle (or its zip), or the Decathlon's brain tumours (--source msd), and check it",
        description=f'Download BraTS 2020 from Kaggle with kagglehub (needs KAGGLE_USERNAME/KAGGLE_KEY or ~/.kaggle/kaggle.json; pip install "brats_tutorial[download]"), or unpack the zip downloaded by hand from {KAGGLE_DATASET_URL}; or, with --source msd (no account needed), download the Medical Segmentation Decathlon\'s Task01_BrainTumour.tar (BraTS 2016-2017 cases, about 7 GB, CC BY-SA 4.0) from {MSD_TAR_URL}, check its MD5 and unpack it (or unpack a copy given with --tar); then check the training cases. Exit status 1 if a case fails the check, 2 if the download or the unpacking fails.',
    )
    download.add_argument(
        "--source",
        choices=DOWNLOAD_SOURCES,
        default=None,
        help="kaggle: BraTS 2020 (default); msd: the Decathlon's Task01_BrainTumour (default with --tar)",
    )
    download.add_argument(
        "--zip", type=Path, metavar="PATH", help="the zip downloaded by hand (skips kagglehub)"
    )
    download.add_argument(
        "--tar",
        type=Path,
        metavar="PATH",
        help="with --source msd: Task01_BrainTumour.tar downloaded by hand (skips the download; its MD5 is still checked)",
    )
    download.add_argument(
        "--dest",
        type=Path,
        metavar="DIR",
        help="with --zip: folder to unpack the zip into (must not exist; default: beside the zip, named after it); with --source msd: folder to unpack the tar into (must not exist; default: $XDG_CACHE_HOME/brats_tutorial/msd, else ~/.cache/brats_tutorial/msd)",
    )
    download.add_argument("--no-check", action="store_true", help="skip the data check")
    _add_no_progress_argument(download)
    return download


def _download_source(args: argparse.Namespace) -> str:
    """``--source``, else msd with ``--tar`` and kaggle without; contradictions are usage errors."""
    source = args.source or ("msd" if args.tar is not None else "kaggle")
    if args.zip is not None and args.tar is not None:
        args.command_parser.error(
            "--zip and --tar are two different downloads: --zip takes the Kaggle zip of BraTS "
            "2020, --tar the Decathlon's Task01_BrainTumour.tar; give one"
        )
    if source == "msd" and args.zip is not None:
        args.command_parser.error(
            "--source msd downloads the Decathlon's Task01_BrainTumour.tar; --zip is the Kaggle "
            "zip of BraTS 2020 (use it without --source msd), and a Decathlon tar downloaded by "
            "hand goes with --tar PATH"
        )
    if source == "kaggle" and args.tar is not None:
        args.command_parser.error(
            "--tar takes the Decathlon's Task01_BrainTumour.tar (--source msd); for the Kaggle "
            "zip of BraTS 2020 use --zip PATH"
        )
    if source == "kaggle" and args.dest is not None and args.zip is None:
        args.command_parser.error(
            "--dest applies to --zip or --source msd only: kagglehub downloads into its own cache "
            "(set KAGGLEHUB_CACHE to choose that folder, e.g. KAGGLEHUB_CACHE=/content/kagglehub)"
        )
    return source


def _command_download(args: argparse.Namespace) -> int:
    from .download import (
        MSD_NOTE,
        DownloadError,
        default_msd_destination,
        prepare_dataset,
        prepare_msd_dataset,
    )

    source = _download_source(args)
    try:
        if source == "msd":
            destination = args.dest
            if destination is None:
                destination = default_msd_destination()
                print(f"No --dest given: unpacking into {destination}", file=sys.stderr)
            training_folder, report = prepare_msd_dataset(
                args.tar, destination, validate=not args.no_check, progress=not args.no_progress
            )
        else:
            training_folder, report = prepare_dataset(
                args.zip, args.dest, validate=not args.no_check, progress=not args.no_progress
            )
    except DownloadError as error:  # the download itself; the message says what to do instead
        print(f"error: {error}", file=sys.stderr)
        return 2
    if report is not None:
        print(report.format())
    if source == "msd":
        print(MSD_NOTE)
    print(f"Training data: {training_folder}")
    print(f"Use it with:  export {DATA_DIR_ENV}={training_folder}")
    return 0 if report is None or report.ok else 1


def _synthetic_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    synthetic = _add_command(
        commands,
        "synthetic",
        _command_synthetic,
        help="make a synthetic BraTS-like data set",
        description="Write synthetic cases in the BraTS 2020 layout (240x240x155, int16 images, uint8 labels {0,1,2,4}). Running it again with the same arguments does nothing: the data set is already there.",
    )
    synthetic.add_argument("output_dir", type=Path, help="folder to write the cases into")
    synthetic.add_argument(
        "--cases",
        type=_POSITIVE,
        default=SYNTHETIC_CASES,
        help="number of cases (default %(default)s)",
    )
    synthetic.add_argument(
        "--seed", type=_NON_NEGATIVE, default=0, help="data set seed (default %(default)s)"
    )
    synthetic.add_argument(
        "--start-index",
        type=_POSITIVE,
        default=1,
        help="number of the first case (default %(default)s)",
    )
    synthetic.add_argument(
        "--compressed", action="store_true", help="write .nii.gz instead of .nii"
    )
    _add_no_progress_argument(synthetic)
    return synthetic


def _command_synthetic(args: argparse.Namespace) -> int:
    from .synthetic import generate_dataset

    paths = generate_dataset(
        args.output_dir,
        n_cases=args.cases,
        seed=args.seed,
        compressed=args.compressed,
        start_index=args.start_index,
        progress=not args.no_progress,
    )
    print(f"{len(paths)} synthetic cases in {args.output_dir}")
    return 0


#: ``check --expect-masks`` values and the ``expect_masks`` argument of ``validate_dataset``.
_EXPECT_MASKS: dict[str, bool | None] = {"auto": None, "yes": True, "no": False}


def _check_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    check = _add_command(
        commands,
        "check",
        _command_check,
        help="validate a BraTS data set and print the report",
        description="Check every case: modalities present, shapes and affines agree, finite values, non-empty brain, valid labels (those of the folder's release: BraTS 2018-2020, 2021, 2023+ adult glioma or MSD Task01), mask present. Exit status 1 if a case fails, 2 if the folder cannot be used (missing, not a folder, no BraTS files, releases mixed).",
    )
    check.add_argument("data_dir", type=Path, help="a BraTS folder (any layout)")
    check.add_argument(
        "--expect-masks",
        choices=tuple(_EXPECT_MASKS),
        default="auto",
        help="yes: every case needs a mask; no: masks optional; auto (default): inferred",
    )
    _add_no_progress_argument(check)
    return check


def _command_check(args: argparse.Namespace) -> int:
    from .validation import check_command

    return check_command(
        args.data_dir, expect_masks=_EXPECT_MASKS[args.expect_masks], progress=not args.no_progress
    )


def _cache_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    cache = _add_command(
        commands,
        "cache",
        _command_cache,
        help="build the preprocessed slice cache",
        description="Preprocess every case with a mask into a cache of float16 slices and uint8 classes (never inside the data folder). Re-running reuses the cases that are up to date.",
    )
    cache.add_argument("data_dir", type=Path, help="BraTS folder (any layout the package reads)")
    cache.add_argument(
        "--cache-dir", type=Path, default=None, help="default: beside the data folder"
    )
    _add_no_progress_argument(cache)
    _add_preprocessing_arguments(cache)
    return cache


def _command_cache(args: argparse.Namespace) -> int:
    from .cache import build_cache

    info = build_cache(
        args.data_dir, args.cache_dir, _settings_from_args(args), progress=not args.no_progress
    )
    print(
        f"cache: {info.cache_dir} ({len(info.case_ids)} cases; built {len(info.built)}, up to date {len(info.up_to_date)}, skipped {len(info.skipped)})"
    )
    for case_id, reason in info.skipped.items():
        print(f"  skipped {case_id}: {reason}")
    return 0


def _train_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    train = _add_command(
        commands,
        "train",
        _command_train,
        help="split by patient, build the cache and train a U-Net",
        description="Train on the training patients of a patient-level split saved in RUN_DIR/split.json. Re-running with the same RUN_DIR resumes an interrupted run.",
    )
    train.add_argument("data_dir", type=Path)
    train.add_argument("run_dir", type=Path, help="where the split, logs and models go")
    train.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default=None,
        help=f"quick: synthetic-sized, a few epochs; cpu: real data on a CPU in a few minutes (the book's model); full: real data on a GPU (default: ${PROFILE_ENV} or quick)",
    )
    train.add_argument(
        "--preset",
        choices=("quick", "full", "original"),
        default=None,
        help="model preset (default: the profile's)",
    )
    train.add_argument("--epochs", type=_POSITIVE, default=None)
    train.add_argument("--batch-size", type=_POSITIVE, default=None)
    train.add_argument(
        "--learning-rate", type=float, default=None, help="initial learning rate of Adam"
    )
    _add_improvement_arguments(train)
    train.add_argument("--seed", type=_NON_NEGATIVE, default=0)
    train.add_argument("--cache-dir", type=Path, default=None)
    train.add_argument(
        "--backup-dir",
        type=Path,
        default=None,
        help="resume state (e.g. on Google Drive); default RUN_DIR/backup",
    )
    _add_preprocessing_arguments(train)
    return train


def _add_improvement_arguments(train: argparse.ArgumentParser) -> None:
    """``train``'s improvements over the original recipe, saved in the run folder."""
    improvements = train.add_argument_group(
        "improvements (default: the profile's; saved in RUN_DIR, so predict applies them)"
    )
    improvements.add_argument(
        "--context-slices",
        type=_NON_NEGATIVE,
        default=None,
        help="2.5D input: neighbouring slices on each side as extra channels (0: plain 2D)",
    )
    improvements.add_argument(
        "--target",
        choices=TARGETS,
        default=None,
        help="classes: softmax over 4 classes; regions: sigmoid WT, TC, ET with per-region Dice + BCE (as nnU-Net)",
    )
    improvements.add_argument(
        "--augment",
        choices=AUGMENTATIONS,
        default=None,
        help="none; flip: left-right flips; rich: flips, rotation, scaling, intensity",
    )
    improvements.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="test-time augmentation by mirroring when predicting",
    )
    improvements.add_argument(
        "--postprocess",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="choose post-processing thresholds (small components, small enhancing tumour) on the validation patients",
    )


def _command_train(args: argparse.Namespace) -> int:
    from .course import save_inference_settings, split_and_cache
    from .discovery import find_cases
    from .model import load_trained_model
    from .run_folder import RunFolder
    from .training import TrainingConfig, train

    folder = RunFolder(args.run_dir)
    folder.path.mkdir(parents=True, exist_ok=True)
    profile = _profile_from_args(args)
    settings = _settings_from_args(args)
    cases = find_cases(args.data_dir)
    info, split = split_and_cache(
        args.data_dir,
        cases,
        profile,
        folder.split_path,
        settings,
        seed=args.seed,
        cache_dir=args.cache_dir,
    )
    print(
        f"patients: {len(split.train)} train, {len(split.validation)} validation, "
        f"{len(split.test)} test ({folder.split_path})"
    )
    folder.save_preprocessing(settings)
    overrides = {
        k: v
        for k, v in {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "model_preset": args.preset,
            "seed": args.seed,
            "backup_dir": args.backup_dir,
            "context_slices": args.context_slices,
            "target": args.target,
            "augment": args.augment,
        }.items()
        if v is not None
    }
    config = TrainingConfig.from_profile(profile, folder.path, **overrides)
    result = train(config, info.cache_dir, split, verbose=2)
    print(
        f"trained {result.epochs_completed} epochs "
        f"({'resumed' if result.resumed else 'fresh start'}, {result.precision}); "
        f"best model: {config.best_model_path}"
    )
    mirror = profile.mirror if args.mirror is None else args.mirror
    tune = profile.tune_postprocessing if args.postprocess is None else args.postprocess
    inference = save_inference_settings(
        load_trained_model(config.best_model_path),
        folder.path,
        args.data_dir,
        split,
        settings,
        mirror=mirror,
        tune_postprocessing=tune,
        progress=True,
        cases=cases,
    )
    print(f"inference settings (used by predict): {inference.to_dict()} ({folder.inference_path})")
    return 0


def _predict_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    predict = _add_command(
        commands,
        "predict",
        _command_predict,
        help="predict whole cases and write <CASE>.nii.gz",
        description="Predict every slice of each case with a model from RUN_DIR and write BraTS submission files, labelled in the numbers of the data's release unless --release says otherwise.",
    )
    predict.add_argument("run_dir", type=Path)
    predict.add_argument("data_dir", type=Path)
    predict.add_argument("output_dir", type=Path)
    predict.add_argument(
        "--model", default="best.keras", help="model file in RUN_DIR (default %(default)s)"
    )
    predict.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="test-time mirroring (default: as the run was trained, RUN_DIR/inference.json)",
    )
    predict.add_argument(
        "--no-postprocess",
        dest="postprocess",
        action="store_false",
        help="skip the run's post-processing (RUN_DIR/inference.json)",
    )
    predict.add_argument(
        "--split",
        choices=("all", "train", "validation", "test"),
        default="test",
        help="which patients of RUN_DIR/split.json (default %(default)s; 'all' for every case)",
    )
    _add_release_argument(predict, "label numbers of the written files")
    return predict


def _add_release_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--release``: a key of :data:`brats_tutorial.releases.RELEASES`, default the data's."""
    from .releases import RELEASES

    parser.add_argument(
        "--release",
        choices=tuple(RELEASES),
        default=None,
        help=f"{what}: enhancing tumour is 4 in brats2018-2020 and brats2021, 3 in brats2023-gli "
        "and msd-task01 (default: the release of the data in DATA_DIR)",
    )


def _command_predict(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .inference import predict_folder
    from .model import load_trained_model
    from .postprocessing import PostprocessingSettings
    from .run_folder import RunFolder

    folder = RunFolder(args.run_dir)
    model_path = folder.path / args.model
    if not model_path.exists():
        raise BratsDataError(
            model_path, "not found: is this the folder `brats-tutorial train` wrote?"
        )
    settings = folder.load_preprocessing()
    inference = folder.load_inference()
    if args.mirror is not None:
        inference = replace(inference, mirror=args.mirror)
    if not args.postprocess:
        inference = replace(inference, postprocessing=PostprocessingSettings())
    case_ids = None
    if args.split != "all":
        case_ids = getattr(folder.load_split(), args.split)
    model = load_trained_model(model_path)
    print(f"inference settings: {inference.to_dict()}")
    report = predict_folder(
        model,
        args.data_dir,
        args.output_dir,
        settings,
        case_ids=case_ids,
        inference=inference,
        release=args.release,
    )
    print(report.format())
    return 1 if report.failed else 0


def _evaluate_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    evaluate = _add_command(
        commands,
        "evaluate",
        _command_evaluate,
        help="per-patient 3D metrics and BraTS-style summary",
        description="Dice, sensitivity, specificity and HD95 for WT, TC, ET per patient; summary rows as in the BraTS ranking sheet.",
    )
    evaluate.add_argument("predictions_dir", type=Path)
    evaluate.add_argument("data_dir", type=Path)
    evaluate.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="score exactly the patients of RUN_DIR/split.json's --split (a missing prediction then counts, see --missing)",
    )
    evaluate.add_argument(
        "--split",
        choices=("train", "validation", "test"),
        default="test",
        help="with --run-dir: which patients (default %(default)s)",
    )
    evaluate.add_argument(
        "--missing",
        choices=("error", "empty"),
        default="error",
        help="with --run-dir: a missing prediction is an error, or scored as all background as BraTS does (default %(default)s)",
    )
    evaluate.add_argument(
        "--csv", default=None, help="output CSV (default: scores.csv beside PREDICTIONS_DIR)"
    )
    _add_release_argument(evaluate, "label numbers of the prediction files")
    return evaluate


def _command_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_folder, save_scores_csv, scores_table

    case_ids = None
    if args.run_dir is not None:
        from .splits import load_split

        case_ids = list(getattr(load_split(Path(args.run_dir) / RUN_SPLIT_FILE), args.split))
    per_case = evaluate_folder(
        args.predictions_dir,
        args.data_dir,
        case_ids=case_ids,
        missing=args.missing,
        release=args.release,
    )
    csv_path = Path(args.csv) if args.csv else Path(args.predictions_dir).parent / "scores.csv"
    save_scores_csv(per_case, csv_path)
    print(scores_table(per_case).to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"per-case scores and summary: {csv_path}")
    return 0


def _store_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    store = _add_command(
        commands,
        "store",
        _command_store,
        help="keep the data and its slice cache on Drive; restore them on a new runtime",
        description="save: pack a data folder and its slice caches into two archives in STORE_DIR (e.g. on Google Drive), leaving unchanged archives as they are. restore: unpack them on a new runtime at the paths they came from, so the cache is reused without preprocessing again.",
    )
    actions = store.add_subparsers(dest="action", required=True, metavar="ACTION")
    save = actions.add_parser("save", help="pack DATA_DIR and its slice caches into STORE_DIR")
    save.add_argument("data_dir", type=Path, help="the BraTS folder to keep")
    save.add_argument("store_dir", type=Path, help="a folder on lasting storage (Google Drive)")
    restore = actions.add_parser("restore", help="unpack STORE_DIR where it was saved from")
    restore.add_argument("store_dir", type=Path, help="the folder `store save` wrote")
    return store


def _command_store(args: argparse.Namespace) -> int:
    from .runtime_store import restore_store, save_store

    if args.action == "save":
        report = save_store(args.data_dir, args.store_dir)
    else:
        report = restore_store(args.store_dir)
    print("\n".join(report.lines()))
    if args.action == "restore":
        print(f"Use it with:  export {DATA_DIR_ENV}={report.data_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="brats-tutorial",
        description="Brain-tumour segmentation on BraTS with a 2D U-Net: data, training, prediction, evaluation.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_subcommand in (
        _download_parser,
        _synthetic_parser,
        _check_parser,
        _cache_parser,
        _train_parser,
        _predict_parser,
        _evaluate_parser,
        _store_parser,
    ):
        add_subcommand(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring).

    Bad arguments raise ``SystemExit(2)`` after argparse prints the usage; a
    :class:`~brats_tutorial.errors.BratsDataError` is printed as ``error: ...`` and gives 2; any
    other exception propagates with its traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BratsDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
