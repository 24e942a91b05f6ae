"""Smoothing that stops at lightness edges, on the small grids colour is predicted at: a Gaussian blur
(as two matrix products) and a bilateral grid of lightness layers (Chen et al. 2007).

Used to carry hints over their regions (hints/follow.py), to spread hints for the network, and to pool
the colour distribution over a region before picking its colour (decoders.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LEVELS = 11  # lightness layers of a bilateral grid, evenly over L 0..100
COARSE_SIGMA = 2.0  # a wider spatial reach runs on coarser nodes, where it spans 2-4 of them


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


def bilateral_grid(
    values: torch.Tensor, lightness: torch.Tensor, space_sigma: float, tone_sigma: float
) -> torch.Tensor:
    """The nodes (N, K, C, h, w) of a bilateral grid of values (N, C, H, W): each node sums the values of
    the pixels near it in lightness (a Gaussian of `tone_sigma` L units; lightness (N, 1, H, W) in
    [-1, 1]) and in space (a Gaussian of `space_sigma` pixels). A wide reach runs on nodes spaced a whole
    factor apart (box sums down, as Chen et al. 2007 do), so the cost falls with the reach's square.
    """
    weights, step = tone_weights(lightness, tone_sigma), _node_spacing(space_sigma)
    padding = (0, -values.shape[-1] % step, 0, -values.shape[-2] % step)
    cells = _cells(F.pad(values, padding), step)  # (N, h, w, C, step * step)
    levels = _cells(F.pad(weights, padding), step)  # (N, h, w, K, step * step)
    nodes = (levels @ cells.transpose(-1, -2)).permute(0, 3, 4, 1, 2)  # (N, K, C, h, w)
    return gaussian_blur(nodes.flatten(1, 2), space_sigma / step).unflatten(1, nodes.shape[1:3])


def _node_spacing(space_sigma: float) -> int:
    """Pixels between a grid's nodes for a spatial reach of `space_sigma` pixels."""
    return max(1, int(space_sigma // COARSE_SIGMA))


def _cells(x: torch.Tensor, step: int) -> torch.Tensor:
    """x (N, C, H, W), H and W multiples of step -> (N, H / step, W / step, C, step * step)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // step, step, w // step, step).permute(0, 2, 4, 1, 3, 5).flatten(-2)


def slice_grid(
    nodes: torch.Tensor, lightness: torch.Tensor, space_sigma: float, tone_sigma: float
) -> torch.Tensor:
    """What each pixel (lightness (N, 1, H, W) in [-1, 1]) reads from the nodes (N, K, C, h, w) that
    bilateral_grid made with these reaches: bilinearly in space, weighted in lightness; (N, C, H, W).

    Two flat regions of different lightness keep their own values up to their shared edge:

    >>> lightness = torch.cat((torch.full((1, 1, 4, 4), -0.5), torch.full((1, 1, 4, 4), 0.5)), dim=-1)
    >>> values = torch.cat((torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)), dim=-1)
    >>> grid = bilateral_grid(torch.cat((values, torch.ones_like(values)), dim=1), lightness, 3.0, 5.0)
    >>> read = slice_grid(grid, lightness, 3.0, 5.0)
    >>> mean = read[:, 0] / read[:, 1]
    >>> round(float(mean[0, 0, 3]), 3), round(float(mean[0, 0, 4]), 3)
    (0.0, 1.0)
    """
    (height, width), step = lightness.shape[-2:], _node_spacing(space_sigma)
    rows, columns = (
        _upsampling(height, nodes.shape[-2], step, nodes),
        _upsampling(width, nodes.shape[-1], step, nodes),
    )
    spread = rows @ nodes @ columns.T  # (N, K, C, H, W): as two matrix products, like gaussian_blur
    return (spread * tone_weights(lightness, tone_sigma)[:, :, None]).sum(dim=1)  # faster than einsum here


def _upsampling(size: int, nodes: int, step: int, like: torch.Tensor) -> torch.Tensor:
    """(size, nodes) the weights F.interpolate's linear rule gives each pixel from nodes `step` apart."""
    identity = torch.eye(nodes, dtype=like.dtype, device=like.device)[None]
    return F.interpolate(identity, scale_factor=step, mode="linear")[0, :, :size].T
