"""The book's sources: configuration, table of contents, notebooks' shape and bibliography.

These tests read files only (no build, no execution). What the chapters must look like (the
shape every chapter follows, as book/instructors.md describes it):

- the first cell is Markdown and opens with a level-1 title that starts with the chapter's
  number ("# 5. Losses and metrics" in ``05_losses_and_metrics.ipynb``: exercises are numbered
  after it, "Exercise 5.1"); the Markdown before the first code cell names the learning
  **objectives** and gives a **time** estimate ("Time: about 5 min") and a **study time**;
- level-2 sections ``Setup``, ``Summary``, ``Exercises``, ``Check your understanding`` and
  ``References`` in that order (a number in front, "## 5. Summary", is allowed);
- the Exercises section holds at least one ``{exercise}`` and its solutions are gated between
  ``{solution-start}`` and ``{solution-end}`` (tests/test_student_edition.py checks each
  exercise's stub and solution cells); every self-check answer is folded in a ``<details>``;
- notebooks are stored without outputs or execution counts, with the ``python3`` kernel.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from browser_check import (
    REPOSITORY_ROOT,
    markdown_cells,
    markdown_headings,
    read_toc,
    source_title,
)

BOOK_DIR = REPOSITORY_ROOT / "book"
CONFIG_PATH = REPOSITORY_ROOT / "_config.yml"
TOC_PAGES = read_toc()
TOC_NOTEBOOKS = [page for page in TOC_PAGES if page.is_notebook]
BOOK_NOTEBOOKS = sorted(BOOK_DIR.glob("*.ipynb"))
REQUIRED_SECTIONS = ("Setup", "Summary", "Exercises", "Check your understanding", "References")
GITHUB_REPOSITORY_PATTERN = re.compile(r"github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)")
CITE_PATTERN = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
#: "**Study time** (an estimate, not measured): about 40 min of reading and 30 min ...".
STUDY_TIME_PATTERN = re.compile(r"study time\b[^\n]*\n?[^\n]*?\b\d+\s*min", re.IGNORECASE)
TIME_ESTIMATE_PATTERN = re.compile(
    r"\btime\b[^\n]*?\b\d+(?:\.\d+)?\s*(?:min|mins|minutes?|h|hours?)\b", re.IGNORECASE
)


def load_config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))


def without_code_fences(text: str) -> str:
    """Markdown with its fenced code blocks (examples of syntax, not syntax) left out.

    Fenced directives (```` ```{bibliography} ````) are kept; only their fence lines are tracked.
    """
    kept = []
    fence: str | None = None  # the opening fence of the block we are in
    is_code = False
    for line in text.splitlines():
        stripped = line.strip()
        marker = stripped[:1]
        run = len(stripped) - len(stripped.lstrip(marker)) if marker in ("`", "~") else 0
        if fence is None and run >= 3:
            fence = marker * run
            is_code = not stripped[run:].startswith("{")
            if not is_code:
                kept.append(line)
            continue
        closes = fence is not None and marker == fence[0] and run >= len(fence)
        if closes and stripped == marker * run:
            fence = None
            if not is_code:
                kept.append(line)
            continue
        if fence is None or not is_code:
            kept.append(line)
    return "\n".join(kept)


def book_texts() -> dict[Path, str]:
    """The book's Markdown outside code examples: .md pages and notebooks' Markdown cells."""
    texts = {
        path: without_code_fences(path.read_text(encoding="utf-8"))
        for path in sorted(BOOK_DIR.glob("*.md"))
    }
    for path in BOOK_NOTEBOOKS:
        texts[path] = "\n\n".join(without_code_fences(text) for text in markdown_cells(path))
    return texts


def notebook_id(path: Path) -> str:
    return path.name


def level2_sections(notebook_path: Path) -> list[tuple[str, str]]:
    """(heading without its number, Markdown of the section) for each level-2 heading."""
    text = "\n\n".join(without_code_fences(cell) for cell in markdown_cells(notebook_path))
    sections: list[tuple[str, str]] = []
    current: tuple[str, list[str]] | None = None
    for line in text.splitlines():
        headings = markdown_headings(line)
        if headings and headings[0][0] <= 2 and current is not None:
            sections.append((current[0], "\n".join(current[1])))
            current = None
        if headings and headings[0][0] == 2:
            name = re.sub(r"^\d+(?:\.\d+)*\.?\s+", "", headings[0][1])
            current = (name, [])
        elif current is not None:
            current[1].append(line)
    if current is not None:
        sections.append((current[0], "\n".join(current[1])))
    return sections


# --- Configuration ----------------------------------------------------------------------------


def test_config_executes_every_notebook_and_fails_on_errors() -> None:
    config = load_config()
    assert config["execute"]["execute_notebooks"] == "force"
    assert config["execute"]["allow_errors"] is False
    assert config["execute"].get("run_in_temp", False) is False, "notebooks run in book/"
    assert isinstance(config["execute"]["timeout"], int) and config["execute"]["timeout"] >= 600
    assert config["sphinx"]["config"]["nb_execution_raise_on_error"] is True
    assert config["only_build_toc_files"] is True


def test_config_has_colab_and_repository_buttons() -> None:
    config = load_config()
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert GITHUB_REPOSITORY_PATTERN.fullmatch(
        config["repository"]["url"].removeprefix("https://")
    ), config["repository"]["url"]
    assert config["repository"]["branch"]
    assert config["html"]["use_repository_button"] is True
    assert config["html"]["use_issues_button"] is True


def test_config_extensions_are_loaded_once() -> None:
    from jupyter_book.config import get_default_sphinx_config

    config = load_config()
    extra = config["sphinx"]["extra_extensions"]
    default = get_default_sphinx_config()["extensions"]
    assert "sphinx_exercise" in extra
    assert "sphinx_togglebutton" in default, "solution dropdowns need sphinx-togglebutton"
    twice = set(extra) & set(default)
    assert not twice, f"already loaded by jupyter-book: {twice}"
    assert len(extra) == len(set(extra))


def load_exercise_numbers():
    """The book's local Sphinx extension ``_ext/exercise_numbers.py``, imported from its file."""
    path = REPOSITORY_ROOT / "_ext" / "exercise_numbers.py"
    spec = importlib.util.spec_from_file_location("exercise_numbers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_config_numbers_exercises_per_chapter() -> None:
    """``_ext/exercise_numbers.py`` is loaded and turns book-wide numbers into chapter numbers."""
    local = load_config()["sphinx"]["local_extensions"]
    assert local == {"exercise_numbers": "_ext"}
    exercise_numbers = load_exercise_numbers()
    assert exercise_numbers.chapter_number("7. Evaluation: per-patient 3D scores") == 7
    assert exercise_numbers.chapter_number("Evaluation: per-patient 3D scores") is None
    assert exercise_numbers.chapter_number("2025 results") is None
    # Sphinx's numbers run across the book (chapter 5 starts at 10); the page's order is kept.
    book_wide = {"ex-05-c": (12,), "ex-05-a": (10,), "ex-05-b": (11,)}
    assert exercise_numbers.number_by_chapter(book_wide, 5) == {
        "ex-05-a": (5, 1),
        "ex-05-b": (5, 2),
        "ex-05-c": (5, 3),
    }
    assert exercise_numbers.number_by_chapter(book_wide, None)["ex-05-c"] == (3,)


def test_config_ships_mathjax() -> None:
    """MathJax comes with the book (sphinx-mathjax-offline), not from a CDN at reading time."""
    assert "sphinx-mathjax-offline" in load_config()["sphinx"]["extra_extensions"]
    pyproject = (REPOSITORY_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'"sphinx-mathjax-offline[^"]*"', pyproject), "not in pyproject's book extra"
    assert "mathjax_path" not in (load_config()["sphinx"].get("config") or {}), (
        "sphinx-mathjax-offline sets mathjax_path to its own copy"
    )


def test_config_bibliography_files_exist() -> None:
    for name in load_config()["bibtex_bibfiles"]:
        assert (REPOSITORY_ROOT / name).is_file(), name


def test_python3_kernel_runs_this_environment() -> None:
    """The build asks for the ``python3`` kernel: it must start this environment's Python."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    assert "python3" in KernelSpecManager().find_kernel_specs()
    command = KernelManager(kernel_name="python3").format_kernel_cmd()
    result = subprocess.run(
        [command[0], "-c", "import sys, ipykernel; print(sys.prefix)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == Path(sys.prefix), (
        f"kernel python3 runs {command[0]} (prefix {result.stdout.strip()}), not {sys.prefix}; "
        "install the kernel into this environment: python -m ipykernel install --sys-prefix"
    )


# --- Table of contents ------------------------------------------------------------------------


def test_toc_entries_exist_once() -> None:
    missing = [page.entry for page in TOC_PAGES if page.source is None]
    assert not missing, f"toc entries without exactly one .md/.ipynb file: {missing}"
    entries = [page.entry for page in TOC_PAGES]
    assert len(entries) == len(set(entries)), "a page is listed twice"


def test_every_book_page_is_in_the_toc() -> None:
    in_toc = {page.source for page in TOC_PAGES}
    on_disk = set(BOOK_DIR.glob("*.ipynb")) | set(BOOK_DIR.glob("*.md"))
    assert not on_disk - in_toc, f"not in _toc.yml: {sorted(map(str, on_disk - in_toc))}"


def test_chapter_pages_link_every_chapter() -> None:
    """The course map (intro) and the instructors' table link every notebook chapter."""
    for page_name in ("intro.md", "instructors.md"):
        text = (BOOK_DIR / page_name).read_text(encoding="utf-8")
        for page in TOC_NOTEBOOKS:
            stem = Path(page.entry).name
            assert f"{{doc}}`{stem}`" in text, f"{page_name} does not link {stem}"


# --- Notebooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=notebook_id)
def test_notebook_is_valid_and_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has stored outputs"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=notebook_id)
def test_notebook_uses_the_python3_kernel(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert notebook["metadata"]["kernelspec"]["language"] == "python"


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=notebook_id)
def test_notebook_opens_with_title_objectives_and_time(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    assert cells and cells[0]["cell_type"] == "markdown", "the first cell must be Markdown"
    opening_cells = []
    for cell in cells:
        if cell["cell_type"] == "code":
            break
        opening_cells.append("".join(cell["source"]))
    opening = "\n\n".join(opening_cells)
    first_heading = markdown_headings(opening_cells[0])[:1]
    assert first_heading and first_heading[0][0] == 1, "the first cell must open with '# Title'"
    assert opening_cells[0].lstrip().startswith("#"), "the title comes first"
    assert re.search(r"objectives", opening, re.IGNORECASE), "no learning objectives"
    assert TIME_ESTIMATE_PATTERN.search(opening), "no time estimate ('Time: about 5 min')"
    assert STUDY_TIME_PATTERN.search(opening), "no study time ('Study time ... about 40 min')"


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=notebook_id)
def test_notebook_title_opens_with_its_chapter_number(path: Path) -> None:
    """``07_evaluation.ipynb`` is titled "# 7. ...": readers and the exercise numbers need it."""
    number = int(path.name.split("_", 1)[0])
    title = source_title(path)
    assert title and title.startswith(f"{number}. "), f"title {title!r} does not start '{number}. '"
    assert load_exercise_numbers().chapter_number(title) == number


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=notebook_id)
def test_notebook_has_the_chapter_sections_in_order(path: Path) -> None:
    names = [name.lower() for name, _ in level2_sections(path)]
    positions = []
    for required in REQUIRED_SECTIONS:
        assert required.lower() in names, f"no '## {required}' section (has {names})"
        positions.append(names.index(required.lower()))
    assert positions == sorted(positions), f"sections out of order: {names}"


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=notebook_id)
def test_notebook_self_check_answers_are_folded(path: Path) -> None:
    """Two or more questions under "Check your understanding", each answer in a <details>."""
    sections = dict((name.lower(), body) for name, body in level2_sections(path))
    questions = sections["check your understanding"]
    opened = re.findall(r"^<details>\s*\n<summary>[^<]+</summary>", questions, flags=re.MULTILINE)
    assert len(opened) >= 2, "fewer than two folded answers (<details><summary>...)"
    assert len(opened) == questions.count("</details>"), "a <details> is not closed"


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=notebook_id)
def test_notebook_exercises_have_gated_solutions(path: Path) -> None:
    sections = dict((name.lower(), body) for name, body in level2_sections(path))
    assert "exercises" in sections, "no '## Exercises' section"
    exercises = sections["exercises"]
    exercise_labels = re.findall(
        r"\{exercise(?:-start)?\}[^\n]*\n(?::[a-z-]+:[^\n]*\n)*?:label:\s*(\S+)", exercises
    )
    assert re.search(r"\{exercise(?:-start)?\}", exercises), "no {exercise} in Exercises"
    solution_targets = re.findall(r"\{solution-start\}\s*(\S+)", exercises)
    assert solution_targets, "no {solution-start} in Exercises"
    assert len(solution_targets) == exercises.count("{solution-end}"), "unbalanced solutions"
    assert set(solution_targets) <= set(exercise_labels), (
        f"solutions {solution_targets} for exercises not labelled here ({exercise_labels})"
    )


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=notebook_id)
def test_notebook_references_section_cites_something(path: Path) -> None:
    sections = dict((name.lower(), body) for name, body in level2_sections(path))
    assert "references" in sections, "no '## References' section"
    references = sections["references"]
    assert CITE_PATTERN.search(references) or re.search(r"https?://", references), (
        "the References section neither cites ({cite}`key`) nor links anything"
    )


