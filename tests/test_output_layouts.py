"""Outputs written without a full-size copy (issue 19): TIFFs a strip at a time, the same file pixel for pixel
and tag for tag as the full-size result written at once (which is never made); JPEGs from samples laid out
as Pillow's RGBX, byte for byte the JPEG of plain RGB. benchmarks/big_scans.py prints the peak memory."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from colorplug import Colorizer
from colorplug.color import compose
from colorplug.io.decode import load_picture
from colorplug.io.encode import save_picture, save_striped
from colorplug.io.picture import ImageError, Picture
from colorplug.jobs.batch import run_jobs
from colorplug.jobs.plan import Job
from tests.test_formats import camera_exif, carried_exif

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture
def colorizer(lite_weights):
    return Colorizer(lite_weights, device="cpu", render_size=64)


def source_pictures(photos) -> dict[str, Picture]:
    """A 16-bit gray scan with alpha, profile and EXIF; an 8-bit gray photo without; 90 rows of 120."""
    gray8 = np.asarray(Image.fromarray(photos["astronaut"]).convert("L").resize((120, 90)))
    alpha = np.tile(np.linspace(0, 65535, 120).astype(np.uint16), (90, 1))
    scan = Picture(gray8.astype(np.uint16) * 257 + 100, alpha, SRGB, camera_exif().tobytes())
    return {"scan16": scan, "photo8": Picture(gray8)}


@pytest.mark.parametrize("name", ["scan16", "photo8"])
def test_a_striped_tiff_is_the_tiff_written_at_once(tmp_path, photos, colorizer, monkeypatch, name):
    monkeypatch.setattr(compose, "STRIP_PIXELS", 1000)  # 8 rows a strip: 12 strips, the last of 2 rows
    prepared = colorizer.prepare(source_pictures(photos)[name])
    ab = colorizer.predict_prepared([prepared])[0]
    save_picture(colorizer.finish(prepared, ab), tmp_path / "whole.tif")
    striped = colorizer.finish_strips(prepared, ab)
    assert striped.rows == 8
    save_striped(striped, tmp_path / "strips.tif")
    whole, strips = (tifffile.imread(tmp_path / f"{kind}.tif") for kind in ("whole", "strips"))
    assert strips.dtype == whole.dtype and np.array_equal(strips, whole)
    assert strips.shape == (90, 120, 4 if name == "scan16" else 3)
    with tifffile.TiffFile(tmp_path / "strips.tif") as tif:
        page = tif.pages[0]
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE and page.predictor == 2
        assert page.rowsperstrip == 8 and len(page.dataoffsets) == 12
    layout = {0x0111, 0x0116, 0x0117, 0x8769, 0x8825}  # where strips and sub-IFDs lie: the difference
    exifs = [carried_exif(tmp_path / f"{kind}.tif") for kind in ("strips", "whole")]
    tags = [{tag: value for tag, value in exif.items() if tag not in layout} for exif in exifs]
    assert tags[0] == tags[1] and (0x010F in tags[0]) == (name == "scan16")
    for group in (0x8769, 0x8825, 0xA005):  # the Exif, GPS and interoperability IFDs, less the pointer
        ifds = [{tag: value for tag, value in exif.get_ifd(group).items() if tag != 0xA005} for exif in exifs]
        assert ifds[0] == ifds[1]
    with Image.open(tmp_path / "strips.tif") as opened:  # Pillow decodes it too (at 8 bits for 16-bit RGB)
        opened.load()
        assert opened.size == (120, 90)
        assert (opened.info.get("icc_profile") == SRGB) == (name == "scan16")


def test_colorplug_run_writes_tiffs_in_strips_with_the_api_s_pixels(tmp_path, photos, colorizer, monkeypatch):
    monkeypatch.setattr(compose, "STRIP_PIXELS", 2000)
    source = tmp_path / "scan.tif"
    save_picture(source_pictures(photos)["scan16"], source)
    (result,) = run_jobs(colorizer, [Job(source, tmp_path / "out.tif")])
    assert result.error is None
    expected = colorizer.colorize(load_picture(source))
    written = load_picture(tmp_path / "out.tif")
    assert np.array_equal(written.color, expected.color) and np.array_equal(written.alpha, expected.alpha)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.pages[0].rowsperstrip == 16


def test_strips_are_written_only_as_tiff(tmp_path, photos, colorizer):
    prepared = colorizer.prepare(source_pictures(photos)["photo8"])
    striped = colorizer.finish_strips(prepared, colorizer.predict_prepared([prepared])[0])
    with pytest.raises(ImageError, match="only as TIFF"):
        save_striped(striped, tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_colorplug_run_writes_jpegs_from_padded_samples_byte_for_byte(tmp_path, photos, colorizer):
    source = tmp_path / "photo.png"
    picture = source_pictures(photos)["photo8"]
    save_picture(Picture(picture.color, icc_profile=SRGB, exif=camera_exif().tobytes()), source)
    (result,) = run_jobs(colorizer, [Job(source, tmp_path / "out.jpg")])
    assert result.error is None
    prepared = colorizer.prepare(load_picture(source))
    padded = colorizer.finish(prepared, colorizer.predict_prepared([prepared])[0], np.uint8, padded=True)
    assert padded.color.base.shape == (90, 120, 4)  # what Pillow wraps as RGBX, no copy
    save_picture(colorizer.colorize(load_picture(source)), tmp_path / "plain.jpg")  # contiguous RGB
    assert (tmp_path / "out.jpg").read_bytes() == (tmp_path / "plain.jpg").read_bytes()


@pytest.mark.parametrize("lossless", [True, False])
def test_a_webp_copy_is_lossless_exactly_when_its_photo_was(tmp_path, photos, colorizer, lossless):
    from colorplug.io.decode import is_lossless_webp

    source = tmp_path / "photo.webp"
    Image.fromarray(source_pictures(photos)["photo8"].color).save(source, lossless=lossless, quality=80)
    (result,) = run_jobs(colorizer, [Job(source, tmp_path / "out.webp")])
    assert result.error is None
    assert is_lossless_webp(tmp_path / "out.webp") == lossless
    if lossless:  # every sample as composed
        expected = colorizer.colorize(load_picture(source)).color
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out.webp").convert("RGB")), expected)
