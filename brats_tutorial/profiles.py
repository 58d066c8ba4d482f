"""The one switch that sizes the work: the ``quick`` and ``full`` profiles.

``quick`` (the default, CI and the HTML build): synthetic data, a small model, a few epochs;
every chapter runs in well under a minute on 2 CPU cores. ``full``: real data on a GPU.

Select with the environment variable ``BRATS_PROFILE`` or by name in a chapter's first cells.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .constants import PROFILE_ENV


@dataclass(frozen=True)
class Profile:
    """How much work a chapter does.

    Attributes:
        name: "quick" or "full".
        synthetic_cases: synthetic patients generated when no real data is configured.
        max_cases: at most this many patients are used (``None``: all).
        model_preset: a key of :data:`brats_tutorial.model.PRESETS`.
        epochs: training epochs.
        batch_size: slices per batch.
        learning_rate: initial learning rate (cosine decay to zero over the run).
        image_size: in-plane size the slices are resized to. The full profile uses the original
            notebook's 128 x 128; the quick profile uses 64 x 64, which trains about 4-5 times
            faster on a CPU (measured on this project's 2-core machine) and is enough for the
            synthetic data.
    """

    name: str
    synthetic_cases: int
    max_cases: int | None
    model_preset: str
    epochs: int
    batch_size: int
    learning_rate: float
    image_size: int

    def preprocessing_settings(self, **overrides):
        """The default :class:`~brats_tutorial.preprocessing.PreprocessingSettings` of this profile."""
        from .preprocessing import PreprocessingSettings

        return PreprocessingSettings(**{"image_size": self.image_size, **overrides})


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
    "full": Profile(
        name="full",
        synthetic_cases=60,
        max_cases=None,
        model_preset="full",
        epochs=40,
        batch_size=32,
        learning_rate=1e-3,
        image_size=128,
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
