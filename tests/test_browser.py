"""The built book as a reader sees it, in headless Chromium.

Build the book first (``jupyter-book build . -W -n --keep-going``, which executes every
chapter). These tests then open ``_build/html/index.html`` and every page of ``_toc.yml`` in
Chromium (see ``browser_check.py``) and check that each page shows its title, that every figure
loaded and is not blank, that no output table or figure is wider than the text column,
that notebook pages carry a Colab button to their own notebook, that
exercises are numbered per chapter, that MathJax shipped with the book (not a CDN: the browser
reaches no host but the local server) typeset every formula, and that no executed cell shows an
error.

Without a build or without Chromium the tests skip; with ``BRATS_REQUIRE_BOOK=1`` (CI after the
book build) they fail instead.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib.image
import numpy as np
import pytest
import yaml
from browser_check import (
    HTML_DIR,
    REPOSITORY_ROOT,
    PageReport,
    TocPage,
    WidthReport,
    find_chromium,
    inspect_pages,
    markdown_cells,
    read_toc,
    source_title,
    wide_outputs,
)

REQUIRE_BOOK_ENV = "BRATS_REQUIRE_BOOK"
TOC_PAGES = read_toc()
NOTEBOOK_PAGES = [page for page in TOC_PAGES if page.is_notebook]
#: A figure counts as blank when fewer than this share of its pixels differ from its most
#: common colour (a matplotlib figure with axes, labels and one line is well above 1 %).
MIN_FRACTION_OFF_BACKGROUND = 0.01
#: JavaScript errors that come with jupyter-book 1.0.4 itself: its sphinx-thebe and
#: sphinx-togglebutton set-up scripts are written twice into every page, so the second
#: ``const THEBE_JS_URL`` is a redeclaration. Thebe is off in this book; nothing breaks.
KNOWN_UPSTREAM_JS_ERRORS = (re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"),)
ERROR_TEXT_PATTERN = re.compile(r"Traceback|\b[A-Z][A-Za-z]*Error\b")


def page_id(page: TocPage) -> str:
    return page.entry


def skip_or_fail(reason: str) -> None:
    if os.environ.get(REQUIRE_BOOK_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_BOOK_ENV}=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def reports() -> dict[str, PageReport]:
    """Reports of ``index.html`` and of every toc page, from one browser session."""
    if not (HTML_DIR / "index.html").is_file():
        skip_or_fail(f"no built book at {HTML_DIR}: run `jupyter-book build .` first")
    chromium = find_chromium()
    if chromium is None:
        skip_or_fail("no Chromium executable (Debian package `chromium`, or set BRATS_CHROMIUM)")
    missing = [page.html_path for page in TOC_PAGES if not (HTML_DIR / page.html_path).is_file()]
    if missing:
        pytest.fail(f"the build lacks {missing}: rebuild the book after changing _toc.yml")
    root_page = TOC_PAGES[0].html_path
    pages = ["index.html"] + [page.html_path for page in TOC_PAGES]
    return inspect_pages(HTML_DIR, pages, chromium, redirects={"index.html": root_page})


def expected_colab_url(page: TocPage) -> str:
    """Colab link of a notebook page, built from _config.yml as Colab expects it."""
    config = yaml.safe_load((REPOSITORY_ROOT / "_config.yml").read_text(encoding="utf-8"))
    owner, repository = urlsplit(config["repository"]["url"]).path.strip("/").split("/")[:2]
    book_path = str(config["repository"].get("path_to_book") or "").strip("/")
    notebook = f"{book_path}/{page.entry}.ipynb" if book_path else f"{page.entry}.ipynb"
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    branch = config["repository"]["branch"]
    return f"{colab}/github/{owner}/{repository}/blob/{branch}/{notebook}"


def local_file(html_dir: Path, url: str) -> Path:
    """The file under ``html_dir`` that a URL of the local server points to."""
    return html_dir / unquote(urlsplit(url).path).lstrip("/")


def test_index_opens_the_root_page(reports: dict[str, PageReport]) -> None:
    report = reports["index.html"]
    assert report.url.endswith("/" + TOC_PAGES[0].html_path), report.url
    assert report.h1 == source_title(TOC_PAGES[0].source)


@pytest.mark.parametrize("page", TOC_PAGES, ids=page_id)
def test_page_shows_its_title(page: TocPage, reports: dict[str, PageReport]) -> None:
    report = reports[page.html_path]
    title = source_title(page.source)
    assert title, f"{page.source} has no '# title'"
    assert report.h1 == title
    assert report.title.startswith(title)


@pytest.mark.parametrize("page", TOC_PAGES, ids=page_id)
def test_every_image_loads(page: TocPage, reports: dict[str, PageReport]) -> None:
    broken = [image.src for image in reports[page.html_path].images if not image.loaded]
    assert not broken, f"images that did not load: {broken}"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=page_id)
def test_notebook_page_shows_figures_that_are_not_blank(
    page: TocPage, reports: dict[str, PageReport]
) -> None:
    figures = [image for image in reports[page.html_path].images if image.in_cell_output]
    assert figures, "no figure in the executed cells' outputs"
    for figure in figures:
        assert figure.loaded, figure.src
        assert figure.fraction_off_dominant >= MIN_FRACTION_OFF_BACKGROUND, (
            f"{figure.src} looks blank in the browser "
            f"({figure.fraction_off_dominant:.4f} of pixels off the background)"
        )
        # Independently of the browser: the file itself decodes to an image that is not uniform.
        if figure.src.startswith("data:image/png;base64,"):
            # Inline frames, e.g. of a JavaScript animation (matplotlib's to_jshtml).
            source = io.BytesIO(base64.b64decode(figure.src.split(",", 1)[1]))
            name = "inline PNG"
        else:
            path = local_file(HTML_DIR, figure.src)
            assert path.is_file(), path
            if path.suffix.lower() != ".png":
                continue
            source, name = path, path.name
        pixels = matplotlib.image.imread(source, format="png")
        assert pixels.shape[:2] == (figure.natural_height, figure.natural_width)
        assert float(np.ptp(pixels[..., :3])) > 0.0, f"{name} is one flat colour"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=page_id)
def test_notebook_page_has_a_colab_button_to_its_notebook(
    page: TocPage, reports: dict[str, PageReport]
) -> None:
    colab_links = [link for link in reports[page.html_path].links if "colab.research" in link]
    assert expected_colab_url(page) in colab_links, f"Colab links on the page: {colab_links}"


@pytest.mark.parametrize("page", TOC_PAGES, ids=page_id)
def test_solutions_are_folded(page: TocPage, reports: dict[str, PageReport]) -> None:
    """Solutions (``:class: dropdown``) start folded: students open them when they choose."""
    for solution in reports[page.html_path].solutions:
        assert solution.folded, f"solution {solution.element_id} is not a folded dropdown"
        assert not solution.content_shown, f"solution {solution.element_id} shows its content"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=page_id)
def test_notebook_page_has_a_solution(page: TocPage, reports: dict[str, PageReport]) -> None:
    assert reports[page.html_path].solutions, "no rendered solution (sphinx-exercise)"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=page_id)
def test_exercises_are_numbered_within_their_chapter(
    page: TocPage, reports: dict[str, PageReport]
) -> None:
    """Chapter 5's exercises are "Exercise 5.1", "Exercise 5.2", ... and so are their solutions."""
    chapter = int(Path(page.entry).name.split("_", 1)[0])
    report = reports[page.html_path]
    titles = [exercise.title for exercise in report.exercises]
    assert titles, "no rendered exercise"
    expected = [f"Exercise {chapter}.{position}" for position in range(1, len(titles) + 1)]
    assert [title[: len(number)] for title, number in zip(titles, expected)] == expected, titles
    for solution in report.solutions:
        assert re.fullmatch(rf"Solution to Exercise {chapter}\.\d+\b.*", solution.title), (
            solution.title
        )


