"""Time the BraTS evaluation of one case: region_scores and evaluate_case on 240 x 240 x 155.

Uses the real BraTS 2018 sample when it is there (``brats_tutorial.data_sources.sample_dir()``),
else synthetic ellipsoid tumours. The prediction is a realistic imperfect one: the reference with
the tumour core dilated by two voxels into the oedema and the whole map shifted by (2, -3, 1)
voxels. Target: under 2 s per case (all of Dice, sensitivity, specificity, HD95 for WT, TC, ET).

Run from the repository root (with the package installed, ``pip install -e .``, or
``PYTHONPATH=.``): ``python benchmarks/bench_volume_metrics.py [--cases N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import ndimage

from brats_tutorial.constants import VOLUME_SHAPE, VOXEL_SPACING_MM
from brats_tutorial.data_sources import sample_dir
from brats_tutorial.discovery import find_cases
from brats_tutorial.evaluation import evaluate_case
from brats_tutorial.loading import load_volume
from brats_tutorial.volume_metrics import hd95, region_scores


def synthetic_reference(seed: int) -> np.ndarray:
    """uint8 (240, 240, 155), labels {0, 1, 2, 4}: nested ellipsoids at a random place."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform((80, 80, 50), (160, 160, 105))
    radii = rng.uniform((20, 20, 15), (40, 40, 30))
    grid = np.ogrid[tuple(slice(0, n) for n in VOLUME_SHAPE)]
    distance = np.sqrt(sum(((grid[a] - centre[a]) / radii[a]) ** 2 for a in range(3)))
    labels = np.zeros(VOLUME_SHAPE, dtype=np.uint8)
    labels[distance < 1.0] = 2
    labels[distance < 0.6] = 4
    labels[distance < 0.4] = 1
    return labels


def imperfect_prediction(reference: np.ndarray) -> np.ndarray:
    """The reference with the core grown two voxels into the oedema, shifted by (2, -3, 1)."""
    prediction = reference.copy()
    core = np.isin(reference, (1, 4))
    grown = ndimage.binary_dilation(core, iterations=2) & ~core & (reference > 0)
    prediction[grown] = 1
    return np.roll(prediction, shift=(2, -3, 1), axis=(0, 1, 2))


def load_references(count: int) -> tuple[str, list[tuple[str, np.ndarray, tuple[float, ...]]]]:
    folder = sample_dir()
    if folder is None:
        return "synthetic", [
            (f"synthetic_{seed}", synthetic_reference(seed), VOXEL_SPACING_MM)
            for seed in range(count)
        ]
    references = []
    for case in [c for c in find_cases(folder) if c.has_mask][:count]:
        volume = load_volume(case.mask, is_mask=True)
        references.append((case.case_id, volume.data, volume.spacing))
    return f"real sample {folder}", references


def best_of(repeats: int, function, *args) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8, help="number of cases")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the best is kept")
    parser.add_argument(
        "--whole-volume", action="store_true", help="also time HD95 without cropping (slow)"
    )
    arguments = parser.parse_args()

    source, references = load_references(arguments.cases)
    print(f"data: {source}, {len(references)} case(s), best of {arguments.repeats} run(s)")
    header = ("case", "region_scores s", "evaluate_case s", "Dice_WT", "HD95_WT")
    print(f"{header[0]:<24} {header[1]:>16} {header[2]:>16} {header[3]:>8} {header[4]:>8}")
    region_times, case_times = [], []
    for case_id, reference, spacing in references:
        prediction = imperfect_prediction(reference)
        scores = region_scores(prediction, reference, spacing)  # warm-up
        region_time = best_of(arguments.repeats, region_scores, prediction, reference, spacing)
        case_time = best_of(
            arguments.repeats, evaluate_case, prediction, reference, spacing, case_id
        )
        region_times.append(region_time)
        case_times.append(case_time)
        print(
            f"{case_id:<24} {region_time:>16.3f} {case_time:>16.3f} "
            f"{scores['Dice_WT']:>8.3f} {scores['HD95_WT']:>8.2f}"
        )
        if arguments.whole_volume:
            wt_prediction, wt_reference = prediction > 0, reference > 0
            cropped = best_of(1, hd95, wt_prediction, wt_reference, spacing)
            start = time.perf_counter()
            whole = hd95(wt_prediction, wt_reference, spacing, False)
            whole_time = time.perf_counter() - start
            print(
                f"{'':<24} HD95_WT cropped {cropped:.3f} s, whole volume {whole_time:.3f} s "
                f"(values {hd95(wt_prediction, wt_reference, spacing):.4f} / {whole:.4f})"
            )
    print(
        f"region_scores: mean {np.mean(region_times):.3f} s/case, max {np.max(region_times):.3f}; "
        f"evaluate_case (with the original notebook's metrics): mean {np.mean(case_times):.3f} "
        f"s/case, max {np.max(case_times):.3f}; target < 2 s/case"
    )


if __name__ == "__main__":
    main()
