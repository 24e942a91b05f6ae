"""The colorization networks: L (N, 1, H, W) in [-1, 1] -> Chroma (ab / 128 and, for some, ab logits).

`seed` is the founding paper's fully convolutional autoencoder: a VGG16 encoder with stride-2 convolutions
instead of max-pooling and BatchNorm after every conv, and a decoder of (conv halving the filters, bilinear
x2 upsampling, conv) blocks. `lite0-unet` starts from an ImageNet-trained EfficientNet-Lite0 and also
predicts a distribution over ab bins (see chroma.py), and takes colour hints. Any input size works: the
input is padded to a multiple of 32 and cropped back. Architectures are registered by name (like timm's
registry) so weights files can say which one they need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from colorplug.chroma import BIN_COUNT
from colorplug.efficientnet import FEATURE_CHANNELS, LITE0_INPUT_MEAN, LITE0_INPUT_STD, Lite0Encoder
from colorplug.hint_spread import gaussian_blur

# VGG16's filters per block and how many convs each block has (the last one strides by 2).
ENCODER_FILTERS = (64, 128, 256, 512, 512)
ENCODER_DEPTHS = (2, 2, 3, 3, 3)
DOWNSCALE = 2 ** len(ENCODER_FILTERS)
LEAKY_SLOPE = 0.2


HINT_CHANNELS = 3  # a / 128, b / 128 and the mask (1 where the user gave a colour)
SPREAD_SIGMAS = (2.0, 8.0)  # Gaussian widths, in stride-4 cells, of the spread hints the decoder also sees


class Chroma(NamedTuple):
    """What a network predicts: ab / 128 (N, 2, H, W) by regression, and for some architectures the
    logits (N, BIN_COUNT, H / 4, W / 4) of a distribution over the ab bins (else None)."""

    ab: torch.Tensor
    logits: torch.Tensor | None = None


def _pad_to_multiple(x: torch.Tensor) -> torch.Tensor:
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

    supports_hints = False

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> Chroma:
        if hints is not None:
            raise ValueError("this architecture takes no colour hints")
        height, width = lightness.shape[-2:]
        x = _pad_to_multiple(lightness)
        features = self.encoder(x)
        skips = [*features[-2::-1], x] if self.skips else [None] * len(self.decoder)
        y = features[-1]
        for block, skip in zip(self.decoder, skips, strict=True):
            y = block(y, skip)
        return Chroma(y[..., :height, :width])


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

    supports_hints = True

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.width = width
        c32, c16, c8, c4, c2 = (scaled(f, width) for f in (160, 128, 64, 48, 16))
        s2, s4, s8, s16, s32 = FEATURE_CHANNELS
        self.encoder = Lite0Encoder(in_channels=3 + HINT_CHANNELS)
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
        x = _pad_to_multiple(lightness)
        if hints is None:
            hints = x.new_zeros(x.shape[0], HINT_CHANNELS, *x.shape[-2:])
        else:
            hints = _pad_to_multiple(hints)
        gray = ((x + 1) / 2 - self.input_mean) / self.input_std  # L in [-1, 1] -> "RGB" L/100, normalised
        f2, f4, f8, f16, f32 = self.encoder(torch.cat((gray, hints), dim=1))
        y = self.bottleneck(f32)
        y = self.up16(torch.cat((_up(y), f16), dim=1))
        y = self.up8(torch.cat((_up(y), f8), dim=1))
        hints4 = pool_hints(hints, 4)
        spread = [spread_hints(hints4, sigma) for sigma in SPREAD_SIGMAS]
        y = self.up4(torch.cat((_up(y), f4, hints4, *spread), dim=1))
        logits = self.classes(y)
        y = self.up2(torch.cat((_up(self.reduce2(y)), f2, pool_hints(hints, 2)), dim=1))
        ab = F.interpolate(self.regression(y), scale_factor=2, mode="bilinear", align_corners=False)
        return Chroma(ab[..., :height, :width], logits[..., : -(-height // 4), : -(-width // 4)])


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def seed(width: float = 1.0) -> ColorizationNet:
    """The founding paper's architecture, faithfully (17.1 M parameters, 13.4 GMAC at 256x256, width 1)."""
    return ColorizationNet(width, skips=False)


def unet(width: float = 1.0) -> ColorizationNet:
    """`seed` plus U-Net skip connections from each encoder block, against colour bleeding over edges."""
    return ColorizationNet(width, skips=True)


def lite0_unet(width: float = 1.0) -> Lite0UNet:
    """EfficientNet-Lite0 U-Net with ab regression and classification heads and colour hints."""
    return Lite0UNet(width)


ARCHITECTURES: dict[str, Callable[[float], nn.Module]] = {
    "seed": seed,
    "unet": unet,
    "lite0-unet": lite0_unet,
}


def create_model(arch: str, width: float = 1.0) -> nn.Module:
    """Build a registered architecture by name."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    if not 0 < width <= 4:
        raise ValueError(f"width must be in (0, 4], got {width}")
    return ARCHITECTURES[arch](width)


def mismatch(error: RuntimeError) -> str:
    """load_state_dict's complaint in one line: the parameters missing, unexpected or of other shapes."""
    lines = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
    return " ".join(lines)[:300] or "parameters differ"


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
