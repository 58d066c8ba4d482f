"""Full-scale rehearsal of the "full" profile on a CPU: BraTS 2020's size, measured without a GPU.

Run from the repository root (about 10-20 minutes on a 2-core machine; ``--cases 30`` for a
smoke run of a minute or two)::

    python benchmarks/full_scale_rehearsal.py [--cases 369] [--work-dir /tmp/brats_full_scale_rehearsal]

It builds a data set of BraTS 2020's size in the layout of its Kaggle mirror (369 training cases,
plain ``.nii`` files:
``BraTS2020_TrainingData/MICCAI_BraTS2020_TrainingData/BraTS20_Training_NNN/BraTS20_Training_NNN_{flair,t1,t1ce,t2,seg}.nii``)
from the 24 real BraTS 2018 cases of the course's sample (``../shared/brats18_sample``): each real
case is decompressed once to plain ``.nii`` in the work folder, and the 369 case folders hold
hard links (or symbolic links, ``--link symlink``) to those files under new ids, cycling through
the 24 cases. **Cases repeat**: what is measured is input/output and computation at full scale,
not learning. The 369 folders hold 24 distinct cases' files, so after the first pass they are
read from the operating system's page cache; a learner's 369 different cases are read from disk.

Measured (printed, and written to ``brats_tutorial/results/full_scale_rehearsal.csv``, which the chapters read):

1. ``brats-tutorial check`` on the data folder (the function the command line calls,
   :func:`brats_tutorial.validation.check_command`): time;
2. the full profile's cache build (:func:`brats_tutorial.course.prepare_data` and
   :func:`~brats_tutorial.course.prepare_training_data`, as chapter 3 calls them): time and size
   on disk;
3. peak memory (the high-water mark of the resident set, ``VmHWM``) of the full profile's
   training set-up in a fresh process: :func:`brats_tutorial.training.train` with the full
   profile's configuration (cache loaded, pipelines built, the full preset compiled), stopped
   after one training step and one validation step; compared with a Colab runtime's 12.7 GB;
4. slices per second of the input pipelines at batch 32, 128 x 128, with ``augment="flip"``
   (the full profile's) and ``"rich"``: ``tf.data`` (TensorFlow backend, Colab's default) and
   ``SliceDataset`` (the ``keras.utils.PyDataset`` used under JAX).

Estimated (never measured here, no GPU): the full preset's floating-point operations per slice,
counted from the built model's convolutions; with a T4's published float16 tensor throughput
and an assumed utilisation (``--utilisation``, 30 % by default) the training rate of a T4, hence
the epoch time of the full profile at BraTS 2020 size, whether the input pipeline or the GPU
bounds it, and the time of the whole run.

The CSV has one row per quantity (name, value, unit, kind "measured" or "estimate", note) and
the provenance of the run (commit, ``git describe --dirty``, date, machine, load average at
start and end, which cases).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import gzip
import io
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
try:
    import brats_tutorial  # noqa: F401
except ImportError:  # run from a source checkout without `pip install -e .`
    sys.path.insert(0, str(REPOSITORY))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from brats_tutorial.atomic import atomic_path, save_text_atomic  # noqa: E402
from brats_tutorial.data_sources import WORK_DIR_ENV, sample_dir  # noqa: E402
from brats_tutorial.discovery import CaseFiles, find_cases  # noqa: E402
from brats_tutorial.profiles import get_profile  # noqa: E402

#: BraTS 2020 training cases (all with masks), as in the Kaggle mirror.
BRATS2020_TRAINING_CASES: int = 369
#: Where the Kaggle mirror keeps the training cases, below the download's root.
KAGGLE_TRAINING_FOLDER: Path = Path("BraTS2020_TrainingData") / "MICCAI_BraTS2020_TrainingData"
CASE_ID_FORMAT: str = "BraTS20_Training_{number:03d}"
FILE_KINDS: tuple[str, ...] = ("flair", "t1", "t1ce", "t2", "seg")

#: NVIDIA T4 datasheet: "Mixed Precision (FP16/FP32): 65 TFLOPS" (tensor cores).
T4_DATASHEET_URL: str = (
    "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/"
    "t4-tensor-core-datasheet-951643.pdf"
)
T4_FP16_TFLOPS: float = 65.0
#: Assumed share of the T4's peak that the training step reaches (an assumption, not measured).
DEFAULT_UTILISATION: float = 0.30
#: Backward pass ~ 2 x forward (gradients of inputs and of weights), so a step ~ 3 x forward.
TRAINING_TO_FORWARD: float = 3.0
#: System RAM of a standard Colab runtime as Colab displays it; compared as 12.7e9 bytes (the
#: stricter reading of the unit).
COLAB_RAM_GB: float = 12.7
COLAB_VCPUS: int = 2
PIPELINE_BATCH_SIZE: int = 32
RESULTS_CSV: Path = REPOSITORY / "brats_tutorial" / "results" / "full_scale_rehearsal.csv"
DEFAULT_WORK_DIR: Path = Path("/tmp/brats_full_scale_rehearsal")
#: A file marking a work folder as this script's, so that its contents may be replaced.
WORK_MARKER: str = ".full_scale_rehearsal"
CSV_COLUMNS: tuple[str, ...] = (
    "name",
    "value",
    "unit",
    "kind",
    "note",
    "commit",
    "describe",
    "date",
    "cpu_model",
    "cores",
    "ram_gib",
    "load_average_start",
    "load_average_end",
    "cases",
    "software",
)


@dataclass
class Results:
    """The rows of the results CSV, printed as they come.

    Attributes:
        rows: one dict per quantity: name, value, unit, kind ("measured" or "estimate"), note.
    """

    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, name: str, value: float | int | str | None, unit: str, kind: str, note: str):
        """Record one quantity and print it."""
        if kind not in ("measured", "estimate"):
            raise ValueError(f"kind must be 'measured' or 'estimate', got {kind!r}")
        self.rows.append({"name": name, "value": value, "unit": unit, "kind": kind, "note": note})
        shown = f"{value:,.4g}" if isinstance(value, float) else str(value)
        print(f"  [{kind}] {name} = {shown} {unit}  ({note})", flush=True)

    def value(self, name: str):
        """The value recorded under ``name``."""
        for row in self.rows:
            if row["name"] == name:
                return row["value"]
        raise KeyError(name)


# -- Provenance -------------------------------------------------------------------------------


def git_output(*arguments: str) -> str:
    """Output of a git command in the repository, or "unknown" when git cannot say."""
    try:
        completed = subprocess.run(
            ["git", *arguments], cwd=REPOSITORY, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return completed.stdout.strip() or "unknown"


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float:
    """Total memory of the machine in GiB (``MemTotal`` of ``/proc/meminfo``)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / 2**30
    except OSError:
        pass
    return float("nan")


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, e.g. ``"1.52 1.10 0.95"``."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def software() -> str:
    """Python, NumPy and Keras versions and the Keras backend (Keras is imported here)."""
    import keras

    return (
        f"Python {platform.python_version()}, NumPy {np.__version__}, Keras {keras.__version__} "
        f"({keras.backend.backend()})"
    )


