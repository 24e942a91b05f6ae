"""The installable package: the wheel holds the engine, the CLI and the default weights, and works on
its own (installed in a separate folder, run from elsewhere, with no source checkout on the path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds and installs the wheel

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(folder),
            str(ROOT),
        ],
        check=True,
    )
    return next(folder.glob("colorplug-*.whl"))


def test_wheel_contains_engine_cli_plugin_and_default_weights(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    manifest = json.loads((ROOT / "weights" / "manifest.json").read_text())
    default = next(item for item in manifest["weights"].values() if item.get("default"))
    engine = {p.relative_to(ROOT).as_posix() for p in (ROOT / "colorplug").rglob("*.py")}
    assert engine <= names  # every subpackage
    assert {
        "colorplug_cli/main.py",
        "colorplug_weights/manifest.json",
        f"colorplug_weights/{default['file']}",
    } <= names
    assert not any(name.startswith(("cli/", "tests/")) for name in names)  # no generic top-level modules


def test_installed_wheel_colorizes_the_samples(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target), "COLORPLUG_HOME": str(tmp_path / "home")}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import colorplug, colorplug_weights; print(colorplug.__file__, colorplug_weights.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(path.startswith(str(target)) for path in where.stdout.split())
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorplug_cli.main",
            "run",
            str(ROOT / "samples"),
            "-o",
            str(tmp_path / "out"),
            "--quiet",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "out").iterdir())) == len(list((ROOT / "samples").glob("*.*g")))
    assert (tmp_path / "home" / "weights").is_dir()  # verified copy in the user data dir
