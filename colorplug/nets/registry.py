"""Which networks exist and what each can do, importable without torch (the command line offers them).

Architectures are registered by name (like timm's registry) so weights files can say which one they
need; each says how to build it and what it has: its heads (ab by regression, a distribution over ab
bins), colour-hint inputs, a pretrained encoder, the faster memory layout. `NetworkConfig` is that, for
one trained network, as its weights file records it, so no caller has to probe a module for what it is.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

REGRESSION, CLASSES = "regression", "classes"  # the heads: ab by regression; logits over ab bins
CHANNELS_LAST, CONTIGUOUS = "channels_last", "contiguous"  # memory formats
MAX_WIDTH = 4.0


@dataclass(frozen=True)
class Architecture:
    """A registered network: how to build it (`builder`, "module:function" in colorplug.nets, called with
    the width multiplier) and what it has."""

    summary: str
    builder: str
    heads: tuple[str, ...] = (REGRESSION,)
    takes_hints: bool = False
    pretrained_encoder: str | None = None  # "module:function" loading ImageNet weights into a new network
    memory_format: str = CONTIGUOUS  # the faster layout at inference (plain convolutions: channels_last)


ARCHITECTURES = {
    "seed": Architecture(
        "the founding paper's VGG16-style autoencoder", "autoencoder:seed", memory_format=CHANNELS_LAST
    ),
    "unet": Architecture("seed with U-Net skips", "autoencoder:unet", memory_format=CHANNELS_LAST),
    "lite0-unet": Architecture(
        "ImageNet EfficientNet-Lite0 encoder, a distribution over ab bins, colour hints",
        "lite0_unet:lite0_unet",
        heads=(REGRESSION, CLASSES),
        takes_hints=True,
        pretrained_encoder="lite0_unet:load_imagenet_encoder",
    ),
}
ENCODER_INITS = {
    "imagenet": "the ImageNet weights where the architecture has them (lite0-unet; needs colorplug[train])",
    "random": "random weights (the from-scratch control)",
}


@dataclass(frozen=True)
class NetworkConfig:
    """One trained network: its architecture and width, the heads that were trained (what can be
    decoded), whether it takes colour hints and its faster memory layout."""

    arch: str
    width: float
    heads: tuple[str, ...] = (REGRESSION,)
    takes_hints: bool = False
    memory_format: str = CONTIGUOUS

    @classmethod
    def of(cls, arch: str, width: float, heads: Sequence[str] = (REGRESSION,)) -> NetworkConfig:
        """The config of a registered architecture trained with `heads` (for training, and for weights
        files older than the config, which say only their architecture, width and heads)."""
        spec = architecture(arch)
        return cls(arch, float(width), tuple(heads), spec.takes_hints, spec.memory_format)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetworkConfig:
        """The config as a weights file holds it; ValueError or KeyError when it is malformed."""
        config = cls(
            arch=str(data["arch"]),
            width=float(data["width"]),
            heads=tuple(str(head) for head in data["heads"]),
            takes_hints=bool(data["takes_hints"]),
            memory_format=str(data["memory_format"]),
        )
        architecture(config.arch)
        if config.memory_format not in (CHANNELS_LAST, CONTIGUOUS):
            raise ValueError(f"unknown memory format {config.memory_format!r}")
        return config

    def to_dict(self) -> dict[str, Any]:
        """The config as plain values, as a weights file holds it."""
        return {
            "arch": self.arch,
            "width": self.width,
            "heads": list(self.heads),
            "takes_hints": self.takes_hints,
            "memory_format": self.memory_format,
        }

    @property
    def predicts_distribution(self) -> bool:
        """Whether its trained colour comes as a distribution over ab bins (so vividness applies)."""
        return CLASSES in self.heads


def architecture(name: str) -> Architecture:
    """A registered architecture by name; ValueError naming the known ones."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}")
    return ARCHITECTURES[name]


def _resolve(path: str) -> Callable[..., Any]:
    """The function a registry entry names ("module:function" in colorplug.nets); imported only when used,
    so the registry itself needs no torch."""
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(f"colorplug.nets.{module}"), function)


def create_model(arch: str, width: float = 1.0) -> nn.Module:
    """Build a registered architecture by name."""
    spec = architecture(arch)
    if not 0 < width <= MAX_WIDTH:
        raise ValueError(f"width must be in (0, {MAX_WIDTH:g}], got {width}")
    return _resolve(spec.builder)(width)


def load_pretrained_encoder(model: nn.Module, arch: str) -> bool:
    """Give a new network of `arch` its encoder's ImageNet weights; False when the architecture has none."""
    spec = architecture(arch)
    if spec.pretrained_encoder is None:
        return False
    _resolve(spec.pretrained_encoder)(model)
    return True


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
