"""environment.yml and pyproject.toml must name the same packages with the same bounds."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in ("book", "test"):
        requirements += project["optional-dependencies"][extra]
    return {_name(r): r.replace(" ", "") for r in requirements}


def _environment_pip_requirements() -> dict[str, str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    requirements = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not stripped.startswith("- "):
            break
        requirement = stripped[2:].strip()
        if requirement.startswith("-e"):
            continue
        requirements.append(requirement)
    return {_name(r): r.replace(" ", "") for r in requirements}


def test_environment_names_the_same_packages_as_pyproject() -> None:
    pyproject = _pyproject_requirements()
    environment = _environment_pip_requirements()
    assert sorted(environment) == sorted(pyproject)


def test_environment_uses_the_same_bounds_as_pyproject() -> None:
    pyproject = _pyproject_requirements()
    environment = _environment_pip_requirements()
    assert environment == pyproject


def test_no_exact_pins() -> None:
    """Exact pins break Colab's preinstalled stack: lower bounds only."""
    for requirement in _pyproject_requirements().values():
        assert "==" not in requirement, requirement
