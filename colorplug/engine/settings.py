"""Checks of the Colorizer's settings: each returns the value it was given or raises ValueError with a
message that names the setting as the Python API calls it; vividness_for and decoder_for also refuse
(SettingError) a setting the weights cannot honour."""

from __future__ import annotations

from colorplug.color.decoders import DECODERS
from colorplug.defaults import (
    DEFAULT_DECODER,
    DEFAULT_VIVIDNESS,
    MAX_SATURATION,
    MAX_VIVIDNESS,
    MIN_RENDER_SIZE,
)
from colorplug.errors import SettingError
from colorplug.nets.registry import NetworkConfig


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


def vividness_for(config: NetworkConfig, name: str, vividness: float | None) -> float | None:
    """The vividness to decode at: None for weights without a colour distribution (which refuse one)."""
    if config.predicts_distribution:
        return DEFAULT_VIVIDNESS if vividness is None else check_vividness(vividness)
    if vividness is not None:
        raise SettingError(
            "weights {name!r} have no vividness control (trained without the colour distribution "
            "head): leave {vividness} at its default",
            ["vividness"],
            name=name,
        )
    return None


def decoder_for(config: NetworkConfig, name: str, decoder: str | None) -> str:
    """The decoder of the colour distribution; one named for weights without it is refused."""
    if decoder is not None and not config.predicts_distribution:
        refusal = "weights {name!r} predict no colour distribution to decode: leave {decoder} at its default"
        raise SettingError(refusal, ["decoder"], name=name)
    return check_decoder(decoder or DEFAULT_DECODER)
