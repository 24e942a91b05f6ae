"""How sure the network is of each colour it chose: a confidence map from the predicted distribution.

At each cell of the distribution's grid (a quarter of the render size) the confidence is the expected CIE
distance (in ab, at the cell's own L) between the chosen colour and the distribution's colours, counting
only the bins that sRGB can show at that L (the others are colours nobody will ever see), with the
distribution re-weighted at the same vividness as the decode. It becomes 0..1 by exp(-d / SCALE): 1 where
every likely colour is the chosen one. The map is carried up to the render size along the lightness (a
bilateral grid: it stops at lightness edges, as objects do), then bilinearly to the photo's size, like ab.
The measure and its constants were chosen on validation photos (see docs/confidence.md).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorplug.color.compose import fit_to_gamut
from colorplug.color.decoders import DECODERS, at_vividness
from colorplug.color.lab import lab_to_linear_rgb, normalize_lightness
from colorplug.defaults import DEFAULT_DECODER

SCALE = 20.0  # expected distance (LAB units) at which the confidence is 1 / e
CELL = 4  # the distribution's grid is a quarter of the render size
LEVELS = 11  # lightness layers of the grid that carries the map to the render size
TONE_SIGMA = 6.0  # L units: how far in lightness a cell's confidence reaches
GAMUT_SLACK = 1e-3  # linear RGB tolerance of "inside the gamut"
TABLE_STEP = 0.25  # L units between the rows of the gamut table
_TABLES: dict[bytes, torch.Tensor] = {}  # gamut tables by bins


def bins_in_gamut(lightness: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """(N, Q, h, w) whether each bin (Q, 2) is inside sRGB at each pixel's L (N, 1, h, w), looked up in
    a table of the bins at every TABLE_STEP of L (made once per set of bins).

    >>> bins = torch.tensor([[0.0, 0.0], [100.0, 100.0]])
    >>> bins_in_gamut(torch.full((1, 1, 1, 1), 50.0), bins).flatten().tolist()
    [True, False]
    """
    table = _gamut_table(bins.float())
    index = (lightness.float().clamp(0, 100) / TABLE_STEP).round().long()[:, 0]  # (N, h, w)
    return table[:, index].movedim(0, 1)


def _gamut_table(bins: torch.Tensor) -> torch.Tensor:
    """(Q, levels) whether each bin is inside sRGB at L = 0, TABLE_STEP, ..., 100 (cached)."""
    key = bins.numpy().tobytes()
    if key not in _TABLES:
        levels = torch.arange(0, 100 + TABLE_STEP / 2, TABLE_STEP).view(1, 1, -1, 1)
        _TABLES[key] = exactly_in_gamut(levels, bins)[0, :, :, 0]
    return _TABLES[key]


def exactly_in_gamut(lightness: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
    """bins_in_gamut computed at each pixel's own L (N, 1, h, w), without the table."""
    count, (height, width) = bins.shape[0], lightness.shape[-2:]
    ab = bins.to(lightness).T.reshape(1, 2, count, 1, 1).expand(lightness.shape[0], 2, count, height, width)
    lab = torch.cat((lightness[:, :, None].expand(-1, 1, count, -1, -1), ab), dim=1)
    rgb = lab_to_linear_rgb(lab.movedim(1, 0).reshape(3, -1, 1))
    inside = ((rgb >= -GAMUT_SLACK) & (rgb <= 1 + GAMUT_SLACK)).all(dim=0)
    return inside.reshape(lightness.shape[0], count, height, width)


def distribution(logits: torch.Tensor, class_weights: torch.Tensor, vividness: float) -> torch.Tensor:
    """Probabilities (N, Q, h, w) of logits re-weighted at `vividness` (as the decoders do, at T = 1)."""
    return torch.softmax(at_vividness(logits, class_weights, vividness), dim=1)


def expected_distance(
    probabilities: torch.Tensor, bins: torch.Tensor, chosen: torch.Tensor, inside: torch.Tensor
) -> torch.Tensor:
    """(N, 1, h, w) mean ab distance from `chosen` (N, 2, h, w) to the bins, under the probabilities
    restricted to the bins `inside` the gamut (renormalised).

    >>> p = torch.tensor([0.5, 0.5]).view(1, 2, 1, 1)
    >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    >>> expected_distance(p, bins, torch.zeros(1, 2, 1, 1), torch.ones(1, 2, 1, 1, dtype=torch.bool)).item()
    5.0
    """
    kept = probabilities * inside
    kept = kept / kept.sum(dim=1, keepdim=True).clamp(min=1e-12)
    bins = bins.to(chosen)
    across = bins[:, 0].view(1, -1, 1, 1) - chosen[:, :1]  # (N, Q, h, w), one channel at a time: fast
    down = bins[:, 1].view(1, -1, 1, 1) - chosen[:, 1:]
    return (kept * torch.sqrt(across * across + down * down)).sum(dim=1, keepdim=True)


