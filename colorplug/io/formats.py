"""The output formats colorplug writes, by file suffix, and what each can hold (no image library needed,
so the command line can offer them without loading one)."""

from __future__ import annotations

# Pillow format names by output suffix; the first suffix of each format is the name `--format` offers.
FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
OUTPUT_TYPES = tuple(sorted({fmt: suffix[1:] for suffix, fmt in reversed(FORMATS.items())}.values()))
ALPHA_FORMATS = {"PNG", "TIFF", "WEBP"}
SIXTEEN_BIT_FORMATS = {"PNG", "TIFF"}
EXIF_FORMATS = {"JPEG", "PNG", "TIFF", "WEBP"}
# The longest side, in pixels, each format can hold (JPEG: libjpeg's own limit, below the format's 65535).
MAX_SIDES = {"JPEG": 65500, "WEBP": 16383}
