"""Every chapter notebook sets itself up the same way: install the release it was written for from
the one repository URL, knobs as plain variables near the top, quiet TensorFlow logs, and the
package doing the work.

The install cell (each chapter's first code cell) pins the version: ``VERSION = "0.1.0"`` and
``pip install "brats_tutorial @ git+{REPOSITORY_URL}@{revision}"`` with the git tag ``v0.1.0`` as
the revision; when the repository has no such tag (``git ls-remote``), the cell prints a warning
naming the tag and the repository and installs the main branch instead. The tests check that the
pin is the package's version (pyproject.toml, ``brats_tutorial.__version__``) and, marked slow,
run the cell's own code against local git repositories: one whose branch has moved on past the
tag (the tag is installed), one without the tag (the main branch is installed, with the warning).
tests/test_colab_versions.py runs the same cell beside Colab's package versions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
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
#: The requirement the install cell hands to pip: the repository at ``revision``, the release
#: tag (``revision = f"v{VERSION}"``) or, when the repository lacks it, the main branch.
REQUIREMENT = 'f"brats_tutorial @ git+{REPOSITORY_URL}@{revision}"'


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


def _repository_branch() -> str:
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n(?:\s+\S.*\n)*?\s+branch:\s*(\S+)", text, re.MULTILINE)
    assert match, "_config.yml names no repository branch"
    return match.group(1)


def install_cell(path: Path) -> str:
    """The source of a chapter's install cell (its first code cell)."""
    cell = _code_cells(path)[0]
    assert cell.startswith(INSTALL_CELL_OPENING), "the first code cell is not the install cell"
    return cell


def point_install_cell_at(cell: str, repository: Path, pip_options: Sequence[str] = ()) -> str:
    """The install cell with REPOSITORY_URL naming a local git repository and extra pip options.

    Args:
        cell: the install cell's source.
        repository: a local git repository; the cell gets its ``file://`` URL.
        pip_options: added to the cell's pip command right after ``--quiet``.
    """
    local_url = f'REPOSITORY_URL = "{repository.as_uri()}"'
    cell, replaced_url = re.subn(r'^REPOSITORY_URL = "[^"]+"', local_url, cell, flags=re.M)
    options = "".join(f" {json.dumps(option)}," for option in pip_options)
    cell, replaced_flag = re.subn(r'"--quiet",', f'"--quiet",{options}', cell)
    assert (replaced_url, replaced_flag) == (1, 1), "the install cell changed shape"
    return cell


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_installs_from_the_configured_repository(path):
    cell = install_cell(path)
    assert f'REPOSITORY_URL = "{_repository_url()}"' in cell
    assert 'find_spec("brats_tutorial")' in cell
    assert REQUIREMENT in cell
    assert 'revision = f"v{VERSION}"' in cell, "pip must install the release tag first"
    assert '"refs/tags/{revision}"' in cell, "the cell must look the tag up before installing"
    assert f'revision = "{_repository_branch()}"' in cell, (
        "without the tag the cell falls back to the branch that _config.yml names"
    )


def test_every_chapter_has_the_same_install_cell():
    assert len({install_cell(path) for path in CHAPTERS}) == 1


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_install_cell_pins_the_package_version(path):
    """The notebook asks for the version this checkout is: pyproject.toml's, the installed one's."""
    versions = VERSION_PATTERN.findall(install_cell(path))
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


