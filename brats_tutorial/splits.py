"""Patient-level train / validation / test splits.

Slices of one patient are nearly identical neighbours; splitting by slice would put a patient's
slice 60 in training and slice 61 in the test set, and the test score would measure memory, not
generalisation. Every split here is by patient (case id), reproducible from a seed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import save_json_atomic
from .errors import BratsDataError

PARTS: tuple[str, ...] = ("train", "validation", "test")


def _repeated(case_ids: Iterable[str]) -> list[str]:
    return sorted(case_id for case_id, count in Counter(case_ids).items() if count > 1)


@dataclass(frozen=True)
class PatientSplit:
    """Case ids of each part, each sorted.

    Attributes:
        train: cases the model learns from.
        validation: cases for choosing the epoch and settings.
        test: cases held out until the end.
    """

    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]

    def __post_init__(self) -> None:
        for part in PARTS:
            value = getattr(self, part)
            if isinstance(value, str):
                raise ValueError(f"{part} must be a sequence of case ids, got the string {value!r}")
            object.__setattr__(self, part, tuple(str(case_id) for case_id in value))

    @property
    def all_case_ids(self) -> tuple[str, ...]:
        """Every case of the split, sorted."""
        return tuple(sorted(self.train + self.validation + self.test))

    def assert_disjoint(self) -> None:
        """Raise ``AssertionError`` naming the cases found in two parts, or repeated in one."""
        problems = []
        for part in PARTS:
            repeated = _repeated(getattr(self, part))
            if repeated:
                problems.append(f"{part} repeats {repeated}")
        for index, first in enumerate(PARTS):
            for second in PARTS[index + 1 :]:
                shared = sorted(set(getattr(self, first)) & set(getattr(self, second)))
                if shared:
                    problems.append(f"{first} and {second} share {shared}")
        if problems:
            raise AssertionError("patient split is not disjoint: " + "; ".join(problems))

    def to_dict(self) -> dict[str, list[str]]:
        """JSON-ready dict ``{"train": [...], "validation": [...], "test": [...]}``."""
        return {part: list(getattr(self, part)) for part in PARTS}


def _part_sizes(count: int, validation_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Sizes of (validation, test): rounded fractions, at least 1 each (when its fraction > 0)
    once there are >= 3 cases, and never leaving the training part empty."""
    validation = int(round(count * validation_fraction))
    test = int(round(count * test_fraction))
    if count >= 3:
        validation = max(validation, 1 if validation_fraction > 0 else 0)
        test = max(test, 1 if test_fraction > 0 else 0)
    while validation + test > count - 1 and validation + test > 0:
        if test >= validation:
            test -= 1
        else:
            validation -= 1
    return validation, test


def split_patients(
    case_ids: Iterable[str],
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> PatientSplit:
    """Split cases (patients) at random into training, validation and test parts.

    The ids are sorted before shuffling, so the result depends only on the set of ids and the
    seed, not on their order. Part sizes are the rounded fractions of the number of cases; with
    3 or more cases every part with a fraction > 0 gets at least one case, and training always
    keeps at least one.

    Args:
        case_ids: the cases, e.g. ``[c.case_id for c in find_cases(folder)]``; no repeats.
        validation_fraction: share of cases for validation, in [0, 1).
        test_fraction: share of cases for testing, in [0, 1); the two add up to less than 1.
        seed: seed of the shuffle.

    Returns:
        The :class:`PatientSplit`, each part sorted.

    Raises:
        ValueError: on an empty list, repeated ids or fractions out of range.

    >>> split = split_patients([f"case{i:02d}" for i in range(20)], 0.15, 0.25, seed=0)
    >>> [len(split.train), len(split.validation), len(split.test)]
    [12, 3, 5]
    >>> split_patients(["b", "a", "c"], seed=1) == split_patients(["c", "b", "a"], seed=1)
    True
    """
    ids = sorted(str(case_id) for case_id in case_ids)
    if not ids:
        raise ValueError("no case ids to split")
    repeated = _repeated(ids)
    if repeated:
        raise ValueError(f"case ids repeat: {repeated}")
    for name, fraction in (
        ("validation_fraction", validation_fraction),
        ("test_fraction", test_fraction),
    ):
        if not 0 <= fraction < 1:
            raise ValueError(f"{name} must be in [0, 1), got {fraction}")
    if validation_fraction + test_fraction >= 1:
        raise ValueError(
            f"validation_fraction + test_fraction must be < 1, got "
            f"{validation_fraction} + {test_fraction}"
        )
    validation_size, test_size = _part_sizes(len(ids), validation_fraction, test_fraction)
    order = np.random.default_rng(seed).permutation(len(ids))
    shuffled = [ids[index] for index in order]
    test = shuffled[:test_size]
    validation = shuffled[test_size : test_size + validation_size]
    train = shuffled[test_size + validation_size :]
    split = PatientSplit(tuple(sorted(train)), tuple(sorted(validation)), tuple(sorted(test)))
    split.assert_disjoint()
    return split


def save_split(path: str | Path, split: PatientSplit) -> None:
    """Write the split as JSON (atomically): ``{"train": [...], "validation": [...], "test": [...]}``."""
    split.assert_disjoint()
    save_json_atomic(path, split.to_dict())


def load_split(path: str | Path) -> PatientSplit:
    """Read a split written by :func:`save_split`.

    Raises:
        BratsDataError: if the file is missing, not JSON, lacks a part, or its parts overlap.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise BratsDataError(path, f"cannot read the split ({error})") from error
    if not isinstance(data, dict):
        raise BratsDataError(path, "a split file holds a JSON object with train, validation, test")
    missing = [part for part in PARTS if not isinstance(data.get(part), list)]
    if missing:
        raise BratsDataError(path, f"split file lacks the list(s) {missing}")
    split = PatientSplit(*(data[part] for part in PARTS))
    try:
        split.assert_disjoint()
    except AssertionError as error:
        raise BratsDataError(path, str(error)) from error
    return split


def load_or_make_split(
    path: str | Path,
    case_ids: Sequence[str],
    seed: int = 0,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> PatientSplit:
    """The split saved at ``path``; when there is none, split ``case_ids`` and save it there.

    Reading it back keeps the held-out patients the same across chapters and runs. The
    fractions (see :func:`split_patients`) apply only when a new split is made.
    """
    path = Path(path)
    if path.exists():
        return load_split(path)
    split = split_patients(
        case_ids, validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed
    )
    save_split(path, split)
    return split
