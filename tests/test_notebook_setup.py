"""Every chapter notebook sets itself up the same way: install from the one repository URL, knobs
as plain variables near the top, quiet TensorFlow logs, and the package doing the work."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def _repository_url() -> str:
    text = (ROOT / "_config.yml").read_text()
    match = re.search(r"^repository:\s*\n\s+url:\s*(\S+)", text, re.MULTILINE)
    assert match, "_config.yml names no repository url"
    return match.group(1)


def _code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_installs_from_the_configured_repository(path):
    first_cells = "\n".join(_code_cells(path)[:2])
    assert f'REPOSITORY_URL = "{_repository_url()}"' in first_cells
    assert 'find_spec("brats_tutorial")' in first_cells


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
