"""brats_tutorial.glue hands MyST-NB values its glue roles can format."""

from __future__ import annotations

import numpy as np
import pytest

from brats_tutorial.glue import glue


def test_numpy_scalars_are_glued_as_python_numbers(monkeypatch):
    """Under NumPy 2 a NumPy scalar's text is "np.float64(3.5)", which ``{glue:text}`x:.1f```
    cannot format (the book build warns, and -W fails it)."""
    myst_nb = pytest.importorskip("myst_nb")
    seen = {}
    monkeypatch.setattr(
        myst_nb, "glue", lambda name, value, display=False: seen.update({name: value})
    )
    glue("seconds", np.float64(3.5))
    glue("count", np.int64(2))
    glue("words", "text")
    glue("array", np.arange(3))
    assert type(seen["seconds"]) is float and seen["seconds"] == 3.5
    assert type(seen["count"]) is int and seen["count"] == 2
    assert seen["words"] == "text"
    assert isinstance(seen["array"], np.ndarray)
