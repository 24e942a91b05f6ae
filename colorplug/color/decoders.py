"""Decoders: a predicted colour distribution (logits over the ab bins, see chroma.py) -> one ab per pixel.

`annealed`: the annealed mean of each pixel's own distribution (Zhang et al. 2016). Where a region could
be red or green, every pixel averages the two and the region comes out brown.

`region`: one mode per region. The distribution is pooled over each pixel's region (a bilateral average:
near in space and in lightness, so it stops at edges), smoothed in ab, and its peak is the region's
colour; each pixel then takes the mean of its own distribution within REGION_RADIUS of that peak, so
detail inside the region stays and neighbouring pixels cannot pick different hues.

Both decode at the user's vividness (the rebalancing undone to the degree 1 - vividness, chroma.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from colorplug.color.bilateral import bilateral_grid, slice_grid
from colorplug.color.chroma import TEMPERATURE, annealed_mean
from colorplug.color.lab import AB_SCALE
from colorplug.defaults import DEFAULT_DECODER

# the region decoder's settings (chosen on validation photos, see the README's decoder section)
REGION_SPACE = 0.15  # spatial reach of a region, as a share of the grid's short side
REGION_TONE = 10.0  # lightness reach, L units
REGION_MODE_SIGMA = 10.0  # ab smoothing before the peak is taken, LAB units
REGION_RADIUS = 20.0  # each pixel's mean is taken within this ab distance of its region's peak
UNUSED_BIN = 1e-4  # a bin whose probability stays below this at every pixel is not pooled


def at_vividness(logits: torch.Tensor, class_weights: torch.Tensor, vividness: float) -> torch.Tensor:
    """Logits (N, Q, h, w) re-weighted to the vividness: the rebalancing divided out to 1 - vividness.

    >>> at_vividness(torch.zeros(1, 2, 1, 1), torch.tensor([1.0, 4.0]), 1.0).flatten().tolist()
    [0.0, 0.0]
    """
    return logits.float() + (vividness - 1.0) * class_weights.float().log().view(1, -1, 1, 1)


def annealed(logits: torch.Tensor, bins: torch.Tensor, lightness: torch.Tensor) -> torch.Tensor:
    """ab (N, 2, h, w) in LAB units: each pixel's annealed mean (`lightness` is not used)."""
    return annealed_mean(logits, bins, TEMPERATURE)


def region(logits: torch.Tensor, bins: torch.Tensor, lightness: torch.Tensor) -> torch.Tensor:
    """ab (N, 2, h, w) in LAB units: each pixel's mean near its region's mode (see the module docstring);
    `lightness` (N, 1, h, w) in [-1, 1] at the logits' size.

    >>> bins = torch.tensor([[-40.0, 0.0], [0.0, 0.0], [40.0, 0.0]])
    >>> logits = torch.tensor([3.0, 2.9, 3.0]).view(1, 3, 1, 1).repeat(1, 1, 4, 4)
    >>> logits[..., 0] += 0.2  # the left column leans red, the region as a whole too
    >>> ab = region(logits, bins, torch.zeros(1, 1, 4, 4))
    >>> bool((ab[0, 0] < -20).all())  # one mode for the whole region, not the gray mean of two
    True
    """
    probabilities = torch.softmax(logits / TEMPERATURE, dim=1)
    peaks, chosen = region_peaks(probabilities, bins, lightness)
    near = (apart_from_bins(bins)[peaks] <= REGION_RADIUS).float()  # (M, Q): the bins near each peak
    terms = torch.cat((near[:, None] * bins.T[None], near[:, None]), dim=1)  # (M, 3, Q): a, b and 1
    sums = (terms.flatten(0, 1) @ probabilities.flatten(2)).unflatten(1, (len(peaks), 3))  # (N, M, 3, hw)
    picked = sums.gather(1, chosen.flatten(1)[:, None, None].expand(-1, 1, 3, -1))[:, 0]  # (N, 3, hw)
    ab = picked[:, :2] / picked[:, 2:].clamp(min=1e-12)
    return ab.unflatten(2, logits.shape[-2:])


