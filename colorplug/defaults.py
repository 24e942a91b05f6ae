"""Defaults and limits of the user-facing settings, importable without torch (the CLI shows them in its
help, the GIMP installer writes them into the plug-in's configuration, the engine checks against them)."""

from __future__ import annotations

DEFAULT_VIVIDNESS = 0.4  # chosen on a validation split: see README.md, "Vividness"
MAX_VIVIDNESS = 1.5
DEFAULT_SATURATION = 1.0
MAX_SATURATION = 4.0
DEFAULT_RENDER_SIZE = 256  # for weights that do not say the size they were trained at
MIN_RENDER_SIZE = 8
MAX_RENDER_SIZE = 4096  # the command line's bound; the Python API takes any size from MIN_RENDER_SIZE
DEFAULT_MAX_PIXELS = 150_000_000  # images declaring more are refused (decompression bombs)
# How a colour distribution becomes one colour per pixel (color/decoders.py has them by these names);
# the default was chosen on validation photos (see the README's decoder section).
DECODER_NAMES = ("annealed", "region")
DEFAULT_DECODER = "annealed"
