"""Property-based tests: the loader never fails in an unexpected way, LAB conversions hold on any data."""

from __future__ import annotations

import io

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from colorplug.color.lab import lab_to_rgb, rgb_to_lab
from colorplug.io.decode import load_picture
from colorplug.io.picture import ImageError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

shapes = st.tuples(st.integers(1, 24), st.integers(1, 24))


@FAST
@given(
    arrays(
        np.float32,
        st.tuples(st.just(3), st.integers(1, 8), st.integers(1, 8)),
        elements=st.floats(0, 1, width=32),
    )
)
def test_rgb_lab_round_trip_on_any_colours(rgb):
    back = lab_to_rgb(rgb_to_lab(torch.from_numpy(rgb)))
    assert torch.isfinite(back).all()
    assert (back - torch.from_numpy(rgb)).abs().max() <= 2e-3


@FAST
@given(
    arrays(
        np.float32,
        st.tuples(st.just(3), st.integers(1, 6), st.integers(1, 6)),
        elements=st.floats(-1e4, 1e4, width=32),
    )
)
def test_lab_to_rgb_is_always_finite_and_in_range(lab):
    rgb = lab_to_rgb(torch.from_numpy(lab))
    assert torch.isfinite(rgb).all() and rgb.min() >= 0 and rgb.max() <= 1


@st.composite
def images(draw):
    mode = draw(st.sampled_from(["L", "LA", "RGB", "RGBA", "I;16", "P", "1", "CMYK"]))
    height, width = draw(shapes)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16)), "PNG"
    base = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), "RGBA")
    image = base.convert(mode) if mode != "P" else base.convert("RGB").quantize(8)
    fmt = draw(st.sampled_from(["TIFF"] if mode == "CMYK" else ["PNG", "TIFF", "WEBP"]))
    if fmt == "WEBP" and mode not in ("RGB", "RGBA", "L"):
        fmt = "PNG"
    return image, fmt


@FAST
@given(images())
def test_any_saved_image_loads_with_its_size(tmp_path, drawn):
    image, fmt = drawn
    path = tmp_path / f"x.{fmt.lower()}"
    image.save(path, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    picture = load_picture(path)
    assert (picture.height, picture.width) == (image.height, image.width)
    if image.mode in ("L", "I;16") and fmt in ("PNG", "TIFF"):
        np.testing.assert_array_equal(picture.color, np.asarray(image))


@FAST
@given(
    st.binary(max_size=600),
    st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"II*\x00"]),
)
def test_arbitrary_bytes_give_a_picture_or_an_image_error_only(tmp_path, tail, head):
    path = tmp_path / "fuzz.img"
    path.write_bytes(head + tail)
    try:
        picture = load_picture(path)
    except ImageError as exc:
        assert "\n" not in str(exc)
    else:
        assert picture.height > 0 and picture.width > 0


def test_a_real_image_inside_noise_is_still_read(tmp_path):
    buffer = io.BytesIO()
    Image.new("L", (5, 4), 100).save(buffer, "PNG")
    path = tmp_path / "ok.png"
    path.write_bytes(buffer.getvalue())
    assert load_picture(path).color.shape == (4, 5)
