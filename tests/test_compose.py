"""Full-resolution composition against the reference path (skimage conversions + F.interpolate)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.color import lab2rgb, rgb2lab

from colorplug.color import compose
from colorplug.color.lab import lab_to_linear_rgb


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_lightness_table_matches_skimage(photos, name):
    rgb = photos[name]
    assert np.abs(compose.lightness(rgb) - rgb2lab(rgb)[..., 0]).max() <= 1e-3


def test_lightness_of_gray_and_16_bit_samples_matches_skimage():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    reference = rgb2lab(np.repeat(gray[..., None], 3, axis=-1))[..., 0]
    assert np.abs(compose.lightness(gray) - reference).max() <= 1e-3
    deep = np.random.default_rng(0).integers(0, 65536, (20, 20, 3), dtype=np.uint16)
    reference = rgb2lab(deep / 65535.0)[..., 0]
    assert np.abs(compose.lightness(deep) - reference).max() <= 1e-3


@pytest.mark.parametrize("block_pixels", [1 << 16, 999])
@pytest.mark.parametrize("shape", [(64, 85), (300, 40), (120, 500)])
def test_small_lightness_in_strips_equals_resizing_the_full_plane(photos, monkeypatch, block_pixels, shape):
    monkeypatch.setattr(compose, "BLOCK_PIXELS", block_pixels)
    for samples in (photos["chelsea"], photos["coffee"][..., 1]):  # RGB and gray
        full = torch.from_numpy(compose.lightness(samples))[None, None]
        whole = F.interpolate(full, size=shape, mode="bilinear", align_corners=False, antialias=True)[0, 0]
        strips = compose.small_lightness(samples, shape)
        assert strips.shape == shape
        assert (strips - whole).abs().max() <= 1e-3  # float rounding of the two passes' order only


def reference_compose(lightness: np.ndarray, ab_small: torch.Tensor) -> np.ndarray:
    """The naive path: upsample ab in one go, skimage's lab2rgb, round to uint8."""
    ab = F.interpolate(ab_small[None], size=lightness.shape, mode="bilinear", align_corners=False)[0]
    lab = np.concatenate((lightness[..., None], ab.permute(1, 2, 0).numpy()), axis=-1).astype(np.float64)
    return np.rint(lab2rgb(lab) * 255).astype(np.uint8)


@pytest.mark.parametrize("chunk_pixels", [1 << 20, 1000])
def test_compose_matches_the_reference_path(photos, monkeypatch, chunk_pixels):
    monkeypatch.setattr(compose, "BLOCK_PIXELS", chunk_pixels)
    rgb = photos["chelsea"]
    ab_small = torch.from_numpy(rgb2lab(rgb[::8, ::8])[..., 1:].astype(np.float32)).permute(2, 0, 1)
    ours = compose.compose(rgb, ab_small, np.uint8)
    reference = reference_compose(compose.lightness(rgb), ab_small)
    difference = np.abs(ours.astype(int) - reference.astype(int))
    assert difference.max() <= 1
    assert (difference == 0).mean() >= 0.995  # float32 maths against float64: rare one-level ties


def test_compose_with_zero_chroma_gives_back_the_gray_input():
    gray = np.random.default_rng(1).integers(0, 256, (31, 17), dtype=np.uint8)
    out = compose.compose(gray, torch.zeros(2, 1, 1), np.uint8)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], gray)
    deep = np.random.default_rng(2).integers(0, 65536, (9, 13), dtype=np.uint16)
    out = compose.compose(deep, torch.zeros(2, 1, 1), np.uint16)
    assert np.abs(out[..., 1].astype(int) - deep).max() <= 2  # float32 L of 16-bit codes


def test_gamut_fitting_keeps_lightness_and_hue():
    lightness = torch.tensor([[[[90.0, 50.0, 20.0]]]])
    ab = torch.tensor([[[[80.0, 10.0, -100.0]], [[90.0, -5.0, 100.0]]]])
    fitted = compose.fit_to_gamut(lightness, ab)
    rgb = lab_to_linear_rgb(torch.cat((lightness, fitted), dim=1))
    assert rgb.min() >= -1e-3 and rgb.max() <= 1 + 1e-3
    scale = fitted / ab
    torch.testing.assert_close(scale[:, 0], scale[:, 1])  # same factor on a and b: hue kept
    assert scale[0, 0, 0, 1] == 1.0  # an in-gamut colour is left alone
    assert (scale[0, 0, 0, [0, 2]] < 1).all()


@pytest.mark.parametrize(
    ("size", "render", "expected"),
    [
        ((3000, 4000), 256, (256, 341)),
        ((4000, 3000), 256, (341, 256)),
        ((100, 100), 256, (256, 256)),
        ((1, 5000), 256, (1, 1024)),
        ((5000, 1), 64, (256, 1)),
        ((256, 256), 256, (256, 256)),
        ((1, 1), 4096, (256, 256)),  # a small photo is not enlarged past the default for nothing
        ((600, 900), 4096, (600, 900)),
        ((600, 900), 512, (512, 768)),
    ],
)
def test_render_shape(size, render, expected):
    assert compose.render_shape(*size, render) == expected
