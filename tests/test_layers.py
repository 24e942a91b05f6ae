"""The layers, read from the source (ast): every import, at the top of a module or inside a function,
goes to the same or a lower layer; nothing inside colorplug imports the package root; no import cycle.

Layers, low to high: {version, errors, defaults, device} < {color, io} < {nets, hints} < engine <
{jobs, training, evaluation, gimp} < the package root (the public API) < the command line (cli/).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    **dict.fromkeys(("version", "errors", "defaults", "device"), 0),
    **dict.fromkeys(("color", "io"), 1),
    **dict.fromkeys(("nets", "hints"), 2),
    "engine": 3,
    **dict.fromkeys(("jobs", "training", "evaluation", "gimp", "gimp_bridge"), 4),
    "": 5,  # colorplug/__init__.py
}
CLI_LAYER = 6
PACKAGES = {"colorplug": ROOT / "colorplug", "colorplug_cli": ROOT / "cli"}


def module_files() -> dict[str, Path]:
    """Every module of colorplug and the CLI by its dotted name."""
    modules = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            modules[".".join((package, *parts))] = path
    return modules


MODULES = module_files()


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(module imported, line) for every import statement of a file, lazy ones included; `from package
    import name` counts as importing the submodule `name` when there is one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.append((submodule if submodule in MODULES else node.module, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] in PACKAGES]


def layer(module: str) -> int:
    if module.startswith("colorplug_cli"):
        return CLI_LAYER
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else ""]


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)  # a KeyError names a module outside every layer


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}"
        for module in MODULES
        for target, line in imports_of(MODULES[module])
        if layer(target) > layer(module)
    ]
    assert not upward, "\n".join(upward)


def test_nothing_inside_the_package_imports_its_root():
    rooted = [
        f"{MODULES[module].relative_to(ROOT)}:{line}"
        for module in MODULES
        if module.startswith("colorplug.") or module == "colorplug"
        for target, line in imports_of(MODULES[module])
        if target == "colorplug"
    ]
    assert not rooted, "these import the package root `colorplug`: " + ", ".join(rooted)


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph (a list of modules, the first repeated at the end), or []."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


def test_there_is_no_import_cycle_even_through_lazy_imports():
    graph = {
        module: {target for target, _ in imports_of(path) if target in MODULES and target != module}
        for module, path in MODULES.items()
    }
    assert find_cycle(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
