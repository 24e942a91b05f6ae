"""Make every test run exercise this working tree, whatever is installed.

The packages are installed under other names than their folders (colorplug_cli is cli/, colorplug_weights
is weights/, colorplug_gimp is gimp_plugin/), so with a non-editable install only `colorplug` would come
from the checkout. A folder of links gives the others their installed names; it and the checkout go
first on the path of this process and, through PYTHONPATH, of every child process the tests start.
Also: each test (doctests included) gets its own empty user data directory, so none touches the user's
real cache.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
PACKAGE_FOLDERS = {"colorplug_cli": "cli", "colorplug_weights": "weights", "colorplug_gimp": "gimp_plugin"}


def _checkout_packages() -> Path:
    """A temporary folder of links, one per package, named as installed and pointing into this tree."""
    folder = Path(tempfile.mkdtemp(prefix="colorplug-checkout-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for package, source in PACKAGE_FOLDERS.items():
        (folder / package).symlink_to(ROOT / source, target_is_directory=True)
    return folder


CHECKOUT_PATH = [str(_checkout_packages()), str(ROOT)]  # colorplug itself is the folder of its name
sys.path[:0] = CHECKOUT_PATH
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [*CHECKOUT_PATH, os.environ.get("PYTHONPATH")]))


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    """Every test gets its own empty user data directory."""
    home = tmp_path_factory.mktemp("colorplug-home")
    monkeypatch.setenv("COLORPLUG_HOME", str(home))
    return home
