"""The adoption rule: a variant's effect against the baseline, weighed against a rerun's noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brats_tutorial.effects import REGIONS, adoption, effects, seed_means

PATIENTS = ("p1", "p2", "p3", "p4")


def results_table(means: dict[tuple[str, int], dict[str, float]], part="validation"):
    """Per-patient rows whose patient means are ``means[(variant, seed)][region]``: the patients
    spread by -0.1, -0.05, +0.05, +0.1 around each mean."""
    offsets = (-0.1, -0.05, 0.05, 0.1)
    rows = []
    for (variant, seed), regions in means.items():
        for region, mean in regions.items():
            for case_id, offset in zip(PATIENTS, offsets):
                rows.append(
                    {
                        "variant": variant,
                        "seed": seed,
                        "part": part,
                        "case_id": case_id,
                        "region": region,
                        "dice": mean + offset,
                    }
                )
    return pd.DataFrame(rows)


BASELINE = {  # seed-to-seed spread: WT 0.70/0.72/0.74 (sd 0.02), TC and ET the same
    ("baseline", seed): {region: value for region in REGIONS}
    for seed, value in zip((0, 1, 2), (0.70, 0.72, 0.74))
}


def with_variant(name: str, shifts: dict[str, float], seeds=(0, 1, 2)):
    means = dict(BASELINE)
    for seed in seeds:
        base = BASELINE[("baseline", seed)]
        means[(name, seed)] = {region: base[region] + shifts[region] for region in REGIONS}
    return results_table(means)


def test_seed_means_average_the_patients_of_one_part_only():
    table = pd.concat(
        [
            with_variant("v", dict.fromkeys(REGIONS, 0.0)),
            results_table({("baseline", 0): dict.fromkeys(REGIONS, 0.1)}, part="test"),
        ]
    )
    means = seed_means(table)
    assert list(means.columns) == list(REGIONS)
    np.testing.assert_allclose(means.loc[("baseline", 0)], [0.70] * 3)
    np.testing.assert_allclose(seed_means(table, "test").loc[("baseline", 0)], [0.1] * 3)


def test_effect_is_the_paired_difference_and_noise_the_baselines_spread():
    table = effects(with_variant("better", {"WT": 0.05, "TC": 0.0, "ET": -0.01}))
    np.testing.assert_allclose(table.loc[("better", "WT"), "effect"], 0.05, atol=1e-12)
    np.testing.assert_allclose(table.loc[("better", "ET"), "effect"], -0.01, atol=1e-12)
    # Paired by seed: a constant shift has no spread although the baseline varies by 0.02.
    np.testing.assert_allclose(table.loc[("better", "WT"), "effect_sd"], 0.0, atol=1e-12)
    np.testing.assert_allclose(table["noise"], 0.02, atol=1e-12)
    assert (table["seeds"] == 3).all()


@pytest.mark.parametrize(
    ("shifts", "adopted", "reason"),
    [
        ({"WT": 0.05, "TC": 0.04, "ET": 0.06}, True, "exceeds the noise"),
        ({"WT": 0.01, "TC": 0.01, "ET": 0.01}, False, "does not exceed the noise"),
        ({"WT": 0.10, "TC": 0.10, "ET": -0.05}, False, "ET is worse"),
    ],
)
def test_the_rule_adopts_only_effects_beyond_the_noise(shifts, adopted, reason):
    verdict = adoption(effects(with_variant("v", shifts))).loc["v"]
    assert verdict["adopted"] == adopted
    assert reason in verdict["reason"]


def test_one_seed_adopts_nothing_however_large_the_effect():
    one_seed = results_table(
        {("baseline", 0): dict.fromkeys(REGIONS, 0.5), ("v", 0): dict.fromkeys(REGIONS, 0.9)}
    )
    verdict = adoption(effects(one_seed)).loc["v"]
    assert not verdict["adopted"] and "unknown" in verdict["reason"]


def test_the_test_patients_do_not_enter_the_decision():
    validation = with_variant("v", {"WT": 0.05, "TC": 0.04, "ET": 0.06})
    test_part = with_variant("v", {"WT": -0.5, "TC": -0.5, "ET": -0.5}).assign(part="test")
    both = pd.concat([validation, test_part])
    assert adoption(effects(both)).loc["v", "adopted"]


def test_missing_baseline_is_a_clear_error():
    with pytest.raises(ValueError, match="no 'baseline' rows"):
        effects(results_table({("v", 0): {"WT": 0.5}}))
