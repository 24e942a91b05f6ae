"""The evaluation protocols by name, stated in every summary (importable without torch: the command line
offers them). truth.py prepares each protocol's ground truth."""

from __future__ import annotations

from dataclasses import dataclass

from colorplug.errors import ColorplugError

PAPER_SIZE = 256


@dataclass(frozen=True)
class Protocol:
    """How test photos are measured: `size` is the side every image is resized to (None: full size)."""

    description: str
    size: int | None = None


PROTOCOLS = {
    "paper": Protocol(
        f"each image resized to {PAPER_SIZE}x{PAPER_SIZE} (Lanczos) as in the founding paper; gray input = "
        "its CIE L; MAE/MSE on ab/128 of the output image vs ground truth; PSNR per image on 8-bit RGB, "
        "peak 255, then averaged; SSIM 7x7 on RGB; mean CIEDE2000; colourfulness (Hasler-Suesstrunk) of "
        "the output",
        PAPER_SIZE,
    ),
    "native": Protocol(
        "each image at its full size; the network runs at the render size (short side) and ab is "
        "upsampled onto the full-size L; metrics as in `paper`, at full size"
    ),
}
ALIASES = {"seed": "paper"}  # the paper protocol's name before it had its own (summaries up to 0.1.0)


def protocol_name(name: str) -> str:
    """A protocol's name, aliases resolved; ColorplugError for an unknown one."""
    name = ALIASES.get(name, name)
    if name not in PROTOCOLS:
        raise ColorplugError(f"unknown protocol {name!r} (use {', '.join(PROTOCOLS)})")
    return name
