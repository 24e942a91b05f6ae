"""The Python API given what callers really pass (issue 19): arrays of any byte order, strides, float16 or
read-only are read as their values say, or refused in one line; hint problems are HintErrors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from colorplug import Colorizer, ColorplugError
from colorplug.hints.maps import HintError


@pytest.fixture(scope="module")
def colorizer(tiny_weights) -> Colorizer:
    return Colorizer(tiny_weights, device="cpu", render_size=64)


@pytest.fixture(scope="module")
def gray(photos) -> np.ndarray:
    return np.asarray(Image.fromarray(photos["coffee"]).convert("L").resize((120, 90)))


def mean_lightness(rgb: np.ndarray) -> float:
    return float(np.asarray(Image.fromarray(rgb).convert("L"), np.float64).mean())


def test_float16_in_unit_range_is_as_bright_as_the_uint8_photo(colorizer, gray):
    reference = colorizer.colorize(gray)
    half = colorizer.colorize((gray / 255.0).astype(np.float16))
    assert half.dtype == np.float16
    as_uint8 = np.rint(half.astype(np.float32) * 255).astype(np.uint8)
    assert abs(mean_lightness(as_uint8) - mean_lightness(reference)) < 1.0
    assert np.abs(as_uint8.astype(int) - reference.astype(int)).max() <= 2


@pytest.mark.parametrize("order", [">u2", "<u2"])
def test_uint16_of_either_byte_order_gives_the_same_result(colorizer, gray, order):
    native = gray.astype(np.uint16) * 257
    result = colorizer.colorize(native.astype(order))
    assert result.dtype.byteorder in "=|" or result.dtype.isnative
    assert np.array_equal(result, colorizer.colorize(native))


def test_big_endian_floats_read_as_their_values(colorizer, gray):
    native = (gray / 255.0).astype(np.float32)
    assert np.array_equal(colorizer.colorize(native.astype(">f4")), colorizer.colorize(native))


@pytest.mark.parametrize("view", ["strided", "transposed", "negative stride", "channel view"])
def test_non_contiguous_arrays_give_the_result_of_their_copy(colorizer, gray, view):
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    arrays = {
        "strided": gray[::2, ::3],
        "transposed": gray.T,
        "negative stride": gray[::-1, ::-1],
        "channel view": np.concatenate([rgb, rgb], axis=-1)[..., ::2],
    }
    array = arrays[view]
    assert not array.flags.c_contiguous
    assert np.array_equal(colorizer.colorize(array), colorizer.colorize(np.ascontiguousarray(array)))


def test_read_only_arrays_are_read_and_never_written(colorizer, gray):
    frozen = gray.copy()
    frozen.setflags(write=False)
    rgba = np.dstack([np.repeat(gray[..., None], 3, axis=-1), np.full(gray.shape, 200, np.uint8)])
    rgba.setflags(write=False)
    assert np.array_equal(colorizer.colorize(frozen), colorizer.colorize(gray))
    assert colorizer.colorize(rgba).shape == rgba.shape
    assert np.array_equal(frozen, gray)


@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.bool_, np.complex64, np.uint32, np.int8])
def test_other_dtypes_are_refused_in_one_line(colorizer, gray, dtype):
    with pytest.raises(ColorplugError, match="uint8, uint16 or float") as caught:
        colorizer.colorize(gray.astype(dtype))
    assert "\n" not in str(caught.value)


def test_a_hint_map_of_the_wrong_shape_is_a_hint_error(lite_weights, gray):
    colorizer = Colorizer(lite_weights, device="cpu", render_size=64)
    with pytest.raises(HintError, match=r"a hint map must be \(3, 90, 120\), got \(3, 10, 10\)"):
        colorizer.colorize(gray, hints=torch.zeros(3, 10, 10))


def test_fewer_hints_than_images_is_a_hint_error(lite_weights, gray):
    colorizer = Colorizer(lite_weights, device="cpu", render_size=64)
    with pytest.raises(HintError, match="2 images but 1 hint"):
        colorizer.colorize_batch([gray, gray], hints=[None])
    with pytest.raises(HintError, match="1 image but 3 hint"):
        colorizer.colorize_batch([gray], hints=[None, None, None])


def test_hint_errors_are_still_value_errors_for_older_callers(lite_weights, gray):
    colorizer = Colorizer(lite_weights, device="cpu", render_size=64)
    with pytest.raises(ValueError):
        colorizer.colorize(gray, hints=torch.zeros(2, 90, 120))


def strict_json(path):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


@pytest.mark.parametrize("hints", ["0", "2"])
def test_eval_on_tiny_and_colourless_photos_writes_valid_json(tmp_path, lite_weights, hints):
    from click.testing import CliRunner
    from colorplug_cli.main import main

    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (6, 6), (128, 128, 128)).save(data / "gray.png")  # no colour: ratio undefined
    Image.new("RGB", (1, 1), (128, 128, 128)).save(data / "dot.png")  # under SSIM's window
    report = tmp_path / "report"
    command = ["eval", str(data), "--weights", str(lite_weights), "--protocol", "native", "--hints", hints]
    result = CliRunner().invoke(main, [*command, "--report", str(report)])
    assert result.exit_code == 0, result.output
    summary = strict_json(report / "summary.json")
    assert summary["model"]["ssim"] is None and summary["model"]["colorfulness_ratio"] is None
    assert "7x7 window" in summary["undefined"]["model.ssim"]
    assert "no colour" in summary["undefined"]["gray_baseline.colorfulness_ratio"]
    assert isinstance(summary["model"]["psnr"], float)  # finite figures stay numbers


def test_rounding_16_to_8_bits_is_exact_and_needs_no_full_size_temporaries():
    import tracemalloc

    from colorplug.io.picture import to_uint8

    codes = np.arange(65536, dtype=np.uint16)
    assert np.array_equal(
        to_uint8(codes), ((codes.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    )
    big = np.random.default_rng(0).integers(0, 65536, (2000, 2000, 3), dtype=np.uint16)
    tracemalloc.start()
    out = to_uint8(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * out.nbytes  # the output and a few small blocks (uint32 of the photo: 8x)
    assert np.array_equal(out[::97, ::89], to_uint8(np.ascontiguousarray(big[::97, ::89])))


def test_floats_on_the_8_bit_scale_are_refused_not_clipped_to_white(colorizer, gray):
    with pytest.raises(ColorplugError, match=r"\[0, 1\], these reach 2\d\d: divide by 255") as caught:
        colorizer.colorize(gray.astype(np.float32))  # 0..255 floats, the common slip
    assert "\n" not in str(caught.value)
    nudged = (gray / 255.0).astype(np.float32) * 1.005  # rounding past 1.0 is clipped, as before
    assert colorizer.colorize(nudged).dtype == np.float32
