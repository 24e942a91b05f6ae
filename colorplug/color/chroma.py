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

from colorplug.color.lab import rgb_to_lab

GRID_STEP = 10.0  # ab bin spacing
SOFT_NEIGHBOURS = 5  # targets are spread over this many nearest bins...
SOFT_SIGMA = 5.0  # ...with Gaussian weights of this width (LAB units)
SEARCH = 6  # nearest bins are searched among this many grid points a side around each pixel...
REACH = 2 * GRID_STEP  # ...all the grid points within this distance of it
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


def nearest_bins(ab: torch.Tensor, bins: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distances and indices (N, count, H, W) of the `count` bins nearest each pixel of ab
    (N, 2, H, W) in LAB units, nearest first.

    The bins lie on a GRID_STEP grid, so only the SEARCH x SEARCH grid points around each pixel are
    candidates: 36 distances a pixel instead of one to every bin. Every other grid point is over REACH
    away, so the result is exact when the last one found is within REACH (always for in-gamut ab and
    `count` <= 5); the other pixels (ab far outside the gamut) are searched over all bins.
    """
    coords = (bins / GRID_STEP).round().long()  # (Q, 2) grid coordinates of the bins
    low = coords.min(dim=0).values - SEARCH
    span = coords.max(dim=0).values - low + 1 + SEARCH
    table = torch.full((int(span[0]), int(span[1])), -1, dtype=torch.long, device=ab.device)
    table[coords[:, 0] - low[0], coords[:, 1] - low[1]] = torch.arange(len(bins), device=ab.device)
    steps = torch.arange(SEARCH, device=ab.device).view(1, -1, 1, 1)
    first = torch.floor(ab / GRID_STEP).long() - (SEARCH // 2 - 1)  # (N, 2, H, W)
    grid_a, grid_b = first[:, :1] + steps, first[:, 1:] + steps  # (N, SEARCH, H, W) each
    rows = (grid_a - low[0]).clamp(0, table.shape[0] - 1)
    columns = (grid_b - low[1]).clamp(0, table.shape[1] - 1)
    index = table[rows[:, :, None], columns[:, None, :]].flatten(1, 2)  # (N, SEARCH^2, H, W)
    distance_a = (ab[:, :1] - grid_a * GRID_STEP) ** 2
    distance_b = (ab[:, 1:] - grid_b * GRID_STEP) ** 2
    distances = (distance_a[:, :, None] + distance_b[:, None, :]).flatten(1, 2)
    distances = distances.masked_fill(index < 0, float("inf"))
    nearest, position = distances.topk(count, dim=1, largest=False)
    index = index.gather(1, position)
    far = nearest[:, -1] > REACH**2  # a nearer bin might lie outside the candidates: search them all
    if bool(far.any()):
        pixels = ab.movedim(1, -1)[far]  # (K, 2)
        exact, exact_index = torch.cdist(pixels, bins.to(pixels)).topk(count, dim=1, largest=False)
        nearest.movedim(1, -1)[far] = exact**2
        index.movedim(1, -1)[far] = exact_index
    return nearest, index


def soft_encode(ab: torch.Tensor, bins: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft targets of ab (N, 2, H, W): Gaussian weights (sigma 5) over the 5 nearest bins and those
    bins' indices, both (N, 5, H, W), nearest first (the dense target is zero at every other bin)."""
    nearest, index = nearest_bins(ab, bins, SOFT_NEIGHBOURS)
    return torch.softmax(-nearest / (2 * SOFT_SIGMA**2), dim=1), index


def bin_histogram(ab: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(Q,) counts of the pixels of ab (N, 2, H, W) by nearest bin."""
    index = nearest_bins(ab, bins, 1)[1]
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
    targets, index = soft_encode(ab, bins)
    log_probabilities = F.log_softmax(logits.contiguous(), dim=1)  # faster than over channels_last
    per_pixel = -(targets * log_probabilities.gather(1, index)).sum(dim=1)
    if weights is not None:
        per_pixel = per_pixel * weights[index[:, 0]]
    return per_pixel.mean()


def annealed_mean(logits: torch.Tensor, bins: torch.Tensor, temperature: float) -> torch.Tensor:
    """ab (N, 2, h, w) decoded from logits (N, Q, h, w): the mean of softmax(logits / T) over the bins."""
    probabilities = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", probabilities, bins)
