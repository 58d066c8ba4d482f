"""Effects weighed against their noise: the rule by which the course adopts an improvement.

``benchmarks/improvements.py`` trains the ``cpu`` profile's recipe (the *baseline*) and each
variant with several seeds on the same patients, and scores every model per patient. Training the
same recipe again with another seed changes the scores too, so a variant's difference to the
baseline means something only when it is larger than what a rerun alone changes.

The rule, fixed before the numbers were seen, uses the **validation patients only** (the test
patients are reported, never consulted):

- *effect* of a variant in a region: the mean over seeds of the paired difference
  ``mean Dice(variant, seed s) - mean Dice(baseline, seed s)`` (means over the validation
  patients; inference-only variants reuse the model of their seed, so the pair shares it);
- *noise* in a region: the standard deviation over seeds of the baseline's own mean Dice;
- a variant is **adopted** when its effect, averaged over the three regions, is larger than the
  noise averaged over the three regions, and no region's effect is below minus that region's
  noise; with fewer than two seeds of both, nothing is adopted (the noise is unknown).

Input: the per-patient results table of the benchmark (``brats_tutorial/results/improvements.csv``):
columns ``variant``, ``seed``, ``part`` ("validation"/"test"), ``case_id``, ``region`` ("WT",
"TC", "ET"), ``dice`` (float in [0, 1]).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["REGIONS", "seed_means", "effects", "adoption"]

#: The BraTS regions, in the order the tables show them.
REGIONS: tuple[str, ...] = ("WT", "TC", "ET")


def seed_means(results: pd.DataFrame, part: str = "validation") -> pd.DataFrame:
    """Mean Dice over the patients of ``part``, per variant, seed and region.

    Returns:
        DataFrame indexed by (variant, seed), one float column per region (WT, TC, ET).

    >>> table = pd.DataFrame({"variant": ["b"] * 4, "seed": [0, 0, 1, 1], "part": "validation",
    ...     "case_id": ["p1", "p2"] * 2, "region": "WT", "dice": [0.8, 0.6, 0.9, 0.7]})
    >>> seed_means(table)["WT"].round(3).tolist()
    [0.7, 0.8]
    """
    rows = results[results["part"] == part]
    table = rows.groupby(["variant", "seed", "region"])["dice"].mean().unstack("region")
    return table[[region for region in REGIONS if region in table.columns]]


def effects(
    results: pd.DataFrame, baseline: str = "baseline", part: str = "validation"
) -> pd.DataFrame:
    """Each variant's effect against the baseline and the noise of a rerun, per region.

    Returns:
        DataFrame indexed by (variant, region) with columns ``effect`` (mean over the shared
        seeds of the paired difference of mean Dice), ``effect_sd`` (its standard deviation over
        those seeds; NaN with one seed), ``noise`` (standard deviation over seeds of the
        baseline's mean Dice; NaN with one seed), ``seeds`` (number of shared seeds),
        ``variant_dice`` and ``baseline_dice`` (means over those seeds).

    Raises:
        ValueError: when the results hold no row of ``baseline`` in ``part``.
    """
    means = seed_means(results, part)
    if baseline not in means.index.get_level_values("variant"):
        raise ValueError(f"the results have no {baseline!r} rows for the {part} patients")
    base = means.loc[baseline]
    rows = []
    for variant in means.index.get_level_values("variant").unique():
        if variant == baseline:
            continue
        own = means.loc[variant]
        shared = own.index.intersection(base.index)
        for region in means.columns:
            difference = own.loc[shared, region] - base.loc[shared, region]
            rows.append(
                {
                    "variant": variant,
                    "region": region,
                    "effect": difference.mean(),
                    "effect_sd": difference.std(ddof=1) if len(shared) > 1 else np.nan,
                    "noise": base[region].std(ddof=1) if len(base) > 1 else np.nan,
                    "seeds": len(shared),
                    "variant_dice": own.loc[shared, region].mean(),
                    "baseline_dice": base.loc[shared, region].mean(),
                }
            )
    return pd.DataFrame(rows).set_index(["variant", "region"])


def adoption(effect_table: pd.DataFrame) -> pd.DataFrame:
    """Apply the module's rule to the table :func:`effects` returns.

    Returns:
        DataFrame indexed by variant: ``mean_effect`` and ``mean_noise`` (over the regions),
        ``worst_region`` (the region whose effect is lowest relative to its noise), ``seeds``,
        ``adopted`` (bool) and ``reason`` (one sentence).
    """
    lines = []
    for variant, table in effect_table.groupby(level="variant", sort=False):
        table = table.droplevel("variant")
        seeds = int(table["seeds"].min())
        mean_effect, mean_noise = table["effect"].mean(), table["noise"].mean()
        margin = table["effect"] + table["noise"]
        worst = str(margin.idxmin()) if margin.notna().any() else "-"
        if seeds < 2 or not np.isfinite(mean_noise):
            adopted, reason = False, f"{seeds} seed(s): the noise of a rerun is unknown"
        elif mean_effect <= mean_noise:
            adopted = False
            reason = f"mean effect {mean_effect:+.3f} does not exceed the noise {mean_noise:.3f}"
        elif margin.min() < 0:
            adopted = False
            reason = f"{worst} is worse by more than its noise ({table.loc[worst, 'effect']:+.3f})"
        else:
            adopted = True
            reason = f"mean effect {mean_effect:+.3f} exceeds the noise {mean_noise:.3f}"
        lines.append(
            {
                "variant": variant,
                "mean_effect": mean_effect,
                "mean_noise": mean_noise,
                "worst_region": worst,
                "seeds": seeds,
                "adopted": adopted,
                "reason": reason,
            }
        )
    return pd.DataFrame(lines).set_index("variant")