def test_exercise_labels_are_unique_across_the_book() -> None:
    labels: list[str] = []
    for text in book_texts().values():
        labels += re.findall(
            r"\{exercise(?:-start)?\}[^\n]*\n(?::[a-z-]+:[^\n]*\n)*?:label:\s*(\S+)", text
        )
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    assert not duplicates, f"exercise labels used twice: {duplicates}"


# --- Bibliography and links -------------------------------------------------------------------


def bibliography_keys() -> list[str]:
    keys = []
    for name in load_config()["bibtex_bibfiles"]:
        text = (REPOSITORY_ROOT / name).read_text(encoding="utf-8")
        keys += re.findall(r"^@\w+\s*\{\s*([^,\s]+)\s*,", text, flags=re.MULTILINE)
    return keys


def test_bibliography_keys_are_unique() -> None:
    keys = bibliography_keys()
    assert keys, "no entries in the bibliography"
    assert len(keys) == len(set(keys)), "duplicate bibliography keys"


def test_every_citation_is_in_the_bibliography() -> None:
    keys = set(bibliography_keys())
    for path, text in book_texts().items():
        for group in CITE_PATTERN.findall(text):
            for key in (part.strip() for part in group.split(",")):
                assert key in keys, f"{path.name} cites unknown key {key!r}"


