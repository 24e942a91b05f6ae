"""Colour hints: the user's "this is red" as the network's extra input (Zhang et al. 2017).

A hint map is a float tensor (3, H, W) or (N, 3, H, W): a / 128, b / 128 and a mask that is 1 where a
colour was given and 0 elsewhere (ab is 0 there too). Three sources make one: a hint image painted by
the user (opaque pixels are hints, their colour gives ab, their lightness is ignored), points sampled
from a ground truth (evaluation), and random patches simulated during training.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from colorplug.color.lab import normalize_ab, rgb_to_lab
from colorplug.errors import ColorplugError

OPAQUE = 128  # alpha (8-bit scale) from which a hint image's pixel counts as a hint
NO_HINT_SHARE = 0.5  # training: this share of images gets no hints at all (the automatic case)
POINTS_P = 1 / 8  # training: the number of points of the others is geometric with this p (mean 8)
MAX_PATCH = 9  # training: each point is a square patch of 1 to this many pixels a side
EVAL_PATCH = 3  # evaluation: side of the patch revealed at each sampled point (at 256x256)
ASPECT_TOLERANCE = 0.01


class HintError(ColorplugError, ValueError):
    """A hint image (or map, or list of them) that cannot be used for its photos; a ValueError too, as
    these problems were before it existed."""


def hints_from_rgba(rgb: np.ndarray, alpha: np.ndarray, height: int, width: int) -> torch.Tensor:
    """The hint map (3, height, width) of a hint image: RGB (h, w, 3) and alpha (h, w), uint8 or uint16.

    A hint image of another size but the photo's aspect ratio is scaled (nearest neighbour).
    """
    top = 65535 if alpha.dtype == np.uint16 else 255
    src_h, src_w = alpha.shape
    if abs(src_w / src_h - width / height) > ASPECT_TOLERANCE * (width / height):
        raise HintError(
            f"hint image is {src_w}x{src_h}, the photo {width}x{height}: the aspect ratios differ"
        )
    # nearest-neighbour scaling as index arrays, and LAB only at the hint pixels: a hint image of a
    # large photo is mostly transparent, and converting all of it would cost gigabytes
    rows = np.arange(height) * src_h // height
    cols = np.arange(width) * src_w // width
    ys, xs = np.nonzero(alpha[rows[:, None], cols[None, :]].astype(np.float32) / top >= OPAQUE / 255)
    colour = rgb[rows[ys], cols[xs]].astype(np.float32) / top  # (K, 3)
    lab = rgb_to_lab(torch.from_numpy(colour).T[:, :, None])[:, :, 0]  # (3, K)
    hints = torch.zeros(3, height, width)
    hints[:2, ys, xs] = normalize_ab(lab[1:])
    hints[2, ys, xs] = 1.0
    return hints


def resize_hints(hints: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """A hint map (3, H, W) at another size: each output cell averages the ab of its hinted pixels and is
    a hint (mask 1) when any of them is, so a one-pixel dot survives downscaling."""
    if tuple(hints.shape[-2:]) == tuple(shape):
        return hints
    mask = F.adaptive_max_pool2d(hints[None, 2:], shape)[0]
    share = F.adaptive_avg_pool2d(hints[None, 2:], shape)[0]
    ab = F.adaptive_avg_pool2d(hints[None, :2] * hints[None, 2:], shape)[0] / share.clamp(min=1e-8)
    return torch.cat((ab * mask, mask))


def sample_points(ab: torch.Tensor, count: int, seed: int, patch: int = EVAL_PATCH) -> torch.Tensor:
    """`count` ground-truth hints for ab (2, H, W) in LAB units: seeded random patches, each carrying
    the mean ab of the truth there. Returns the hint map (3, H, W)."""
    generator = torch.Generator().manual_seed(seed)
    return _patches(normalize_ab(ab)[None], [count], [patch] * count, generator)[0]


def simulate(ab: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Training hints for a batch of ab (N, 2, H, W) / 128: half the images none, the others a geometric
    number of square patches of 1..9 pixels with the truth's mean ab (as Zhang et al. 2017)."""
    count = ab.shape[0]
    some = torch.rand(count, generator=generator) >= NO_HINT_SHARE
    uniform = torch.rand(count, generator=generator).clamp(min=1e-12)
    points = 1 + (uniform.log() / math.log(1 - POINTS_P)).floor().long()  # geometric on 1, 2, ...
    points = torch.where(some, points, torch.zeros_like(points)).tolist()
    sizes = torch.randint(1, MAX_PATCH + 1, (sum(points),), generator=generator).tolist()
    return _patches(ab, points, sizes, generator)


def _patches(
    ab: torch.Tensor, points: list[int], sizes: list[int], generator: torch.Generator
) -> torch.Tensor:
    """Hint maps (N, 3, H, W) revealing square patches of ab / 128 (N, 2, H, W): points[i] patches for
    image i, of the given sizes, at random places, each carrying the patch's mean ab."""
    count, _, height, width = ab.shape
    hints = ab.new_zeros(count, 3, height, width)
    sizes_left = iter(sizes)
    for index in range(count):
        for _ in range(points[index]):
            side = min(next(sizes_left), height, width)
            top = int(torch.randint(0, height - side + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - side + 1, (1,), generator=generator))
            window = (slice(top, top + side), slice(left, left + side))
            mean = ab[index][:, window[0], window[1]].mean(dim=(1, 2))
            hints[index, :2, window[0], window[1]] = mean[:, None, None]
            hints[index, 2, window[0], window[1]] = 1.0
    return hints
