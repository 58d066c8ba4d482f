"""The course package beside Google Colab's own package versions (colab-constraints.txt).

A learner opens a chapter on Colab and its first code cell installs the package from the
repository. That pip command must leave Colab's preinstalled packages as they are: an upgraded
ipywidgets, for one, breaks Colab's widget front end (googlecolab/colabtools#3020, #4525), and a
changed TensorFlow, Keras or NumPy would leave the runtime's other libraries out of step.

The slow test builds, in a temporary folder, a fresh virtual environment holding Colab's versions
of the packages the course needs (installed with pip from colab-constraints.txt), then

1. runs the install cell's own pip command, pointed at a local git clone of this working tree
   (see tests/test_notebook_setup.py), with pip's ``--dry-run --report`` and fails, naming them,
   if pip would install any of Colab's packages in another version (pip removes a package only
   to replace it, so an upgrade, a downgrade or a removal all show up there);
2. runs the cell for real and checks that no installed version changed;
3. runs chapter 2's Setup cells and the cell that builds the slice viewer there (on synthetic
   data, the quick profile), and checks that the viewer is built, and redraws, with Colab's
   ipywidgets.

It runs on Colab's Python, 3.13, when this machine has it (``python3.13`` on the PATH, or under
pyenv's versions, as here), else on the Python running the tests (every version in the constraints has a wheel
for 3.11 and 3.13); it prints which. It needs PyPI. About 2 to 3 min on 2 cores, most of it pip downloading and
installing Colab's packages, about 770 MB of wheels (TensorFlow 2.20's alone is 590 MB); pip's
cache saves the download where it works. `make test-colab` runs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from test_notebook_setup import (
    CHAPTERS,
    environment_without_pythonpath,
    install_cell,
    make_local_repository,
    point_install_cell_at,
)

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "colab-constraints.txt"
CHAPTER_2 = ROOT / "book" / "02_mri_and_brats.ipynb"
#: The course's optional dependencies that a Colab learner installs (``[download]``).
COLAB_EXTRAS = ("download",)
#: What chapter 2 imports beyond the package's own dependencies (``IPython.display``), and
#: Colab's pip (it runs the install cell) and setuptools (the new environment has older ones).
CHAPTER_2_EXTRA_PACKAGES = ("ipython", "pip", "setuptools")
#: Colab's ipywidgets, whose front end does not support ipywidgets 8 well.
COLAB_IPYWIDGETS = "7.7.1"


#: Colab's Python (googlecolab/backend-info, 2026-08-19).
COLAB_PYTHON = "3.13"


def colab_python() -> str:
    """The interpreter for the Colab environment: a working ``python3.13`` (on the PATH, or one
    that pyenv installed) when there is one, else the one running the tests."""
    candidates = [shutil.which(f"python{COLAB_PYTHON}")]
    candidates += sorted(
        Path.home().glob(f".pyenv/versions/{COLAB_PYTHON}*/bin/python{COLAB_PYTHON}")
    )
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import venv"], capture_output=True, timeout=60)
        if done.returncode == 0:  # a pyenv shim without that version installed fails here
            return str(candidate)
    return sys.executable


def colab_versions() -> dict[str, str]:
    """Colab's versions from colab-constraints.txt: canonical name -> version ("name==version")."""
    versions = {}
    for number, line in enumerate(CONSTRAINTS.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", text)
        assert match, f"{CONSTRAINTS.name}, line {number}: expected NAME==VERSION, got {line!r}"
        versions[canonicalize_name(match.group(1))] = match.group(2)
    return versions


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]


def _colab_requirements() -> list[Requirement]:
    """What the package requires on Colab: its dependencies and the extras a learner installs."""
    project = _project()
    extras = [item for name in COLAB_EXTRAS for item in project["optional-dependencies"][name]]
    return [Requirement(text) for text in [*project["dependencies"], *extras]]


def test_constraints_give_colabs_version_of_every_requirement():
    """Every dependency of the package has Colab's version in the file, within its bounds.

    A dependency missing from the file would be installed at its newest version in the slow
    test's environment, which would then no longer be Colab's.
    """
    versions = colab_versions()
    assert versions["ipywidgets"] == COLAB_IPYWIDGETS
    missing = [str(r) for r in _colab_requirements() if canonicalize_name(r.name) not in versions]
    assert not missing, f"{CONSTRAINTS.name} lacks Colab's version of {missing}"
    outside = [
        f"{r} (Colab has {versions[canonicalize_name(r.name)]})"
        for r in _colab_requirements()
        if not r.specifier.contains(versions[canonicalize_name(r.name)], prereleases=True)
    ]
    assert not outside, f"pyproject.toml's bounds exclude Colab's versions: {outside}"


def _chapter_2_cells() -> list[str]:
    """Chapter 2's Setup cells, the cells that load the case it shows, and the viewer cell.

    Setup: the code cells between the "## Setup" heading and the next heading. Then the cells that
    pick the case (``case_files = ...``) and load it (``case = loading.load_case(...)``), and the
    cell that builds the viewer (``viewer.slice_viewer(...)``), the last.
    """
    notebook = json.loads(CHAPTER_2.read_text(encoding="utf-8"))
    cells = [(c["cell_type"], "".join(c["source"])) for c in notebook["cells"]]
    start = next(i for i, (kind, text) in enumerate(cells) if text.startswith("## Setup"))
    headings = [i for i, (kind, text) in enumerate(cells) if kind == "markdown" and text[:1] == "#"]
    end = next(i for i in headings if i > start)
    setup = [text for kind, text in cells[start + 1 : end] if kind == "code"]
    assert setup and setup[0] == install_cell(CHAPTER_2), "chapter 2's Setup changed shape"

    def cell_matching(pattern: str) -> str:
        found = [text for kind, text in cells if kind == "code" and re.search(pattern, text, re.M)]
        assert len(found) == 1, f"chapter 2 has {len(found)} code cells matching {pattern!r}"
        return found[0]

    loading = [cell_matching(r"^case_files = "), cell_matching(r"^case = loading\.load_case\(")]
    return [*setup, *loading, cell_matching(r"^viewer\.slice_viewer\(")]


