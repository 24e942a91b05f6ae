"""Files are sacred: every TIFF variant Pillow and tifffile write, PNG colour keys, short image data and
odd or oversized metadata. Each valid file loads with its lightness, alpha and orientation and gives
outputs that Pillow (and tifffile, for TIFF) open the same way; each bad one gives one ImageError line.

The case builders here also feed the CLI corpus (tests/test_corpus.py).
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile, ImageOps
from skimage.color import rgb2lab

from colorplug.io.decode import load_picture
from colorplug.io.encode import save_picture
from colorplug.io.exif import EXIF_LIMIT
from colorplug.io.picture import ImageError, Picture, replace_color

try:  # tifffile writes LZW, ZSTD, JPEG and packbits only with imagecodecs
    import imagecodecs  # noqa: F401

    HAVE_IMAGECODECS = True
except ImportError:
    HAVE_IMAGECODECS = False
SIZE = (48, 32)  # width, height of every generated photo


@dataclass(frozen=True)
class Case:
    """A file's bytes and what a correct decoder shows: display-oriented uint8 RGB and alpha."""

    content: bytes
    rgb: np.ndarray
    alpha: np.ndarray | None = None
    tolerance: float = 1.0  # mean |L difference| allowed; lossy codecs in the file need more


def small_rgb(photos: dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(Image.fromarray(photos["coffee"]).resize(SIZE))


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def tifffile_bytes(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()


def as_rgb(gray: np.ndarray) -> np.ndarray:
    return np.dstack([gray] * 3)


def oriented(array: np.ndarray, orientation: int) -> np.ndarray:
    """The array as a viewer shows it under an EXIF/TIFF orientation (Pillow's exif_transpose)."""
    image = Image.fromarray(array)
    image.getexif()[0x0112] = orientation
    return np.asarray(ImageOps.exif_transpose(image))


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_from_rows(
    rows: np.ndarray,
    depth: int,
    color_type: int,
    kept_rows: int,
    extra: bytes = b"",
    width: int | None = None,
) -> bytes:
    """A well-formed PNG (IEND, CRCs) whose single zlib stream holds only the first `kept_rows` rows;
    `extra` chunks go before the data; `width` is needed when the rows are packed (under 8 bits)."""
    height, width = len(rows), width or rows.shape[1]
    raw = np.ascontiguousarray(rows, dtype=">u2" if depth == 16 else np.uint8).view(np.uint8)
    data = b"".join(b"\x00" + raw[y].tobytes() for y in range(kept_rows))
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(data))
        + chunk(b"IEND", b"")
    )