def source_has_display_math(page: TocPage) -> bool:
    """Whether the page's Markdown holds ``$$`` (display math, for MathJax to typeset)."""
    if page.is_notebook:
        texts = markdown_cells(page.source)
    else:
        texts = [page.source.read_text(encoding="utf-8")]
    return any("$$" in text for text in texts)


def test_some_page_has_display_math() -> None:
    """The math check below is not empty: at least chapter 5 writes equations with ``$$``."""
    assert any(source_has_display_math(page) for page in TOC_PAGES)


@pytest.mark.parametrize("page", TOC_PAGES, ids=page_id)
def test_math_is_typeset_by_the_books_own_mathjax(
    page: TocPage, reports: dict[str, PageReport]
) -> None:
    """Every formula is typeset (no raw TeX), by a MathJax loaded from the book's own files.

    The browser reaches no host but the local server, as a reader without internet.
    """
    report = reports[page.html_path]
    math = report.math
    if source_has_display_math(page):
        assert math.formulas, "the source has $$ equations but the page shows no formula"
    assert not math.unrendered, f"formulas left as raw TeX: {list(math.unrendered)}"
    assert not math.prose_has_double_dollars, "'$$' in the page's text: math that was not parsed"
    if math.formulas:
        assert math.rendered >= math.formulas, (math.rendered, math.formulas)
        assert math.scripts, "formulas but no MathJax script"
    page_origin = urlsplit(report.url).netloc
    for script in math.scripts:
        assert urlsplit(script).netloc == page_origin, f"MathJax from another host: {script}"
        assert local_file(HTML_DIR, script).is_file(), script