def test_bibliography_is_rendered_on_one_page() -> None:
    pages = [
        path.name
        for path, text in book_texts().items()
        if re.search(r"^(```|:::)\{bibliography\}", text, flags=re.MULTILINE)
    ]
    assert len(pages) == 1, f"one {{bibliography}} directive expected, found on {pages}"


def test_repository_links_match_the_config() -> None:
    """The repository is named once, in _config.yml; a link to it elsewhere must agree.

    Pages, notebooks (code cells included: a Colab install line, say) and the toc are scanned
    for GitHub links that share the configured owner or repository name.
    """
    configured = GITHUB_REPOSITORY_PATTERN.search(load_config()["repository"]["url"])
    assert configured is not None
    owner, repository = configured.groups()
    files = [REPOSITORY_ROOT / "_toc.yml", *sorted(BOOK_DIR.glob("*.md")), *BOOK_NOTEBOOKS]
    for path in files:
        for found_owner, found_repository in GITHUB_REPOSITORY_PATTERN.findall(
            path.read_text(encoding="utf-8")
        ):
            found_repository = found_repository.removesuffix(".git")
            if found_owner == owner or found_repository == repository:
                assert (found_owner, found_repository) == (owner, repository), (
                    f"{path.name} links github.com/{found_owner}/{found_repository}, "
                    f"_config.yml names {owner}/{repository}"
                )


