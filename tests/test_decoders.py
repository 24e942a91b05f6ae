"""Decoders: the names the CLI offers are the engine's, the annealed default is today's decode, and the
region decoder keeps one colour per region where the annealed mean mixes two into gray."""

from __future__ import annotations

import torch

from colorplug.color.chroma import TEMPERATURE, annealed_mean
from colorplug.color.decoders import DECODERS, decode, region
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