@pytest.mark.parametrize("page", TOC_PAGES, ids=page_id)
def test_no_cell_shows_an_error(page: TocPage, reports: dict[str, PageReport]) -> None:
    """No traceback or error output, and no stderr that reports an error.

    Cells tagged ``raises-exception`` (an error shown on purpose) are exempt.
    """
    for output in reports[page.html_path].outputs:
        if output.expected_by_tag:
            continue
        assert not {"traceback", "error"} & set(output.classes), output.text[:500]
        if "stderr" in output.classes:
            assert not ERROR_TEXT_PATTERN.search(output.text), output.text[:500]


@pytest.mark.parametrize("page", TOC_PAGES, ids=page_id)
def test_page_has_no_javascript_errors_or_missing_files(
    page: TocPage, reports: dict[str, PageReport]
) -> None:
    report = reports[page.html_path]
    unexpected = [
        message
        for message in report.javascript_exceptions
        if not any(pattern.search(message) for pattern in KNOWN_UPSTREAM_JS_ERRORS)
    ]
    assert not unexpected, unexpected
    assert not report.failed_local_requests, report.failed_local_requests


@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=page_id)
def test_no_output_table_or_figure_is_wider_than_the_text_column(
    page: TocPage, reports: dict[str, PageReport]
) -> None:
    """Tables fit the column without a scroll bar; figures are drawn for the column's width.

    Solutions are unfolded for the measure: a reader who opens one sees the same page.
    """
    report = reports[page.html_path]
    assert report.widths, "no output table or image measured"
    offenders = wide_outputs(report)
    assert not offenders, "wider than the text column:\n" + "\n".join(offenders)


def _width(kind: str, width: float, natural: int = 0, column: float = 750.0) -> WidthReport:
    return WidthReport(
        kind=kind,
        description="x",
        width=width,
        overflow_right=width - column,
        natural_width=natural,
        column_width=column,
        shown=width > 0,
    )


def test_width_rule() -> None:
    """The rule of the test above, without a browser."""
    assert not _width("table", 700).too_wide()
    assert _width("table", 900).too_wide()  # behind a scroll bar
    assert not _width("img", 750, natural=800).too_wide()  # shrunk a little: fine
    assert _width("img", 750, natural=1200).too_wide()  # drawn for a wider page
    assert not _width("table", 0).too_wide()  # not displayed at all


#: A page laid out like the book's (an ``article.bd-article`` of fixed width holding cell
#: outputs), with one table and one image that fit and one of each that do not.
STATIC_PAGE = """<!DOCTYPE html><html><head><title>widths</title><style>
body { margin: 0; } article.bd-article { width: 700px; padding: 0 20px; }
img { max-width: 100%; } .scroll { overflow-x: auto; }
.toggle-hidden { display: none; }
</style></head><body><article class="bd-article"><h1>widths</h1>
<div class="cell_output"><table id="narrow"><caption>narrow</caption><tr><td>1</td></tr></table></div>
<div class="cell_output scroll"><table id="wide"><caption>wide</caption><tr>
<td style="min-width: 900px">2</td></tr></table></div>
<div class="solution toggle-hidden"><div class="cell_output scroll"><table><caption>folded wide</caption>
<tr><td style="min-width: 1000px">3</td></tr></table></div></div>
<div class="cell_output"><img alt="small" src="small.png"></div>
<div class="cell_output"><img alt="large" src="large.png"></div>
</article></body></html>"""


def test_widths_are_measured_in_the_browser(tmp_path: Path) -> None:
    """The page script measures a static page served the way the book is."""
    import matplotlib.pyplot as plt

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium executable (Debian package `chromium`, or set BRATS_CHROMIUM)")
    (tmp_path / "page.html").write_text(STATIC_PAGE, encoding="utf-8")
    for name, width_px in (("small.png", 600), ("large.png", 1400)):
        figure = plt.figure(figsize=(width_px / 100, 2), dpi=100)
        figure.text(0.5, 0.5, name)
        figure.savefig(tmp_path / name, dpi=100)
        plt.close(figure)
    report = inspect_pages(tmp_path, ["page.html"], chromium)["page.html"]
    assert len(report.widths) == 5, report.widths
    assert all(abs(width.column_width - 700) < 1 for width in report.widths)
    offenders = wide_outputs(report)
    assert len(offenders) == 3, offenders
    assert any(text.startswith("table 'wide") for text in offenders), offenders
    assert any("folded wide" in text for text in offenders), offenders
    assert any("large.png" in text for text in offenders), offenders
