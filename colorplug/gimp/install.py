"""Installing the GIMP 3 plug-in into a GIMP profile and recording which Python runs the engine."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from colorplug.errors import ColorplugError
from colorplug.io.files import atomic_path

PLUGIN_NAME = "colorplug_gimp"
PLUGIN_FILES = ("colorplug_gimp.py", "colorplug_marshal.py")
CONFIG_NAME = "colorplug_gimp.json"


def default_profile() -> Path:
    """GIMP 3's profile folder: $GIMP3_DIRECTORY, else the platform's default location."""
    if os.environ.get("GIMP3_DIRECTORY"):
        return Path(os.environ["GIMP3_DIRECTORY"])
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "GIMP" / "3.0"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "GIMP" / "3.0"
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "GIMP" / "3.0"


def plugin_source() -> Path:
    """The plug-in's files as shipped inside the package."""
    import colorplug_gimp

    return Path(colorplug_gimp.__file__).parent / PLUGIN_NAME


def install(profile: Path | None = None, python: str | None = None, timeout_s: int = 600) -> Path:
    """Copy the plug-in into PROFILE/plug-ins/colorplug_gimp/ (executable, in a folder of its own name,
    as GIMP requires) with a config naming the Python that runs the engine. Returns the folder."""
    from colorplug.defaults import DEFAULT_VIVIDNESS
    from colorplug.nets.weights import default_weights_name, read_manifest

    profile = profile or default_profile()
    target = profile / "plug-ins" / PLUGIN_NAME
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in PLUGIN_FILES:
            with atomic_path(target / name) as temp:
                shutil.copyfile(plugin_source() / name, temp)
                temp.chmod(0o755 if name == f"{PLUGIN_NAME}.py" else 0o644)
        entries = read_manifest()
        config = {
            "python": python or sys.executable,
            "weights": list(entries),
            "default_weights": default_weights_name(entries),
            "default_vividness": DEFAULT_VIVIDNESS,
            "timeout_s": timeout_s,
        }
        with atomic_path(target / CONFIG_NAME) as temp:
            temp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ColorplugError(
            f"cannot install the GIMP plug-in into {target}: {exc.strerror or exc}"
        ) from None
    return target


def uninstall(profile: Path | None = None) -> Path | None:
    """Remove the plug-in folder from the profile; returns it, or None if it was not installed."""
    target = (profile or default_profile()) / "plug-ins" / PLUGIN_NAME
    if not target.exists():
        return None
    try:
        shutil.rmtree(target)
    except OSError as exc:
        raise ColorplugError(f"cannot remove {target}: {exc.strerror or exc}") from None
    return target
