"""Colour as a distribution over quantized ab (Zhang et al. 2016, "Colorful Image Colorization").

Regression to the plausible colours of an uncertain region (grass: green or brown?) lands on their
median, a brownish gray: the sepia look. Predicting a distribution over ab bins keeps the choices
apart; decoding by the annealed mean picks between the safe mean (temperature 1) and the vivid mode
(temperature -> 0). Rare colours are up-weighted in the loss (class rebalancing), else the network
learns that "gray-brown" is always a good bet.

Rebalancing by per-class weights w makes the network predict q ~ w * p instead of the colours' actual
probability p. Decoding divides that back out to a chosen degree: the distribution w^(v - 1) * q is
the actual probability at v = 0 (the colours most likely right) and the rebalanced one at v = 1 (rare,
vivid colours favoured). That exponent v is the user's vividness.

All ab values here are in LAB units (about -128..128); tensors are (N, 2, H, W) for ab and (N, Q, H, W)
for distributions over the Q bins.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from colorplug.lab import AB_SCALE, rgb_to_lab

GRID_STEP = 10.0  # ab bin spacing
SOFT_NEIGHBOURS = 5  # targets are spread over this many nearest bins...
SOFT_SIGMA = 5.0  # ...with Gaussian weights of this width (LAB units)
REBALANCE_MIX = 0.5  # the paper's lambda: prior mixed with uniform before inverting
# The annealed mean's temperature (the paper's is 0.38): chosen on general's validation split, where it
# gave the best PSNR for each colourfulness among 0.45, 0.6 and 0.75 (see the README's vividness section).
TEMPERATURE = 0.45


BIN_COUNT = 309  # how many bins ab_bins() gives (a constant, so models can be built without computing them)


@functools.lru_cache(maxsize=1)
def ab_bins() -> torch.Tensor:
    """(BIN_COUNT, 2) ab bin centres: the points of a 10-step grid next to sRGB's gamut.

    A grid point is a bin when the ab of some 8-bit sRGB colour lies within one grid step of it on both
    axes, i.e. the point is a corner of a grid cell that sRGB reaches. The colours taken are the faces
    of the RGB cube, whose ab cover the whole gamut's. Zhang et al.'s hull file, made another way, has 313.
    """
    levels = torch.arange(256, dtype=torch.float64) / 255
    u, v = (grid.flatten() for grid in torch.meshgrid(levels, levels, indexing="ij"))
    faces = []
    for value in (0.0, 1.0):
        fixed = torch.full_like(u, value)
        faces += [torch.stack((fixed, u, v)), torch.stack((u, fixed, v)), torch.stack((u, v, fixed))]
    ab = rgb_to_lab(torch.cat(faces, dim=1)[:, :, None])[1:, :, 0] / GRID_STEP  # (2, n) in grid steps
    offset, span = 16, 32  # grid indices run from -13 to 13: shift them to 0.. and pack (a, b) in one int
    keys = [
        (round_a(ab[0]).long() + offset) * span + round_b(ab[1]).long() + offset
        for round_a in (torch.floor, torch.ceil)
        for round_b in (torch.floor, torch.ceil)
    ]
    cells = torch.cat(keys).unique()
    grid = torch.stack((cells // span - offset, cells % span - offset), dim=1)
    return grid.float() * GRID_STEP


def _squared_distances(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(N, Q, H, W) squared distance of every pixel's ab (N, 2, H, W) to every bin (Q, 2)."""
    return (
        torch.einsum("nchw,nchw->nhw", ab, ab)[:, None]
        - 2 * torch.einsum("nchw,qc->nqhw", ab, bins)
        + (bins**2).sum(1)[None, :, None, None]
    )


def soft_encode(ab: torch.Tensor, bins: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft targets (N, Q, H, W) over the 5 nearest bins (Gaussian, sigma 5) and the nearest bin (N, H, W)."""
    distances = _squared_distances(ab, bins)
    nearest, index = distances.topk(SOFT_NEIGHBOURS, dim=1, largest=False)
    weights = torch.softmax(-nearest.clamp(min=0) / (2 * SOFT_SIGMA**2), dim=1)
    targets = torch.zeros_like(distances).scatter_(1, index, weights)
    return targets, index[:, 0]


def bin_histogram(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(Q,) counts of the pixels of ab (N, 2, H, W) by nearest bin."""
    index = _squared_distances(ab, bins).argmin(dim=1)
    return torch.bincount(index.flatten(), minlength=bins.shape[0]).double()


def rebalancing_weights(counts: torch.Tensor, bins: torch.Tensor, mix: float = REBALANCE_MIX) -> torch.Tensor:
    """(Q,) per-bin loss weights: 1 / ((1 - mix) * smoothed prior + mix / Q), averaging 1 under the prior.

    The prior is the empirical distribution of training colours smoothed by a Gaussian (sigma 5) in ab.
    """
    prior = counts.double() / counts.sum().clamp(min=1)
    spread = torch.exp(-(torch.cdist(bins.double(), bins.double()) ** 2) / (2 * SOFT_SIGMA**2))
    smoothed = spread @ prior
    smoothed /= smoothed.sum()
    weights = 1.0 / ((1 - mix) * smoothed + mix / bins.shape[0])
    weights /= (smoothed * weights).sum()
    return weights.float()


def classification_loss(
    logits: torch.Tensor, ab: torch.Tensor, bins: torch.Tensor, weights: torch.Tensor | None
) -> torch.Tensor:
    """Cross-entropy of logits (N, Q, h, w) against soft-encoded ab (N, 2, h, w), rebalanced by `weights`."""
    targets, nearest = soft_encode(ab, bins)
    per_pixel = -(targets * F.log_softmax(logits, dim=1)).sum(dim=1)
    if weights is not None:
        per_pixel = per_pixel * weights[nearest]
    return per_pixel.mean()


def annealed_mean(logits: torch.Tensor, bins: torch.Tensor, temperature: float) -> torch.Tensor:
    """ab (N, 2, h, w) decoded from logits (N, Q, h, w): the mean of softmax(logits / T) over the bins."""
    probabilities = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", probabilities, bins)


def decode(chroma, bins: torch.Tensor, class_weights: torch.Tensor, vividness: float) -> torch.Tensor:
    """ab / 128 (N, 2, H, W) of a network's Chroma: its regression when it has no distribution, else the
    annealed mean of the distribution with the rebalancing undone to the degree 1 - `vividness` (see the
    module docstring), upsampled to the regression's size."""
    if chroma.logits is None:
        return chroma.ab
    prior = (vividness - 1.0) * class_weights.float().log().view(1, -1, 1, 1)
    ab = annealed_mean(chroma.logits.float() + prior, bins, TEMPERATURE) / AB_SCALE
    ab = F.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)
    return ab[..., : chroma.ab.shape[-2], : chroma.ab.shape[-1]]