# --- Study aids: prerequisites, study times, glossary, real data on Colab -----------------------

GLOSSARY_PATH = BOOK_DIR / "glossary.md"
COLAB_PAGE_PATH = BOOK_DIR / "real_data_on_colab.md"
#: A {doc} link's target: {doc}`07_evaluation` or {doc}`the introduction <intro>`.
DOC_PATTERN = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`<>]+?)>?`")
#: Terms the glossary must define (each may be one of an entry's several names).
REQUIRED_GLOSSARY_TERMS = (
    "NIfTI", "affine", "voxel", "FLAIR", "T1ce", "T1Gd", "T2", "T1", "co-registration",
    "skull stripping", "WT", "TC", "ET", "necrosis", "oedema", "enhancing tumour", "Dice", "HD95",
    "sensitivity", "specificity", "U-Net", "encoder", "decoder", "skip connection",
    "batch normalisation", "softmax", "sigmoid", "cross-entropy", "Adam", "learning rate",
    "epoch", "mixed precision", "patient-level split", "data leakage", "test-time augmentation",
)  # fmt: skip
#: A glossary entry whose definition says this introduces no chapter link to check.
NOT_IN_THE_CHAPTERS = "Not used in the chapters"
#: Glossary names that their chapter words differently: the words it uses instead.
CHAPTER_WORDING = {
    "nearest-neighbour interpolation": "nearest-neighbour",
    "bilinear interpolation": "bilinear",
    "one-hot encoding": "one-hot",
    "patient-level split": "by patient",
    "data leakage": "leak",
    "per-patient evaluation": "per patient",
    "empty masks (BraTS convention)": "empty mask",
    "data augmentation": "augmentation",
}


