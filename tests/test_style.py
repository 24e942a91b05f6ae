"""Sizes a reader can take in, read from the source (ast): no module over 400 lines, no function over 50
lines (from its `def` to its last line, docstring included), and a median function of 8 lines at most."""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("colorplug", "cli") for p in (ROOT / folder).rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
MAX_MEDIAN_FUNCTION_LINES = 8


def function_lengths() -> dict[str, int]:
    """Lines of every function and method (nested ones too), by 'path:line name'."""
    lengths = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lengths[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = (
                    node.end_lineno - node.lineno + 1
                )
    return lengths


def test_no_module_is_over_400_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in SOURCES}
    assert {name: size for name, size in sizes.items() if size > MAX_MODULE_LINES} == {}


def test_no_function_is_over_50_lines():
    assert {name: size for name, size in function_lengths().items() if size > MAX_FUNCTION_LINES} == {}


def test_functions_are_short_on_the_whole():
    assert statistics.median(function_lengths().values()) <= MAX_MEDIAN_FUNCTION_LINES
