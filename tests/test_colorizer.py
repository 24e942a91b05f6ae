"""The Colorizer API with a tiny random network: sizes, kept lightness, alpha, bit depth, kinds."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from colorplug import Colorizer, ColorplugError
from colorplug.defaults import DEFAULT_VIVIDNESS
from colorplug.io.decode import load_picture
from colorplug.io.encode import save_picture
from colorplug.io.picture import Picture


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


@pytest.fixture(scope="module")
def lite(lite_weights) -> Colorizer:
    return Colorizer(lite_weights, device="cpu", render_size=64)


def transparent_hints(shape: tuple[int, int]) -> np.ndarray:
    return np.zeros((*shape, 4), np.uint8)


def test_vividness_moves_the_colours_and_is_validated(lite_weights, photos):
    gray = gray_of(photos["chelsea"])
    outputs = {
        v: Colorizer(lite_weights, device="cpu", render_size=64, vividness=v).colorize(gray) for v in (0, 1)
    }
    assert Colorizer(lite_weights, device="cpu").vividness == DEFAULT_VIVIDNESS
    assert np.abs(outputs[0].astype(int) - outputs[1].astype(int)).mean() > 1
    for bad in (-0.1, 1.6, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="vividness"):
            Colorizer(lite_weights, device="cpu", vividness=bad)


def test_weights_without_the_distribution_head_refuse_vividness_and_hints(tiny_weights, photos):
    with pytest.raises(ColorplugError, match="no vividness control"):
        Colorizer(tiny_weights, device="cpu", vividness=0.7)
    colorizer = Colorizer(tiny_weights, device="cpu", render_size=64)
    gray = gray_of(photos["chelsea"])
    with pytest.raises(ColorplugError, match="take no colour hints"):
        colorizer.colorize(gray, hints=transparent_hints(gray.shape))


def test_a_transparent_hint_image_equals_no_hints(lite, photos):
    gray = gray_of(photos["coffee"])
    np.testing.assert_array_equal(
        lite.colorize(gray, hints=transparent_hints(gray.shape)), lite.colorize(gray)
    )


def test_hints_change_the_colours_where_given(lite, photos, tmp_path):
    gray = gray_of(photos["coffee"])
    hints = transparent_hints(gray.shape)
    hints[100:140, 200:240] = (220, 20, 20, 255)
    Image.fromarray(hints).save(tmp_path / "hints.png")
    plain = lite.colorize(gray)
    for given in (hints, Image.fromarray(hints), tmp_path / "hints.png"):  # array, PIL image, path
        hinted = lite.colorize(gray, hints=given)
        assert np.abs(hinted[100:140, 200:240].astype(int) - plain[100:140, 200:240]).mean() > 1
        lightness = rgb2lab(np.repeat(gray[..., None], 3, -1))[..., 0]
        assert np.abs(rgb2lab(hinted)[..., 0] - lightness).mean() < 0.5  # L is still the photo's


def test_unusable_hint_images_are_one_clear_error(lite, photos):
    from colorplug.hints.maps import HintError

    gray = gray_of(photos["coffee"])
    with pytest.raises(HintError, match="no alpha channel"):
        lite.colorize(gray, hints=np.zeros((*gray.shape, 3), np.uint8))
    with pytest.raises(HintError, match="aspect ratios differ"):
        lite.colorize(gray, hints=transparent_hints((gray.shape[0], gray.shape[0])))
    half = transparent_hints((gray.shape[0] // 2, gray.shape[1] // 2))
    assert lite.colorize(gray, hints=half).shape == (*gray.shape, 3)  # same aspect: scaled
    with pytest.raises(HintError, match=r"hints missing\.png: file not found"):
        lite.colorize(gray, hints="missing.png")
    with pytest.raises(HintError, match=r"^hints: cannot colorize a list"):
        lite.colorize(gray, hints=[[0, 0, 0, 0]])
    with pytest.raises(HintError, match="NaN"):
        lite.colorize(gray, hints=np.full((*gray.shape, 4), np.nan, np.float32))


def test_non_finite_saturation_is_refused(tiny_weights):
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="saturation"):
            Colorizer(tiny_weights, device="cpu", saturation=bad)
