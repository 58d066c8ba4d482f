"""Open the built book in headless Chromium and report what a reader sees on each page.

The HTML folder (``_build/html``, made by ``jupyter-book build .``) is served on localhost by a
``http.server`` thread. Chromium is driven over the DevTools protocol through a pipe
(``--remote-debugging-pipe``: file descriptors 3 and 4 of the browser process, one JSON
message per NUL-terminated chunk), so no driver binary, websocket client or downloaded browser is
needed: only the stdlib and a ``chromium`` executable.

For every page the browser loads it (JavaScript, styles and images included) and a script run in
the page reports the page title, the ``<h1>``, every image (``naturalWidth``, and, drawn on a
canvas, how many pixels differ from the image's most common colour), every link, the error and
stderr output areas of executed cells, the exercise and solution titles, the math (how many
formulas MathJax rendered, which MathJax scripts the page loaded), the width of every table and
image of the cells' outputs against the text column (``article.bd-article``), and the page's
JavaScript exceptions and failed local requests.

Command line, for a look by hand::

    python tests/browser_check.py [_build/html] [book/intro.html ...]
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

#: The repository root (the book's source folder: ``_config.yml`` and ``_toc.yml`` live there).
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
#: Environment variable naming another built HTML folder (``jupyter-book build --path-output``).
HTML_DIR_ENV = "BRATS_BOOK_HTML_DIR"
#: The built book: ``$BRATS_BOOK_HTML_DIR``, else the default output of ``jupyter-book build .``.
HTML_DIR = Path(os.environ.get(HTML_DIR_ENV) or REPOSITORY_ROOT / "_build" / "html")

#: Environment variable naming the Chromium executable (default: ``chromium`` on the PATH).
CHROMIUM_ENV = "BRATS_CHROMIUM"
CHROMIUM_NAMES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome")

#: Flags for a quiet, offline, throw-away headless browser. The resolver rule makes every host
#: but the local server fail at once (pages then do not wait for CDN scripts such as MathJax).
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,1000",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-pipe",
)

#: Script run in each loaded page; it resolves to a JSON-serialisable report.
PAGE_SCRIPT = r"""
(async () => {
  if (document.readyState !== "complete") {
    await new Promise((resolve) => window.addEventListener("load", resolve, { once: true }));
  }
  // MathJax 3 typesets after loading; its startup promise resolves when the page is done.
  // Where MathJax did not load, window.MathJax is only the configuration (no startup).
  const mathJax = window.MathJax;
  if (mathJax && mathJax.startup && mathJax.startup.promise) {
    const timeout = new Promise((resolve) => setTimeout(resolve, 20000));
    await Promise.race([mathJax.startup.promise.catch(() => null), timeout]);
  }
  const main = document.querySelector("article.bd-article") || document.body;
  const images = [];
  for (const image of Array.from(main.querySelectorAll("img"))) {
    try { await image.decode(); } catch (error) { /* broken image: naturalWidth stays 0 */ }
    const report = {
      src: image.currentSrc || image.src,
      naturalWidth: image.naturalWidth,
      naturalHeight: image.naturalHeight,
      inCellOutput: image.closest(".cell_output") !== null,
      pixels: 0,
      pixelsOffDominant: 0,
      distinctColours: 0,
    };
    if (image.naturalWidth > 0 && image.naturalHeight > 0) {
      const scale = Math.min(1, 600 / Math.max(image.naturalWidth, image.naturalHeight));
      const width = Math.max(1, Math.round(image.naturalWidth * scale));
      const height = Math.max(1, Math.round(image.naturalHeight * scale));
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const context = canvas.getContext("2d", { willReadFrequently: true });
      context.drawImage(image, 0, 0, width, height);
      const data = context.getImageData(0, 0, width, height).data;
      const counts = new Map();
      for (let i = 0; i < data.length; i += 4) {
        const key = (data[i] << 24) | (data[i + 1] << 16) | (data[i + 2] << 8) | data[i + 3];
        counts.set(key, (counts.get(key) || 0) + 1);
      }
      const dominant = Math.max(...counts.values());
      report.pixels = width * height;
      report.pixelsOffDominant = width * height - dominant;
      report.distinctColours = counts.size;
    }
    images.push(report);
  }
  const outputs = [];
  for (const area of Array.from(main.querySelectorAll(".cell_output .output"))) {
    const classes = Array.from(area.classList);
    if (!classes.some((name) => ["traceback", "error", "stderr"].includes(name))) continue;
    const cell = area.closest(".cell");
    outputs.push({
      classes: classes,
      text: area.innerText.slice(0, 2000),
      cellClasses: cell ? Array.from(cell.classList) : [],
    });
  }
  const titleOf = (element) => {
    const title = element.querySelector(".admonition-title");
    return title ? title.textContent.replace(/\s+/g, " ").trim() : "";
  };
  const solutions = Array.from(main.querySelectorAll(".solution")).map((solution) => {
    const content = solution.querySelector("section") || solution;
    return {
      id: solution.id,
      title: titleOf(solution),
      folded: solution.classList.contains("toggle-hidden"),
      contentShown: content.getClientRects().length > 0 && content.offsetHeight > 0,
    };
  });
  const exercises = Array.from(main.querySelectorAll(".exercise")).map((exercise) => ({
    id: exercise.id,
    title: titleOf(exercise),
  }));
  // Formulas: Sphinx writes each as an element of class "math" holding its TeX, and MathJax
  // puts an <mjx-container> in it. Text outside formulas and code should hold no "$$" either.
  const formulas = Array.from(main.querySelectorAll(".math"));
  const unrendered = formulas.filter((formula) => !formula.querySelector("mjx-container"));
  const prose = main.cloneNode(true);
  for (const element of Array.from(prose.querySelectorAll("pre, code, .math, mjx-container"))) {
    element.remove();
  }
  const mathJaxScripts = Array.from(document.scripts)
    .map((script) => script.src)
    .filter((source) => /mathjax/i.test(source));
  // Widths: every table and image of the cells' outputs against the text column (the article's
  // content box). Folded solutions are opened for the measure and folded again afterwards.
  const column = document.querySelector("article.bd-article") || main;
  const columnStyle = getComputedStyle(column);
  const columnRect = column.getBoundingClientRect();
  const contentLeft = columnRect.left + parseFloat(columnStyle.paddingLeft || "0");
  const contentRight = columnRect.right - parseFloat(columnStyle.paddingRight || "0");
  const folded = Array.from(main.querySelectorAll(".toggle-hidden"));
  for (const element of folded) element.classList.remove("toggle-hidden");
  const closedDetails = Array.from(main.querySelectorAll("details:not([open])"));
  for (const element of closedDetails) element.open = true;
  const widths = [];
  for (const element of Array.from(main.querySelectorAll(".cell_output table, .cell_output img"))) {
    if (element.parentElement && element.parentElement.closest(".cell_output table")) continue;
    const rect = element.getBoundingClientRect();
    const describe = () => {
      if (element.tagName === "IMG") return (element.currentSrc || element.src).split("/").pop().slice(0, 80);
      const caption = element.querySelector("caption");
      const header = element.querySelector("thead") || element.querySelector("tr");
      const text = (caption ? caption.textContent : "") + " | " + (header ? header.textContent : "");
      return text.replace(/\s+/g, " ").trim().slice(0, 160);
    };
    widths.push({
      kind: element.tagName.toLowerCase(),
      description: describe(),
      width: rect.width,
      overflowRight: rect.right - contentRight,
      naturalWidth: element.tagName === "IMG" ? element.naturalWidth : 0,
      columnWidth: contentRight - contentLeft,
      shown: rect.width > 0,
    });
  }
  for (const element of folded) element.classList.add("toggle-hidden");
  for (const element of closedDetails) element.open = false;
  const heading = main.querySelector("h1");
  return {
    widths: widths,
    url: location.href,
    title: document.title,
    h1: heading ? heading.textContent.replace(/#$/, "").trim() : null,
    images: images,
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
    outputs: outputs,
    solutions: solutions,
    exercises: exercises,
    math: {
      formulas: formulas.length,
      unrendered: unrendered.slice(0, 5).map((formula) => formula.textContent.slice(0, 200)),
      rendered: main.querySelectorAll("mjx-container").length,
      proseHasDoubleDollars: prose.textContent.includes("$$"),
      scripts: mathJaxScripts,
    },
  };
})()
"""


@dataclasses.dataclass(frozen=True)
class ImageReport:
    """One ``<img>`` of a page's article, as loaded and drawn by the browser."""

    src: str
    natural_width: int
    natural_height: int
    in_cell_output: bool
    pixels: int
    pixels_off_dominant: int
    distinct_colours: int

    @property
    def loaded(self) -> bool:
        return self.natural_width > 0 and self.natural_height > 0

    @property
    def fraction_off_dominant(self) -> float:
        """Share of pixels whose colour differs from the image's most common colour."""
        return self.pixels_off_dominant / self.pixels if self.pixels else 0.0


@dataclasses.dataclass(frozen=True)
class OutputReport:
    """An error, traceback or stderr output area of an executed cell."""

    classes: tuple[str, ...]
    text: str
    cell_classes: tuple[str, ...]

    @property
    def expected_by_tag(self) -> bool:
        """True when the cell is tagged ``raises-exception`` (an error shown on purpose)."""
        return "tag_raises-exception" in self.cell_classes


@dataclasses.dataclass(frozen=True)
class SolutionReport:
    """A sphinx-exercise solution: folded by sphinx-togglebutton, and is its content shown?"""

    element_id: str
    title: str
    folded: bool
    content_shown: bool


@dataclasses.dataclass(frozen=True)
class ExerciseReport:
    """A sphinx-exercise exercise: its ``id`` (the label) and its title ("Exercise 5.1")."""

    element_id: str
    title: str


@dataclasses.dataclass(frozen=True)
class MathReport:
    """The page's formulas and the MathJax that typeset them."""

    #: Elements of class ``math`` (one per formula that Sphinx wrote for MathJax).
    formulas: int
    #: Text of up to five formulas that hold no ``<mjx-container>`` (raw TeX on the screen).
    unrendered: tuple[str, ...]
    #: ``<mjx-container>`` elements in the article.
    rendered: int
    #: Whether the article's text outside formulas and code contains ``$$`` (unparsed math).
    prose_has_double_dollars: bool
    #: Addresses of the page's MathJax scripts.
    scripts: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class WidthReport:
    """One ``<table>`` or ``<img>`` of a cell's output, measured against the text column.

    Widths are CSS pixels in the browser window of ``CHROMIUM_FLAGS`` (1280 px wide).
    """

    kind: str
    #: The image's file name, or the table's caption and header text.
    description: str
    #: Rendered width. A table wider than the column sits behind a scroll bar; an image is
    #: scaled down to the column by the theme's ``img {max-width: 100%}``.
    width: float
    #: How far the element's right edge lies right of the column's content edge (px).
    overflow_right: float
    #: The image's own width in pixels (0 for a table): above the column, the browser shrinks
    #: it, and its text with it.
    natural_width: int
    #: Width of the article's content box (``article.bd-article``).
    column_width: float
    #: False when the element takes no space even with the solutions unfolded (display: none).
    shown: bool

    def too_wide(self, tolerance_px: float = 1.0, image_shrink: float = 1.25) -> bool:
        """Wider than the column: a table past its edge, or an image drawn for a wider page.

        Args:
            tolerance_px: rounding slack.
            image_shrink: an image whose own width exceeds the column by more than this factor
                is shown shrunk by more than that, and its text shrinks with it.
        """
        if not self.shown:
            return False
        if self.width > self.column_width + tolerance_px or self.overflow_right > tolerance_px:
            return True
        return self.kind == "img" and self.natural_width > image_shrink * self.column_width


def wide_outputs(report: PageReport) -> list[str]:
    """Descriptions of the page's output tables and images that are wider than the text column."""
    return [
        f"{width.kind} {width.description!r}: {width.width:.0f} px shown"
        + (f", {width.natural_width} px drawn" if width.kind == "img" else "")
        + f", column {width.column_width:.0f} px"
        for width in report.widths
        if width.too_wide()
    ]


@dataclasses.dataclass(frozen=True)
class PageReport:
    """What the browser saw on one page."""

    requested_url: str
    url: str
    title: str
    h1: str | None
    images: tuple[ImageReport, ...]
    links: tuple[str, ...]
    outputs: tuple[OutputReport, ...]
    solutions: tuple[SolutionReport, ...]
    exercises: tuple[ExerciseReport, ...]
    math: MathReport
    javascript_exceptions: tuple[str, ...]
    failed_local_requests: tuple[str, ...]
    #: Output tables and images with their widths against the text column.
    widths: tuple[WidthReport, ...] = ()


# --- The book's layout: what the table of contents promises -----------------------------------


@dataclasses.dataclass(frozen=True)
class TocPage:
    """One page of ``_toc.yml``: its entry (``book/04_unet``) and the file it names, if any."""

    entry: str
    source: Path | None

    @property
    def html_path(self) -> str:
        """Path of the built page relative to the HTML folder, e.g. ``book/04_unet.html``."""
        return f"{self.entry}.html"

    @property
    def is_notebook(self) -> bool:
        return self.source is not None and self.source.suffix == ".ipynb"


def read_toc(root: Path = REPOSITORY_ROOT) -> list[TocPage]:
    """The pages of ``root/_toc.yml`` in reading order (root first, then parts/chapters/sections).

    An entry resolves to ``<entry>.ipynb``, ``<entry>.md`` or the entry itself when it has a
    suffix; ``source`` is ``None`` when no such file exists.
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    entries: list[str] = [toc["root"]]

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            if "file" in node:
                entries.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                if key in node:
                    walk(node[key])

    walk({key: value for key, value in toc.items() if key in ("parts", "chapters", "sections")})
    pages = []
    for entry in entries:
        entry_path = Path(entry)
        if entry_path.suffix in (".md", ".ipynb"):
            candidates = [root / entry_path]
            entry = str(entry_path.with_suffix(""))
        else:
            candidates = [root / f"{entry}.ipynb", root / f"{entry}.md"]
        existing = [candidate for candidate in candidates if candidate.is_file()]
        pages.append(TocPage(entry=entry, source=existing[0] if len(existing) == 1 else None))
    return pages


def markdown_headings(text: str) -> list[tuple[int, str]]:
    """ATX headings (``## Setup`` -> ``(2, "Setup")``) of Markdown text, skipping code fences."""
    headings = []
    fence: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if fence is None and (stripped.startswith("```") or stripped.startswith("~~~")):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        if stripped.startswith("#"):
            hashes = len(stripped) - len(stripped.lstrip("#"))
            rest = stripped[hashes:]
            if 1 <= hashes <= 6 and (rest == "" or rest.startswith(" ")):
                headings.append((hashes, rest.strip().rstrip("#").strip()))
    return headings


def markdown_cells(notebook_path: Path) -> list[str]:
    """Sources of a notebook's Markdown cells, in order."""
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    return [
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
    ]


def source_title(source: Path) -> str | None:
    """The first level-1 heading of a Markdown page or of a notebook's Markdown cells."""
    texts = (
        markdown_cells(source)
        if source.suffix == ".ipynb"
        else [source.read_text(encoding="utf-8")]
    )
    for text in texts:
        for level, heading in markdown_headings(text):
            if level == 1:
                return heading
    return None


# --- The browser -------------------------------------------------------------------------------


def find_chromium() -> str | None:
    """Path of the Chromium executable: ``$BRATS_CHROMIUM``, else the first name on the PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() else shutil.which(configured)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on ``127.0.0.1`` (a free port) for the duration of the block.

    Yields:
        The base URL, ending with ``/``.
    """
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class DevToolsError(RuntimeError):
    """The browser answered a DevTools command with an error, or did not answer in time."""


class Chromium:
    """A headless Chromium driven over the DevTools pipe. Use as a context manager."""

    def __init__(self, executable: str, timeout_s: float = 60.0) -> None:
        self.executable = executable
        self.timeout_s = timeout_s
        self._next_id = 0
        self._responses: dict[int, dict[str, Any]] = {}
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._condition = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._profile_dir: str | None = None
        self._to_browser: int | None = None

    def __enter__(self) -> Chromium:
        self._profile_dir = tempfile.mkdtemp(prefix="brats_chromium_")
        browser_reads, self._to_browser = os.pipe()
        from_browser, browser_writes = os.pipe()

        def connect_pipe() -> None:  # runs in the child, before exec
            os.dup2(browser_reads, 3)
            os.dup2(browser_writes, 4)

        command = [
            self.executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={self._profile_dir}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=connect_pipe,
        )
        os.close(browser_reads)
        os.close(browser_writes)
        self._reader = threading.Thread(target=self._read, args=(from_browser,), daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._process is not None and self._process.poll() is None:
                with contextlib.suppress(DevToolsError, OSError):
                    self.send("Browser.close", timeout_s=5.0)
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
        finally:
            if self._to_browser is not None:
                with contextlib.suppress(OSError):
                    os.close(self._to_browser)
            if self._profile_dir is not None:
                shutil.rmtree(self._profile_dir, ignore_errors=True)

    def _read(self, descriptor: int) -> None:
        buffer = b""
        with os.fdopen(descriptor, "rb", buffering=0) as stream:
            while True:
                chunk = stream.read(1 << 16)
                if not chunk:
                    break
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        with self._condition:
                            self._responses[message["id"]] = message
                            self._condition.notify_all()
                    else:
                        self._events.put(message)
        with self._condition:
            self._condition.notify_all()

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Send one DevTools command and wait for its result."""
        assert self._to_browser is not None, "use Chromium as a context manager"
        with self._condition:
            self._next_id += 1
            message_id = self._next_id
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        with self._condition:
            while message_id not in self._responses:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._reader.is_alive():
                    alive = self._process is not None and self._process.poll() is None
                    raise DevToolsError(f"no answer to {method} (browser alive: {alive})")
                self._condition.wait(timeout=min(remaining, 0.5))
            response = self._responses.pop(message_id)
        if "error" in response:
            raise DevToolsError(f"{method}: {response['error']}")
        return response.get("result", {})

    def _drain_events(self) -> list[dict[str, Any]]:
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def inspect(self, url: str, final_url_suffix: str | None = None) -> PageReport:
        """Load ``url`` in a new tab and report on the page.

        Args:
            url: the page to load.
            final_url_suffix: when given, wait (up to the timeout) until the tab's address ends
                with it, e.g. after a ``<meta http-equiv="Refresh">`` redirect.
        """
        target_id = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session_id = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})[
            "sessionId"
        ]
        try:
            self._drain_events()
            for domain in ("Page", "Runtime", "Log"):
                self.send(f"{domain}.enable", session_id=session_id)
            self.send("Page.navigate", {"url": url}, session_id=session_id)
            deadline = time.monotonic() + self.timeout_s
            while True:
                try:
                    result = self.send(
                        "Runtime.evaluate",
                        {
                            "expression": "[location.href, document.readyState]",
                            "returnByValue": True,
                        },
                        session_id=session_id,
                    )["result"]["value"]
                except DevToolsError as error:
                    # Asked while a redirect replaces the page (index.html's refresh): ask again.
                    if "navigated or closed" not in str(error) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
                    continue
                address, ready_state = result
                arrived = (
                    address.endswith(final_url_suffix)
                    if final_url_suffix
                    else (address != "about:blank")
                )
                if arrived and ready_state == "complete":
                    break
                if time.monotonic() > deadline:
                    raise DevToolsError(
                        f"{url} did not finish loading (at {address}, {ready_state})"
                    )
                time.sleep(0.05)
            evaluation = self.send(
                "Runtime.evaluate",
                {"expression": PAGE_SCRIPT, "awaitPromise": True, "returnByValue": True},
                session_id=session_id,
            )
            if "exceptionDetails" in evaluation:
                details = evaluation["exceptionDetails"]
                raise DevToolsError(f"page script failed on {url}: {details}")
            page = evaluation["result"]["value"]
            exceptions: list[str] = []
            failed: list[str] = []
            local_prefix = url.split("/", 3)[:3]
            local_origin = "/".join(local_prefix)
            for event in self._drain_events():
                if event.get("sessionId") != session_id:
                    continue
                params = event.get("params", {})
                if event.get("method") == "Runtime.exceptionThrown":
                    details = params.get("exceptionDetails", {})
                    exceptions.append(
                        details.get("exception", {}).get("description") or details.get("text", "")
                    )
                elif event.get("method") == "Log.entryAdded":
                    entry = params.get("entry", {})
                    entry_url = str(entry.get("url", ""))
                    # Chromium asks every new site for /favicon.ico by itself; the book has none.
                    if (
                        entry.get("level") == "error"
                        and entry_url.startswith(local_origin)
                        and not entry_url.endswith("/favicon.ico")
                    ):
                        failed.append(f"{entry.get('url')}: {entry.get('text')}")
        finally:
            with contextlib.suppress(DevToolsError):
                self.send("Target.closeTarget", {"targetId": target_id})
        return PageReport(
            requested_url=url,
            url=page["url"],
            title=page["title"],
            h1=page["h1"],
            images=tuple(
                ImageReport(
                    src=image["src"],
                    natural_width=image["naturalWidth"],
                    natural_height=image["naturalHeight"],
                    in_cell_output=image["inCellOutput"],
                    pixels=image["pixels"],
                    pixels_off_dominant=image["pixelsOffDominant"],
                    distinct_colours=image["distinctColours"],
                )
                for image in page["images"]
            ),
            links=tuple(page["links"]),
            outputs=tuple(
                OutputReport(
                    classes=tuple(output["classes"]),
                    text=output["text"],
                    cell_classes=tuple(output["cellClasses"]),
                )
                for output in page["outputs"]
            ),
            solutions=tuple(
                SolutionReport(
                    element_id=solution["id"],
                    title=solution["title"],
                    folded=solution["folded"],
                    content_shown=solution["contentShown"],
                )
                for solution in page["solutions"]
            ),
            exercises=tuple(
                ExerciseReport(element_id=exercise["id"], title=exercise["title"])
                for exercise in page["exercises"]
            ),
            math=MathReport(
                formulas=page["math"]["formulas"],
                unrendered=tuple(page["math"]["unrendered"]),
                rendered=page["math"]["rendered"],
                prose_has_double_dollars=page["math"]["proseHasDoubleDollars"],
                scripts=tuple(page["math"]["scripts"]),
            ),
            javascript_exceptions=tuple(exceptions),
            failed_local_requests=tuple(failed),
            widths=tuple(
                WidthReport(
                    kind=width["kind"],
                    description=width["description"],
                    width=float(width["width"]),
                    overflow_right=float(width["overflowRight"]),
                    natural_width=int(width["naturalWidth"]),
                    column_width=float(width["columnWidth"]),
                    shown=bool(width["shown"]),
                )
                for width in page.get("widths", [])
            ),
        )


def inspect_pages(
    html_dir: Path,
    pages: list[str],
    chromium: str,
    redirects: dict[str, str] | None = None,
) -> dict[str, PageReport]:
    """Serve ``html_dir`` and inspect each page (paths relative to it, e.g. ``book/intro.html``).

    Args:
        redirects: page -> suffix its final address must end with (e.g. ``index.html`` ->
            ``book/intro.html``).
    """
    redirects = redirects or {}
    reports: dict[str, PageReport] = {}
    with serve_folder(html_dir) as base_url, Chromium(chromium) as browser:
        for page in pages:
            reports[page] = browser.inspect(base_url + page, redirects.get(page))
    return reports


def main(argv: list[str]) -> int:
    html_dir = Path(argv[0]) if argv else HTML_DIR
    pages = argv[1:] or ["index.html"] + [page.html_path for page in read_toc()]
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found (set BRATS_CHROMIUM or install the Debian package chromium)")
        return 2
    started = time.perf_counter()
    reports = inspect_pages(html_dir, pages, chromium)
    for page, report in reports.items():
        print(f"{page}: h1={report.h1!r} at {report.url}")
        for image in report.images:
            print(
                f"  img {image.natural_width}x{image.natural_height} "
                f"off-dominant {image.fraction_off_dominant:.3f} "
                f"colours {image.distinct_colours} {Path(image.src).name}"
            )
        colab = [link for link in report.links if "colab.research.google.com" in link]
        print(f"  colab links: {colab}")
        for exercise in report.exercises:
            print(f"  exercise {exercise.element_id}: {exercise.title!r}")
        for solution in report.solutions:
            print(
                f"  solution {solution.element_id} {solution.title!r}: folded {solution.folded}, "
                f"content shown {solution.content_shown}"
            )
        if report.math.formulas or report.math.scripts:
            print(
                f"  math: {report.math.formulas} formulas, {report.math.rendered} rendered by "
                f"MathJax, unrendered {list(report.math.unrendered)}, "
                f"'$$' in the text {report.math.prose_has_double_dollars}, "
                f"scripts {list(report.math.scripts)}"
            )
        for output in report.outputs:
            print(f"  output {output.classes}: {output.text[:200]!r}")
        for problem in wide_outputs(report):
            print(f"  wider than the text column: {problem}")
        for problem in report.javascript_exceptions + report.failed_local_requests:
            print(f"  problem: {problem}")
    print(f"{len(reports)} pages in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
