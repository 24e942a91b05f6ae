"""The faster confidence path (issue 16's cost target): the map stays within a level or so of the float
path it replaced, and the fast PNG writer keeps every value, opens in Pillow and is marked as ours."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from colorplug.color.confidence import cell_confidence, to_full_size, to_render_size
from colorplug.engine.colorizer import Colorizer
from colorplug.io.graymap import save_gray_map
from colorplug.io.picture import Picture
from colorplug.io.provenance import is_colorplug_output


def float_map(confidence: torch.Tensor, shape: tuple[int, int]) -> np.ndarray:
    """The map as it was made before: a float bilinear resize to full size, then 8 bits."""
    full = F.interpolate(confidence.float()[None, None], size=shape, mode="bilinear", align_corners=False)
    return (full[0, 0].clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()


def old_map(colorizer: Colorizer, gray: np.ndarray) -> np.ndarray:
    """The whole old path: the distribution decoded a second time for the map, the float resize."""
    prepared = colorizer.prepare(Picture(gray))
    small = prepared.lightness_small[None, None]
    settings = (colorizer.network.bins.cpu(), colorizer.network.class_weights.cpu(), colorizer.vividness)
    with torch.inference_mode():
        cells = cell_confidence(colorizer.predict_logits(prepared), *settings, small, colorizer.decoder)
        return float_map(to_render_size(cells, small)[0, 0], gray.shape)


def differences(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    return np.abs(new.astype(np.int16) - old.astype(np.int16))


def test_the_8_bit_resize_is_within_a_level_of_the_float_one():
    smooth = F.avg_pool2d(torch.rand(1, 1, 60, 80, generator=torch.Generator().manual_seed(0)), 5, 1, 2)[0, 0]
    smooth[:, :10] = 0.0  # the extremes and a hard step too
    smooth[:, 10:20] = 1.0
    diff = differences(to_full_size(smooth, (1000, 1400)), float_map(smooth, (1000, 1400)))
    assert diff.mean() <= 0.5 and diff.max() <= 1


def test_the_map_stays_close_to_the_old_float_path(lite_weights, photos):
    colorizer = Colorizer(lite_weights, device="cpu")
    gray = np.asarray(Image.fromarray(photos["chelsea"]).convert("L").resize((1500, 1000)))
    _, new = colorizer.colorize(gray, confidence=True)
    old = old_map(colorizer, gray)
    assert old.std() > 5  # a map with something in it, so the comparison can fail
    diff = differences(new, old)
    assert diff.mean() <= 1.0 and diff.max() <= 4


def test_the_fast_png_keeps_every_value_and_is_marked(tmp_path):
    values = np.random.default_rng(0).integers(0, 256, (37, 53), dtype=np.uint8)  # Up wraps modulo 256
    target = tmp_path / "map.png"
    save_gray_map(values, target)
    with Image.open(target) as image:
        assert image.format == "PNG" and image.mode == "L" and image.size == (53, 37)
        assert np.array_equal(np.asarray(image), values)
    assert is_colorplug_output(target)
