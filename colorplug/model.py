"""The colorization networks: L (N, 1, H, W) in [-1, 1] -> ab (N, 2, H, W) in [-1, 1] (ab / 128).

`seed` is the founding paper's fully convolutional autoencoder: a VGG16 encoder with stride-2 convolutions
instead of max-pooling and BatchNorm after every conv, and a decoder of (conv halving the filters, bilinear
x2 upsampling, conv) blocks. Any input size works: the input is padded to a multiple of 32 and cropped back.
Architectures are registered by name (like timm's registry) so weights files can say which one they need.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

# VGG16's filters per block and how many convs each block has (the last one strides by 2).
ENCODER_FILTERS = (64, 128, 256, 512, 512)
ENCODER_DEPTHS = (2, 2, 3, 3, 3)
DOWNSCALE = 2 ** len(ENCODER_FILTERS)
LEAKY_SLOPE = 0.2


def scaled(filters: int, width: float) -> int:
    """Filters of a layer for a width multiplier (at least 4 so tiny test models stay valid)."""
    return max(4, round(filters * width))


def conv_bn_act(in_ch: int, out_ch: int, stride: int = 1) -> nn.Sequential:
    """3x3 conv, BatchNorm, LeakyReLU: the unit every layer but the last is made of."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
    )


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
        x = F.interpolate(self.reduce(x), scale_factor=2, mode="bilinear", align_corners=False)
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

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        height, width = lightness.shape[-2:]
        pad_h, pad_w = -height % DOWNSCALE, -width % DOWNSCALE
        x = lightness
        if pad_h or pad_w:
            mode = "reflect" if height > pad_h and width > pad_w else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        features = self.encoder(x)
        skips = [*features[-2::-1], x] if self.skips else [None] * len(self.decoder)
        y = features[-1]
        for block, skip in zip(self.decoder, skips, strict=True):
            y = block(y, skip)
        return y[..., :height, :width]


def seed(width: float = 1.0) -> ColorizationNet:
    """The founding paper's architecture, faithfully (17.1 M parameters, 13.4 GMAC at 256x256, width 1)."""
    return ColorizationNet(width, skips=False)


def unet(width: float = 1.0) -> ColorizationNet:
    """`seed` plus U-Net skip connections from each encoder block, against colour bleeding over edges."""
    return ColorizationNet(width, skips=True)


ARCHITECTURES: dict[str, Callable[[float], ColorizationNet]] = {"seed": seed, "unet": unet}


def create_model(arch: str, width: float = 1.0) -> ColorizationNet:
    """Build a registered architecture by name."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    if not 0 < width <= 4:
        raise ValueError(f"width must be in (0, 4], got {width}")
    return ARCHITECTURES[arch](width)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """A copy of an eval-mode model with every BatchNorm folded into the conv before it.

    Same outputs (to float rounding), one memory pass less per layer; with channels_last the default
    network went from 46 to 32 ms at 256x256 on a 2-core CPU (measured once, noisy machine).
    """
    import copy

    fused = copy.deepcopy(model).eval()
    for module in fused.modules():
        if isinstance(module, nn.Sequential) and len(module) >= 2:
            conv, norm = module[0], module[1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module[0] = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, norm)
                module[1] = nn.Identity()
    return fused
