"""The tests exercise this working tree: every package comes from the checkout, in this process and in
the child processes the tests start (see the root conftest.py), whatever is installed."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"colorplug": "colorplug", "colorplug_cli": "cli", "colorplug_weights": "weights"}
FOLDERS["colorplug_gimp"] = "gimp_plugin"

WHERE = (
    "import importlib, json, sys; "
    "print(json.dumps({name: importlib.import_module(name).__file__ for name in sys.argv[1:]}))"
)


def test_every_package_is_imported_from_the_checkout():
    for package, folder in FOLDERS.items():
        assert Path(importlib.import_module(package).__file__).resolve() == ROOT / folder / "__init__.py"


def test_child_processes_import_every_package_from_the_checkout(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WHERE, *FOLDERS], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    files = json.loads(result.stdout)
    assert {name: Path(path).resolve() for name, path in files.items()} == {
        package: ROOT / folder / "__init__.py" for package, folder in FOLDERS.items()
    }
