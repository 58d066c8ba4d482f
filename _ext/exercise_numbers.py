"""Sphinx extension: number exercises per chapter ("Exercise 5.1", "Exercise 5.2", ...).

sphinx-exercise numbers exercises with Sphinx's figure numbering (``numfig``). Without a numbered
table of contents that count runs across the whole book, so chapter 5 starts at "Exercise 10".
Numbering the table of contents (``numbered: true`` in ``_toc.yml``) would restart the count per
chapter, but would also number every heading, which the chapters already number themselves
("# 5. Losses and metrics", "## 1. ..."), and would call the introduction chapter 1.

This extension keeps sphinx-exercise as it is and changes only the numbers: once Sphinx has
assigned its figure numbers (event ``env-get-updated``), the exercises of each page become
``(chapter, 1)``, ``(chapter, 2)``, ... in page order, where ``chapter`` is the number that opens
the page's title ("5. Losses and metrics" -> 5). Exercise titles, the "Solution to Exercise 5.2"
headers and ``{numref}`` references all read these numbers. A page with exercises whose title has
no number gets a warning (the build runs with ``-W``) and plain numbers 1, 2, ...
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The figure type under which sphinx-exercise registers its numbered exercises.
EXERCISE_FIGTYPE = "exercise"
#: A chapter title opens with its number: "5. Losses and metrics".
CHAPTER_TITLE_PATTERN = re.compile(r"^\s*(\d+)\.\s")


def chapter_number(title: str) -> int | None:
    """The number that opens a chapter title ("7. Evaluation: ..." -> 7), or None."""
    match = CHAPTER_TITLE_PATTERN.match(title)
    return int(match.group(1)) if match else None


def number_by_chapter(
    numbers: dict[str, tuple[int, ...]], chapter: int | None
) -> dict[str, tuple[int, ...]]:
    """Renumber one page's exercises ``1, 2, ...`` in their book-wide order, after the chapter.

    Args:
        numbers: exercise id -> number assigned by Sphinx (``(10,)``, ``(11,)``, ...).
        chapter: the page's chapter number, or None for plain numbers.

    Returns:
        exercise id -> ``(chapter, position)``, or ``(position,)`` when ``chapter`` is None.

    >>> number_by_chapter({"ex-b": (11,), "ex-a": (10,)}, 5)
    {'ex-a': (5, 1), 'ex-b': (5, 2)}
    """
    prefix = () if chapter is None else (chapter,)
    ordered = sorted(numbers, key=numbers.__getitem__)
    return {exercise_id: (*prefix, position) for position, exercise_id in enumerate(ordered, 1)}


def renumber_exercises(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-get-updated`` handler, run after Sphinx's own: rewrite the exercise numbers.

    Returns:
        The pages whose numbers changed (Sphinx writes them again).
    """
    changed = []
    for docname, fignumbers in env.toc_fignumbers.items():
        numbers = fignumbers.get(EXERCISE_FIGTYPE)
        if not numbers:
            continue
        title = env.titles[docname].astext() if docname in env.titles else ""
        chapter = chapter_number(title)
        if chapter is None:
            logger.warning(
                "exercises numbered 1, 2, ... without a chapter number: the page title %r does "
                "not open with one ('5. Losses and metrics')",
                title,
                location=docname,
            )
        renumbered = number_by_chapter(numbers, chapter)
        if renumbered != numbers:
            fignumbers[EXERCISE_FIGTYPE] = renumbered
            changed.append(docname)
    return changed


def setup(app: Sphinx) -> dict[str, object]:
    app.setup_extension("sphinx_exercise")
    # Sphinx assigns figure numbers in its own env-get-updated handler (priority 500).
    app.connect("env-get-updated", renumber_exercises, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
