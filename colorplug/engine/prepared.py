"""A picture made ready for the network: what Colorizer.prepare gives and the batch runner carries from
loading to composing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from colorplug.color import compose
from colorplug.hints.reference import Reference
from colorplug.io.picture import Picture


@dataclass
class Prepared:
    """A picture with the network's input L, ready for a batch (its full-size L is made only in strips)."""

    picture: Picture
    samples: np.ndarray  # what its L is made from (compose.lightness_samples of its colour)
    lightness_small: torch.Tensor  # (h, w)
    hints_small: torch.Tensor | None = None  # (3, h, w) hint map at the render size
    reference: Reference | None = None  # a reference photo's colours to follow

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.lightness_small.shape)

    @property
    def full_shape(self) -> tuple[int, int]:
        return self.picture.height, self.picture.width

    def full_lightness(self) -> np.ndarray:
        """The picture's L (H, W) float32 in [0, 100], made on request (4 bytes a pixel)."""
        return compose.lightness(self.samples)
