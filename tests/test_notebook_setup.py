"""Every chapter notebook sets itself up the same way: install the release it was written for from
the one repository URL, knobs as plain variables near the top, quiet TensorFlow logs, and the
package doing the work.

The install cell (each chapter's first code cell) pins the version: ``VERSION = "0.1.0"`` and
``pip install "brats_tutorial @ git+{REPOSITORY_URL}@v{VERSION}"``, the git tag ``v0.1.0``. The
tests check that the pin is the package's version (pyproject.toml, ``brats_tutorial.__version__``)
and, marked slow, that the cell's own pip command installs that version from a git repository
whose branch has moved on past the tag.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import brats_tutorial

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
INSTALL_CELL_OPENING = (
    "# On Colab (or anywhere the course package is missing) install it from the repository."
)
VERSION_PATTERN = re.compile(r'^VERSION = "([^"]+)"', re.MULTILINE)
#: The requirement the install cell hands to pip: the repository at the release tag.
PINNED_REQUIREMENT = 'f"brats_tutorial @ git+{REPOSITORY_URL}@v{VERSION}"'


def _repository_url() -> str:
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.MULTILINE)
    assert match, "_config.yml names no repository url"
    return match.group(1)


def _project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


def _code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def _install_cell(path: Path) -> str:
    cell = _code_cells(path)[0]
    assert cell.startswith(INSTALL_CELL_OPENING), "the first code cell is not the install cell"
    return cell


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_installs_from_the_configured_repository(path):
    cell = _install_cell(path)
    assert f'REPOSITORY_URL = "{_repository_url()}"' in cell
    assert 'find_spec("brats_tutorial")' in cell
    assert PINNED_REQUIREMENT in cell, "pip must install the release tag, not the branch"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_install_cell_pins_the_package_version(path):
    """The notebook asks for the version this checkout is: pyproject.toml's, the installed one's."""
    versions = VERSION_PATTERN.findall(_install_cell(path))
    assert len(versions) == 1, 'the install cell needs exactly one line VERSION = "X.Y.Z"'
    assert versions[0] == _project_version(), (
        f"the install cell pins {versions[0]}, pyproject.toml says {_project_version()}: change "
        "both together (and tag the release v<version>)"
    )


def test_readme_names_the_pinned_version():
    """README.md's release instructions quote the version the notebooks pin."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = set(re.findall(r'VERSION = "([^"]+)"', readme))
    quoted |= set(re.findall(r"\bv(\d+\.\d+\.\d+)\b", readme))
    assert quoted == {_project_version()}, f"README.md quotes {quoted}"


def test_package_reports_the_project_version():
    assert brats_tutorial.__version__ == _project_version(), (
        "the installed metadata is stale: reinstall (pip install -e .)"
    )


def _checkout_with_release_tag(destination: Path, version: str) -> None:
    """A git repository of this working tree, tagged v<version>, whose branch has moved on.

    The files are the ones git would carry (tracked, and untracked but not ignored), as they are
    now. After the tag, a second commit on the branch sets the version to 99.0.0, so that an
    install that ignored the tag would report the wrong version.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not copied
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    quiet = {"cwd": destination, "check": True, "capture_output": True}
    subprocess.run([*git, "init", "--quiet", "--initial-branch=main"], **quiet)
    subprocess.run([*git, "add", "--all"], **quiet)
    subprocess.run([*git, "commit", "--quiet", "-m", f"release {version}"], **quiet)
    subprocess.run([*git, "tag", f"v{version}"], **quiet)
    pyproject = destination / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(f'version = "{version}"', 'version = "99.0.0"', 1)
    )
    subprocess.run([*git, "commit", "--quiet", "--all", "-m", "after the release"], **quiet)


@pytest.mark.slow
def test_install_cell_installs_the_pinned_release(tmp_path):
    """Run chapter 2's install cell in a fresh virtual environment, from a local clone.

    The cell's code runs as written except for two substitutions: REPOSITORY_URL names a local
    git repository (``file://...``, this working tree committed and tagged, see
    :func:`_checkout_with_release_tag`) instead of GitHub, and pip gets ``--no-deps`` (Keras,
    TensorFlow and the rest would take minutes to install; ``import brats_tutorial`` needs none of
    them). The fresh environment has no access to this one's packages. The installed package must
    report the pinned version and hold every module of the source, sub-packages included.
    About 20 s.
    """
    version = _project_version()
    repository = tmp_path / "repository"
    repository.mkdir()
    _checkout_with_release_tag(repository, version)

    cell = _install_cell(CHAPTERS[0])
    local_url = f'REPOSITORY_URL = "{repository.as_uri()}"'
    cell, replaced_url = re.subn(r'^REPOSITORY_URL = "[^"]+"', local_url, cell, flags=re.M)
    cell, replaced_flag = re.subn(r'"--quiet",', '"--quiet", "--no-deps",', cell)
    assert (replaced_url, replaced_flag) == (1, 1), "the install cell changed shape"

    environment = tmp_path / "fresh-venv"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True, timeout=300)
    python = environment / "bin" / "python"
    clean_env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    # The pip that venv bundles with Python 3.11 (23.2) rejects a git+file:/// URL (no host);
    # a current pip accepts it, as it accepts the cell's git+https URL.
    upgrade = [python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"]
    subprocess.run(upgrade, env=clean_env, check=True, capture_output=True, timeout=300)
    probe = "import importlib.util; print(importlib.util.find_spec('brats_tutorial'))"
    before = subprocess.run(
        [python, "-c", probe], cwd=tmp_path, env=clean_env, capture_output=True, text=True
    )
    assert before.stdout.strip() == "None", "the fresh environment already sees the package"

    install = subprocess.run(
        [python, "-c", cell],
        cwd=tmp_path,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [python, "-c", "import brats_tutorial; print(brats_tutorial.__version__)"],
        cwd=tmp_path,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == version, (
        f"installed {check.stdout.strip()}, the notebook pins {version}"
    )
    # Every module of the package was installed, sub-packages included (setuptools ships only
    # the packages pyproject.toml lists), and the measured results that chapter 9 reads.
    list_files = (
        "import pathlib, brats_tutorial; root = pathlib.Path(brats_tutorial.__file__).parent; "
        "files = [*root.rglob('*.py'), *root.rglob('*.csv')]; "
        "print('\\n'.join(sorted(p.relative_to(root).as_posix() for p in files)))"
    )
    installed = subprocess.run(
        [python, "-c", list_files], cwd=tmp_path, env=clean_env, capture_output=True, text=True
    )
    source = repository / "brats_tutorial"
    expected = sorted(
        path.relative_to(source).as_posix()
        for path in [*source.rglob("*.py"), *source.rglob("*.csv")]
    )
    assert "results/improvements.csv" in expected
    assert installed.stdout.split() == expected, installed.stderr


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_profile_knob_near_the_top(path):
    top = "\n".join(_code_cells(path)[:3])
    assert re.search(r"^PROFILE = ", top, re.MULTILINE), (
        "PROFILE must be a plain variable near the top"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_uses_the_package(path):
    code = "\n".join(_code_cells(path))
    assert re.search(r"^(from brats_tutorial|import brats_tutorial)", code, re.MULTILINE)
