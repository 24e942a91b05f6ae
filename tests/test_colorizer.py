"""The Colorizer API with a tiny random network: sizes, kept lightness, alpha, bit depth, kinds."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from colorplug import Colorizer
from colorplug.images import Picture, load_picture, save_picture


@pytest.fixture(scope="module")
def colorizer(tiny_weights) -> Colorizer:
    return Colorizer(tiny_weights, device="cpu", render_size=64)


def gray_of(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


def test_output_has_input_size_and_keeps_lightness(colorizer, photos):
    gray = gray_of(photos["chelsea"])
    out = colorizer.colorize(gray)
    assert out.shape == (*gray.shape, 3) and out.dtype == np.uint8
    assert out.std(axis=-1).mean() > 1  # really coloured
    lightness_in = rgb2lab(np.repeat(gray[..., None], 3, -1))[..., 0]
    lightness_out = rgb2lab(out)[..., 0]
    assert np.abs(lightness_out - lightness_in).mean() < 0.5


def test_pil_in_pil_out_with_alpha(colorizer, photos):
    image = Image.fromarray(photos["coffee"]).convert("LA")
    out = colorizer.colorize(image)
    assert isinstance(out, Image.Image) and out.mode == "RGBA" and out.size == image.size
    np.testing.assert_array_equal(np.asarray(out)[..., 3], np.asarray(image)[..., 1])


def test_sixteen_bit_in_gives_sixteen_bit_out(colorizer, tmp_path):
    ramp = (np.linspace(0, 65535, 80 * 120).reshape(80, 120)).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    picture = colorizer.colorize(tmp_path / "deep.png")
    assert isinstance(picture, Picture) and picture.color.dtype == np.uint16
    save_picture(picture, tmp_path / "out.png")
    back = load_picture(tmp_path / "out.png")
    assert back.color.dtype == np.uint16 and back.color.shape == (80, 120, 3)
    assert len(np.unique(back.color[..., 1])) > 256  # more levels than 8 bits hold


def test_float_arrays_come_back_as_float(colorizer):
    gray = np.random.default_rng(0).random((40, 50))
    out = colorizer.colorize(gray)
    assert out.dtype == gray.dtype and out.shape == (40, 50, 3) and out.min() >= 0 and out.max() <= 1


def test_saturation_zero_gives_the_gray_photo_back(tiny_weights, photos):
    gray = gray_of(photos["astronaut"])
    out = Colorizer(tiny_weights, device="cpu", render_size=64, saturation=0).colorize(gray)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], gray)


def test_colour_input_is_treated_by_its_lightness_only(colorizer, photos):
    rgb = photos["coffee"]
    from_colour = colorizer.colorize(rgb)
    lightness = rgb2lab(rgb)[..., 0]
    assert np.abs(rgb2lab(from_colour)[..., 0] - lightness).mean() < 0.5


def test_batch_matches_single_calls(colorizer, photos):
    grays = [gray_of(photos[name]) for name in ("chelsea", "coffee", "chelsea")]
    batch = colorizer.colorize_batch(grays)
    for gray, out in zip(grays, batch, strict=True):
        np.testing.assert_allclose(out.astype(int), colorizer.colorize(gray).astype(int), atol=1)


def test_tiny_and_extreme_images(colorizer):
    for shape in [(1, 1), (1, 500), (500, 2), (3, 3)]:
        assert colorizer.colorize(np.full(shape, 128, np.uint8)).shape == (*shape, 3)


def test_unsupported_inputs_are_refused(colorizer):
    with pytest.raises(TypeError):
        colorizer.colorize(12)
