"""Colour hints: hint images to hint maps, resizing that keeps small dots, sampled and simulated hints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorplug.color.lab import AB_SCALE, rgb_to_lab
from colorplug.hints.maps import HintError, hints_from_rgba, resize_hints, sample_points, simulate


def red_dot_image(height: int, width: int, top: int, left: int, size: int = 2):
    rgb = np.zeros((height, width, 3), np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    rgb[top : top + size, left : left + size] = (200, 30, 30)
    alpha[top : top + size, left : left + size] = 255
    return rgb, alpha


def test_opaque_pixels_become_hints_with_their_colours_ab():
    rgb, alpha = red_dot_image(10, 20, 3, 4)
    alpha[0, 0] = 127  # not opaque enough
    rgb[0, 0] = (0, 255, 0)
    hints = hints_from_rgba(rgb, alpha, 10, 20)
    assert hints.shape == (3, 10, 20)
    assert hints[2].sum() == 4 and hints[2, 3, 4] == 1 and hints[2, 0, 0] == 0
    expected = rgb_to_lab(torch.tensor([200, 30, 30]).view(3, 1, 1) / 255.0)[1:, 0, 0] / AB_SCALE
    torch.testing.assert_close(hints[:2, 3, 4], expected)
    assert hints[:2, 0, 0].abs().max() == 0  # no colour where there is no hint


def test_sixteen_bit_hint_images_read_alike():
    rgb, alpha = red_dot_image(10, 20, 3, 4)
    eight = hints_from_rgba(rgb, alpha, 10, 20)
    sixteen = hints_from_rgba(rgb.astype(np.uint16) * 257, alpha.astype(np.uint16) * 257, 10, 20)
    torch.testing.assert_close(eight, sixteen)


def test_same_aspect_other_size_is_scaled_nearest_other_aspect_refused():
    rgb, alpha = red_dot_image(5, 10, 1, 2, size=1)
    hints = hints_from_rgba(rgb, alpha, 20, 40)
    assert hints[2].sum() == 16 and hints[2, 4:8, 8:12].all()  # one pixel -> a 4x4 block
    with pytest.raises(HintError, match="aspect ratios differ"):
        hints_from_rgba(rgb, alpha, 20, 20)


def test_shrinking_keeps_a_one_pixel_dot_and_its_colour():
    rgb, alpha = red_dot_image(256, 256, 101, 37, size=1)
    hints = hints_from_rgba(rgb, alpha, 256, 256)
    small = resize_hints(hints, (32, 32))
    assert small[2].sum() == 1 and small[2, 101 // 8, 37 // 8] == 1
    torch.testing.assert_close(small[:2, 101 // 8, 37 // 8], hints[:2, 101, 37])
    assert torch.equal(resize_hints(hints, (256, 256)), hints)


def test_sampled_points_are_seeded_patches_of_the_truths_mean():
    ab = torch.randn(2, 64, 64) * 30
    first, again, other = (
        sample_points(ab, 5, seed=3),
        sample_points(ab, 5, seed=3),
        sample_points(ab, 5, seed=4),
    )
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert 9 < first[2].sum() <= 45  # five 3x3 patches (they may overlap)
    assert sample_points(ab, 0, seed=3).abs().sum() == 0


def test_simulated_hints_leave_about_half_the_images_without_any():
    generator = torch.Generator().manual_seed(0)
    ab = torch.rand(400, 2, 16, 16) - 0.5
    hints = simulate(ab, generator)
    without = (hints[:, 2].flatten(1).sum(1) == 0).float().mean()
    assert 0.4 < without < 0.6
    hinted = hints[:, 2] > 0
    assert torch.all(hints[:, :2].abs().amax(dim=1)[~hinted] == 0)
