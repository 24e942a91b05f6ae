"""What the networks share: their output (Chroma), padding to the total stride, the conv-BatchNorm-activation
unit, width scaling, bilinear x2 upsampling and a fast Gaussian blur of small grids."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

DOWNSCALE = 32  # the networks' total stride: inputs are padded to a multiple of it and cropped back
LEAKY_SLOPE = 0.2


class Chroma(NamedTuple):
    """What a network predicts: ab / 128 (N, 2, H, W) by regression, and for some architectures the
    logits (N, BIN_COUNT, H / 4, W / 4) of a distribution over the ab bins (else None)."""

    ab: torch.Tensor
    logits: torch.Tensor | None = None


def pad_to_multiple(x: torch.Tensor) -> torch.Tensor:
    """Pad (N, C, H, W) at the bottom/right to multiples of DOWNSCALE (reflecting where it can)."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % DOWNSCALE, -width % DOWNSCALE
    if not (pad_h or pad_w):
        return x
    mode = "reflect" if height > pad_h and width > pad_w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def scaled(filters: int, width: float) -> int:
    """Filters of a layer for a width multiplier (at least 4 so tiny test models stay valid)."""
    return max(4, round(filters * width))


def conv_bn_act(in_ch: int, out_ch: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    """Conv (3x3 unless told), BatchNorm, LeakyReLU: the unit every layer but the last is made of."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
    )


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """Bilinear x2 upsampling (no transposed convolutions: no checkerboards)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
