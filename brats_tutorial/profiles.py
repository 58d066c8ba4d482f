"""The one switch that sizes the work: the ``quick``, ``cpu`` and ``full`` profiles.

- ``quick`` (the default; nbval and anywhere without data): synthetic data, a small model, a few
  epochs; every chapter runs in well under a minute on 2 CPU cores.
- ``cpu``: real data on a CPU in a few minutes, the published book's setting (built on the 24
  real BraTS 2018 cases of the course's sample): the quick model at 64 x 64, 20 epochs,
  left-right flips, and test-time mirroring at prediction; a quarter of the patients are held out
  as the test set so that the reported scores rest on more than a handful of patients. Each step
  was decided by the adoption rule of :mod:`brats_tutorial.effects` on the 4 validation patients
  of that split, never on its test patients, with 3 training seeds per variant
  (``benchmarks/improvements.py``, commit 4253415, 2-core CPU, 2026-12-03; results in
  ``brats_tutorial/results/improvements.csv``, which chapter 9 shows and checks this profile
  against): test-time mirroring was adopted (mean Dice effect +0.016 over the three regions
  against a rerun's noise of 0.011); rich augmentation (+0.010) and post-processing (+0.000)
  were not. 20 epochs were chosen earlier on the same validation patients (one seed, 2026-11-30:
  30 epochs gave mean Dice within 0.03 of 20 for 50 % more time).
- ``full``: real data on a GPU (Colab, the whole of BraTS 2020). Without real data it stops with
  a message saying how to get BraTS, rather than training for an hour on synthetic data; set
  ``BRATS_SYNTHETIC=1`` to run it on synthetic data on purpose.

Select with the environment variable ``BRATS_PROFILE`` or by name in a chapter's first cells.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .constants import DEFAULT_MODALITIES, PROFILE_ENV


@dataclass(frozen=True)
class Profile:
    """How much work a chapter does.

    Attributes:
        name: "quick", "cpu" or "full".
        synthetic_cases: synthetic patients generated when no real data is configured.
        max_cases: at most this many patients are used (``None``: all).
        model_preset: a key of :data:`brats_tutorial.model.PRESETS`.
        epochs: training epochs.
        batch_size: slices per batch.
        learning_rate: initial learning rate (cosine decay to zero over the run).
        image_size: in-plane size the slices are resized to. The full profile uses the original
            notebook's 128 x 128; the quick and cpu profiles use 64 x 64, which trains about 4-5
            times faster on a CPU (measured on this project's 2-core machine).
        validation_fraction: share of the patients held out to pick the best epoch.
        test_fraction: share of the patients held out for the final evaluation.
        needs_real_data: without real data, stop with a message instead of falling back to
            synthetic data (True only for ``full``; synthetic data on purpose: ``BRATS_SYNTHETIC=1``
            or ``prepare_data(..., synthetic=True)``).
        modalities: input modalities, in order.
        context_slices: 2.5D input, neighbours on each side (0: plain 2D).
        target: "classes" (softmax) or "regions" (sigmoid WT, TC, ET).
        augment: "none", "flip" or "rich" (:mod:`brats_tutorial.augmentation`).
        mirror: test-time augmentation by mirroring at prediction.
        tune_postprocessing: after training, choose the post-processing thresholds on the
            validation patients (:func:`brats_tutorial.inference.choose_inference_settings`).
    """

    name: str
    synthetic_cases: int
    max_cases: int | None
    model_preset: str
    epochs: int
    batch_size: int
    learning_rate: float
    image_size: int
    validation_fraction: float = 0.15
    test_fraction: float = 0.15
    needs_real_data: bool = False
    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    context_slices: int = 0
    target: str = "classes"
    augment: str = "flip"
    mirror: bool = False
    tune_postprocessing: bool = False

    def preprocessing_settings(self, **overrides):
        """The default :class:`~brats_tutorial.preprocessing.PreprocessingSettings` of this profile."""
        from .preprocessing import PreprocessingSettings

        return PreprocessingSettings(
            **{"image_size": self.image_size, "modalities": self.modalities, **overrides}
        )


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        synthetic_cases=10,
        max_cases=10,
        model_preset="quick",
        epochs=4,
        batch_size=16,
        learning_rate=3e-3,
        image_size=64,
    ),
    "cpu": Profile(
        name="cpu",
        synthetic_cases=10,
        max_cases=None,
        model_preset="quick",
        epochs=20,
        batch_size=16,
        learning_rate=3e-3,
        image_size=64,
        validation_fraction=0.15,
        test_fraction=0.25,
        augment="flip",
        mirror=True,
    ),
    "full": Profile(
        name="full",
        synthetic_cases=60,
        max_cases=None,
        model_preset="full",
        epochs=40,
        batch_size=32,
        learning_rate=1e-3,
        image_size=128,
        needs_real_data=True,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name``, else the one named by ``BRATS_PROFILE``, else ``quick``.

    Raises:
        ValueError: for an unknown name.
    """
    name = name or os.environ.get(PROFILE_ENV) or "quick"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]
