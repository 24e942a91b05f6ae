"""Decoders: the names the CLI offers are the engine's, the annealed mean is the previous decode, and the
region decoder keeps one colour per region where the annealed mean mixes two into gray."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from colorplug.color.bilateral import gaussian_blur, tone_weights
from colorplug.color.chroma import TEMPERATURE, annealed_mean
from colorplug.color.decoders import (
    DECODERS,
    REGION_MODE_SIGMA,
    REGION_SPACE,
    REGION_TONE,
    decode,
    region,
    region_peaks,
)
from colorplug.defaults import DECODER_NAMES, DEFAULT_DECODER
from colorplug.nets.blocks import Chroma


def test_the_cli_offers_the_engines_decoders():
    assert tuple(DECODERS) == DECODER_NAMES and DEFAULT_DECODER in DECODERS


SIZE = 40  # the logits' grid of a 160-pixel render


def two_hue_logits() -> tuple[torch.Tensor, torch.Tensor]:
    """Bins red, gray, green; a flat region whose pixels waver between red and green."""
    bins = torch.tensor([[60.0, 0.0], [0.0, 0.0], [-60.0, 0.0]])
    noise = torch.randn(1, 1, SIZE, SIZE, generator=torch.Generator().manual_seed(0)) * 0.3
    logits = torch.cat((2.2 + noise, torch.full((1, 1, SIZE, SIZE), 1.0), 2.0 - noise), dim=1)
    return logits, bins


def test_region_keeps_one_hue_where_the_annealed_mean_mixes_two():
    logits, bins = two_hue_logits()
    mixed = annealed_mean(logits, bins, TEMPERATURE)[:, 0]
    kept = region(logits, bins, torch.zeros(1, 1, SIZE, SIZE))[:, 0]
    assert bool((kept > 40).all())  # every pixel red: the region's mode
    assert bool((mixed.min() < 20) and (mixed.max() > 0))  # pixel by pixel: towards brown, and uneven
    assert float(kept.std()) < float(mixed.std())


def test_region_stops_at_a_lightness_edge():
    logits, bins = two_hue_logits()
    logits[..., 20:] = logits[..., 20:].flip(1)  # the right half leans green
    lightness = torch.zeros(1, 1, SIZE, SIZE)
    lightness[..., 20:] = 0.6  # and is lighter
    ab = region(logits, bins, lightness)[0, 0]
    assert bool((ab[:, :20] > 40).all()) and bool((ab[:, 20:] < -40).all())


def test_decode_without_a_distribution_is_the_regression():
    ab = torch.rand(1, 2, SIZE, SIZE)
    flat = torch.zeros(1, 1, SIZE, SIZE)
    out = decode(Chroma(ab, None), torch.zeros(3, 2), torch.ones(3), 0.4, flat, "region")
    assert out is ab


def dense_region_peaks(probabilities: torch.Tensor, bins: torch.Tensor, lightness: torch.Tensor):
    """The region peaks as the first region decoder found them: a bilateral grid at every pixel, then
    the whole pooled distribution smoothed in ab (slow, exact)."""
    weights = tone_weights(lightness, REGION_TONE)
    splat = torch.cat((probabilities[:, :, None] * weights[:, None], weights[:, None]), dim=1)
    blurred = gaussian_blur(splat.flatten(1, 2), REGION_SPACE * min(lightness.shape[-2:]))
    blurred = blurred.unflatten(1, (probabilities.shape[1] + 1, -1))
    pooled = (blurred[:, :-1] * weights[:, None]).sum(dim=2)
    apart = torch.cdist(bins, bins)
    smoothing = torch.exp(-(apart**2) / (2 * REGION_MODE_SIGMA**2))
    return torch.einsum("nqhw,qr->nrhw", pooled, smoothing).argmax(1)


def test_region_peaks_on_a_coarse_grid_match_the_dense_computation():
    """Many hues over a scene of lightness steps: the fast peaks are the exact ones almost everywhere."""
    generator = torch.Generator().manual_seed(3)
    side = 64  # a 256-pixel render: nodes 4 cells apart
    axis = torch.arange(-80.0, 81.0, 10.0)
    bins = torch.cartesian_prod(axis, axis)
    steps = F.interpolate(torch.rand(1, 1, 5, 5, generator=generator), size=(side, side), mode="nearest")
    lightness = steps * 2 - 1 + torch.randn(1, 1, side, side, generator=generator) * 0.02
    centres = bins[torch.randint(len(bins), (1, 1, 5, 5), generator=generator)].movedim(-1, 1).squeeze(2)
    centre = F.interpolate(centres, size=(side, side), mode="nearest")  # (1, 2, side, side)
    logits = -((bins.T.view(1, 2, -1, 1, 1) - centre[:, :, None]) ** 2).sum(1) / 400
    probabilities = torch.softmax(logits + torch.randn(logits.shape, generator=generator), dim=1)
    peaks, chosen = region_peaks(probabilities, bins, lightness)
    fast = peaks[chosen]
    assert float((fast == dense_region_peaks(probabilities, bins, lightness)).float().mean()) >= 0.98