#: Runs chapter 2's cells (a JSON list in argv[1]) in an IPython shell, as a notebook would; the
#: last cell's value is the viewer. Prints what the test checks, as JSON, on its last line.
RUN_CHAPTER_2 = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
for source in json.loads(open(sys.argv[1]).read()):
    outcome = shell.run_cell(source)
    outcome.raise_error()
import ipywidgets
viewer = outcome.result
titles = [viewer.result.axes[0].get_title()]
viewer.children[1].value = 40
titles.append(viewer.result.axes[0].get_title())
print(json.dumps({
    "ipywidgets": ipywidgets.__version__,
    "viewer": f"{type(viewer).__module__}.{type(viewer).__qualname__}",
    "controls": [type(child).__name__ for child in viewer.children],
    "titles": titles,
}))
"""


def _installed_versions(python: Path) -> dict[str, str]:
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        env=environment_without_pythonpath(),
        capture_output=True,
        text=True,
        check=True,
    )
    return {canonicalize_name(p["name"]): p["version"] for p in json.loads(listed.stdout)}


def _run(command: list, cwd: Path, timeout: int, **environment: str | None) -> str:
    """Run a command with this environment less PYTHONPATH, changed by ``environment`` (a value
    None removes the variable); returns its stdout."""
    env = {**environment_without_pythonpath(), **environment}
    env = {name: value for name, value in env.items() if value is not None}
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{command[:4]} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.mark.slow
def test_install_cell_keeps_colabs_versions_and_chapter_2_runs(tmp_path):
    """The steps of the module's docstring; prints each phase's time (seen with ``pytest -s``)."""
    colab = colab_versions()
    chapter_cells = _chapter_2_cells()
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def phase_done(name: str) -> None:
        nonlocal clock
        phases[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    # Colab's packages in a fresh environment: the package's dependencies (TensorFlow, Keras and
    # NumPy among them, so that pip judges the install cell against Colab's), and what else
    # chapter 2 imports; pip pins everything they pull in to Colab's versions too.
    environment = tmp_path / "colab-venv"
    subprocess.run([colab_python(), "-m", "venv", str(environment)], check=True, timeout=300)
    python = environment / "bin" / "python"
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"Colab's environment runs Python {version}")
    packages = sorted(
        {canonicalize_name(r.name) for r in _colab_requirements()} | set(CHAPTER_2_EXTRA_PACKAGES)
    )
    install = [python, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, *packages]
    _run(install, tmp_path, timeout=1200)
    before = _installed_versions(python)
    differ = {n: v for n, v in before.items() if n in colab and colab[n] != v}
    assert not differ, f"the environment is not Colab's: {differ}"
    phase_done("Colab's packages")

    repository = tmp_path / "repository"
    repository.mkdir()
    make_local_repository(repository, _project()["version"])
    cell = install_cell(CHAPTERS[0])
    report_path = tmp_path / "pip-report.json"
    dry_run = point_install_cell_at(cell, repository, ["--dry-run", "--report", str(report_path)])
    _run([python, "-c", dry_run], tmp_path, timeout=600)
    report = json.loads(report_path.read_text())
    would_install = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in report["install"]
    }
    assert would_install.get("brats-tutorial") == _project()["version"], would_install
    changed = {
        name: f"Colab's {colab[name]} -> {version}"
        for name, version in would_install.items()
        if name in colab and colab[name] != version
    }
    assert not changed, f"the install cell would change Colab's packages: {changed}"
    phase_done("dry run")

    _run([python, "-c", point_install_cell_at(cell, repository)], tmp_path, timeout=600)
    after = _installed_versions(python)
    assert not set(before) - set(after), f"the install cell removed {set(before) - set(after)}"
    assert {n: v for n, v in after.items() if before.get(n) != v} == {
        "brats-tutorial": _project()["version"]
    }
    phase_done("install")

    cells_path = tmp_path / "chapter_2_cells.json"
    cells_path.write_text(json.dumps(chapter_cells))
    output = _run(
        [python, "-c", RUN_CHAPTER_2, str(cells_path)],
        tmp_path,
        timeout=600,
        BRATS_PROFILE="quick",
        BRATS_WORK_DIR=str(tmp_path / "work"),
        BRATS_DATA_DIR=None,
        MPLBACKEND="Agg",
    )
    viewer = json.loads(output.strip().splitlines()[-1])
    phase_done("chapter 2")
    print(", ".join(f"{name}: {seconds:.0f} s" for name, seconds in phases.items()))

    assert viewer["ipywidgets"] == COLAB_IPYWIDGETS
    assert viewer["viewer"] == "ipywidgets.widgets.interaction.interactive"
    assert viewer["controls"] == ["Dropdown", "IntSlider", "FloatSlider", "Output"]
    first, moved = viewer["titles"]
    assert "slice" in first and moved.endswith("slice 40"), viewer["titles"]