def make_local_repository(destination: Path, version: str, tagged: bool = True) -> str:
    """A git repository of this working tree on branch main, tagged v<version> when ``tagged``.

    The files are the ones git would carry (tracked, and untracked but not ignored), as they are
    now. After that first commit (and its tag), a second commit on the branch sets the version to
    99.0.0, so that an install that ignored the tag would report the wrong version, and an install
    of the branch reports 99.0.0.

    Returns:
        The commit the tag names (the first one), 40 hex digits.
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
    release = _head_commit(destination)
    if tagged:
        subprocess.run([*git, "tag", f"v{version}"], **quiet)
    pyproject = destination / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(f'version = "{version}"', 'version = "99.0.0"', 1)
    )
    subprocess.run([*git, "commit", "--quiet", "--all", "-m", "after the release"], **quiet)
    return release


def _head_commit(repository: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True, check=True
    ).stdout.strip()


def environment_without_pythonpath() -> dict[str, str]:
    """This process's environment less PYTHONPATH: a fresh venv must not see this checkout."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def _fresh_environment(directory: Path) -> Path:
    """A new virtual environment with a current pip; returns its python.

    The pip that venv bundles with Python 3.11 (23.2) rejects a git+file:/// URL (no host); a
    current pip accepts it, as it accepts the cell's git+https URL.
    """
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, timeout=300)
    python = directory / "bin" / "python"
    upgrade = [python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"]
    subprocess.run(
        upgrade, env=environment_without_pythonpath(), check=True, capture_output=True, timeout=300
    )
    return python


def _run_python(python: Path, code: str, cwd: Path, timeout: int = 120):
    return subprocess.run(
        [python, "-c", code],
        cwd=cwd,
        env=environment_without_pythonpath(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


#: Prints the installed package's version and pip's record of where it came from (PEP 610).
INSTALLED_FROM = (
    "import json; from importlib.metadata import distribution; d = distribution('brats_tutorial'); "
    "print(json.dumps({'version': d.version, 'direct_url': json.loads(d.read_text('direct_url.json'))}))"
)


def _run_install_cell(
    tmp_path: Path, tagged: bool
) -> tuple[subprocess.CompletedProcess, dict, str]:
    """Chapter 2's install cell in a fresh virtual environment, against a local repository.

    The cell's code runs as written except for two substitutions (:func:`point_install_cell_at`):
    REPOSITORY_URL names a local git repository (``file://...``, this working tree committed, see
    :func:`make_local_repository`) instead of GitHub, and pip gets ``--no-deps`` (Keras,
    TensorFlow and the rest would take minutes to install; ``import brats_tutorial`` needs none of
    them). The fresh environment has no access to this one's packages.

    Returns:
        The cell's completed process, what :data:`INSTALLED_FROM` printed (parsed), and the
        repository's main branch head.
    """
    repository = tmp_path / "repository"
    repository.mkdir()
    make_local_repository(repository, _project_version(), tagged=tagged)
    cell = point_install_cell_at(install_cell(CHAPTERS[0]), repository, ["--no-deps"])
    python = _fresh_environment(tmp_path / "fresh-venv")
    probe = "import importlib.util; print(importlib.util.find_spec('brats_tutorial'))"
    before = _run_python(python, probe, tmp_path)
    assert before.stdout.strip() == "None", "the fresh environment already sees the package"

    install = _run_python(python, cell, tmp_path, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    installed = _run_python(python, INSTALLED_FROM, tmp_path)
    assert installed.returncode == 0, installed.stderr
    return install, json.loads(installed.stdout), _head_commit(repository)


@pytest.mark.slow
def test_install_cell_installs_the_pinned_release(tmp_path):
    """With the tag in the repository the cell installs the tag, silently, not the branch.

    The installed package must report the pinned version, pip must record the tag as the
    requested revision, and it must hold every module of the source, sub-packages included.
    About 20 s.
    """
    version = _project_version()
    install, installed, _ = _run_install_cell(tmp_path, tagged=True)
    assert install.stdout == "", f"the cell printed {install.stdout!r} although the tag exists"
    assert installed["version"] == version, (
        f"installed {installed['version']}, the notebook pins {version}"
    )
    assert installed["direct_url"]["vcs_info"]["requested_revision"] == f"v{version}"
    # Every module of the package was installed, sub-packages included (setuptools ships only
    # the packages pyproject.toml lists), and the measured results that chapter 9 reads.
    list_files = (
        "import pathlib, brats_tutorial; root = pathlib.Path(brats_tutorial.__file__).parent; "
        "files = [*root.rglob('*.py'), *root.rglob('*.csv')]; "
        "print('\\n'.join(sorted(p.relative_to(root).as_posix() for p in files)))"
    )
    python = tmp_path / "fresh-venv" / "bin" / "python"
    listed = _run_python(python, list_files, tmp_path)
    source = tmp_path / "repository" / "brats_tutorial"
    expected = sorted(
        path.relative_to(source).as_posix()
        for path in [*source.rglob("*.py"), *source.rglob("*.csv")]
    )
    assert "results/improvements.csv" in expected
    assert listed.stdout.split() == expected, listed.stderr


@pytest.mark.slow
def test_install_cell_without_the_tag_installs_the_main_branch(tmp_path):
    """A repository without the tag: the cell says which tag it missed where, then installs main.

    (Today the GitHub repository has no tag v0.1.0: without the fallback pip stops with an unknown
    revision.) The printed warning names the tag and the repository; pip records ``main`` as the
    requested revision, at the branch's head, whose version is 99.0.0. About 20 s.
    """
    version = _project_version()
    install, installed, main_head = _run_install_cell(tmp_path, tagged=False)
    message = install.stdout
    assert f"v{version}" in message and (tmp_path / "repository").as_uri() in message, message
    assert "main branch" in message, message
    vcs_info = installed["direct_url"]["vcs_info"]
    assert (vcs_info["requested_revision"], vcs_info["commit_id"]) == ("main", main_head)
    assert installed["version"] == "99.0.0"


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
