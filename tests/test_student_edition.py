"""Exercises in the chapters, and the student edition without solutions.

Every chapter has at least three exercises, each five cells in this order (book/instructors.md):
the question (Markdown, ``{exercise}`` with a label), a stub (code, tagged ``exercise-stub`` and
``raises-exception``, raising ``NotImplementedError``), then the solution: ``{solution-start}``
(Markdown), one code cell, ``{solution-end}`` (Markdown), all three tagged ``solution``.

``data_scripts/make_student_edition.py`` drops the solution cells. These tests check the
chapters' structure and the notebooks the script writes. The student notebooks are executed once,
by nbval in ``make test-notebooks`` (quick profile, synthetic data), with the plugin
``tests/student_stub_check.py``: the stubs, and only the stubs, fail, each with
``NotImplementedError``; the last tests here show that nbval with that plugin catches both faults.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
BOOK_DIR = REPOSITORY_ROOT / "book"
SCRIPT_PATH = REPOSITORY_ROOT / "data_scripts" / "make_student_edition.py"
CHAPTERS = sorted(BOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
MIN_EXERCISES = 3
LABEL_PATTERN = re.compile(r"\{exercise\}[^\n]*\n(?::[a-z-]+:[^\n]*\n)*?:label:\s*(\S+)")


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


# --- The student notebooks run (under nbval, with the stub plugin) ----------------------------
#
# `make test-notebooks` executes every student notebook once under nbval with the plugin
# tests/student_stub_check.py: a cell that raises fails unless tagged raises-exception, and every
# stub must raise NotImplementedError. The tests below show that the plugin catches both faults.

STUB_PLUGIN_DIR = REPOSITORY_ROOT / "tests"


def test_makefile_runs_nbval_on_the_student_edition_with_the_stub_plugin() -> None:
    makefile = (REPOSITORY_ROOT / "Makefile").read_text()
    recipe = makefile.split("test-notebooks: $(STAMP)", 1)[1].split("\n\n", 1)[0]
    assert "make_student_edition.py $(STUDENT_DIR)" in recipe
    assert "-p student_stub_check" in recipe and "--nbval-lax" in recipe
    assert "$(STUDENT_DIR)" in recipe.split("--nbval-lax", 1)[1], "nbval runs the student edition"


class FakeItem:
    """The two attributes of an nbval cell item the plugin reads."""

    def __init__(self, tags: list[str], errors: list[str]) -> None:
        self.cell = nbformat.v4.new_code_cell("pass", metadata={"tags": tags})
        self.test_outputs = [{"output_type": "error", "ename": name} for name in errors]


@pytest.mark.parametrize(
    ("tags", "errors", "verdict"),
    [
        ([script.STUB_TAG, script.RAISES_TAG], ["NotImplementedError"], None),
        ([script.STUB_TAG, script.RAISES_TAG], [], "raised nothing"),
        ([script.STUB_TAG, script.RAISES_TAG], ["NameError"], "NameError"),
        ([], [], None),
        ([script.RAISES_TAG], ["ValueError"], None),  # nbval's own rule covers the rest
    ],
)
def test_stub_rule(tags, errors, verdict) -> None:
    import student_stub_check

    problem = student_stub_check.stub_failure(FakeItem(tags, errors))
    if verdict is None:
        assert problem is None
    else:
        assert problem and verdict in problem


def write_notebook(path: Path, stub_source: str, later_source: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    stub = nbformat.v4.new_code_cell(stub_source)
    stub.metadata["tags"] = [script.STUB_TAG, script.RAISES_TAG]
    notebook.cells = [
        nbformat.v4.new_code_cell("value = 1"),
        stub,
        nbformat.v4.new_code_cell(later_source),
    ]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)
    return path


def run_nbval(notebook: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(STUB_PLUGIN_DIR)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "student_stub_check",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            str(notebook),
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=notebook.parent,
        timeout=300,
    )


@pytest.mark.slow
def test_nbval_with_the_plugin_passes_a_good_student_notebook_and_fails_bad_ones(tmp_path) -> None:
    good = write_notebook(
        tmp_path / "good.ipynb", 'raise NotImplementedError("Exercise")', "print(value)"
    )
    silent = write_notebook(tmp_path / "silent_stub.ipynb", "answer = 2", "print(value)")
    needs_solution = write_notebook(
        tmp_path / "needs_solution.ipynb",
        'raise NotImplementedError("Exercise")',
        "print(solution)",
    )
    result = run_nbval(good)
    assert result.returncode == 0, result.stdout
    result = run_nbval(silent)
    assert result.returncode == 1 and "raised nothing" in result.stdout, result.stdout
    result = run_nbval(needs_solution)
    assert result.returncode == 1 and "NameError" in result.stdout, result.stdout
