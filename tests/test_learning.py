"""The quick profile learns: on synthetic patients it never saw, it finds the tumour.

An all-background prediction scores a whole-tumour Dice of 0 on every case with a tumour (BraTS
convention: one empty mask gives 0), so any real detection shows as a clearly positive Dice.
"""

from __future__ import annotations

import numpy as np
import pytest

from brats_tutorial.discovery import find_cases
from brats_tutorial.inference import predict_case
from brats_tutorial.loading import load_case
from brats_tutorial.volume_metrics import region_scores

# Threshold from measurement: the quick profile (4 epochs, 64 x 64, 7 training patients) scored a
# mean WT Dice of 0.76 on the 2 held-out synthetic patients of this test (2026-11-25, TensorFlow
# CPU); 0.5 leaves a wide margin
# for run-to-run variation across machines while staying far above the baseline of 0.
MINIMUM_WT_DICE = 0.5


@pytest.mark.slow
def test_quick_profile_finds_the_tumour_on_unseen_patients(quick_run):
    data, settings, _, split, model, history, config = quick_run
    assert data.is_synthetic
    assert len(history) == config.epochs

    unseen = [c for c in find_cases(data.data_dir) if c.case_id in split.test]
    assert unseen and not set(split.test) & set(split.train)
    model_dice, baseline_dice = [], []
    for case_files in unseen:
        case = load_case(case_files, settings.modalities)
        prediction = predict_case(model, case, settings)
        model_dice.append(region_scores(prediction, case.mask, case.spacing)["Dice_WT"])
        empty = np.zeros_like(case.mask)
        baseline_dice.append(region_scores(empty, case.mask, case.spacing)["Dice_WT"])
    print(
        f"WT Dice on {len(unseen)} unseen synthetic patients: model {np.mean(model_dice):.3f}, "
        f"all-background {np.mean(baseline_dice):.3f}"
    )
    assert np.mean(baseline_dice) == 0.0
    assert np.mean(model_dice) > MINIMUM_WT_DICE
