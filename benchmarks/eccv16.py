"""The architecture of Zhang, Isola and Efros, "Colorful Image Colorization" (ECCV 2016), for timing only.

Written from the paper's description (VGG-style, dilated middle blocks, 313 colour classes, one deconv),
with random weights: it is the speed baseline the default model is compared with, never used to colorize.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


def _convs(channels: list[int], stride_last: bool = False, dilation: int = 1, norm: bool = True) -> list:
    """3x3 conv + ReLU per pair of channel counts, then BatchNorm (the paper's block)."""
    layers: list[nn.Module] = []
    for i, (c_in, c_out) in enumerate(itertools.pairwise(channels)):
        stride = 2 if stride_last and i == len(channels) - 2 else 1
        layers += [
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation),
            nn.ReLU(True),
        ]
    if norm:
        layers.append(nn.BatchNorm2d(channels[-1]))
    return layers


class ECCV16(nn.Module):
    """L (N, 1, H, W) -> ab (N, 2, H, W) through 313-way class probabilities at a quarter resolution."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_convs([1, 64, 64], stride_last=True),
            *_convs([64, 128, 128], stride_last=True),
            *_convs([128, 256, 256, 256], stride_last=True),
            *_convs([256, 512, 512, 512]),
            *_convs([512, 512, 512, 512], dilation=2),
            *_convs([512, 512, 512, 512], dilation=2),
            *_convs([512, 512, 512, 512]),
            nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1),
            nn.ReLU(True),
            *_convs([256, 256, 256], norm=False),
            nn.Conv2d(256, 313, 1),
        )
        self.to_ab = nn.Conv2d(313, 2, 1, bias=False)
        self.upsample = nn.Upsample(scale_factor=4, mode="bilinear", align_corners=False)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.to_ab(torch.softmax(self.body(lightness), dim=1)))
