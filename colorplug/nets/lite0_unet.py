"""The default network: an ImageNet EfficientNet-Lite0 encoder and a U-Net decoder that predicts ab by
regression and a distribution over ab bins (see color/chroma.py), and takes colour hints.

L (N, 1, H, W) in [-1, 1] and hint maps (N, 3, H, W) -> Chroma (ab / 128 and the bins' logits).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorplug.color.bilateral import gaussian_blur
from colorplug.color.chroma import BIN_COUNT
from colorplug.nets.blocks import Chroma, conv_bn_act, pad_to_multiple, scaled, upsample2
from colorplug.nets.efficientnet import (
    FEATURE_CHANNELS,
    LITE0_INPUT_MEAN,
    LITE0_INPUT_STD,
    LiteEncoder,
    load_pretrained,
)

HINT_CHANNELS = 3  # a / 128, b / 128 and the mask (1 where the user gave a colour)
SPREAD_SIGMAS = (2.0, 8.0)  # Gaussian widths, in stride-4 cells, of the spread hints the decoder also sees


def pool_hints(hints: torch.Tensor, factor: int) -> torch.Tensor:
    """Hints (N, 3, H, W) at 1/factor size: ab averaged over the hinted pixels of each cell, mask = share."""
    mask = F.avg_pool2d(hints[:, 2:], factor)
    ab = F.avg_pool2d(hints[:, :2] * hints[:, 2:], factor) / mask.clamp(min=1e-6)
    return torch.cat((ab, mask), dim=1)


def spread_hints(hints: torch.Tensor, sigma: float) -> torch.Tensor:
    """Sparse hints (N, 3, h, w) spread out by normalized convolution with a Gaussian of `sigma` cells:
    at every cell, the ab of the hints nearby (weighted by closeness) and how much hint is near (0..1).

    A few dots then tell every cell what colour the user wants around it; the network learns where to
    follow it (inside the dot's region) and where not (across an edge). Zeros where there are no hints.
    """
    blurred = gaussian_blur(torch.cat((hints[:, :2] * hints[:, 2:], hints[:, 2:]), dim=1), sigma)
    nearby = blurred[:, 2:]
    ab = blurred[:, :2] / nearby.clamp(min=1e-6) * (nearby > 1e-6)
    return torch.cat((ab, nearby.clamp(max=1.0)), dim=1)


class Lite0UNet(nn.Module):
    """EfficientNet-Lite0 encoder (ImageNet-trained) + a U-Net decoder with skips at strides 2 to 32.

    The gray L goes in as three equal channels with the Lite0 checkpoint's input normalisation, beside
    3 hint channels (zeros without hints). Two heads: ab by regression at stride 2 (upsampled to full
    size) and logits over the ab bins at stride 4. The hints also enter the decoder: at stride 4 as they
    are and spread out over their surroundings at two widths (spread_hints), at stride 2 as they are, so a
    hinted colour can be followed closely and carried over its region.
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.width = width
        c32, c16, c8, c4, c2 = (scaled(f, width) for f in (160, 128, 64, 48, 16))
        s2, s4, s8, s16, s32 = FEATURE_CHANNELS
        self.encoder = LiteEncoder("lite0", in_channels=3 + HINT_CHANNELS)
        self.register_buffer("input_mean", torch.tensor(LITE0_INPUT_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(LITE0_INPUT_STD).view(1, 3, 1, 1), persistent=False)
        self.bottleneck = conv_bn_act(s32, c32, kernel=1)
        self.up16 = conv_bn_act(c32 + s16, c16)
        self.up8 = conv_bn_act(c16 + s8, c8)
        hint_inputs = HINT_CHANNELS * (1 + len(SPREAD_SIGMAS))
        self.up4 = nn.Sequential(conv_bn_act(c8 + s4 + hint_inputs, c4), conv_bn_act(c4, c4))
        self.classes = nn.Conv2d(c4, BIN_COUNT, 1)
        self.reduce2 = conv_bn_act(c4, c2, kernel=1)
        self.up2 = conv_bn_act(c2 + s2 + HINT_CHANNELS, c2)
        self.regression = nn.Sequential(nn.Conv2d(c2, 2, 3, padding=1), nn.Tanh())
        # set by the trainer: the ab bin centres, and the rebalancing weights the loss used (see chroma.py)
        self.register_buffer("bins", torch.zeros(BIN_COUNT, 2))
        self.register_buffer("class_weights", torch.ones(BIN_COUNT))

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> Chroma:
        height, width = lightness.shape[-2:]
        x = pad_to_multiple(lightness)
        if hints is None:
            hints = x.new_zeros(x.shape[0], HINT_CHANNELS, *x.shape[-2:])
        else:
            hints = pad_to_multiple(hints)
        gray = ((x + 1) / 2 - self.input_mean) / self.input_std  # L in [-1, 1] -> "RGB" L/100, normalised
        f2, f4, f8, f16, f32 = self.encoder(torch.cat((gray, hints), dim=1))
        y = self.bottleneck(f32)
        y = self.up16(torch.cat((upsample2(y), f16), dim=1))
        y = self.up8(torch.cat((upsample2(y), f8), dim=1))
        hints4 = pool_hints(hints, 4)
        spread = [spread_hints(hints4, sigma) for sigma in SPREAD_SIGMAS]
        y = self.up4(torch.cat((upsample2(y), f4, hints4, *spread), dim=1))
        logits = self.classes(y)
        y = self.up2(torch.cat((upsample2(self.reduce2(y)), f2, pool_hints(hints, 2)), dim=1))
        ab = F.interpolate(self.regression(y), scale_factor=2, mode="bilinear", align_corners=False)
        return Chroma(ab[..., :height, :width], logits[..., : -(-height // 4), : -(-width // 4)])


def lite0_unet(width: float = 1.0) -> Lite0UNet:
    """EfficientNet-Lite0 U-Net with ab regression and classification heads and colour hints."""
    return Lite0UNet(width)


def load_imagenet_encoder(model: Lite0UNet) -> None:
    """Start a new network's encoder from Google's ImageNet EfficientNet-Lite0 checkpoint."""
    load_pretrained(model.encoder)
