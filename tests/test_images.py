"""Reading and writing photos: every common mode, 16 bits, alpha, EXIF orientation, ICC, bombs."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from colorplug.io.decode import load_picture
from colorplug.io.encode import save_picture
from colorplug.io.picture import ImageError, Picture
from colorplug.io.png16 import encode_png16


@pytest.fixture()
def rgb(photos) -> np.ndarray:
    return np.asarray(Image.fromarray(photos["coffee"]).resize((60, 40)))


@pytest.mark.parametrize(
    ("mode", "gray", "has_alpha"),
    [
        ("1", True, False),
        ("L", True, False),
        ("LA", True, True),
        ("RGB", False, False),
        ("RGBA", False, True),
        ("P", False, False),
        ("CMYK", False, False),
        ("I;16", True, False),
        ("I", True, False),
        ("F", True, False),
        ("YCbCr", False, False),
    ],
)
def test_every_common_mode_loads(tmp_path, rgb, mode, gray, has_alpha):
    image = Image.fromarray(rgb).convert("RGBA" if mode == "LA" else "RGB")
    if mode == "LA":
        image = image.convert("LA")
    elif mode in ("I;16", "I", "F"):
        image = (
            image.convert("L").convert(mode)
            if mode != "I;16"
            else Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257)
        )
    else:
        image = image.convert(mode)
    suffix = {"CMYK": ".tif", "YCbCr": ".jpg", "F": ".tif", "I": ".tif"}.get(mode, ".png")
    path = tmp_path / f"image{suffix}"
    image.save(path)
    picture = load_picture(path)
    assert picture.is_gray == gray
    assert (picture.alpha is not None) == has_alpha
    assert (picture.height, picture.width) == (40, 60)


def test_palette_with_transparency_keeps_its_alpha(tmp_path, rgb):
    image = Image.fromarray(rgb).quantize(16)
    image.info["transparency"] = 0
    image.save(tmp_path / "p.png", transparency=0)
    picture = load_picture(tmp_path / "p.png")
    assert picture.alpha is not None and (picture.alpha == 0).any() and (picture.alpha == 255).any()


def test_sixteen_bit_gray_png_keeps_full_precision(tmp_path):
    samples = (np.arange(64 * 64, dtype=np.uint32) * 16 % 65536).astype(np.uint16).reshape(64, 64)
    Image.fromarray(samples).save(tmp_path / "g16.png")
    picture = load_picture(tmp_path / "g16.png")
    assert picture.color.dtype == np.uint16
    np.testing.assert_array_equal(picture.color, samples)


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_sixteen_bit_colour_pngs_round_trip_exactly(tmp_path, channels):
    samples = np.random.default_rng(channels).integers(0, 65536, (33, 47, channels), dtype=np.uint16)
    path = tmp_path / "c16.png"
    path.write_bytes(encode_png16(samples))
    with Image.open(path) as image:  # a third-party decoder reads our file (its high bytes)
        high = np.asarray(image.convert("RGBA" if channels in (2, 4) else "RGB"))
    expected_high = (samples >> 8).astype(np.uint8)
    if channels == 2:
        np.testing.assert_array_equal(high[..., 0], expected_high[..., 0])
    else:
        np.testing.assert_array_equal(high[..., :channels], expected_high)
    picture = load_picture(path)
    if channels == 2:
        np.testing.assert_array_equal(picture.color, samples[..., 0])
    else:
        np.testing.assert_array_equal(picture.color, samples[..., :3])
    if channels in (2, 4):
        np.testing.assert_array_equal(picture.alpha, samples[..., -1])


@pytest.mark.parametrize(
    ("suffix", "alpha"), [(".png", True), (".png", False), (".tif", True), (".tif", False)]
)
def test_sixteen_bit_pictures_save_and_reload_exactly(tmp_path, suffix, alpha):
    rng = np.random.default_rng(3)
    picture = Picture(
        color=rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16),
        alpha=rng.integers(0, 65536, (20, 30), dtype=np.uint16) if alpha else None,
    )
    save_picture(picture, tmp_path / f"out{suffix}")
    back = load_picture(tmp_path / f"out{suffix}")
    np.testing.assert_array_equal(back.color, picture.color)
    if alpha:
        np.testing.assert_array_equal(back.alpha, picture.alpha)


def test_sixteen_bit_tiff_from_another_writer_is_read_at_full_precision(tmp_path):
    samples = np.random.default_rng(4).integers(0, 65536, (16, 24, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "t.tif", samples, photometric="rgb")
    np.testing.assert_array_equal(load_picture(tmp_path / "t.tif").color, samples)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path, rgb, orientation):
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = "colorplug test camera"  # Make: must survive
    image.save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=95)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.jpg")))
    picture = load_picture(tmp_path / "o.jpg")
    np.testing.assert_array_equal(picture.color, expected)
    kept = Image.Exif()
    kept.load(picture.exif)
    assert 0x0112 not in kept  # already applied: the output must not rotate it again
    assert kept[0x010F] == "colorplug test camera"
    save_picture(picture, tmp_path / "carried.jpg")
    written = Image.open(tmp_path / "carried.jpg").getexif()
    assert written[0x010F] == "colorplug test camera" and 0x0112 not in written


def test_icc_profile_is_carried_to_the_output(tmp_path, rgb):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(rgb).save(tmp_path / "icc.jpg", icc_profile=profile)
    picture = load_picture(tmp_path / "icc.jpg")
    assert picture.icc_profile == profile
    for suffix in (".jpg", ".png", ".webp", ".tif"):
        save_picture(picture, tmp_path / f"out{suffix}")
        assert Image.open(tmp_path / f"out{suffix}").info.get("icc_profile") == profile


def png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(100_000, 100_000))
    with pytest.raises(ImageError, match="over the limit"):
        load_picture(path)
    with pytest.raises(ImageError, match="over the limit"):
        load_picture(path, max_pixels=1000)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not an image"),
        (b"hello, world", "not an image"),
    ],
)
def test_non_images_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as caught:
        load_picture(path)
    assert "\n" not in str(caught.value)


def test_truncated_files_give_one_line_errors(tmp_path, rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="cannot decode") as caught:
        load_picture(path)
    assert "\n" not in str(caught.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        load_picture(tmp_path / "none.png")
    with pytest.raises(ImageError, match="folder"):
        load_picture(tmp_path)


def test_jpeg_cannot_take_alpha(tmp_path):
    picture = Picture(color=np.zeros((4, 4, 3), np.uint8), alpha=np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageError, match="alpha"):
        save_picture(picture, tmp_path / "x.jpg")
    assert list(tmp_path.iterdir()) == []
