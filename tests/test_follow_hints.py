"""The hint spread: a correction fills its region, stops at lightness edges; no hints change nothing."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from colorplug.color.bilateral import gaussian_blur
from colorplug.hints.follow import follow_hints


def two_regions(height: int = 96, width: int = 144) -> tuple[torch.Tensor, torch.Tensor]:
    """Network ab all zero; L dark on the left half, light on the right (normalised to [-1, 1])."""
    lightness = torch.full((1, 1, height, width), -0.4)
    lightness[..., width // 2 :] = 0.6
    return torch.zeros(1, 2, height, width), lightness


def dot(shape: tuple[int, int], y: int, x: int, ab: tuple[float, float], side: int = 3) -> torch.Tensor:
    hints = torch.zeros(1, 3, *shape)
    hints[0, 0, y : y + side, x : x + side] = ab[0]
    hints[0, 1, y : y + side, x : x + side] = ab[1]
    hints[0, 2, y : y + side, x : x + side] = 1
    return hints


def test_no_hints_change_nothing():
    ab, lightness = two_regions()
    ab = ab + torch.randn_like(ab) * 0.1
    assert torch.equal(follow_hints(ab, lightness, torch.zeros(1, 3, 96, 144)), ab)


def test_a_hint_fills_its_region_and_stops_at_a_lightness_edge():
    ab, lightness = two_regions()
    out = follow_hints(ab, lightness, dot((96, 144), 46, 30, (0.5, -0.25)))
    assert torch.allclose(out[0, :, 47, 31], torch.tensor([0.5, -0.25]), atol=0.03)  # at the hint: its colour
    assert out[0, 0, 47, 60] > 0.35  # same region, 30 px on
    assert out[0, 0, 47, 84].abs() < 0.01  # across the edge, as near: untouched
    assert out[0, 0, 5, 5] < out[0, 0, 47, 50]  # fading with distance


def test_hints_that_agree_with_the_network_change_nothing():
    ab, lightness = two_regions()
    ab[:, 0] = 0.3
    out = follow_hints(ab, lightness, dot((96, 144), 46, 30, (0.3, 0.0)))
    assert torch.allclose(out, ab, atol=1e-6)


def test_blur_is_a_gaussian_with_peak_one_cut_at_three_sigma():
    x = torch.zeros(1, 2, 40, 50)
    x[0, 0, 20, 25] = 1
    x[0, 1, 0, 0] = 2
    sigma = 2.5
    radius = round(3 * sigma)
    taps = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
    kernel = (taps[:, None] * taps[None, :]).expand(2, 1, -1, -1)
    expected = F.conv2d(x, kernel, padding=radius, groups=2)
    assert torch.allclose(gaussian_blur(x, sigma), expected, atol=1e-5)
    assert gaussian_blur(x, sigma)[0, 0, 20, 25] == 1
