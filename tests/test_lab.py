"""The torch LAB conversion against scikit-image's reference, on real and random images."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from colorplug.color.lab import (
    denormalize_ab,
    lab_to_rgb,
    normalize_ab,
    normalize_lightness,
    rgb_to_lab,
)


def to_chw(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(2, 0, 1)


def to_hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.permute(1, 2, 0).numpy()


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_rgb_to_lab_matches_skimage_on_photos(photos, name):
    rgb = photos[name] / 255.0
    ours = to_hwc(rgb_to_lab(to_chw(rgb)))
    assert np.abs(ours - rgb2lab(rgb)).max() <= 1e-3


def test_rgb_to_lab_matches_skimage_on_random_pixels():
    rgb = np.random.default_rng(0).random((64, 64, 3))
    assert np.abs(to_hwc(rgb_to_lab(to_chw(rgb))) - rgb2lab(rgb)).max() <= 1e-3


def test_lab_to_rgb_matches_skimage_including_out_of_gamut():
    rng = np.random.default_rng(1)
    lab = np.stack(
        [
            rng.uniform(0, 100, (48, 48)),
            rng.uniform(-128, 127, (48, 48)),
            rng.uniform(-128, 127, (48, 48)),
        ],
        axis=-1,
    )
    with pytest.warns(UserWarning):  # skimage warns about the negative Z values it clips
        reference = lab2rgb(lab)
    ours = to_hwc(lab_to_rgb(to_chw(lab)))
    assert np.isfinite(ours).all()
    assert ours.min() >= 0.0 and ours.max() <= 1.0
    assert np.abs(ours - reference).max() <= 1e-3


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_uint8_round_trip_agrees_with_input(photos, name):
    rgb = photos[name]
    back = lab_to_rgb(rgb_to_lab(to_chw(rgb / 255.0)))
    back_uint8 = np.rint(to_hwc(back) * 255).astype(np.uint8)
    agree = (back_uint8 == rgb).all(axis=-1).mean()
    assert agree >= 0.999


def test_batched_shapes_are_kept():
    rgb = torch.rand(2, 3, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    lab = rgb_to_lab(rgb)
    assert lab.shape == rgb.shape
    torch.testing.assert_close(lab_to_rgb(lab), rgb, atol=1e-3, rtol=0)
    single = rgb_to_lab(rgb[1, 2])
    torch.testing.assert_close(single, lab[1, 2])


def test_extreme_values_never_give_nan():
    lab = torch.tensor([[[[0.0, 100.0, -50.0, 1e4]], [[1e3, -1e3, 0.0, 0.0]], [[-1e3, 1e3, 0.0, 0.0]]]])
    rgb = lab_to_rgb(lab)
    assert torch.isfinite(rgb).all() and rgb.min() >= 0 and rgb.max() <= 1
    assert torch.isfinite(rgb_to_lab(torch.tensor([[[[0.0]], [[1.0]], [[0.5]]]]).squeeze(0))).all()


@pytest.mark.parametrize(
    "bad", [torch.rand(4, 5), torch.rand(2, 4, 5, 5), torch.zeros(3, 2, 2, dtype=torch.uint8)]
)
def test_bad_inputs_are_rejected(bad):
    with pytest.raises((ValueError, TypeError)):
        rgb_to_lab(bad)


def test_network_normalisation_round_trip():
    lightness = torch.tensor([0.0, 50.0, 100.0])
    assert normalize_lightness(lightness).tolist() == [-1.0, 0.0, 1.0]
    ab = torch.tensor([-128.0, 0.0, 64.0])
    torch.testing.assert_close(denormalize_ab(normalize_ab(ab)), ab)
