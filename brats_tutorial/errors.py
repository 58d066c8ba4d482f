"""The one exception type for bad input data."""

from __future__ import annotations

from pathlib import Path


class BratsDataError(ValueError):
    """A BraTS file or folder cannot be used.

    The message always names the file (or folder) and the problem, e.g.
    ``"/data/BraTS20_Training_001/BraTS20_Training_001_seg.nii: unknown label values [3, 7]"``.

    Attributes:
        path: the file or folder at fault.
        problem: what is wrong with it, in words.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
