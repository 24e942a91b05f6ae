"""Checks of the Colorizer's settings: each returns the value it was given or raises ValueError with a
message that names the setting as the Python API calls it."""

from __future__ import annotations

from colorplug.color.decoders import DECODERS
from colorplug.defaults import MAX_SATURATION, MAX_VIVIDNESS, MIN_RENDER_SIZE


def check_vividness(vividness: float) -> float:
    """A finite vividness in [0, MAX_VIVIDNESS], else ValueError.

    >>> check_vividness(0.4)
    0.4
    """
    if not 0 <= vividness <= MAX_VIVIDNESS:  # also refuses NaN
        raise ValueError(f"vividness must be in [0, {MAX_VIVIDNESS:g}], got {vividness}")
    return float(vividness)


def check_render_size(render_size: int) -> int:
    """A render size of at least MIN_RENDER_SIZE, else ValueError."""
    if render_size < MIN_RENDER_SIZE:
        raise ValueError(
            f"render size must be at least {MIN_RENDER_SIZE} (or unset: as trained), got {render_size}"
        )
    return render_size


def check_saturation(saturation: float) -> float:
    """A finite saturation in [0, MAX_SATURATION], else ValueError."""
    if not 0 <= saturation <= MAX_SATURATION:  # also refuses NaN
        raise ValueError(f"saturation must be in [0, {MAX_SATURATION:g}], got {saturation}")
    return saturation


def check_decoder(decoder: str) -> str:
    """One of the decoders' names (color/decoders.py), else ValueError."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {decoder!r}")
    return decoder


def count_mismatch(images: int, entries: int, what: str = "hint") -> str:
    """What a batch with not as many hints (or references) as images (None for none) is told.

    >>> count_mismatch(2, 1)
    '2 images but 1 hint entry: give one per image (None where an image has none)'
    """
    said_images = f"{images} image" + ("" if images == 1 else "s")
    said_entries = f"{entries} {what} " + ("entry" if entries == 1 else "entries")
    return f"{said_images} but {said_entries}: give one per image (None where an image has none)"
