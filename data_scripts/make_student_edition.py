"""Write the student edition of the chapters: every chapter notebook without its solutions.

    python data_scripts/make_student_edition.py OUT_DIR [--book-dir BOOK_DIR]

Each chapter's exercises are cells with tags (see book/instructors.md):

- the question: a Markdown cell with an ``{exercise}`` directive (no tag);
- the stub the learner completes: a code cell tagged ``exercise-stub`` (and ``raises-exception``,
  so that the build and nbval run on past it while it still raises ``NotImplementedError``);
- the solution: the Markdown cell that opens it (``{solution-start}``), its code cell and the
  Markdown cell that closes it (``{solution-end}``), all three tagged ``solution``.

The student edition keeps every cell but those tagged ``solution``, with outputs and execution
counts cleared, and writes one notebook per chapter (``book/NN_*.ipynb``) into OUT_DIR, each
atomically. It refuses to write into the book folder itself. A Markdown cell left with a
solution directive but without the tag stops the script with the chapter and cell named, so that
no solution slips through.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

try:
    from brats_tutorial.atomic import atomic_path
except ImportError:  # run from a source checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from brats_tutorial.atomic import atomic_path

#: Tag of every cell of a solution: its opening Markdown, its code, its closing Markdown.
SOLUTION_TAG = "solution"
#: Tag of the code cell a learner completes; it raises NotImplementedError until then.
STUB_TAG = "exercise-stub"
#: Tag that lets a cell raise without stopping jupyter-book's execution or nbval.
RAISES_TAG = "raises-exception"
#: sphinx-exercise directives that belong to a solution and must not reach students.
SOLUTION_DIRECTIVES = ("{solution-start}", "{solution-end}", "{solution}")
#: The chapter notebooks: two digits, an underscore, a name.
CHAPTER_PATTERN = "[0-9][0-9]_*.ipynb"
#: The book folder next to this script's folder.
DEFAULT_BOOK_DIR = Path(__file__).resolve().parent.parent / "book"


def cell_tags(cell: nbformat.NotebookNode) -> list[str]:
    """The cell's tags (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def chapter_notebooks(book_dir: Path) -> list[Path]:
    """The chapter notebooks of ``book_dir`` (``02_mri_and_brats.ipynb``, ...), sorted."""
    return sorted(Path(book_dir).glob(CHAPTER_PATTERN))


def student_notebook(
    notebook: nbformat.NotebookNode, source: str = "<notebook>"
) -> nbformat.NotebookNode:
    """A copy of ``notebook`` without solution cells, with outputs and execution counts cleared.

    Args:
        notebook: a chapter notebook (nbformat 4).
        source: the notebook's name, for error messages.

    Returns:
        The student notebook; ``notebook`` itself is not changed.

    Raises:
        ValueError: a cell left after removing the solutions still holds a solution directive
            (a solution cell without the ``solution`` tag).
    """
    student = copy.deepcopy(notebook)
    student.cells = [cell for cell in student.cells if SOLUTION_TAG not in cell_tags(cell)]
    for cell in student.cells:
        if cell.cell_type == "markdown":
            found = [directive for directive in SOLUTION_DIRECTIVES if directive in cell.source]
            if found:
                raise ValueError(
                    f"{source}: cell {cell.get('id')} holds {found[0]} but is not tagged "
                    f"{SOLUTION_TAG!r}; tag every cell of a solution"
                )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    return student


def make_student_edition(out_dir: Path, book_dir: Path = DEFAULT_BOOK_DIR) -> list[Path]:
    """Write the student edition of every chapter of ``book_dir`` into ``out_dir``.

    Returns:
        The notebooks written, in chapter order.

    Raises:
        ValueError: ``out_dir`` is the book folder, or it has no chapter notebooks, or a
            chapter has a solution cell without its tag (see :func:`student_notebook`).
    """
    book_dir, out_dir = Path(book_dir), Path(out_dir)
    if out_dir.resolve() == book_dir.resolve():
        raise ValueError(f"refusing to overwrite the book's own notebooks in {book_dir}")
    chapters = chapter_notebooks(book_dir)
    if not chapters:
        raise ValueError(f"no chapter notebooks ({CHAPTER_PATTERN}) in {book_dir}")
    written = []
    for path in chapters:
        student = student_notebook(nbformat.read(path, as_version=4), source=path.name)
        nbformat.validate(student)
        target = out_dir / path.name
        with atomic_path(target) as temporary:
            temporary.write_text(nbformat.writes(student) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write every chapter notebook without its solutions (the student edition)."
    )
    parser.add_argument("out_dir", type=Path, help="folder for the student notebooks")
    parser.add_argument(
        "--book-dir",
        type=Path,
        default=DEFAULT_BOOK_DIR,
        help=f"folder of the chapter notebooks (default: {DEFAULT_BOOK_DIR})",
    )
    args = parser.parse_args(argv)
    try:
        written = make_student_edition(args.out_dir, args.book_dir)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