def cell_lightness(lightness_small: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Mean L (N, 1, gh, gw) of each CELL x CELL block of render-size L (N, 1, h, w), border cells partial."""
    height, width = lightness_small.shape[-2:]
    padded = F.pad(lightness_small, (0, grid[1] * CELL - width, 0, grid[0] * CELL - height), mode="replicate")
    return F.avg_pool2d(padded, CELL)


def cell_confidence(
    logits: torch.Tensor,
    bins: torch.Tensor,
    class_weights: torch.Tensor,
    vividness: float,
    lightness_small: torch.Tensor,
    decoder: str = DEFAULT_DECODER,
    decoded: torch.Tensor | None = None,
) -> torch.Tensor:
    """Confidence (N, 1, gh, gw) in 0..1 of each cell of the distribution's grid, for logits
    (N, Q, gh, gw) and render-size L (N, 1, h, w) in [0, 100], of the colour `decoder` chooses (see
    the module docstring); `decoded`: that colour (N, 2, gh, gw) in LAB units when the caller has it
    already (decoders.decode, cells=True), so the distribution is not decoded twice.

    >>> logits = torch.zeros(1, 3, 2, 2)
    >>> logits[:, 0] = 20.0  # all but certain of bin 0
    >>> bins, weights = torch.tensor([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0]]), torch.ones(3)
    >>> confidence = cell_confidence(logits, bins, weights, 0.4, torch.full((1, 1, 8, 8), 50.0))
    >>> confidence.shape, bool(confidence.min() > 0.99)
    (torch.Size([1, 1, 2, 2]), True)
    """
    lightness = cell_lightness(lightness_small.float(), tuple(logits.shape[-2:]))
    if decoded is None:
        scaled = normalize_lightness(lightness)  # the decoders' lightness is the network's input range
        decoded = DECODERS[decoder](at_vividness(logits, class_weights, vividness), bins.float(), scaled)
    chosen = fit_to_gamut(lightness, decoded.float())
    inside = bins_in_gamut(lightness, bins.float())
    probabilities = distribution(logits, class_weights, vividness)
    return torch.exp(-expected_distance(probabilities, bins.float(), chosen, inside) / SCALE)


def _tone_weights(lightness: torch.Tensor, sigma: float = TONE_SIGMA) -> torch.Tensor:
    """Closeness (N, LEVELS, h, w) of L (N, 1, h, w) in [0, 100] to each lightness layer."""
    levels = torch.linspace(0, 100, LEVELS, dtype=lightness.dtype).view(1, -1, 1, 1)
    return torch.exp(-((lightness - levels) ** 2) / (2 * sigma**2))


def to_render_size(confidence: torch.Tensor, lightness_small: torch.Tensor) -> torch.Tensor:
    """Cell confidence (N, 1, gh, gw) carried to render-size L (N, 1, h, w) along the lightness: each
    cell's value is splatted into the lightness layers of its own L and read back at each pixel's L.

    >>> flat = to_render_size(torch.full((1, 1, 2, 2), 0.5), torch.full((1, 1, 8, 8), 40.0))
    >>> flat.shape, round(float(flat.min()), 4), round(float(flat.max()), 4)
    (torch.Size([1, 1, 8, 8]), 0.5, 0.5)
    """
    size = lightness_small.shape[-2:]
    splat = _tone_weights(cell_lightness(lightness_small.float(), tuple(confidence.shape[-2:])))
    stacked = torch.cat((splat * confidence, splat), dim=1)
    wide = F.interpolate(stacked, scale_factor=CELL, mode="bilinear", align_corners=False)
    wide = wide[..., : size[0], : size[1]]
    read = _tone_weights(lightness_small.float())
    numerator = (wide[:, :LEVELS] * read).sum(dim=1, keepdim=True)
    denominator = (wide[:, LEVELS:] * read).sum(dim=1, keepdim=True)
    plain = F.interpolate(confidence, scale_factor=CELL, mode="bilinear", align_corners=False)
    plain = plain[..., : size[0], : size[1]]
    return torch.where(denominator > 1e-6, numerator / denominator.clamp(min=1e-6), plain)


def to_full_size(confidence: torch.Tensor, shape: tuple[int, int]) -> np.ndarray:
    """Render-size confidence (h, w) in 0..1 as the photo's 8-bit map (H, W), 255 = most sure: quantised
    at the render size, then resized bilinearly in 8 bits (a fifth of a float resize's time, within a level
    of it) by Pillow, whose bilinear upsampling equals torch's (align_corners=False) on 8-bit planes in
    half the time (12 MP: 0.028 s against 0.055 s, the same levels).

    >>> to_full_size(torch.ones(4, 6), (30, 40)).shape, int(to_full_size(torch.ones(4, 6), (3, 4)).min())
    ((30, 40), 255)
    """
    levels = (confidence.float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    return np.array(Image.fromarray(levels).resize(shape[::-1], Image.Resampling.BILINEAR))  # writable
