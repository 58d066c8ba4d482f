"""Input-pipeline benchmark: the original notebook's loader against the cached pipelines.

Run from the repository root::

    python benchmarks/bench_input_pipeline.py [--cases 6] [--epochs 5] [--repeats 3] [--batch-size 100]

It writes a synthetic data set (plain ``.nii`` files, like the Kaggle mirror of BraTS 2020) in a
temporary folder and, in one run, measures slices per second of:

(a) the original notebook's loader: per batch, one patient's FLAIR, T1ce and mask read with
    nibabel's ``get_fdata()`` (float64), each of slices 22..121 resized one by one to 128 x 128
    (``cv2.resize`` in the original; here cv2 when installed, else ``scipy.ndimage.zoom`` with
    the same pixel convention, see the printed line), the mask one-hot encoded then resized
    bilinearly (``tf.image.resize`` in the original; here SciPy), the images divided by the
    batch maximum: a batch of 100 slices. The loader is also timed as "(a, fast)", every
    resize done as two matrix products and the mask resized as one batch operation (the same
    numbers), in case SciPy is the slow part; cv2 and TensorFlow may still be faster than
    either, so the ratios against the original are upper estimates;
(b) this project's pipeline: ``build_cache`` once (timed and printed on its own), then
    ``make_tf_dataset`` batches iterated for several epochs;
(c) the backend-agnostic ``SliceDataset`` over the same cached arrays.

Every pipeline yields float32 images and float32 one-hot masks of the same shapes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

try:
    import brats_tutorial  # noqa: F401
except ImportError:  # run from a source checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Small matrix products run fastest single-threaded; threads thrash on a shared 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from brats_tutorial.cache import build_cache, load_cached_arrays  # noqa: E402
from brats_tutorial.constants import IMAGE_SIZE, SLICE_COUNT, SLICE_START  # noqa: E402
from brats_tutorial.preprocessing import PreprocessingSettings, resize_onehot_bilinear  # noqa: E402
from brats_tutorial.synthetic import generate_dataset  # noqa: E402

try:
    import cv2  # type: ignore[import-not-found]
except ImportError:  # not a dependency of the project
    cv2 = None


def resize_slice(image: np.ndarray, size: int) -> np.ndarray:
    """One 2D slice, linear interpolation (cv2.resize's default INTER_LINEAR convention)."""
    if cv2 is not None:
        return cv2.resize(image, (size, size))
    return ndimage.zoom(
        image,
        (size / image.shape[0], size / image.shape[1]),
        order=1,
        mode="nearest",
        grid_mode=True,
    )


def bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """float32 (size_out, size_in): linear interpolation weights, pixel centres at half pixels,
    edges clamped (the convention of cv2.resize and tf.image.resize)."""
    source = np.clip((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0, size_in - 1)
    lower = np.floor(source).astype(int)
    upper = np.minimum(lower + 1, size_in - 1)
    fraction = (source - lower).astype(np.float32)
    weights = np.zeros((size_out, size_in), dtype=np.float32)
    np.add.at(weights, (np.arange(size_out), lower), 1 - fraction)
    np.add.at(weights, (np.arange(size_out), upper), fraction)
    return weights


WEIGHTS = bilinear_matrix(240, IMAGE_SIZE)


def fast_resize_slice(image: np.ndarray, size: int) -> np.ndarray:
    """One 2D slice, bilinear, as two small matrix products."""
    return WEIGHTS @ image.astype(np.float32) @ WEIGHTS.T


def fast_onehot_bilinear(classes: np.ndarray) -> np.ndarray:
    """Like ``tf.image.resize(tf.one_hot(classes, 4), (128, 128))``, vectorised over the batch.

    Args:
        classes: uint8 (S, 240, 240). Returns: float32 (S, 128, 128, 4).
    """
    one_hot = (classes[:, None] == np.arange(4, dtype=np.uint8)[None, :, None, None]).astype(
        np.float32
    )
    return np.ascontiguousarray((WEIGHTS @ one_hot @ WEIGHTS.T).transpose(0, 2, 3, 1))


def original_batch(
    case_folder: Path, timings: dict[str, float] | None = None, fast: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The original notebook's ``DataGenerator.__data_generation`` for a batch of one patient.

    Args:
        case_folder: a BraTS 2020 case folder with plain ``.nii`` files.
        timings: if given, seconds spent reading, resizing images and making masks are added
            under "read", "resize images" and "masks".
        fast: resize with :func:`fast_resize_slice` and :func:`fast_onehot_bilinear` (the
            mask resized as one vectorised batch operation, like the original's
            ``tf.image.resize``) instead of per-slice SciPy resizing.

    Returns:
        ``(X / max(X), Y)``: float64 (100, 128, 128, 2) and float32 (100, 128, 128, 4).
    """
    timings = {} if timings is None else timings
    case_id = case_folder.name
    start = time.perf_counter()
    flair = nib.load(case_folder / f"{case_id}_flair.nii").get_fdata()
    t1ce = nib.load(case_folder / f"{case_id}_t1ce.nii").get_fdata()
    seg = nib.load(case_folder / f"{case_id}_seg.nii").get_fdata()
    read_done = time.perf_counter()
    images = np.zeros((SLICE_COUNT, IMAGE_SIZE, IMAGE_SIZE, 2))
    masks = np.zeros((SLICE_COUNT, 240, 240))
    for j in range(SLICE_COUNT):
        resize = fast_resize_slice if fast else resize_slice
        images[j, :, :, 0] = resize(flair[:, :, j + SLICE_START], IMAGE_SIZE)
        images[j, :, :, 1] = resize(t1ce[:, :, j + SLICE_START], IMAGE_SIZE)
        masks[j] = seg[:, :, j + SLICE_START]
    resize_done = time.perf_counter()
    masks[masks == 4] = 3
    # Original: tf.image.resize(tf.one_hot(y, 4), (128, 128)), bilinear; the same in NumPy.
    if fast:
        one_hot_masks = fast_onehot_bilinear(masks.astype(np.uint8))
    else:
        one_hot_masks = resize_onehot_bilinear(masks.astype(np.uint8), IMAGE_SIZE)
    result = images / np.max(images), one_hot_masks
    end = time.perf_counter()
    for name, seconds in (
        ("read", read_done - start),
        ("resize images", resize_done - read_done),
        ("masks", end - resize_done),
    ):
        timings[name] = timings.get(name, 0.0) + seconds
    return result


def time_original(case_folders: list[Path], fast: bool) -> tuple[float, float, dict[str, float]]:
    """One epoch of the original loader: (slices per second, CPU ms per slice, seconds per step)."""
    timings: dict[str, float] = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    slices = 0
    for folder in case_folders:
        images, masks = original_batch(folder, timings, fast)
        slices += images.shape[0]
    cpu_ms = (time.process_time() - cpu_start) * 1000 / slices
    return slices / (time.perf_counter() - start), cpu_ms, timings


def time_tf_dataset(
    images, classes, batch_size: int, epochs: int, repeats: int, augment: bool
) -> tuple[list[float], list[float]]:
    """Slices per second and CPU ms per slice of ``make_tf_dataset``, per repeat of ``epochs`` epochs."""
    from brats_tutorial.tf_data import make_tf_dataset

    dataset = make_tf_dataset(images, classes, batch_size=batch_size, shuffle=True, augment=augment)
    for _ in dataset:  # warm-up epoch: tracing and thread pools
        pass
    rates, cpu_ms = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        slices = 0
        for _ in range(epochs):
            for batch_images, _batch_masks in dataset:
                slices += int(batch_images.shape[0])
        rates.append(slices / (time.perf_counter() - start))
        cpu_ms.append((time.process_time() - cpu_start) * 1000 / slices)
    return rates, cpu_ms


def time_slice_dataset(
    images, classes, batch_size: int, epochs: int, repeats: int, augment: bool
) -> tuple[list[float], list[float]]:
    """Slices per second and CPU ms per slice of ``SliceDataset``, per repeat of ``epochs`` epochs."""
    from brats_tutorial.py_dataset import SliceDataset

    dataset = SliceDataset(images, classes, batch_size=batch_size, shuffle=True, augment=augment)
    rates, cpu_ms = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        slices = 0
        for _ in range(epochs):
            for index in range(len(dataset)):
                batch_images, batch_masks = dataset[index]
                slices += batch_images.shape[0]
            dataset.on_epoch_end()
        rates.append(slices / (time.perf_counter() - start))
        cpu_ms.append((time.process_time() - cpu_start) * 1000 / slices)
    return rates, cpu_ms


def summary(rates: list[float], cpu_ms: list[float]) -> str:
    return (
        f"best {max(rates):,.0f}, median {float(np.median(rates)):,.0f} slices/s; "
        f"CPU time {min(cpu_ms):.3f} ms per slice (all threads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases", type=int, default=6, help="synthetic cases (default %(default)s)"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=5,
        help="epochs per timed repeat of the cached pipelines (default %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed repeats of every measurement; the best counts (default %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=SLICE_COUNT,
        help="batch size of the cached pipelines (default %(default)s)",
    )
    args = parser.parse_args()

    print(f"CPU cores visible: {os.cpu_count()}; other processes may share them, so every")
    print(
        f"measurement is repeated {args.repeats} times and the best (least disturbed) run counts."
    )
    with tempfile.TemporaryDirectory(prefix="bench_input_pipeline_") as temporary:
        data_dir = Path(temporary) / "data"
        start = time.perf_counter()
        case_folders = generate_dataset(data_dir, n_cases=args.cases, seed=0, compressed=False)
        print(f"synthetic data: {args.cases} cases (.nii) in {time.perf_counter() - start:.1f} s")

        resizer = "cv2.resize" if cv2 is not None else "scipy.ndimage.zoom (cv2 not installed)"
        slow_images, slow_masks = original_batch(case_folders[0])  # warms the page cache
        fast_images, fast_masks = original_batch(case_folders[0], fast=True)
        difference = max(
            np.abs(slow_images - fast_images).max(), np.abs(slow_masks - fast_masks).max()
        )
        original_rates: dict[bool, list[float]] = {False: [], True: []}
        original_cpu: dict[bool, list[float]] = {False: [], True: []}
        original_timings: dict[bool, dict[str, float]] = {}
        for _ in range(args.repeats):  # alternate, so both see the same disturbances
            for fast in (False, True):
                rate, cpu_ms, timings = time_original(case_folders, fast)
                if not original_rates[fast] or rate > max(original_rates[fast]):
                    original_timings[fast] = timings
                original_rates[fast].append(rate)
                original_cpu[fast].append(cpu_ms)
        for fast, label in (
            (False, f"per-slice resize with {resizer}, masks with SciPy"),
            (True, "every resize as matrix products, masks vectorised over the batch"),
        ):
            print(
                f"(a{', fast' if fast else ''}) original loader, {label}: batches of {SLICE_COUNT} slices"
            )
            print(f"    {summary(original_rates[fast], original_cpu[fast])}")
            print(
                f"    best epoch of {len(case_folders) * SLICE_COUNT} slices: "
                + ", ".join(
                    f"{name} {value:.2f} s" for name, value in original_timings[fast].items()
                )
            )
        print(f"    (the two give the same batches: largest difference {difference:.1e})")
        original_rate = max(original_rates[False])
        fast_original_rate = max(original_rates[True])
        original_cpu_ms = min(original_cpu[False])

        settings = PreprocessingSettings()
        start = time.perf_counter()
        info = build_cache(data_dir, Path(temporary) / "cache", settings, progress=False)
        cache_seconds = time.perf_counter() - start
        print(
            f"build_cache (once, not in the rates below): {len(info.built)} cases in "
            f"{cache_seconds:.2f} s ({cache_seconds / max(len(info.built), 1):.2f} s per case)"
        )
        images, classes = load_cached_arrays(info.cache_dir, info.case_ids)
        print(
            f"cached arrays: images {images.dtype} {images.shape}, classes {classes.dtype} {classes.shape}"
        )

        rates = {}
        for augment in (False, True):
            rates[f"(b) make_tf_dataset, augment={augment}"] = time_tf_dataset(
                images, classes, args.batch_size, args.epochs, args.repeats, augment
            )
        for augment in (False, True):
            rates[f"(c) SliceDataset, augment={augment}"] = time_slice_dataset(
                images, classes, args.batch_size, args.epochs, args.repeats, augment
            )

    print(
        f"batch size {args.batch_size}, {args.epochs} epochs of {images.shape[0]} slices per repeat:"
    )
    for name, (values, cpu_ms) in rates.items():
        best = max(values)
        print(f"    {name}: {summary(values, cpu_ms)}")
        print(
            f"        best = {best / original_rate:.1f} x (a), {best / fast_original_rate:.1f} x (a, fast); "
            f"CPU time per slice {original_cpu_ms / min(cpu_ms):.1f} x less than (a)"
        )
    tf_rate = max(rates["(b) make_tf_dataset, augment=False"][0])
    print(
        f"targets: cached tf.data >= 20 x the original: {tf_rate / original_rate:.1f} x (a), "
        f"{tf_rate / fast_original_rate:.1f} x (a, fast) "
        f"({'met' if tf_rate >= 20 * original_rate else 'NOT met'} against (a)); "
        f">= 4,000 slices/s: {tf_rate:,.0f} ({'met' if tf_rate >= 4000 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
