"""Defaults and limits of the user-facing colour options, importable without torch (the CLI shows them in
its help, the GIMP installer writes them into the plug-in's configuration)."""

from __future__ import annotations

DEFAULT_VIVIDNESS = 0.4  # chosen on a validation split: see README.md, "Vividness"
MAX_VIVIDNESS = 1.5
MAX_SATURATION = 4.0
