"""Colour as a distribution over ab bins: the bins, soft targets, rebalancing and the decoding."""

from __future__ import annotations

import torch

from colorplug.color.chroma import (
    BIN_COUNT,
    GRID_STEP,
    ab_bins,
    annealed_mean,
    bin_histogram,
    classification_loss,
    nearest_bins,
    rebalancing_weights,
    soft_encode,
)
from colorplug.color.decoders import decode
from colorplug.color.lab import rgb_to_lab
from colorplug.nets.blocks import Chroma


def test_bins_are_a_grid_of_ten_covering_the_srgb_gamut():
    bins = ab_bins()
    assert bins.shape == (BIN_COUNT, 2)
    assert torch.equal(bins, (bins / GRID_STEP).round() * GRID_STEP)
    # saturated primaries and gray all lie within one grid step of a bin
    for rgb in ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 0.0), (0.5, 0.5, 0.5)):
        ab = rgb_to_lab(torch.tensor(rgb).view(3, 1, 1))[1:, 0, 0]
        assert (bins - ab).abs().max(dim=1).values.min() <= GRID_STEP / 2 + 1e-4
    # and every bin has an sRGB colour within one grid step on both axes (no bin outside the gamut)
    levels = torch.linspace(0, 1, 48)
    rgb = torch.stack(torch.meshgrid(levels, levels, levels, indexing="ij")).reshape(3, -1, 1)
    colours = rgb_to_lab(rgb)[1:, :, 0].T  # (n, 2)
    nearest = torch.cdist(bins, colours, p=float("inf")).min(dim=1).values
    assert nearest.max() <= GRID_STEP + 1.5  # + the coarseness of this 48-level lattice


def test_soft_targets_spread_over_five_nearest_bins_and_sum_to_one():
    bins = ab_bins()
    ab = torch.tensor([[[[12.0]], [[-33.0]]]])  # (1, 2, 1, 1)
    targets, index = soft_encode(ab, bins)
    assert targets.shape == index.shape == (1, 5, 1, 1)
    assert (targets > 0).all() and torch.isclose(targets.sum(), torch.tensor(1.0))
    assert torch.equal(bins[index[0, 0, 0, 0]], torch.tensor([10.0, -30.0]))
    assert targets[0, :, 0, 0].argmax() == 0 and len(set(index.flatten().tolist())) == 5


def test_the_neighbourhood_search_finds_the_same_bins_as_a_search_over_all_of_them():
    bins = ab_bins()
    levels = torch.linspace(0, 1, 24)
    rgb = torch.stack(torch.meshgrid(levels, levels, levels, indexing="ij")).reshape(3, -1, 1)
    in_gamut = rgb_to_lab(rgb)[1:].reshape(1, 2, -1, 1)
    anywhere = torch.rand(1, 2, 3000, 1, generator=torch.Generator().manual_seed(0)) * 300 - 150
    ab = torch.cat((in_gamut, anywhere), dim=2)
    squared = ((ab.permute(0, 2, 3, 1)[..., None, :] - bins) ** 2).sum(-1).permute(0, 3, 1, 2)
    expected, _ = squared.topk(5, dim=1, largest=False)
    found, index = nearest_bins(ab, bins, 5)
    assert torch.allclose(found, expected, atol=1e-2)
    assert torch.allclose(squared.gather(1, index), expected, atol=1e-2)  # the indices name those bins


def test_rebalancing_favours_rare_colours_and_averages_one():
    bins = ab_bins()
    common = torch.zeros(1, 2, 8, 8)  # gray everywhere
    rare = torch.full((1, 2, 1, 1), 60.0)
    counts = bin_histogram(common, bins) + bin_histogram(rare, bins)
    weights = rebalancing_weights(counts, bins, mix=0.5)
    gray_bin = (bins.abs().sum(1)).argmin()
    far_bin = ((bins - torch.tensor([60.0, 60.0])) ** 2).sum(1).argmin()
    assert weights[far_bin] > weights[gray_bin]
    assert torch.allclose(weights, rebalancing_weights(counts, bins, mix=0.5))
    # no rebalancing at all when the prior is fully replaced by uniform
    assert torch.allclose(rebalancing_weights(counts, bins, mix=1.0), torch.ones(BIN_COUNT))


def test_loss_is_lowest_for_the_right_colour():
    bins = ab_bins()
    ab = torch.tensor([[[[40.0]], [[20.0]]]])
    right = torch.full((1, BIN_COUNT, 1, 1), -10.0)
    right[0, soft_encode(ab, bins)[1][0, 0, 0, 0]] = 10.0
    wrong = torch.roll(right, 50, dims=1)
    assert classification_loss(right, ab, bins, None) < classification_loss(wrong, ab, bins, None)


def test_annealed_mean_goes_from_mean_to_mode():
    bins = ab_bins()
    logits = torch.full((1, BIN_COUNT, 1, 1), -30.0)
    red = ((bins - torch.tensor([60.0, 40.0])) ** 2).sum(1).argmin()
    gray = bins.abs().sum(1).argmin()
    logits[0, red], logits[0, gray] = 1.0, 1.5  # gray a bit more likely
    mean = annealed_mean(logits, bins, 1.0)[0, :, 0, 0]
    mode = annealed_mean(logits, bins, 0.05)[0, :, 0, 0]
    assert torch.allclose(mode, bins[gray], atol=0.5)
    assert 10 < mean[0] < 50  # between gray and red


FLAT = torch.zeros(1, 1, 8, 8)  # the network's input L (unused by the annealed mean)


def test_decode_undoes_the_rebalancing_to_the_degree_asked():
    bins = ab_bins()
    gray = bins.abs().sum(1).argmin()
    red = ((bins - torch.tensor([50.0, 40.0])) ** 2).sum(1).argmin()
    logits = torch.full((1, BIN_COUNT, 2, 2), -30.0)
    logits[:, gray], logits[:, red] = 2.0, 2.0  # the rebalanced distribution: red and gray alike
    weights = torch.ones(BIN_COUNT)
    weights[red] = 20.0  # red was rare: the loss up-weighted it 20 times
    chroma = Chroma(torch.zeros(1, 2, 8, 8), logits)
    likely = decode(chroma, bins, weights, 0.0, FLAT)  # red's weight divided out: gray
    rebalanced = decode(chroma, bins, weights, 1.0, FLAT)
    assert likely.shape == rebalanced.shape == (1, 2, 8, 8)
    assert likely[0, 0].abs().max() < 2 / 128
    assert 15 / 128 < rebalanced[0, 0].mean() < 35 / 128  # between gray and red
    assert decode(chroma, bins, weights, 1.5, FLAT)[0, 0].mean() > rebalanced[0, 0].mean()