def region_peaks(
    probabilities: torch.Tensor, bins: torch.Tensor, lightness: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The bins (M,) that regions peak at, and which of them (N, h, w) each pixel's region peaks at: the
    distribution pooled over the region (a bilateral grid), smoothed in ab. Only the bins some node of
    the grid peaks at can win, so each pixel compares those few instead of all Q, and the bins no pixel
    gives UNUSED_BIN are left out of the pooling (they would add that much at most). The smoothing is cut
    at 5 sigma: its tail would be denormal floats, which CPUs multiply dozens of times slower."""
    space = max(REGION_SPACE * min(probabilities.shape[-2:]), 1.0)
    apart = apart_from_bins(bins)
    smoothing = torch.exp(-(apart**2) / (2 * REGION_MODE_SIGMA**2)) * (apart <= 5 * REGION_MODE_SIGMA)
    used = probabilities.amax(dim=(0, 2, 3)) > UNUSED_BIN  # typically a third of the bins or fewer
    pooled = bilateral_grid(probabilities[:, used], lightness, space, REGION_TONE)  # (N, K, Q used, h, w)
    nodes = torch.einsum("nkqhw,qr->nkrhw", pooled, smoothing[used])
    candidates = torch.unique(nodes.argmax(dim=2))
    return candidates, slice_grid(nodes[:, :, candidates], lightness, space, REGION_TONE).argmax(dim=1)


def apart_from_bins(bins: torch.Tensor) -> torch.Tensor:
    """(Q, Q) the ab distances between the bins."""
    return torch.cdist(bins.double(), bins.double()).float()


Decoder = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
DECODERS: dict[str, Decoder] = {"annealed": annealed, "region": region}  # named in defaults.DECODER_NAMES


def upsample_cells(cells: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """ab / 128 (N, 2, *shape) of decoded cells (N, 2, h, w) in LAB units: bilinear x 4, cropped."""
    ab = F.interpolate(cells / AB_SCALE, scale_factor=4, mode="bilinear", align_corners=False)
    return ab[..., : shape[0], : shape[1]]


def decode(
    chroma,
    bins: torch.Tensor,
    class_weights: torch.Tensor,
    vividness: float,
    lightness: torch.Tensor,
    decoder: str = DEFAULT_DECODER,
    cells: bool = False,
) -> torch.Tensor:
    """ab / 128 (N, 2, H, W) of a network's Chroma: its regression when it has no distribution, else its
    distribution decoded at `vividness` by `decoder`, upsampled to the regression's size. `lightness`:
    the network's input L (N, 1, H, W) in [-1, 1]. With `cells`: the decoded distribution itself, (N, 2,
    h, w) in LAB units on its own grid (what upsample_cells takes; the confidence map reuses it).

    >>> from types import SimpleNamespace
    >>> chroma = SimpleNamespace(logits=torch.zeros(1, 2, 3, 4), ab=torch.zeros(1, 2, 12, 15))
    >>> bins, lightness = torch.tensor([[-10.0, 0.0], [10.0, 0.0]]), torch.zeros(1, 1, 12, 15)
    >>> decode(chroma, bins, torch.ones(2), 0.2, lightness, cells=True).shape
    torch.Size([1, 2, 3, 4])
    >>> decode(chroma, bins, torch.ones(2), 0.2, lightness).shape
    torch.Size([1, 2, 12, 15])
    """
    if chroma.logits is None:
        return chroma.ab
    logits = at_vividness(chroma.logits, class_weights, vividness)
    small = F.adaptive_avg_pool2d(lightness.float(), logits.shape[-2:])
    decoded = DECODERS[decoder](logits, bins, small)
    return decoded if cells else upsample_cells(decoded, tuple(chroma.ab.shape[-2:]))
