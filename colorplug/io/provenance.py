"""Telling colorplug's own outputs from the user's files, so a rerun never colorizes its own results.

Every output names colorplug as its Software (the EXIF/TIFF Software tag, or a PNG text chunk), the
place image tools look for the program that made a file. When planning a run, a file that is both an
input and the planned output of another input is an earlier result if it carries this mark, and the
user's own file (never to be overwritten) if not.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from PIL import Image

from colorplug.version import __version__

SOFTWARE = f"colorplug {__version__}"
SOFTWARE_TAG = 0x0131  # EXIF / TIFF "Software"
_PREFIX = "colorplug"


def is_colorplug_output(path: Path) -> bool:
    """Whether an image file says colorplug made it (reads its header only; False if unreadable or not a
    regular file, which is never opened: reading a named pipe can block forever)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with Image.open(path) as image:
            software = image.info.get("Software") or image.getexif().get(SOFTWARE_TAG) or ""
    except Exception:  # any unreadable file is simply not one of ours
        return False
    if isinstance(software, bytes):
        software = software.decode("latin-1", "replace")
    return str(software).startswith(_PREFIX)
