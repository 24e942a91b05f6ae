"""The bridge's side of the plug-in's confidence layer and "Suggest colours" (see bridge.py): the map
written as confidence.raw (8-bit gray, row-major, 255 = most certain) and the suggestions and places to
hint of a region (the selection, sent as mask.raw: one byte per pixel, nonzero = selected) answered in
response.json."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from colorplug.errors import ColorplugError
from colorplug.io.files import atomic_path

MAP, MASK = "confidence.raw", "mask.raw"


def write_confidence(folder: Path, confidence: np.ndarray) -> None:
    """The 8-bit map (H, W) as FOLDER/confidence.raw, atomically."""
    with atomic_path(folder / MAP) as temp:
        np.ascontiguousarray(confidence, dtype=np.uint8).tofile(temp)


def read_mask(folder: Path, width: int, height: int) -> np.ndarray | None:
    """The selection (H, W) bool sent as mask.raw, or None (the whole layer) when none was sent.

    >>> read_mask(Path("/nonexistent"), 4, 3) is None
    True
    """
    path = folder / MASK
    if not path.exists():
        return None
    mask = np.fromfile(path, dtype=np.uint8)
    if mask.size != width * height:
        raise ColorplugError("the plug-in sent a selection of the wrong size")
    mask = mask.reshape(height, width) > 127
    if not mask.any():
        raise ColorplugError("the selection does not cover the layer: select part of it, or nothing")
    return mask


def suggest_answer(colorizer, picture, mask: np.ndarray | None, count: int) -> dict:
    """The response's suggestions (hex, rgb, share; most likely first) and places to hint (x, y, width,
    height, area in the layer's pixels, the most unsure first)."""
    offered = colorizer.suggest(picture, mask, count)
    return {
        "suggestions": [{"hex": s.hex, "rgb": list(s.rgb), "share": round(s.share, 4)} for s in offered],
        "places": [asdict(place) for place in colorizer.where_to_hint(picture)],
    }
