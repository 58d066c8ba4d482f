"""Exercises in the chapters, and the student edition without solutions.

Every chapter has at least three exercises, each five cells in this order (book/instructors.md):
the question (Markdown, ``{exercise}`` with a label), a stub (code, tagged ``exercise-stub`` and
``raises-exception``, raising ``NotImplementedError``), then the solution: ``{solution-start}``
(Markdown), one code cell, ``{solution-end}`` (Markdown), all three tagged ``solution``.

``data_scripts/make_student_edition.py`` drops the solution cells. The fast tests check the
chapters' structure and the notebooks the script writes; the slow ones execute each student
notebook in a fresh kernel (quick profile, synthetic data) and check that the stubs, and only
the stubs, fail, each with ``NotImplementedError``.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
BOOK_DIR = REPOSITORY_ROOT / "book"
SCRIPT_PATH = REPOSITORY_ROOT / "data_scripts" / "make_student_edition.py"
CHAPTERS = sorted(BOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
MIN_EXERCISES = 3
LABEL_PATTERN = re.compile(r"\{exercise\}[^\n]*\n(?::[a-z-]+:[^\n]*\n)*?:label:\s*(\S+)")
#: Seconds one cell of a student notebook may run (training in chapters 5 and 6 is the longest).
CELL_TIMEOUT_S = 600


def load_script():
    """``data_scripts/make_student_edition.py``, imported from its file."""
    spec = importlib.util.spec_from_file_location("make_student_edition", SCRIPT_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load_script()


def tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def exercise_blocks(notebook) -> list[tuple[str, list]]:
    """(label, the five cells from the question on) for every ``{exercise}`` cell."""
    blocks = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and "{exercise}" in cell.source:
            match = LABEL_PATTERN.search(cell.source)
            assert match, f"cell {cell.get('id')}: an exercise without a :label:"
            blocks.append((match.group(1), notebook.cells[index : index + 5]))
    return blocks


def chapter_id(path: Path) -> str:
    return path.name


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory) -> Path:
    """The student edition of every chapter, written once by the script."""
    folder = tmp_path_factory.mktemp("student_edition")
    script.make_student_edition(folder, BOOK_DIR)
    return folder


# --- The chapters -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_each_exercise_has_one_stub_and_one_solution(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    blocks = exercise_blocks(notebook)
    assert len(blocks) >= MIN_EXERCISES, f"{len(blocks)} exercises, fewer than {MIN_EXERCISES}"
    for label, cells in blocks:
        assert len(cells) == 5, f"{label}: the notebook ends before its solution"
        _, stub, start, solution, end = cells
        assert stub.cell_type == "code", f"{label}: no stub code cell after the question"
        assert {script.STUB_TAG, script.RAISES_TAG} <= tags(stub), (
            f"{label}: stub tags {tags(stub)}"
        )
        assert "NotImplementedError" in stub.source, f"{label}: the stub never raises"
        assert start.cell_type == "markdown" and script.SOLUTION_TAG in tags(start), label
        assert re.search(rf"\{{solution-start\}}\s+{re.escape(label)}\s", start.source), (
            f"{label}: the cell after the stub does not open this exercise's solution"
        )
        assert ":class: dropdown" in start.source, f"{label}: the solution is not folded"
        assert solution.cell_type == "code", f"{label}: the solution is not one code cell"
        assert tags(solution) & {script.SOLUTION_TAG, script.STUB_TAG, script.RAISES_TAG} == {
            script.SOLUTION_TAG
        }, f"{label}: solution tags {tags(solution)}"
        assert "NotImplementedError" not in solution.source, f"{label}: the solution raises"
        assert end.cell_type == "markdown" and script.SOLUTION_TAG in tags(end), label
        assert "{solution-end}" in end.source, f"{label}: the solution is not closed"
    stubs = [cell for cell in notebook.cells if script.STUB_TAG in tags(cell)]
    solution_cells = [cell for cell in notebook.cells if script.SOLUTION_TAG in tags(cell)]
    assert len(stubs) == len(blocks), "a stub outside an exercise"
    assert len(solution_cells) == 3 * len(blocks), "a solution cell outside an exercise"


# --- The script -------------------------------------------------------------------------------


def test_script_writes_every_chapter(student_dir: Path) -> None:
    assert sorted(path.name for path in student_dir.iterdir()) == [path.name for path in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_student_notebook_keeps_everything_but_the_solutions(path: Path, student_dir: Path) -> None:
    source = nbformat.read(path, as_version=4)
    student = nbformat.read(student_dir / path.name, as_version=4)
    nbformat.validate(student)
    assert not [cell for cell in student.cells if script.SOLUTION_TAG in tags(cell)]
    for cell in student.cells:
        if cell.cell_type == "markdown":
            assert "{solution" not in cell.source, f"cell {cell.id} holds a solution directive"
        else:
            assert cell.outputs == [] and cell.execution_count is None, cell.id
    kept = [cell for cell in source.cells if script.SOLUTION_TAG not in tags(cell)]
    assert [cell.id for cell in student.cells] == [cell.id for cell in kept]
    assert [cell.source for cell in student.cells] == [cell.source for cell in kept]
    assert len(exercise_blocks(student)) == len(exercise_blocks(source)) >= MIN_EXERCISES
    for _, cells in exercise_blocks(student):
        assert script.STUB_TAG in tags(cells[1]), "the cell after a question is not its stub"


def test_script_refuses_to_overwrite_the_book() -> None:
    with pytest.raises(ValueError, match="refusing"):
        script.make_student_edition(BOOK_DIR, BOOK_DIR)


def test_untagged_solution_stops_the_script() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("```{solution-start} ex-09-a\n:class: dropdown\n```")
    ]
    with pytest.raises(ValueError, match="not tagged 'solution'"):
        script.student_notebook(notebook, source="09_test.ipynb")


def test_script_command_line(tmp_path: Path, capsys) -> None:
    assert script.main([str(tmp_path / "student")]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(line).name for line in printed] == [path.name for path in CHAPTERS]
    assert script.main([str(BOOK_DIR), "--book-dir", str(BOOK_DIR)]) == 2


# --- The student notebooks run ----------------------------------------------------------------


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    """A work folder of their own for the student notebooks (data, caches, models), shared by
    the chapters of one test run so that chapters 7 and 8 reuse chapter 6's model."""
    return tmp_path_factory.mktemp("student_work")


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=chapter_id)
def test_student_notebook_runs_and_only_its_stubs_fail(
    path: Path, student_dir: Path, work_dir: Path, monkeypatch
) -> None:
    from nbclient import NotebookClient

    # The kernel inherits this environment: the quick profile on synthetic data, as nbval.
    monkeypatch.delenv("BRATS_DATA_DIR", raising=False)
    monkeypatch.setenv("BRATS_PROFILE", "quick")
    monkeypatch.setenv("BRATS_WORK_DIR", str(work_dir))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(student_dir / path.name, as_version=4)
    # allow_errors=False: a failing cell stops the run unless it is tagged raises-exception.
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(student_dir)}},
    )
    client.execute()
    failed = {
        cell.id: [output.ename for output in cell.outputs if output.output_type == "error"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        and any(output.output_type == "error" for output in cell.outputs)
    }
    stubs = [cell.id for cell in notebook.cells if script.STUB_TAG in tags(cell)]
    assert list(failed) == stubs, f"failed: {list(failed)}; stubs: {stubs}"
    assert all(names == ["NotImplementedError"] for names in failed.values()), failed