# -- The data set -----------------------------------------------------------------------------


def prepare_work_dir(work_dir: Path) -> None:
    """Create the work folder, or accept one this script made before.

    Raises:
        SystemExit: if the folder exists, is not empty and was not made by this script (so
            nothing of the user's is replaced).
    """
    marker = work_dir / WORK_MARKER
    if work_dir.exists() and any(work_dir.iterdir()) and not marker.exists():
        sys.exit(
            f"error: {work_dir} exists and was not made by this script (no {WORK_MARKER}); "
            "choose another --work-dir"
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    marker.touch()


def decompress_case(case: CaseFiles, folder: Path) -> dict[str, Path]:
    """One real case's five files as plain ``.nii`` in ``folder`` (reused when already there).

    Each file is written to a temporary name and renamed, so a file present is complete.

    Returns:
        File kind ("flair", "t1", "t1ce", "t2", "seg") to the plain ``.nii`` path.
    """
    sources = {**case.images, "seg": case.mask}
    missing = [kind for kind in FILE_KINDS if sources.get(kind) is None]
    if missing:
        raise SystemExit(f"error: sample case {case.case_id} in {case.folder} lacks {missing}")
    plain = {}
    for kind in FILE_KINDS:
        source = Path(sources[kind])
        target = folder / f"{case.case_id}_{kind}.nii"
        if not target.exists():
            with atomic_path(target, suffix=".nii") as temporary:
                opener = gzip.open if source.name.lower().endswith(".gz") else open
                with opener(source, "rb") as reader, open(temporary, "wb") as writer:
                    shutil.copyfileobj(reader, writer, 1 << 22)
        plain[kind] = target
    return plain


def link_file(source: Path, target: Path, link: str) -> None:
    """A hard link (or symbolic link) ``target`` to ``source``."""
    if link == "hard":
        os.link(source, target)
    else:
        target.symlink_to(source)


def build_rehearsal_dataset(
    sample: Path, work_dir: Path, n_cases: int, link: str
) -> tuple[Path, list[tuple[str, str]], int]:
    """The BraTS 2020-sized data set: ``n_cases`` case folders linked to the sample's cases.

    Args:
        sample: the real BraTS 2018 sample folder (``.nii.gz`` cases).
        work_dir: this script's work folder; the data set goes to ``<work_dir>/data`` (replaced)
            and the decompressed real cases to ``<work_dir>/plain`` (kept between runs).
        n_cases: case folders to make, ids 001 to ``n_cases``.
        link: "hard" or "symlink".

    Returns:
        ``(training folder, [(new case id, real case id)], apparent bytes)``: the folder to give
        ``brats-tutorial check`` (``.../MICCAI_BraTS2020_TrainingData``), which real case each
        id repeats (case ``n`` is real case ``(n - 1) % 24`` in name order), and the data set's
        size as a learner's copy would take (links counted at their files' size).
    """
    real_cases = [case for case in find_cases(sample) if case.has_mask]
    if not real_cases:
        raise SystemExit(f"error: no case with a mask in the sample folder {sample}")
    used = real_cases[: min(n_cases, len(real_cases))]
    start = time.perf_counter()
    plain = [decompress_case(case, work_dir / "plain" / case.case_id) for case in used]
    print(
        f"decompressed {len(used)} real cases to plain .nii in {work_dir / 'plain'} "
        f"({time.perf_counter() - start:.1f} s; reused when already there)"
    )

    data_root = work_dir / "data"
    if data_root.exists():
        shutil.rmtree(data_root)  # links and the cache of an earlier run of this script
    training_folder = data_root / KAGGLE_TRAINING_FOLDER
    training_folder.mkdir(parents=True)
    mapping, apparent_bytes = [], 0
    for number in range(1, n_cases + 1):
        case_id = CASE_ID_FORMAT.format(number=number)
        index = (number - 1) % len(used)
        folder = training_folder / case_id
        folder.mkdir()
        for kind in FILE_KINDS:
            link_file(plain[index][kind], folder / f"{case_id}_{kind}.nii", link)
            apparent_bytes += plain[index][kind].stat().st_size
        mapping.append((case_id, used[index].case_id))
    mapping_text = "case_id,repeats_sample_case\n" + "".join(f"{a},{b}\n" for a, b in mapping)
    save_text_atomic(work_dir / "rehearsal_cases.csv", mapping_text)
    return training_folder, mapping, apparent_bytes


def disk_usage_bytes(folder: Path) -> tuple[int, int]:
    """``(bytes on disk, apparent bytes)`` of the files under ``folder`` (links not followed)."""
    on_disk = apparent = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            status = path.stat()
            on_disk += status.st_blocks * 512
            apparent += status.st_size
    return on_disk, apparent


# -- Measurements -----------------------------------------------------------------------------


def measure_check(data_dir: Path) -> tuple[float, int, str]:
    """Time ``brats-tutorial check DIR`` (the function the command line calls).

    Returns:
        ``(seconds, exit status, the report's last line)``; the report's table is not printed.
    """
    from brats_tutorial.validation import check_command

    report = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(report):
        status = check_command(data_dir, progress=False)
    seconds = time.perf_counter() - start
    lines = report.getvalue().strip().splitlines()
    return seconds, status, lines[-1] if lines else ""


def measure_cache(data_dir: Path):
    """Build the full profile's cache from scratch as chapter 3 does; time it.

    Returns:
        ``(seconds, course data, cache info, split)``.
    """
    from brats_tutorial.cache import default_cache_dir
    from brats_tutorial.course import prepare_data, prepare_training_data

    profile = get_profile("full")
    settings = profile.preprocessing_settings()
    stale = default_cache_dir(data_dir, settings)
    if stale.exists():
        shutil.rmtree(stale)
    start = time.perf_counter()
    data = prepare_data(profile, data_dir)
    info, split = prepare_training_data(data, settings, progress=False)
    return time.perf_counter() - start, data, info, split


def stop_after_first_steps(memory: dict[str, float]):
    """A Keras callback that stops ``fit`` after one training and one validation batch, and
    notes the resident memory (``VmRSS``, bytes) in ``memory`` when training starts
    (``rss_at_train_begin_bytes``) and after the first step (``rss_after_first_step_bytes``)."""
    import keras

    class StopAfterFirstSteps(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            memory["rss_at_train_begin_bytes"] = proc_status_bytes("VmRSS")

        def on_train_batch_end(self, batch, logs=None):
            memory["rss_after_first_step_bytes"] = proc_status_bytes("VmRSS")
            self.model.stop_training = True

        def on_test_batch_end(self, batch, logs=None):
            self.model.stop_evaluating = True

    return StopAfterFirstSteps()


def proc_status_bytes(key: str) -> float:
    """A memory line of ``/proc/self/status`` (``VmHWM``, ``VmRSS``) in bytes (NaN elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return float("nan")


def memory_probe(data_dir: Path, output_dir: Path) -> dict[str, float]:
    """In this (fresh) process: the full profile's training set-up and one step; memory marks.

    Runs what a chapter runs: ``prepare_data``, ``prepare_training_data`` (the cache is up to
    date, so only checked) and :func:`brats_tutorial.training.train` with the full profile's
    configuration, stopped after its first training batch and first validation batch.

    Returns:
        Bytes: ``peak_rss_bytes`` (``VmHWM``, else ``ru_maxrss``), ``rss_at_train_begin_bytes``
        (arrays loaded, pipelines built, model compiled), ``rss_after_first_step_bytes``; and
        ``seconds``, the wall time of the set-up and the step.
    """
    import resource

    from brats_tutorial.course import prepare_data, prepare_training_data
    from brats_tutorial.training import TrainingConfig, train

    memory: dict[str, float] = {}
    start = time.perf_counter()
    profile = get_profile("full")
    data = prepare_data(profile, data_dir)
    info, split = prepare_training_data(data, progress=False)
    config = TrainingConfig.from_profile(profile, output_dir)
    train(config, info.cache_dir, split, callbacks=[stop_after_first_steps(memory)], verbose=0)
    memory["seconds"] = time.perf_counter() - start
    peak = proc_status_bytes("VmHWM")
    if math.isnan(peak):  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS)
        scale = 1 if sys.platform == "darwin" else 1024
        peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)
    memory["peak_rss_bytes"] = peak
    return memory


def measure_memory(data_dir: Path, work_dir: Path) -> dict[str, float]:
    """Run :func:`memory_probe` in a fresh Python process and return its numbers."""
    output_dir = work_dir / "memory_probe_run"
    if output_dir.exists():
        shutil.rmtree(output_dir)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--memory-probe",
        str(data_dir),
        "--work-dir",
        str(work_dir),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    if completed.returncode != 0:
        raise RuntimeError(
            f"the memory probe failed (exit status {completed.returncode}):\n"
            f"{completed.stderr[-3000:]}"
        )
    last_line = completed.stdout.strip().splitlines()[-1]
    shutil.rmtree(output_dir, ignore_errors=True)
    return json.loads(last_line)


def pipeline_slices_per_second(
    kind: str, images: np.ndarray, classes: np.ndarray, augment: str, seconds: float
) -> tuple[float, int]:
    """Slices per second of one input pipeline over the training slices (shuffled, batch 32).

    Batches are drawn as ``fit`` draws them (``tf.data``: iterating the dataset, a new shuffle
    each epoch; ``SliceDataset``: ``__getitem__`` in order, then ``on_epoch_end``), epoch after
    epoch, for at least ``seconds`` after 3 warm-up batches.

    Returns:
        ``(slices per second, slices timed)``.
    """
    if kind == "tf_data":
        from brats_tutorial.tf_data import make_tf_dataset

        dataset = make_tf_dataset(
            images, classes, batch_size=PIPELINE_BATCH_SIZE, shuffle=True, augment=augment
        )

        def batches():
            while True:
                yield from dataset

    else:
        from brats_tutorial.py_dataset import SliceDataset

        dataset = SliceDataset(
            images, classes, batch_size=PIPELINE_BATCH_SIZE, shuffle=True, augment=augment
        )

        def batches():
            while True:
                for index in range(len(dataset)):
                    yield dataset[index]
                dataset.on_epoch_end()

    batch_iterator = batches()
    for _ in range(3):
        next(batch_iterator)
    slices, start = 0, time.perf_counter()
    for batch_images, _masks in batch_iterator:
        slices += int(batch_images.shape[0])
        if time.perf_counter() - start >= seconds:
            break
    return slices / (time.perf_counter() - start), slices


# -- Operations of the model ------------------------------------------------------------------


def convolution_multiply_adds(model) -> tuple[int, list[str]]:
    """Multiply-adds of one forward pass of one example through the model's convolutions.

    ``Conv2D``: output height x width x filters x (kernel height x width x input channels /
    groups). ``Conv2DTranspose``: input height x width x input channels x kernel height x width
    x filters (each input pixel is spread over the kernel). Biases, batch normalisation,
    activations, pooling, upsampling and concatenation are not counted (a few operations per
    value, small beside the convolutions).

    Args:
        model: a built Keras model (shapes known).

    Returns:
        ``(multiply-adds per example, names of other layer types that hold weights and were
        not counted)``.
    """
    import keras

    total, uncounted = 0, set()
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, height, width, channels = layer.input.shape
            kernel_height, kernel_width = layer.kernel_size
            total += height * width * channels * kernel_height * kernel_width * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            _, height, width, _ = layer.output.shape
            channels = layer.input.shape[-1]
            kernel_height, kernel_width = layer.kernel_size
            per_output = kernel_height * kernel_width * channels // layer.groups
            total += height * width * layer.filters * per_output
        elif layer.weights and not isinstance(layer, keras.layers.BatchNormalization):
            uncounted.add(type(layer).__name__)
    return int(total), sorted(uncounted)


def full_preset_flops(image_size: int, channels: int) -> tuple[float, int, list[str]]:
    """Forward floating-point operations per slice of the full preset (2 per multiply-add).

    Returns:
        ``(forward FLOPs per slice, parameters, uncounted layer types)``.
    """
    import keras

    from brats_tutorial.constants import NUM_CLASSES
    from brats_tutorial.model import build_model, count_parameters

    model = build_model(
        get_profile("full").model_preset,
        input_shape=(image_size, image_size, channels),
        num_classes=NUM_CLASSES,
    )
    multiply_adds, uncounted = convolution_multiply_adds(model)
    parameters = count_parameters(model)
    del model
    keras.backend.clear_session()
    return 2.0 * multiply_adds, parameters, uncounted


# -- The run ----------------------------------------------------------------------------------


def write_csv(path: Path, results: Results, provenance: dict[str, object]) -> None:
    """The results, one row per quantity with the provenance columns, written atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in results.rows:
        writer.writerow({**row, **provenance})
    save_text_atomic(path, text.getvalue())


def gigabytes(value: float) -> float:
    return value / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases",
        type=int,
        default=BRATS2020_TRAINING_CASES,
        help="training cases of the rehearsal data set (default %(default)s, BraTS 2020's)",
    )
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    parser.add_argument("--link", choices=("hard", "symlink"), default="hard")
    parser.add_argument(
        "--pipeline-seconds",
        type=float,
        default=20.0,
        help="time each input pipeline at least this long, or one epoch (default %(default)s)",
    )
    parser.add_argument(
        "--utilisation",
        type=float,
        default=DEFAULT_UTILISATION,
        help="assumed share of the T4's peak float16 throughput (default %(default)s)",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        default=None,
        help=f"results file (default {RESULTS_CSV.relative_to(REPOSITORY)} for {BRATS2020_TRAINING_CASES} cases, else in the work folder)",
    )
    parser.add_argument("--memory-probe", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work_dir = args.work_dir.expanduser().resolve()
    os.environ[WORK_DIR_ENV] = str(work_dir / "brats_work")  # splits, not the shared work folder

    if args.memory_probe is not None:  # the child process of measure_memory
        print(json.dumps(memory_probe(args.memory_probe, work_dir / "memory_probe_run")))
        return 0
    if args.cases < 3:
        parser.error("--cases must be at least 3 (training, validation and test patients)")
    if not 0 < args.utilisation <= 1:
        parser.error("--utilisation must be in (0, 1]")

    sample = sample_dir()
    if sample is None:
        print(
            "error: the real BraTS sample is not there: put the 24 cases at ../shared/brats18_sample "
            "(beside the repository) or set BRATS_SAMPLE_DIR to their folder",
            file=sys.stderr,
        )
        return 2

    run_start = time.perf_counter()
    load_start = load_average()
    results = Results()
    profile = get_profile("full")
    print(f"Full-scale rehearsal of the 'full' profile, {datetime.datetime.now():%Y-%m-%d %H:%M}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {ram_gib():.1f} GiB")
    print(f"load average at start: {load_start} (other jobs share this machine)")

    prepare_work_dir(work_dir)
    print(f"\n1. The data set: {args.cases} cases, Kaggle layout, plain .nii, in {work_dir}")
    start = time.perf_counter()
    data_dir, mapping, apparent_bytes = build_rehearsal_dataset(
        sample, work_dir, args.cases, args.link
    )
    distinct = len({source for _, source in mapping})
    cases_note = (
        f"{args.cases} case folders BraTS20_Training_001..{args.cases:03d} "
        f"({args.link} links) repeating {distinct} real BraTS 2018 sample cases in name order "
        f"(case n = sample case (n-1) mod {distinct})"
    )
    print(f"   {data_dir}: built in {time.perf_counter() - start:.1f} s")
    print(
        f"   CASES REPEAT: {args.cases} folders, {distinct} distinct real cases, so this measures "
        "input/output and computation at full scale, not learning; after the first pass the "
        "files come from the page cache (a learner's 369 different cases come from disk)"
    )
    results.add(
        "dataset_size_plain_nii",
        gigabytes(apparent_bytes),
        "GB",
        "measured",
        f"sum of the {args.cases} cases' five plain .nii files (BraTS 2018 sample files, int16 "
        "240x240x155); the size of a learner's unpacked copy with files like these",
    )

    print("\n2. brats-tutorial check")
    seconds, status, summary_line = measure_check(data_dir)
    print(f"   exit status {status}: {summary_line}")
    results.add(
        "check_seconds",
        seconds,
        "s",
        "measured",
        f"validation.check_command (what `brats-tutorial check` runs) on {args.cases} cases; "
        f"exit status {status}",
    )

    print("\n3. The full profile's cache (prepare_data + prepare_training_data, from scratch)")
    seconds, data, info, split = measure_cache(data_dir)
    on_disk, apparent = disk_usage_bytes(info.cache_dir)
    slices_per_case = profile.preprocessing_settings().slice_count
    print(
        f"   {info.cache_dir}: {len(info.built)} cases built; split {len(split.train)} training, "
        f"{len(split.validation)} validation, {len(split.test)} test patients"
    )
    results.add(
        "cache_build_seconds",
        seconds,
        "s",
        "measured",
        f"prepare_data + prepare_training_data of the full profile ({profile.image_size}x"
        f"{profile.image_size}, {'+'.join(profile.modalities)}), {len(info.built)} cases built",
    )
    results.add(
        "cache_size_on_disk",
        gigabytes(on_disk),
        "GB",
        "measured",
        f"{info.cache_dir.name}: blocks on disk of the .npy files and the manifest "
        f"(apparent size {gigabytes(apparent):.3f} GB)",
    )

    print("\n4. Peak memory of the full profile's training set-up (a fresh process)")
    memory = measure_memory(data_dir, work_dir)
    peak = memory["peak_rss_bytes"]
    fits = peak < COLAB_RAM_GB * 1e9
    results.add(
        "setup_peak_memory",
        gigabytes(peak),
        "GB",
        "measured",
        "VmHWM of a fresh process running train() of the full profile (cache loaded, pipelines "
        "built, full preset compiled) stopped after 1 training + 1 validation step, float32 on "
        f"this CPU; Colab runtime {COLAB_RAM_GB} GB: {'fits' if fits else 'DOES NOT FIT'}",
    )
    results.add(
        "setup_memory_at_train_begin",
        gigabytes(memory.get("rss_at_train_begin_bytes", float("nan"))),
        "GB",
        "measured",
        "VmRSS when fit starts: arrays loaded, pipelines built, model compiled",
    )
    results.add(
        "setup_memory_setup_seconds",
        memory["seconds"],
        "s",
        "measured",
        "wall time of the probe: prepare_data, prepare_training_data (cache up to date), "
        "train() until its first step and first validation step (includes compilation)",
    )

    print("\n5. Input pipelines, batch 32, training slices of the split")
    from brats_tutorial.cache import load_cached_arrays

    start = time.perf_counter()
    images, classes = load_cached_arrays(info.cache_dir, split.train)
    results.add(
        "cache_load_training_seconds",
        time.perf_counter() - start,
        "s",
        "measured",
        f"load_cached_arrays of the {len(split.train)} training patients (what train() does "
        "first), files just written so in the page cache",
    )
    print(f"   training slices: images {images.dtype} {images.shape}, classes {classes.shape}")
    rates = {}
    for kind in ("tf_data", "py_dataset"):
        for augment in ("flip", "rich"):
            rate, slices = pipeline_slices_per_second(
                kind, images, classes, augment, args.pipeline_seconds
            )
            rates[kind, augment] = rate
            what = "tf.data (TensorFlow backend)" if kind == "tf_data" else "SliceDataset (JAX)"
            results.add(
                f"pipeline_{kind}_{augment}_slices_per_second",
                rate,
                "slices/s",
                "measured",
                f"{what}, augment={augment!r}, batch {PIPELINE_BATCH_SIZE}, "
                f"{profile.image_size}x{profile.image_size}x{images.shape[-1]}, {slices} slices "
                f"timed, {os.cpu_count()} cores shared with other jobs",
            )
    del images, classes

    print("\n6. Estimates for a T4 (no GPU here: computed, not measured)")
    forward_flops, parameters, uncounted = full_preset_flops(
        profile.image_size, len(profile.modalities)
    )
    training_flops = TRAINING_TO_FORWARD * forward_flops
    results.add(
        "full_preset_forward_gflops_per_slice",
        forward_flops / 1e9,
        "GFLOP",
        "estimate",
        f"2 x multiply-adds of every Conv2D/Conv2DTranspose of the built full preset "
        f"({parameters:,} parameters) at {profile.image_size}x{profile.image_size}x"
        f"{len(profile.modalities)}; batch norm, activations, pooling not counted"
        + (f"; other weighted layers not counted: {uncounted}" if uncounted else ""),
    )
    results.add(
        "full_preset_training_gflops_per_slice",
        training_flops / 1e9,
        "GFLOP",
        "estimate",
        "forward + backward ~ 3 x forward (backward computes gradients of inputs and weights)",
    )
    peak_flops = T4_FP16_TFLOPS * 1e12
    t4_training_rate = peak_flops * args.utilisation / training_flops
    t4_validation_rate = peak_flops * args.utilisation / forward_flops
    assumption = (
        f"T4 {T4_FP16_TFLOPS:g} TFLOPS mixed-precision FP16/FP32 ({T4_DATASHEET_URL}) at an "
        f"ASSUMED {args.utilisation:.0%} utilisation"
    )
    results.add(
        "t4_training_slices_per_second",
        t4_training_rate,
        "slices/s",
        "estimate",
        assumption,
    )
    core_scale = COLAB_VCPUS / (os.cpu_count() or COLAB_VCPUS)
    scale_note = (
        f"this machine has {os.cpu_count()} logical CPUs like Colab's {COLAB_VCPUS} vCPUs: "
        "not scaled (CPU models differ)"
        if core_scale == 1
        else f"scaled by {COLAB_VCPUS}/{os.cpu_count()} logical CPUs to Colab's {COLAB_VCPUS} "
        "vCPUs (assumes the rate grows with the cores)"
    )
    print(f"   pipeline rates for Colab: {scale_note}")
    colab_pipeline = {key: rate * core_scale for key, rate in rates.items()}
    training_slices = len(split.train) * slices_per_case
    validation_slices = len(split.validation) * slices_per_case
    n_train_2020, n_validation_2020 = training_slices, validation_slices
    if args.cases != BRATS2020_TRAINING_CASES:
        from brats_tutorial.splits import split_patients

        full_split = split_patients(
            [CASE_ID_FORMAT.format(number=n) for n in range(1, BRATS2020_TRAINING_CASES + 1)],
            profile.validation_fraction,
            profile.test_fraction,
        )
        n_train_2020 = len(full_split.train) * slices_per_case
        n_validation_2020 = len(full_split.validation) * slices_per_case
        print(
            f"   (estimates below are for BraTS 2020's {BRATS2020_TRAINING_CASES} cases, "
            f"not this smoke run's {args.cases})"
        )
    results.add(
        "brats2020_training_slices_per_epoch",
        n_train_2020,
        "slices",
        "estimate",
        f"{slices_per_case} slices per case x training patients of the full profile's split of "
        f"{BRATS2020_TRAINING_CASES} cases (validation {profile.validation_fraction:g}, test "
        f"{profile.test_fraction:g}); validation {n_validation_2020} slices",
    )
    for key in (("tf_data", "flip"), ("tf_data", "rich"), ("py_dataset", "flip")):
        kind, augment = key
        pipeline_rate = colab_pipeline[key]
        rate = min(t4_training_rate, pipeline_rate)
        bound = "input pipeline" if pipeline_rate < t4_training_rate else "GPU"
        validation_rate = min(t4_validation_rate, colab_pipeline[kind, "flip"])
        epoch_seconds = n_train_2020 / rate + n_validation_2020 / validation_rate
        label = f"{kind}_{augment}"
        profile_note = (
            " (the full profile's setting on Colab)" if key == ("tf_data", "flip") else ""
        )
        results.add(
            f"t4_epoch_seconds_{label}",
            epoch_seconds,
            "s",
            "estimate",
            f"{kind} augment={augment!r}{profile_note}: bound by the {bound} (T4 "
            f"{t4_training_rate:,.0f} vs pipeline {pipeline_rate:,.0f} slices/s; {scale_note}); "
            f"training {n_train_2020} slices + validation {n_validation_2020} slices "
            f"(forward only); {assumption}; checkpoints not counted",
        )
        results.add(
            f"t4_run_minutes_{label}",
            profile.epochs * epoch_seconds / 60,
            "min",
            "estimate",
            f"{profile.epochs} epochs (the full profile's) x the epoch above; without the "
            "download, check, cache build and compilation",
        )

    print(f"   sensitivity to the assumed utilisation ({scale_note}):")
    for utilisation in (0.10, 0.20, 0.50):
        rate = min(peak_flops * utilisation / training_flops, colab_pipeline["tf_data", "flip"])
        validation_rate = min(
            peak_flops * utilisation / forward_flops, colab_pipeline["tf_data", "flip"]
        )
        epoch_seconds = n_train_2020 / rate + n_validation_2020 / validation_rate
        results.add(
            f"t4_run_minutes_tf_data_flip_at_{utilisation:.0%}".replace("%", "pct"),
            profile.epochs * epoch_seconds / 60,
            "min",
            "estimate",
            f"as t4_run_minutes_tf_data_flip at an ASSUMED {utilisation:.0%} utilisation "
            f"(epoch {epoch_seconds:.0f} s)",
        )

    load_end = load_average()
    total = time.perf_counter() - run_start
    results.add("rehearsal_seconds", total, "s", "measured", "this script's whole run")
    csv_path = args.csv or (
        RESULTS_CSV
        if args.cases == BRATS2020_TRAINING_CASES
        else work_dir / "full_scale_rehearsal.csv"
    )
    provenance = {
        "commit": git_output("rev-parse", "--short", "HEAD"),
        "describe": git_output("describe", "--dirty", "--always", "--tags"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": f"{ram_gib():.1f}",
        "load_average_start": load_start,
        "load_average_end": load_end,
        "cases": cases_note,
        "software": software(),
    }
    write_csv(csv_path, results, provenance)

    epoch = results.value("t4_epoch_seconds_tf_data_flip")
    print("\nSummary")
    print(f"  {cases_note}; cases repeat: I/O and compute at full scale, not learning.")
    print(
        f"  data set {results.value('dataset_size_plain_nii'):.1f} GB of .nii; check "
        f"{results.value('check_seconds'):.0f} s; cache build {results.value('cache_build_seconds'):.0f} s, "
        f"{results.value('cache_size_on_disk'):.2f} GB on disk (measured here)."
    )
    print(
        f"  peak memory of the training set-up {gigabytes(peak):.2f} GB against Colab's "
        f"{COLAB_RAM_GB} GB: {'fits' if fits else 'DOES NOT FIT'} (measured, float32 on this CPU)."
    )
    print(
        "  input pipeline, batch 32: tf.data "
        f"{rates['tf_data', 'flip']:,.0f} (flip) and {rates['tf_data', 'rich']:,.0f} (rich), "
        f"SliceDataset {rates['py_dataset', 'flip']:,.0f} (flip) and "
        f"{rates['py_dataset', 'rich']:,.0f} (rich) slices/s (measured, shared CPU)."
    )
    print(
        f"  T4 estimate at an assumed {args.utilisation:.0%} of {T4_FP16_TFLOPS:g} TFLOPS: "
        f"{t4_training_rate:,.0f} training slices/s; the full profile's epoch "
        f"~{epoch:.0f} s, {profile.epochs} epochs ~{results.value('t4_run_minutes_tf_data_flip'):.0f} min "
        "(ESTIMATES)."
    )
    print(f"  load average: start {load_start}, end {load_end}; whole rehearsal {total:.0f} s.")
    print(f"  results: {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