def glossary_entries() -> list[tuple[list[str], str]]:
    """(names, definition) of every entry of the ``{glossary}`` blocks of book/glossary.md."""
    text = GLOSSARY_PATH.read_text(encoding="utf-8")
    blocks = re.findall(r"^```\{glossary\}[^\n]*\n(.*?)^```\s*$", text, re.MULTILINE | re.DOTALL)
    assert blocks, "book/glossary.md has no {glossary} block"
    entries: list[tuple[list[str], str]] = []
    for block in blocks:
        for chunk in re.split(r"\n\s*\n", block.strip("\n")):
            lines = chunk.splitlines()
            names = [line.strip() for line in lines if line and not line[0].isspace()]
            definition = " ".join(line.strip() for line in lines if line and line[0].isspace())
            entries.append((names, definition))
    return entries


def page_text(stem: str) -> str:
    """All the text of a book page, Markdown and code, lower-cased: ``02_mri_and_brats``."""
    matches = [page.source for page in TOC_PAGES if Path(page.entry).name == stem]
    assert len(matches) == 1 and matches[0] is not None, f"no page {stem!r} in _toc.yml"
    source = matches[0]
    if source.suffix == ".ipynb":
        cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(cell["source"]) for cell in cells).lower()
    return source.read_text(encoding="utf-8").lower()


def test_glossary_defines_the_course_terms() -> None:
    names = {name for entry_names, _ in glossary_entries() for name in entry_names}
    missing = [term for term in REQUIRED_GLOSSARY_TERMS if term not in names]
    assert not missing, f"book/glossary.md does not define {missing}"


