"""Numbers in a chapter's prose, computed by the chapter: MyST-NB's ``glue``, anywhere.

A chapter states a measured number (a time, a score, a count) by computing it in a cell and
gluing it under a name::

    from brats_tutorial.glue import glue
    glue("train_seconds", seconds)            # nothing shown in the notebook itself

and its Markdown says ``{glue:text}`train_seconds:.0f``` s. When the book is built, MyST-NB
pastes the value computed in that very build into the sentence, so the sentence and the output
beside it can never disagree.

MyST-NB is part of the book's tools (``pip install -e ".[book]"``), not of the package's
dependencies: on Colab, or wherever it is missing, :func:`glue` does nothing unless asked to
display the value, and the Markdown shows the glue role's text instead of the number.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, value: Any, display: bool = False) -> None:
    """Make ``value`` available to the chapter's Markdown as ``name``.

    Args:
        name: the key the Markdown refers to (``{glue:text}`name```); unique in the notebook.
        value: the number (or text, table, figure) to paste.
        display: also show the value as the cell's output.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        # A NumPy scalar's text is "np.float64(3.9)" under NumPy 2, which the glue role's
        # format (":.1f") cannot read: paste the plain Python number.
        value = value.item()
    try:
        from myst_nb import glue as myst_nb_glue
    except ImportError:  # Colab and plain Jupyter without the book's tools
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_nb_glue(name, value, display=display)
