"""Smoothing that stops at lightness edges, on the small grids colour is predicted at: a Gaussian blur
(as two matrix products) and a bilateral average over a grid of lightness layers (Chen et al. 2007).

Used to carry hints over their regions (hints/follow.py), to spread hints for the network, and to pool
the colour distribution over a region before picking its colour (decoders.py).
"""

from __future__ import annotations

import torch

LEVELS = 11  # lightness layers of a bilateral grid, evenly over L 0..100


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each channel of x (N, C, H, W) convolved with a Gaussian of `sigma` pixels (cut at 3 sigma) whose
    peak is 1 (not normalised: a lone point stays 1 at its centre), zeros beyond the borders. As two
    matrix products: on these small grids BLAS is several times faster than a depthwise convolution.

    >>> point = torch.zeros(1, 1, 9, 9)
    >>> point[0, 0, 4, 4] = 1
    >>> blurred = gaussian_blur(point, 1.0)
    >>> float(blurred[0, 0, 4, 4]), round(float(blurred[0, 0, 4, 5]), 4)
    (1.0, 0.6065)
    """
    return _blur_matrix(x.shape[-2], sigma, x) @ x @ _blur_matrix(x.shape[-1], sigma, x)


def _blur_matrix(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    offsets = torch.arange(size, dtype=like.dtype, device=like.device)
    distance = offsets[:, None] - offsets[None, :]
    taps = torch.exp(-(distance**2) / (2 * sigma**2))
    return taps * (distance.abs() <= max(1, round(3 * sigma)))


def tone_weights(lightness: torch.Tensor, sigma: float, levels: int = LEVELS) -> torch.Tensor:
    """Closeness (N, K, H, W) of lightness (N, 1, H, W) in [-1, 1] to each of K evenly spaced levels,
    a Gaussian of `sigma` L units.

    >>> [round(w, 4) for w in tone_weights(torch.zeros(1, 1, 1, 1), 10.0, levels=3).flatten().tolist()]
    [0.0, 1.0, 0.0]
    """
    grid = torch.linspace(-1, 1, levels, dtype=lightness.dtype, device=lightness.device)
    return torch.exp(-((lightness - grid.view(1, -1, 1, 1)) ** 2) / (2 * (sigma / 50) ** 2))


def bilateral_average(
    values: torch.Tensor, lightness: torch.Tensor, space_sigma: float, tone_sigma: float
) -> torch.Tensor:
    """values (N, C, H, W) averaged over their neighbours near in space (a Gaussian of `space_sigma`
    pixels) and in lightness (of `tone_sigma` L units; lightness (N, 1, H, W) in [-1, 1]).

    Two flat regions of different lightness keep their own values up to their shared edge:

    >>> lightness = torch.cat((torch.full((1, 1, 4, 4), -0.5), torch.full((1, 1, 4, 4), 0.5)), dim=-1)
    >>> values = torch.cat((torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)), dim=-1)
    >>> averaged = bilateral_average(values, lightness, 3.0, 5.0)
    >>> round(float(averaged[0, 0, 0, 3]), 3), round(float(averaged[0, 0, 0, 4]), 3)
    (0.0, 1.0)
    """
    weights = tone_weights(lightness, tone_sigma)  # (N, K, H, W)
    channels = values.shape[1]
    splat = torch.cat((values[:, :, None] * weights[:, None], weights[:, None]), dim=1)  # (N, C+1, K, H, W)
    blurred = gaussian_blur(splat.flatten(1, 2), space_sigma).unflatten(1, (channels + 1, LEVELS))
    total = (blurred[:, :channels] * weights[:, None]).sum(dim=2)
    return total / (blurred[:, channels] * weights).sum(dim=1, keepdim=True).clamp(min=1e-12)