def test_glossary_entries_name_the_chapter_that_introduces_them() -> None:
    """Each entry links the page that introduces it, and that page uses one of its names."""
    for names, definition in glossary_entries():
        assert names and definition, f"entry without a name or a definition: {names}"
        assert len(definition.split()) >= 8, f"{names}: the definition is too short"
        links = DOC_PATTERN.findall(definition)
        assert links, f"{names}: no {{doc}} link to the chapter that introduces it"
        if NOT_IN_THE_CHAPTERS in definition:
            continue
        introduced_in = links[0]
        text = page_text(introduced_in)
        words = [CHAPTER_WORDING.get(name, name).lower() for name in names]
        assert any(word in text for word in words), (
            f"glossary: {names} introduced in {introduced_in}, which never names it"
        )


#: A glossary link: {term}`voxels <voxel>` or {term}`FLAIR`; the target is matched ignoring case,
#: as Sphinx does.
TERM_PATTERN = re.compile(r"\{term\}`(?:[^`<]*<)?([^`<>]+?)>?`")


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS + sorted(BOOK_DIR.glob("*.md")), ids=notebook_id)
def test_term_links_name_glossary_terms(path: Path) -> None:
    """Every {term} link names a term of the glossary (else the build warns and fails)."""
    names = {name.lower() for entry_names, _ in glossary_entries() for name in entry_names}
    text = book_texts()[path]
    unknown = [
        target for target in TERM_PATTERN.findall(text) if target.strip().lower() not in names
    ]
    assert not unknown, f"{path.name}: {{term}} links to no glossary term: {unknown}"


def test_study_aid_pages_sit_where_readers_need_them() -> None:
    """The Colab page follows chapter 2; the glossary comes after the chapters, before instructors."""
    order = [Path(page.entry).name for page in TOC_PAGES]
    assert order.index("real_data_on_colab") == order.index("02_mri_and_brats") + 1
    chapters = [Path(page.entry).name for page in TOC_NOTEBOOKS]
    assert order.index("glossary") > max(order.index(chapter) for chapter in chapters)
    assert order.index("glossary") < order.index("instructors")


def test_intro_states_prerequisites() -> None:
    text = (BOOK_DIR / "intro.md").read_text(encoding="utf-8")
    box = re.search(r"^:::\{admonition\}[^\n]*assumes\n(.*?)^:::\s*$", text, re.M | re.S)
    assert box, "intro.md: no admonition saying what the course assumes"
    for needed in ("Python", "NumPy", "linear algebra", "probability", "Not assumed", "https://"):
        assert needed in box.group(1), f"the prerequisites box does not mention {needed!r}"
    assert "{doc}`glossary`" in box.group(1)


def test_intro_gives_study_and_machine_time_for_every_chapter() -> None:
    text = (BOOK_DIR / "intro.md").read_text(encoding="utf-8")
    section = text.split("## How long it takes", 1)
    assert len(section) == 2, "intro.md: no section '## How long it takes'"
    table = [line for line in section[1].split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    header = table[0].lower()
    assert "study time" in header and "estimate" in header, "study times must say 'estimate'"
    rows = {m.group(1): line for line in table[2:] for m in [DOC_PATTERN.search(line)] if m}
    for page in TOC_NOTEBOOKS:
        stem = Path(page.entry).name
        assert stem in rows, f"the time table has no row for {stem}"
        cells = [cell.strip() for cell in rows[stem].strip("|").split("|")]
        assert len(cells) == 5 and all(cells), f"{stem}: a cell of its row is empty"
        assert "estimate" in cells[4], f"{stem}: a Colab GPU time is an estimate, say so"


def test_colab_page_covers_the_way_to_real_data() -> None:
    text = COLAB_PAGE_PATH.read_text(encoding="utf-8")
    for needed in (
        "Change runtime type",
        "drive.mount",
        "/content",
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "kaggle.json",
        "brats-tutorial download",
        "--zip",
        "brats-tutorial check",
        'os.environ["BRATS_DATA_DIR"]',
        'PROFILE = "full"',
    ):
        assert needed in text, f"book/real_data_on_colab.md does not mention {needed!r}"
    linking = [
        path.name for path, page in book_texts().items() if "{doc}`real_data_on_colab`" in page
    ]
    assert "intro.md" in linking, "the introduction does not link the Colab page"
