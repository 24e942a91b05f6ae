"""16-bit composition (issue 19: the 16-bit encoding in place, without torch temporaries) against the
reference path: upsampled ab, skimage's lab2rgb in float64, rounded to 16 bits."""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from skimage.color import lab2rgb, rgb2lab

from colorplug.color import compose


def test_16_bit_compose_matches_the_float64_reference(photos):
    rgb = photos["astronaut"][::2, ::2]
    deep = rgb.astype(np.uint16) * 257
    lightness = compose.lightness(deep)
    ab_small = torch.from_numpy(rgb2lab(rgb[::8, ::8])[..., 1:].astype(np.float32)).permute(2, 0, 1)
    ab_small = compose.fit_to_gamut(compose.small_lightness(deep, ab_small.shape[1:])[None], ab_small)
    ours = compose.compose(deep, ab_small, np.uint16)
    ab = F.interpolate(ab_small[None], size=lightness.shape, mode="bilinear", align_corners=False)[0]
    lab = np.concatenate((lightness[..., None], ab.permute(1, 2, 0).numpy()), axis=-1).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage reports the negative Z it clips, as compose does
        reference = np.rint(np.clip(lab2rgb(lab), 0, 1) * 65535)
    difference = np.abs(ours.astype(np.int64) - reference.astype(np.int64))
    assert ours.dtype == np.uint16
    assert difference.max() <= 1  # float32 maths against float64: one 16-bit level at most
    assert (difference == 0).mean() >= 0.99
