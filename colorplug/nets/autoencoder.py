"""The founding paper's network and its U-Net variant: L (N, 1, H, W) in [-1, 1] -> Chroma (ab / 128).

`seed` is the paper's fully convolutional autoencoder: a VGG16 encoder with stride-2 convolutions instead of
max-pooling and BatchNorm after every conv, and a decoder of (conv halving the filters, bilinear x2
upsampling, conv) blocks; `unet` adds skip connections. Any input size works: the input is padded to a
multiple of 32 and cropped back.
"""

from __future__ import annotations

import torch
from torch import nn

from colorplug.nets.blocks import Chroma, conv_bn_act, pad_to_multiple, scaled, upsample2

# VGG16's filters per block and how many convs each block has (the last one strides by 2).
ENCODER_FILTERS = (64, 128, 256, 512, 512)
ENCODER_DEPTHS = (2, 2, 3, 3, 3)


class Encoder(nn.Module):
    """VGG16 without pooling or dense layers: 1 channel in, feature maps of each block out."""

    def __init__(self, width: float) -> None:
        super().__init__()
        blocks = []
        in_ch = 1
        for filters, depth in zip(ENCODER_FILTERS, ENCODER_DEPTHS, strict=True):
            out_ch = scaled(filters, width)
            layers = [conv_bn_act(in_ch if i == 0 else out_ch, out_ch) for i in range(depth - 1)]
            layers.append(conv_bn_act(out_ch, out_ch, stride=2))
            blocks.append(nn.Sequential(*layers))
            in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)
        self.out_channels = [scaled(f, width) for f in ENCODER_FILTERS]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        return features


class DecoderBlock(nn.Module):
    """Conv halving the filters, bilinear x2 upsampling, conv (no transposed convs: no checkerboards)."""

    def __init__(self, in_ch: int, skip_ch: int = 0, final: bool = False) -> None:
        super().__init__()
        self.out_channels = 2 if final else max(4, in_ch // 2)
        mid_ch = max(4, in_ch // 2)
        self.reduce = conv_bn_act(in_ch, mid_ch)
        if final:  # the last conv: 2 channels (a, b) through tanh, no BatchNorm
            self.refine: nn.Module = nn.Sequential(nn.Conv2d(mid_ch + skip_ch, 2, 3, padding=1), nn.Tanh())
        else:
            self.refine = conv_bn_act(mid_ch + skip_ch, mid_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        x = upsample2(self.reduce(x))
        if skip is not None:
            x = torch.cat((x, skip), dim=1)
        return self.refine(x)


class ColorizationNet(nn.Module):
    """Encoder + 5 decoder blocks.

    With `skips=True` each decoder block also sees the encoder features of its output resolution
    (and the last one the input L itself), U-Net style.
    """

    def __init__(self, width: float = 1.0, skips: bool = False) -> None:
        super().__init__()
        self.width = width
        self.skips = skips
        self.encoder = Encoder(width)
        channels = self.encoder.out_channels  # e.g. 64, 128, 256, 512, 512
        skip_channels = [*channels[-2::-1], 1] if skips else [0] * len(channels)
        blocks = []
        in_ch = channels[-1]
        for i, skip_ch in enumerate(skip_channels):
            block = DecoderBlock(in_ch, skip_ch, final=i == len(skip_channels) - 1)
            blocks.append(block)
            in_ch = block.out_channels
        self.decoder = nn.ModuleList(blocks)

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> Chroma:
        if hints is not None:
            raise ValueError("this architecture takes no colour hints")
        height, width = lightness.shape[-2:]
        x = pad_to_multiple(lightness)
        features = self.encoder(x)
        skips = [*features[-2::-1], x] if self.skips else [None] * len(self.decoder)
        y = features[-1]
        for block, skip in zip(self.decoder, skips, strict=True):
            y = block(y, skip)
        return Chroma(y[..., :height, :width])


def seed(width: float = 1.0) -> ColorizationNet:
    """The founding paper's architecture, faithfully (17.1 M parameters, 13.4 GMAC at 256x256, width 1)."""
    return ColorizationNet(width, skips=False)


def unet(width: float = 1.0) -> ColorizationNet:
    """`seed` plus U-Net skip connections from each encoder block, against colour bleeding over edges."""
    return ColorizationNet(width, skips=True)
