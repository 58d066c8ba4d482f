"""The package's modules form layers: no module imports a module that imports it back.

Every ``import`` of the package counts, wherever it is written: at the top of a module, inside a
function (the package imports heavy modules on demand) or under ``if``. A cycle is a sign that a
function lives too high: move it down to the module that owns its concept instead of hiding the
cycle in a function-level import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import brats_tutorial

PACKAGE = "brats_tutorial"
PACKAGE_DIR = Path(brats_tutorial.__file__).parent


def _module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in its file."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # ``from .x import y`` in a module is relative to its package; in an
                # ``__init__.py`` the package is the module itself.
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            # ``from package import module`` imports that module.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict[str, set[str]]:
    """Each module of the package to the modules of the package it imports."""
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules that import each other (Tarjan)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_within(graph, group) for group in groups]


def _cycle_within(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A concrete import path ``a -> b -> ... -> a`` inside a group, for the failure message."""
    members = set(group)
    start = group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                frontier.append(target)
    return group  # unreachable: a strongly connected group always closes a cycle


def test_the_graph_sees_top_level_and_function_level_imports():
    graph = import_graph()
    assert f"{PACKAGE}.cli" in graph and f"{PACKAGE}.figures.viewer" in graph
    assert f"{PACKAGE}.constants" in graph[f"{PACKAGE}.cli"]  # top level
    assert f"{PACKAGE}.training" in graph[f"{PACKAGE}.cli"]  # inside a command function
    assert f"{PACKAGE}.figures.slice_display" in graph[f"{PACKAGE}.figures.viewer"]  # from .x
    assert f"{PACKAGE}.loading" in graph[f"{PACKAGE}.figures.viewer"]  # from ..x


def test_find_cycles_finds_a_cycle_through_several_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_a_module_that_imports_it_back():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles among the package's modules:\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles
    )