def exif_with_raw_entries(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """EXIF (with its 'Exif' header) whose IFD0 holds entries (tag, type, count, packed value) as given,
    whatever types the tags should have."""
    data_at = 8 + 2 + 12 * len(entries) + 4
    table, data = struct.pack("<H", len(entries)), b""
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            table += struct.pack("<HHL", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHLL", tag, kind, count, data_at + len(data))
            data += value + b"\x00" * (len(value) % 2)
    return b"Exif\x00\x00II*\x00" + struct.pack("<L", 8) + table + b"\x00\x00\x00\x00" + data


# --- TIFF variants --------------------------------------------------------------------------------------

PILLOW_COMPRESSIONS = ("raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "zstd")


def pillow_tiff_cases(rgb: np.ndarray) -> dict[str, Case]:
    """Every Pillow mode a TIFF can hold, in every compression Pillow's libtiff writes."""
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    ramp = np.tile(np.linspace(0, 255, rgb.shape[1]).astype(np.uint8), (rgb.shape[0], 1))
    palette = Image.fromarray(rgb).quantize(64)
    cmyk = Image.fromarray(rgb).convert("CMYK")
    bilevel = Image.fromarray(gray).convert("1")
    modes = {
        "L": (Image.fromarray(gray), as_rgb(gray), None),
        "RGB": (Image.fromarray(rgb), rgb, None),
        "RGBA": (Image.fromarray(np.dstack([rgb, ramp])), rgb, ramp),
        "LA": (Image.fromarray(np.dstack([gray, ramp])), as_rgb(gray), ramp),
        "P": (palette, np.asarray(palette.convert("RGB")), None),
        "CMYK": (cmyk, np.asarray(cmyk.convert("RGB")), None),
        "I16": (Image.fromarray(gray.astype(np.uint16) * 257), as_rgb(gray), None),
        "F": (Image.fromarray(gray.astype(np.float32) / 255), as_rgb(gray), None),
        "F255": (Image.fromarray(gray).convert("F"), as_rgb(gray), None),
        "1": (bilevel, as_rgb(np.asarray(bilevel.convert("L"))), None),
        "I": (Image.fromarray(gray).convert("I"), as_rgb(gray), None),
    }
    cases = {}
    for mode, (image, shown, alpha) in modes.items():
        for compression in PILLOW_COMPRESSIONS:
            content = encoded(image, "TIFF", compression=compression)
            cases[f"pil-{mode}-{compression}.tif"] = Case(content, shown, alpha)
    for mode in ("L", "RGB", "CMYK"):
        image, shown, _ = modes[mode]
        cases[f"pil-{mode}-jpeg.tif"] = Case(encoded(image, "TIFF", compression="jpeg"), shown, tolerance=3)
    for compression in ("group4", "tiff_ccitt"):
        cases[f"pil-1-{compression}.tif"] = Case(
            encoded(bilevel, "TIFF", compression=compression), modes["1"][1]
        )
    for orientation in range(1, 9):
        for mode, compression in (("L", "raw"), ("RGB", "tiff_lzw"), ("I16", "raw")):
            image, shown, _ = modes[mode]
            content = encoded(image, "TIFF", compression=compression, tiffinfo={0x0112: orientation})
            cases[f"pil-{mode}-orientation{orientation}.tif"] = Case(content, oriented(shown, orientation))
    return cases


def tifffile_kinds(rgb: np.ndarray) -> dict[str, tuple[np.ndarray, dict, np.ndarray, np.ndarray | None]]:
    """Arrays tifffile writes (with its options), each with the RGB and alpha it shows."""
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    ramp = np.tile(np.linspace(0, 255, rgb.shape[1]).astype(np.uint8), (rgb.shape[0], 1))
    wide = rgb.astype(np.uint16) * 257
    wide_gray = gray.astype(np.uint16) * 257
    wide_ramp = ramp.astype(np.uint16) * 257
    premultiplied = np.rint(wide * (wide_ramp[..., None] / 65535)).astype(np.uint16)
    cmyk = np.asarray(Image.fromarray(rgb).convert("CMYK"))
    palette_image = Image.fromarray(rgb).quantize(64)
    colormap = np.asarray(palette_image.getpalette() + [0] * (768 - len(palette_image.getpalette())))
    colormap = (colormap.reshape(256, 3).T * 257).astype(np.uint16)
    rgb_opts = {"photometric": "rgb"}
    hdr = (gray / 255).astype(np.float32)
    hdr[: gray.shape[0] // 10] = 4.0  # an HDR photo's highlights, brighter than white
    return {
        "u8gray": (gray, {}, as_rgb(gray), None),
        "u8rgb": (rgb, rgb_opts, rgb, None),
        "u16gray": (wide_gray, {}, as_rgb(gray), None),
        "u16rgb": (wide, rgb_opts, rgb, None),
        "u16rgba": (np.dstack([wide, wide_ramp]), {**rgb_opts, "extrasamples": ["unassalpha"]}, rgb, ramp),
        "u16rgba-assoc": (
            np.dstack([premultiplied, wide_ramp]),
            {**rgb_opts, "extrasamples": ["assocalpha"]},
            np.where(ramp[..., None] == 0, 0, rgb).astype(np.uint8),  # no colour survives alpha 0
            ramp,
        ),
        "u8ga": (
            np.dstack([gray, ramp]),
            {"photometric": "minisblack", "extrasamples": ["unassalpha"]},
            as_rgb(gray),
            ramp,
        ),
        "u16ga": (
            np.dstack([wide_gray, wide_ramp]),
            {"photometric": "minisblack", "extrasamples": ["unassalpha"]},
            as_rgb(gray),
            ramp,
        ),
        "f32gray": (gray.astype(np.float32) / 255, {}, as_rgb(gray), None),
        "f32gray255": (gray.astype(np.float32) + 0.3, {}, as_rgb(gray), None),  # 0..255 with fractions
        "f32hdr": (hdr, {}, as_rgb(np.where(hdr > 1, 255, gray)), None),  # 0..1, a tenth at 4.0: clipped
        "f32rgb": (rgb.astype(np.float32) / 255, rgb_opts, rgb, None),
        "f16rgb": ((rgb.astype(np.float32) / 255).astype(np.float16), rgb_opts, rgb, None),
        "f64gray": (gray.astype(np.float64) / 255, {}, as_rgb(gray), None),
        "u32gray": (gray.astype(np.uint32) * 16843009, {}, as_rgb(gray), None),
        "i16gray": ((wide_gray // 2).astype(np.int16), {}, as_rgb(gray), None),
        "u8cmyk": (
            cmyk,
            {"photometric": "separated"},
            np.asarray(Image.fromarray(cmyk, "CMYK").convert("RGB")),
            None,
        ),
        "u16cmyk": (
            cmyk.astype(np.uint16) * 257,
            {"photometric": "separated"},
            np.asarray(Image.fromarray(cmyk, "CMYK").convert("RGB")),
            None,
        ),
        "u8miniswhite": (255 - gray, {"photometric": "miniswhite"}, as_rgb(gray), None),
        "u16miniswhite": (65535 - wide_gray, {"photometric": "miniswhite"}, as_rgb(gray), None),
        "bilevel": (
            gray > 128,
            {"photometric": "minisblack"},
            as_rgb(np.where(gray > 128, 255, 0).astype(np.uint8)),
            None,
        ),
        "bilevel-miniswhite": (gray > 128, {}, as_rgb(np.where(gray > 128, 0, 255).astype(np.uint8)), None),
        "u8planar": (np.moveaxis(rgb, -1, 0).copy(), {**rgb_opts, "planarconfig": "separate"}, rgb, None),
        "u16planar": (np.moveaxis(wide, -1, 0).copy(), {**rgb_opts, "planarconfig": "separate"}, rgb, None),
        "u8palette": (
            np.asarray(palette_image),
            {"photometric": "palette", "colormap": colormap},
            np.asarray(palette_image.convert("RGB")),
            None,
        ),
        "u16gray-tiled": (wide_gray, {"tile": (16, 16)}, as_rgb(gray), None),
        "u8rgb-tiled": (rgb, {**rgb_opts, "tile": (16, 16)}, rgb, None),
        "u16rgb-bigtiff": (wide, {**rgb_opts, "bigtiff": True}, rgb, None),
        "u8gray-bigtiff": (gray, {"bigtiff": True}, as_rgb(gray), None),
        "u16rgb-multipage": (np.stack([wide, wide[::-1]]), rgb_opts, rgb, None),
        "u8gray-multipage": (np.stack([gray, gray[::-1]]), {}, as_rgb(gray), None),
        "u16rgb-bigendian": (wide, {**rgb_opts, "byteorder": ">"}, rgb, None),
    }


def tifffile_compressions() -> tuple[str | None, ...]:
    """What tifffile writes here: zlib and lzma always; packbits, lzw and zstd need imagecodecs."""
    return (None, "zlib", "lzma") + (("packbits", "lzw", "zstd") if HAVE_IMAGECODECS else ())


def tifffile_tiff_cases(rgb: np.ndarray) -> dict[str, Case]:
    """Every sample type, photometric and layout tifffile writes, in each compression it can."""
    cases = {}
    for kind, (array, options, shown, alpha) in tifffile_kinds(rgb).items():
        for compression in tifffile_compressions():
            content = tifffile_bytes(array, compression=compression, **options)
            cases[f"tf-{kind}-{compression or 'none'}.tif"] = Case(content, shown, alpha)
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    for orientation in range(1, 9):
        for kind, array, options, shown in (
            ("u8gray", gray, {}, as_rgb(gray)),
            ("u16rgb", rgb.astype(np.uint16) * 257, {"photometric": "rgb"}, rgb),
        ):
            content = tifffile_bytes(array, extratags=[(0x0112, 3, 1, orientation, True)], **options)
            cases[f"tf-{kind}-orientation{orientation}.tif"] = Case(content, oriented(shown, orientation))
    if HAVE_IMAGECODECS:
        for kind in ("u8gray", "u8rgb"):
            array, options, shown, _ = tifffile_kinds(rgb)[kind]
            content = tifffile_bytes(array, compression="jpeg", **options)
            cases[f"tf-{kind}-jpeg.tif"] = Case(content, shown, tolerance=3)
        content = tifffile_bytes(
            rgb.astype(np.float32) / 255, photometric="rgb", compression="zlib", predictor=True
        )
        cases["tf-f32rgb-float-predictor.tif"] = Case(content, rgb)
    return cases


def tiff_cases(rgb: np.ndarray) -> dict[str, Case]:
    return {**pillow_tiff_cases(rgb), **tifffile_tiff_cases(rgb)}


# --- PNG colour keys and short image data --------------------------------------------------------------


def colour_key_cases(rgb: np.ndarray) -> dict[str, Case]:
    """PNG transparency given as a tRNS colour key: the pixels of that colour are transparent."""
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    gray_key = int(gray[5, 5])
    rgb_key = tuple(int(v) for v in rgb[5, 5])
    gray_alpha = np.where(gray == gray_key, 0, 255).astype(np.uint8)
    rgb_alpha = np.where((rgb == rgb_key).all(-1), 0, 255).astype(np.uint8)
    wide = rgb.astype(np.uint16) * 257
    levels = (gray // 64).astype(np.uint8)  # 2-bit gray: 0..3, shown as 0, 85, 170, 255
    packed = np.packbits(
        np.unpackbits(levels[..., None], axis=-1)[..., -2:].reshape(len(levels), -1), axis=-1
    )
    two_bit_png = png_from_rows(
        packed, 2, 0, len(levels), chunk(b"tRNS", struct.pack(">H", 2)), levels.shape[1]
    )
    return {
        "trns-gray8.png": Case(
            encoded(Image.fromarray(gray), "PNG", transparency=gray_key), as_rgb(gray), gray_alpha
        ),
        "trns-rgb8.png": Case(encoded(Image.fromarray(rgb), "PNG", transparency=rgb_key), rgb, rgb_alpha),
        "trns-gray16.png": Case(
            encoded(Image.fromarray(gray.astype(np.uint16) * 257), "PNG", transparency=gray_key * 257),
            as_rgb(gray),
            gray_alpha,
        ),
        "trns-rgb16.png": Case(
            png_from_rows(
                wide, 16, 2, wide.shape[0], chunk(b"tRNS", struct.pack(">HHH", *(v * 257 for v in rgb_key)))
            ),
            rgb,
            rgb_alpha,
        ),
        "trns-gray2.png": Case(
            two_bit_png, as_rgb(levels * np.uint8(85)), np.where(levels == 2, 0, 255).astype(np.uint8)
        ),
    }


def short_data_pngs(rgb: np.ndarray) -> dict[str, bytes]:
    """Well-formed PNGs (IEND, good CRCs) whose zlib stream holds only some of the declared rows."""
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    wide = rgb.astype(np.uint16) * 257
    return {
        "half-rows-gray8.png": png_from_rows(gray, 8, 0, gray.shape[0] // 2),
        "half-rows-rgb8.png": png_from_rows(rgb, 8, 2, rgb.shape[0] // 2),
        "last-row-missing-rgb8.png": png_from_rows(rgb, 8, 2, rgb.shape[0] - 1),
        "half-rows-gray16.png": png_from_rows(gray.astype(np.uint16) * 257, 16, 0, gray.shape[0] // 2),
        "half-rows-rgb16.png": png_from_rows(wide, 16, 2, wide.shape[0] // 2),
        "half-rows-rgba16.png": png_from_rows(
            np.dstack([wide, np.full(gray.shape, 40000, np.uint16)]), 16, 6, gray.shape[0] // 2
        ),
    }


# --- checks shared with the corpus ----------------------------------------------------------------------


def lightness(rgb8: np.ndarray) -> np.ndarray:
    return rgb2lab(rgb8)[..., 0]


def shown_problems(rgb8: np.ndarray, alpha8: np.ndarray | None, case: Case, what: str) -> list[str]:
    """How decoded display samples differ from what the case shows (empty when right)."""
    if rgb8.shape != case.rgb.shape:
        return [f"{what}: shape {rgb8.shape}, expected {case.rgb.shape}"]
    problems = []
    error = float(np.abs(lightness(rgb8) - lightness(case.rgb)).mean())
    if error > case.tolerance:
        problems.append(f"{what}: lightness off by {error:.2f} on average")
    if (alpha8 is None) != (case.alpha is None):
        problems.append(f"{what}: alpha {'missing' if alpha8 is None else 'added'}")
    elif alpha8 is not None and np.abs(alpha8.astype(int) - case.alpha).max() > 1:
        problems.append(f"{what}: alpha differs")
    return problems


def to8(samples: np.ndarray) -> np.ndarray:
    return (
        samples if samples.dtype == np.uint8 else (samples.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    )


def output_problems(path: Path, case: Case, tolerance: float) -> list[str]:
    """What is wrong with an output file: Pillow (and tifffile for TIFF) must open it and show the case's
    size, lightness and alpha (the colours themselves are the colorizer's business)."""
    expected = Case(case.content, case.rgb, case.alpha, tolerance)
    try:
        with Image.open(path) as image:
            image.load()
            samples = np.asarray(image.convert("RGBA" if "A" in image.mode else "RGB"))
    except Exception as exc:
        return [f"{path.name}: Pillow cannot open it ({exc})"]
    problems = shown_problems(
        samples[..., :3],
        samples[..., 3] if samples.shape[2] == 4 else None,
        expected,
        f"{path.name} (Pillow)",
    )
    if path.suffix == ".tif":
        complaints = Complaints()
        logging.getLogger("tifffile").addHandler(complaints)
        try:
            array = to8(tifffile.imread(path))
        except Exception as exc:
            return [*problems, f"{path.name}: tifffile cannot open it ({exc})"]
        finally:
            logging.getLogger("tifffile").removeHandler(complaints)
        problems += [f"{path.name}: tifffile complains: {message}" for message in complaints.messages]
        alpha = array[..., 3] if array.ndim == 3 and array.shape[2] == 4 else None
        problems += shown_problems(array[..., :3], alpha, expected, f"{path.name} (tifffile)")
    return problems


class Complaints(logging.Handler):
    """The warnings a library logs while reading a file."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def decoded_problems(picture: Picture, case: Case, what: str) -> list[str]:
    rgb8 = to8(picture.color)
    rgb8 = as_rgb(rgb8) if rgb8.ndim == 2 else rgb8
    return shown_problems(rgb8, None if picture.alpha is None else to8(picture.alpha), case, what)


def colorized_like(picture: Picture) -> Picture:
    """The picture as the colorizer returns it: RGB of the same depth, alpha and metadata kept."""
    return replace_color(picture, as_rgb(picture.color) if picture.is_gray else picture.color)


# --- tests ----------------------------------------------------------------------------------------------


def round_trip_problems(tmp_path: Path, cases: dict[str, Case], suffixes: tuple[str, ...]) -> list[str]:
    problems = []
    for name, case in cases.items():
        source = tmp_path / name
        source.write_bytes(case.content)
        try:
            picture = load_picture(source)
        except ImageError as exc:
            problems.append(f"{name}: {exc}")
            continue
        problems += decoded_problems(picture, case, name)
        for suffix in suffixes if case.alpha is None else (".tif", ".png"):
            target = tmp_path / "out" / f"{name}{suffix}"
            target.parent.mkdir(exist_ok=True)
            try:
                save_picture(colorized_like(picture), target)
            except ImageError as exc:
                problems.append(f"{target.name}: {exc}")
                continue
            problems += output_problems(target, case, max(case.tolerance, 1.5 if suffix == ".jpg" else 1.0))
    return problems


def test_every_pillow_tiff_variant_round_trips(tmp_path, photos):
    problems = round_trip_problems(tmp_path, pillow_tiff_cases(small_rgb(photos)), (".tif", ".png", ".jpg"))
    assert not problems, "\n".join(problems)


def test_every_tifffile_tiff_variant_round_trips(tmp_path, photos):
    problems = round_trip_problems(tmp_path, tifffile_tiff_cases(small_rgb(photos)), (".tif", ".png"))
    assert not problems, "\n".join(problems)


def test_png_colour_keys_become_alpha(tmp_path, photos):
    problems = round_trip_problems(tmp_path, colour_key_cases(small_rgb(photos)), (".png",))
    assert not problems, "\n".join(problems)


def test_png_data_stopping_short_is_refused(tmp_path, photos):
    for name, content in short_data_pngs(small_rgb(photos)).items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ImageError, match="stops at") as caught:
            load_picture(path)
        assert "\n" not in str(caught.value), name


def test_complete_interlaced_and_tiny_pngs_pass_the_row_check(tmp_path, photos):
    rgb = small_rgb(photos)
    (tmp_path / "interlaced.png").write_bytes(interlaced_png(rgb))
    np.testing.assert_array_equal(load_picture(tmp_path / "interlaced.png").color, rgb)
    Image.new("L", (1, 1)).save(tmp_path / "one-pixel.png")
    assert load_picture(tmp_path / "one-pixel.png").width == 1


def interlaced_png(rgb: np.ndarray) -> bytes:
    """An Adam7-interlaced 8-bit RGB PNG (Pillow does not write them)."""
    passes = (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    )
    data = b""
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            data += b"".join(b"\x00" + row.tobytes() for row in sub)
    header = struct.pack(">IIBBBBB", rgb.shape[1], rgb.shape[0], 8, 2, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(data))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "error", [RuntimeError, NotImplementedError, KeyError, IndexError, ValueError, OverflowError]
)
def test_any_decoder_exception_becomes_one_line(tmp_path, photos, monkeypatch, error):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, small_rgb(photos), photometric="rgb")

    def broken(*args, **kwargs):
        raise error("codec exploded\nsecond line")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", broken)
    with pytest.raises(ImageError, match="cannot decode") as caught:
        load_picture(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "content",
    [
        b"II*\x00\x08\x00\x00\x00\x00\x00",  # no IFD entries
        b"MM\x00*\x00\x00\x00\x08" + b"\xff" * 40,  # garbage entries
        b"II+\x00\x08\x00\x00\x00" + b"\x00" * 8,  # BigTIFF header, nothing else
    ],
)
def test_broken_tiffs_give_one_line(tmp_path, content):
    path = tmp_path / "broken.tif"
    path.write_bytes(content)
    with pytest.raises(ImageError) as caught:
        load_picture(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_tiffs_fail(tmp_path, photos, fraction):
    content = tifffile_bytes(small_rgb(photos), photometric="rgb", compression="zlib")
    path = tmp_path / "cut.tif"
    path.write_bytes(content[: int(len(content) * fraction)])
    with pytest.raises(ImageError):
        load_picture(path)


def test_nothing_lets_pillow_accept_truncated_images():
    import colorplug_cli.main  # noqa: F401  (everything the command line imports)

    from colorplug.engine import colorizer  # noqa: F401
    from colorplug.evaluation import run  # noqa: F401
    from colorplug.jobs import batch  # noqa: F401

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_fifo_is_refused_without_being_opened(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.jpg")
    with pytest.raises(ImageError, match="named pipe"):
        load_picture(tmp_path / "pipe.jpg")


# --- metadata ------------------------------------------------------------------------------------------


def camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "colorplug camera"
    exif[0x0110] = "model 1"
    exif[0x0112] = 1
    exif[0x8769] = {0x829A: 0.01, 0x9003: "2020:01:02 03:04:05", 0xA002: 48, 0xA003: 32, 0xA005: {1: "R98"}}
    exif[0x8825] = {1: "N", 2: (52.0, 13.0, 7.5)}
    return exif


def carried_exif(path: Path) -> Image.Exif:
    with Image.open(path) as image:
        exif = image.getexif()
        for group in (0x8769, 0x8825, 0xA005):  # read while the file is open
            exif.get_ifd(group)
        return exif


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
@pytest.mark.parametrize("depth", [8, 16])
def test_descriptive_exif_with_sub_ifds_is_carried_by_every_format(tmp_path, photos, suffix, depth):
    source = tmp_path / "camera.jpg"
    Image.fromarray(small_rgb(photos)).convert("L").save(source, exif=camera_exif().tobytes())
    picture = load_picture(source)
    if depth == 16:
        picture = replace_color(picture, picture.color.astype(np.uint16) * 257)
    target = tmp_path / f"out{suffix}"
    save_picture(colorized_like(picture), target)
    exif = carried_exif(target)
    assert exif[0x010F] == "colorplug camera" and exif[0x0110] == "model 1"
    assert exif.get_ifd(0x8769)[0x9003] == "2020:01:02 03:04:05"
    assert 0xA002 not in exif.get_ifd(0x8769)  # pixel dimensions are the output's business
    assert exif.get_ifd(0x8825)[1] == "N" and exif.get_ifd(0xA005)[1] == "R98"
    if suffix == ".tif":
        with tifffile.TiffFile(target) as tif:
            page = tif.pages[0]
            assert page.tags["Make"].value == "colorplug camera"
            assert page.tags["ExifTag"].value["DateTimeOriginal"] == "2020:01:02 03:04:05"
            assert page.dtype == (np.uint16 if depth == 16 else np.uint8)


def test_tiff_structure_tags_are_not_carried_as_exif(tmp_path, photos):
    source = tmp_path / "gray.tif"
    Image.fromarray(small_rgb(photos)).convert("L").save(
        source, tiffinfo={0x010F: "scanner", 0x0131: "scan app"}
    )
    picture = load_picture(source)
    kept = Image.Exif()
    kept.load(picture.exif)
    assert kept[0x010F] == "scanner" and kept[0x0131] == "scan app"
    assert not set(kept) & {0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0111, 0x0115, 0x0116, 0x0117}
    save_picture(colorized_like(picture), tmp_path / "out.tif")
    with Image.open(tmp_path / "out.tif") as image:
        assert image.mode == "RGB" and image.getexif()[0x010F] == "scanner"


@pytest.mark.parametrize("source_format", ["PNG", "WEBP", "TIFF"])
def test_exif_over_64kb_is_trimmed_with_a_note_and_fits_a_jpeg(tmp_path, photos, source_format):
    exif = camera_exif()
    exif[0x010E] = "x" * 70_000  # ImageDescription
    source = tmp_path / f"big.{source_format.lower()}"
    options = {"tiffinfo": dict(exif)} if source_format == "TIFF" else {"exif": exif.tobytes()}
    Image.fromarray(small_rgb(photos)).save(source, source_format, **options)
    picture = load_picture(source)
    assert len(picture.exif) <= EXIF_LIMIT
    assert any("ImageDescription" in note and "64 KB" in note for note in picture.notes)
    save_picture(colorized_like(picture), tmp_path / "out.jpg")
    assert carried_exif(tmp_path / "out.jpg")[0x010F] == "colorplug camera"


def test_tiff_xmp_is_not_taken_for_exif(tmp_path, photos):
    source = tmp_path / "xmp.tif"
    Image.fromarray(small_rgb(photos)).save(
        source, tiffinfo={700: b"<x:xmpmeta>" + b" " * 70_000 + b"</x:xmpmeta>"}
    )
    picture = load_picture(source)
    save_picture(colorized_like(picture), tmp_path / "out.jpg")
    assert 700 not in carried_exif(tmp_path / "out.jpg")
    assert [note for note in picture.notes if "XMP" not in note] == []  # dropped with a note, never as EXIF


ODD_EXIF = {
    "xresolution-as-text": [(0x011A, 2, 4, b"abc\x00")],
    "unit-negative": [(0x0128, 8, 1, struct.pack("<h", -2))],
    "yresolution-negative": [(0x011B, 10, 1, struct.pack("<ll", -72, 1))],
    "make-as-number": [(0x010F, 3, 1, struct.pack("<H", 5))],
    "unknown-type": [(0xC000, 14, 1, b"\x01\x02\x03\x04")],
    "rational-over-zero": [(0x011A, 5, 1, struct.pack("<LL", 72, 0))],
}


@pytest.mark.parametrize("name", sorted(ODD_EXIF))
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".webp"])
def test_odd_exif_tag_types_never_stop_a_photo(tmp_path, photos, name, suffix):
    source = tmp_path / "odd.png"
    entries = ODD_EXIF[name] + [(0x0110, 2, 8, b"model 1\x00")]
    Image.fromarray(small_rgb(photos)).save(source, exif=exif_with_raw_entries(entries))
    picture = load_picture(source)
    save_picture(colorized_like(picture), tmp_path / f"out{suffix}")
    assert carried_exif(tmp_path / f"out{suffix}")[0x0110] == "model 1"
    if name in ("xresolution-as-text", "unit-negative", "yresolution-negative"):
        assert any("cannot be written" in note for note in picture.notes)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_outputs_carry_icc_and_exif(tmp_path, suffix):
    rng = np.random.default_rng(5)
    exif = camera_exif()
    picture = Picture(color=rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16), exif=exif.tobytes())
    save_picture(picture, tmp_path / f"out{suffix}")
    back = load_picture(tmp_path / f"out{suffix}")
    np.testing.assert_array_equal(back.color, picture.color)
    kept = Image.Exif()
    kept.load(back.exif)
    assert kept[0x010F] == "colorplug camera"


@pytest.mark.parametrize(("suffix", "side", "longest"), [(".webp", 16384, 16383), (".jpg", 65501, 65500)])
def test_a_size_the_format_cannot_hold_is_refused_in_one_line(tmp_path, suffix, side, longest):
    picture = Picture(np.full((2, side), 100, np.uint8))
    with pytest.raises(ImageError, match=f"{side}x2 pixels .* at most {longest} a side"):
        save_picture(picture, tmp_path / f"wide{suffix}")
    assert list(tmp_path.iterdir()) == []  # no temporary left behind either
