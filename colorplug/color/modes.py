"""The few distinct colours a distribution over ab bins offers: its modes, each with its share.

A region's distribution (the mean of its pixels' probabilities) is smoothed in ab by a Gaussian of
SMOOTH_SIGMA, then peaks are picked greedily, the highest first, each at least SEPARATION from those
already picked: distinct colours, not neighbouring bins of one. Every bin's probability goes to its
nearest picked peak, which gives each colour its share; a colour is the probability-weighted mean of
the bins within REFINE of its peak. Constants chosen on validation photos (docs/confidence.md).
"""

from __future__ import annotations

import torch

SMOOTH_SIGMA = 6.0  # ab units
SEPARATION = 15.0  # ab units between two colours offered
REFINE = 10.0  # ab units around a peak averaged into its colour


def smooth(probabilities: torch.Tensor, bins: torch.Tensor, sigma: float = SMOOTH_SIGMA) -> torch.Tensor:
    """(Q,) probabilities spread over the bins (Q, 2) by a Gaussian of `sigma` in ab.

    >>> smooth(torch.tensor([1.0, 0.0]), torch.tensor([[0.0, 0.0], [6.0, 0.0]])).tolist()
    [1.0, 0.6065306663513184]
    """
    distance = torch.cdist(bins.float(), bins.float())
    return torch.exp(-(distance**2) / (2 * sigma**2)) @ probabilities.float()


def pick_modes(
    probabilities: torch.Tensor, bins: torch.Tensor, count: int, separation: float = SEPARATION
) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `count` distinct colours (K, 2) of a distribution (Q,) over bins (Q, 2), the highest
    smoothed peak first, and their shares (K,) summing to 1 (see the module docstring).

    >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0], [60.0, 0.0]])
    >>> colours, shares = pick_modes(torch.tensor([0.5, 0.2, 0.3]), bins, 3)
    >>> colours[:, 0].round().tolist(), [round(share, 2) for share in shares.tolist()]
    ([3.0, 60.0], [0.7, 0.3])
    """
    smoothed = smooth(probabilities, bins)
    distance = torch.cdist(bins.float(), bins.float())
    free = torch.ones_like(smoothed, dtype=torch.bool)
    peaks: list[int] = []
    while len(peaks) < count and bool(free.any()):
        peak = int(torch.where(free, smoothed, torch.full_like(smoothed, -1.0)).argmax())
        peaks.append(peak)
        free &= distance[peak] >= separation
    owner = distance[:, peaks].argmin(dim=1)  # each bin's nearest picked peak
    mass = torch.zeros(len(peaks)).index_add_(0, owner, probabilities.float())
    colours = torch.stack([_refined(probabilities, bins, distance[peak]) for peak in peaks])
    return colours, mass / mass.sum().clamp(min=1e-12)


def _refined(probabilities: torch.Tensor, bins: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
    """The probability-weighted mean ab of the bins within REFINE of a peak (the peak if they have none)."""
    near = (distance <= REFINE).float() * probabilities.float()
    if float(near.sum()) <= 0:
        return bins[int(distance.argmin())].float()
    return (near[:, None] * bins.float()).sum(dim=0) / near.sum()
