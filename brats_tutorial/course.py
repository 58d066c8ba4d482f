"""What every chapter's Setup section needs, in one call each, so that a chapter runs on its own.

``prepare_data`` picks real data (argument or ``BRATS_DATA_DIR``) or generates the synthetic
set (the full profile needs real data unless ``BRATS_SYNTHETIC=1``); ``prepare_training_data``
builds the cache and the patient split; ``trained_model`` loads the model a previous chapter
trained with the same settings, or trains one now.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .cache import CacheInfo, build_cache
from .data_sources import default_work_dir, resolve_data_dir, sample_dir
from .discovery import CaseFiles, find_cases
from .errors import BratsDataError
from .preprocessing import PreprocessingSettings
from .profiles import Profile, get_profile
from .run_folder import RunFolder
from .settings_key import settings_key
from .splits import PatientSplit, load_or_make_split

#: Short citation that every figure of real BraTS data carries (full references in the book).
REAL_DATA_CITATION: str = "Menze 2015; Bakas 2017, 2018"


@dataclass
class CourseData:
    """The data a chapter works on.

    Attributes:
        profile: the profile in force.
        data_dir: the BraTS folder.
        is_synthetic: True when the synthetic data set is used.
        cases: the cases found (all of them; ``profile.max_cases`` limits training only).
        work_dir: folder for caches, splits and runs of this data set.
    """

    profile: Profile
    data_dir: Path
    is_synthetic: bool
    cases: list[CaseFiles]
    work_dir: Path

    @property
    def description(self) -> str:
        """Words for figure titles: which data a figure shows, with the citation of real data.

        "synthetic data", or the source of real data and its citation, e.g.
        "BraTS 2018 sample: Menze 2015; Bakas 2017, 2018".
        """
        return f"{self.source}: {self.citation}" if self.citation else self.source

    @property
    def source(self) -> str:
        """Which data, without citation: "synthetic data"; "BraTS 2018 sample" for the course's
        24 real cases; else "real BraTS 2018 data" or "real BraTS 2020 data" after the case
        names, or "real BraTS data"."""
        if self.is_synthetic:
            return "synthetic data"
        sample = sample_dir()
        if sample is not None and sample.resolve() == self.data_dir.resolve():
            return "BraTS 2018 sample"
        ids = [case.case_id for case in self.cases]
        for prefix, year in (("Brats18_", "2018"), ("BraTS20_", "2020"), ("BraTS19_", "2019")):
            if ids and all(case_id.startswith(prefix) for case_id in ids):
                return f"real BraTS {year} data"
        return "real BraTS data"

    @property
    def citation(self) -> str:
        """The citation a figure of real data carries ("" for synthetic data)."""
        return "" if self.is_synthetic else REAL_DATA_CITATION

    def caption(self, case_ids: str | list[str] | tuple[str, ...] | None = None) -> str:
        """What a figure or table shows, for its title: the data, the cases, the citation.

        Args:
            case_ids: one case id or several (more than four are counted, not listed).

        Returns:
            e.g. "BraTS 2018 sample, Brats18_CBICA_ABM_1 (Menze 2015; Bakas 2017, 2018)" or
            "synthetic data, BraTS20_Training_001".
        """
        text = self.source
        if isinstance(case_ids, str):
            case_ids = [case_ids]
        if case_ids:
            case_ids = list(case_ids)
            text += ", " + (
                ", ".join(case_ids) if len(case_ids) <= 4 else f"{len(case_ids)} patients"
            )
        return f"{text} ({self.citation})" if self.citation else text

    @property
    def labelled_cases(self) -> list[CaseFiles]:
        """Cases with a mask, at most ``profile.max_cases`` of them."""
        return labelled_cases(self.cases, self.profile.max_cases)


def labelled_cases(cases: list[CaseFiles], max_cases: int | None = None) -> list[CaseFiles]:
    """The cases with a mask, the first ``max_cases`` of them (all when ``None``)."""
    cases = [c for c in cases if c.has_mask]
    return cases[:max_cases] if max_cases else cases


def split_and_cache(
    data_dir: str | Path,
    cases: list[CaseFiles],
    profile: Profile,
    split_path: Path,
    settings: PreprocessingSettings,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> tuple[CacheInfo, PatientSplit]:
    """Choose the labelled cases, split them by patient (or read the saved split), build the
    cache: the one place where a training run's data are chosen, for chapters and command line.

    Args:
        data_dir: the BraTS folder.
        cases: the cases found in it.
        profile: gives ``max_cases`` and the validation and test fractions.
        split_path: where the split is saved, and read back on later calls.
        settings: preprocessing of the cache.
        seed: seed of the split.
        cache_dir: cache folder (default: beside the data, see
            :func:`brats_tutorial.cache.default_cache_dir`).

    Returns:
        ``(cache_info, split)``.

    Raises:
        BratsDataError: when no case has a mask.
    """
    case_ids = [c.case_id for c in labelled_cases(cases, profile.max_cases)]
    if not case_ids:
        raise BratsDataError(data_dir, "no case has a mask: nothing to train on")
    split = load_or_make_split(
        split_path,
        case_ids,
        seed=seed,
        validation_fraction=profile.validation_fraction,
        test_fraction=profile.test_fraction,
    )
    info = build_cache(
        data_dir, cache_dir, settings, case_ids=list(split.all_case_ids), progress=progress
    )
    return info, split


def save_inference_settings(
    model,
    run_dir: str | Path,
    data_dir: str | Path,
    split: PatientSplit,
    settings: PreprocessingSettings,
    mirror: bool = False,
    tune_postprocessing: bool = False,
    progress: bool = False,
    cases: list[CaseFiles] | None = None,
):
    """Write the run's ``inference.json``: mirroring, and post-processing thresholds chosen on
    the split's validation patients when ``tune_postprocessing`` (else none).

    Args:
        cases: the cases of ``data_dir`` when the caller has found them already (else they are
            found again).

    Returns:
        The :class:`~brats_tutorial.inference.InferenceSettings` written.
    """
    from .inference import InferenceSettings, choose_inference_settings

    inference = InferenceSettings(mirror=mirror)
    if tune_postprocessing and split.validation:
        wanted = set(split.validation)
        found = cases if cases is not None else find_cases(data_dir)
        validation = [c for c in found if c.case_id in wanted and c.has_mask]
        inference, _ = choose_inference_settings(
            model, validation, settings, mirror=mirror, progress=progress
        )
    RunFolder(Path(run_dir)).save_inference(inference)
    return inference


def prepare_data(
    profile: str | Profile | None = None,
    data_dir: str | Path | None = None,
    seed: int = 0,
    synthetic: bool | None = None,
) -> CourseData:
    """Resolve the profile and the data folder; generate synthetic data when none is configured.

    The quick and cpu profiles fall back to synthetic data; the full profile stops with a message
    saying how to get BraTS, unless synthetic data are asked for (see
    :func:`brats_tutorial.data_sources.resolve_data_dir`).

    Args:
        profile: "quick", "cpu", "full", a :class:`Profile`, or ``None`` (``BRATS_PROFILE``, else quick).
        data_dir: a real BraTS folder, or ``None`` (``BRATS_DATA_DIR``, else synthetic).
        seed: seed of the synthetic data set.
        synthetic: without a real folder, ``True`` uses synthetic data in any profile and ``False``
            raises in any profile; ``None``: ``BRATS_SYNTHETIC``, else the profile's rule.

    Raises:
        ValueError: real data are needed and none is given; the message names ``BRATS_DATA_DIR``
            and ``BRATS_SYNTHETIC`` and says how to download BraTS.
    """
    if not isinstance(profile, Profile):
        profile = get_profile(profile)
    folder, is_synthetic = resolve_data_dir(
        data_dir,
        synthetic_cases=profile.synthetic_cases,
        seed=seed,
        synthetic=synthetic,
        needs_real_data=profile.needs_real_data,
        purpose=f"the {profile.name!r} profile" if profile.needs_real_data else "this run",
    )
    cases = find_cases(folder)
    key = settings_key(str(folder.resolve()), length=8)
    work_dir = default_work_dir() / f"work_{folder.name}_{key}"
    work_dir.mkdir(parents=True, exist_ok=True)
    return CourseData(profile, folder, is_synthetic, cases, work_dir)


def prepare_training_data(
    data: CourseData,
    settings: PreprocessingSettings | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[CacheInfo, PatientSplit]:
    """Build (or reuse) the slice cache and the patient split of ``data.labelled_cases``.

    The split is saved in the work folder and read back on later calls, so every chapter sees
    the same held-out patients.

    Returns:
        ``(cache_info, split)``.
    """
    settings = settings or data.profile.preprocessing_settings()
    profile = data.profile
    split_path = data.work_dir / (
        f"split_n{len(data.labelled_cases)}_seed{seed}"
        f"_v{profile.validation_fraction:g}_t{profile.test_fraction:g}.json"
    )
    return split_and_cache(
        data.data_dir, data.cases, profile, split_path, settings, seed=seed, progress=progress
    )


def run_dir(data: CourseData, settings: PreprocessingSettings, config_key: dict) -> Path:
    """A run folder named after the data, preprocessing and training settings."""
    key = settings_key({"settings": settings.to_dict(), **config_key})
    return data.work_dir / "runs" / f"{data.profile.name}_{key}"


def trained_model(
    data: CourseData,
    settings: PreprocessingSettings,
    info: CacheInfo,
    split: PatientSplit,
    retrain: bool = False,
    verbose: int | str = 2,
    callbacks: list | None = None,
    **overrides,
):
    """The model of a finished run with these settings, or a new one trained now.

    Chapters 5, 6, 7, 8 and 9 all call this: whichever runs first with the same profile, data
    and settings trains the model, and the others load that run (one training per book build).
    The run folder records how long the training took (:meth:`RunFolder.load_timing`).

    Args:
        retrain: train again even when a finished run with these settings exists.
        verbose: Keras ``fit`` verbosity while training.
        callbacks: extra Keras callbacks while training (e.g. a progress printer).
        overrides: fields of :class:`brats_tutorial.training.TrainingConfig` (e.g. ``epochs``).

    Returns:
        ``(model, history, config)``: the best model (lowest validation loss), the per-epoch
        history as a DataFrame, the training configuration. The run folder
        (``config.run_folder``) also holds the split, the preprocessing settings and the
        inference settings (mirroring and post-processing as the profile says; thresholds chosen
        on the validation patients), so ``brats-tutorial predict`` can use it.
    """
    import pandas as pd

    from .model import load_trained_model
    from .training import TrainingConfig, train

    probe = TrainingConfig.from_profile(data.profile, data.work_dir, **overrides)
    key = {k: str(v) for k, v in vars(probe).items() if k not in ("output_dir", "backup_dir")}
    key["split"] = split.train + split.validation
    key["inference"] = [data.profile.mirror, data.profile.tune_postprocessing]
    config = TrainingConfig.from_profile(data.profile, run_dir(data, settings, key), **overrides)
    # The run folder also holds what `brats-tutorial predict` and `evaluate` read, so a run that a
    # chapter trained can be used from the command line.
    folder = config.run_folder
    folder.save_split(split)
    folder.save_preprocessing(settings)
    if config.is_finished() and not retrain:
        model = load_trained_model(config.best_model_path)
        history = pd.read_csv(config.log_path)
    else:
        result = train(config, info.cache_dir, split, verbose=verbose, callbacks=callbacks or ())
        model, history = load_trained_model(config.best_model_path), result.history
    if retrain or not folder.inference_path.exists():
        save_inference_settings(
            model,
            folder.path,
            data.data_dir,
            split,
            settings,
            mirror=data.profile.mirror,
            tune_postprocessing=data.profile.tune_postprocessing,
            cases=data.cases,
        )
    return model, history, config


def run_predictions(model, config, case_files: list[CaseFiles], settings: PreprocessingSettings):
    """Label maps of these patients predicted by a run's best model, each computed once.

    ``inference.predict_case`` with the run's own inference settings (mirroring, post-processing)
    on every slice of each case. The result is kept in the run folder
    (``predictions/<case_id>_<key>.npy``, written atomically), under a key of the inference
    settings and of the best model's file (its size and time), so chapters 5 and 8 predict
    each test patient once per build, and a retrained model or other settings predict again.

    Args:
        model: the run's best model (as ``course.trained_model`` returns it).
        config: the run's :class:`~brats_tutorial.training.TrainingConfig`.
        case_files: the patients to predict (images are loaded only for those not yet kept).
        settings: the run's preprocessing settings.

    Returns:
        dict case_id -> uint8 (240, 240, 155) labels {0, 1, 2, 4}, in the order given.
    """
    import numpy as np

    from .atomic import save_npy_atomic
    from .inference import predict_case
    from .loading import load_case

    folder = config.run_folder
    inference = folder.load_inference()
    model_file = folder.best_model_path.stat()
    key = settings_key(
        [inference.to_dict(), settings.to_dict(), model_file.st_size, model_file.st_mtime_ns]
    )
    predictions = {}
    for case in case_files:
        path = folder.predictions_dir / f"{case.case_id}_{key}.npy"
        if path.exists():
            predictions[case.case_id] = np.load(path)
            continue
        loaded = load_case(case, settings.modalities, load_mask=False)
        labels = predict_case(model, loaded, settings, inference=inference)
        folder.predictions_dir.mkdir(parents=True, exist_ok=True)
        save_npy_atomic(path, labels)
        predictions[case.case_id] = labels
    return predictions
