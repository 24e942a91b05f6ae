"""TIFF through tifffile: 8/16/32-bit integer and float samples, gray, RGB, palette, CMYK, bilevel,
MinIsWhite, alpha, planar, tiled, BigTIFF (the first page), and deflate-compressed outputs that Pillow and
tifffile both read, with the ICC profile and the descriptive EXIF.

Pillow reads 16-bit RGB TIFFs at 8 bits, so tifffile decodes them; where tifffile cannot (a codec that
needs imagecodecs, an unusual photometric) `read_tiff` raises TiffNeedsPillow and decode.py falls back.
"""

from __future__ import annotations

import logging
import math
import os
import struct
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, TiffImagePlugin

from colorplug.errors import one_line
from colorplug.io.exif import DESCRIPTIVE_TAGS, EXIF_IFD, GPS_IFD, XMP_NOTE, exif_tree, picture_with_metadata
from colorplug.io.picture import (
    ImageError,
    Picture,
    StripedPicture,
    check_size,
    cmyk_to_rgb,
    picture_to_array,
    standard_depth,
    to_uint8,
)

# Deflate at level 1 after horizontal differencing: on colorized 50 MP scans (benchmarks/big_scans.py),
# 2.7x faster than level 6 without it and a third smaller at 8 bits, 13% faster and a fifth smaller at 16;
# strips compressed on every core (zlib frees the GIL): a 50 MP 16-bit RGB write 2.64 s -> 1.41 s on two
TIFF_COMPRESSION = {
    "compression": "zlib",
    "compressionargs": {"level": 1},
    "predictor": True,
    "maxworkers": os.cpu_count() or 1,
}
SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
MAX_TIFF_SAMPLES = 8  # samples a pixel: CMYK with alpha takes 5
# TIFF photometric -> colour samples: MinIsWhite, MinIsBlack, RGB, palette, separated (CMYK).
_TIFF_COLOUR_CHANNELS = {0: 1, 1: 1, 2: 3, 3: 1, 5: 4}
# struct format of one item of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL... DOUBLE, IFD).
_TIFF_ITEM_FORMATS = dict(
    enumerate(("B", "s", "H", "L", "2L", "b", "B", "h", "l", "2l", "f", "d", "L"), start=1)
)
_RESOLUTION_TAGS = (0x011A, 0x011B, 0x0128)  # tifffile writes these itself (resolution=, resolutionunit=)
# tifffile refuses to write the Exif and GPS IFD pointers: they go in under the next (unused) tag codes,
# which keeps the entries in ascending order once renamed.
_POINTER_STAND_INS = {EXIF_IFD: EXIF_IFD + 1, GPS_IFD: GPS_IFD + 1}

# tifffile logs what it finds odd in a bad file; the one-line ImageError already says it.
logging.getLogger("tifffile").addHandler(logging.NullHandler())


class TiffNeedsPillow(Exception):
    """tifffile cannot decode this page (its codec needs imagecodecs, or an unusual photometric)."""

    def __init__(self, reason: str, wide: bool) -> None:
        super().__init__(reason)
        self.wide = wide  # samples of more than 8 bits, which Pillow may reduce to 8


def is_tiff(path: Path) -> bool:
    """Whether a file starts with a TIFF (or BigTIFF) signature."""
    with open(path, "rb") as handle:
        return handle.read(4) in SIGNATURES


def declares_alpha(path: Path) -> bool:
    """Whether a TIFF's first page has an alpha sample (read from its header only)."""
    import tifffile
    from tifffile import EXTRASAMPLE

    with tifffile.TiffFile(path) as tif:
        extras = tif.pages[0].extrasamples if tif.pages else ()
        return any(kind in (EXTRASAMPLE.ASSOCALPHA, EXTRASAMPLE.UNASSALPHA) for kind in extras)


def read_tiff(path: Path, max_pixels: int | None) -> Picture:
    """A TIFF's first page as a Picture; TiffNeedsPillow where tifffile cannot decode it."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.pages:
            raise ImageError("TIFF holds no image")
        page = tif.pages[0]
        check_size(page.imagewidth, page.imagelength, max_pixels)
        pages = len(tif.pages)
        notes = [f"multi-page TIFF ({pages} pages): colorized the first page only"] if pages > 1 else []
        color, alpha, icc = _tiff_arrays(page)
        exif = Image.Exif()
        exif.endian, exif.bigtiff = tif.byteorder, tif.is_bigtiff
        exif.load_from_fp(tif.filehandle, page.offset)
        tree, exif_notes = exif_tree(exif)
        if 700 in page.tags:  # XMP
            notes.append(XMP_NOTE)
    return picture_with_metadata(color, alpha, icc, tree, notes + exif_notes)


def _tiff_samples(page) -> np.ndarray:
    """A page's samples as (H, W, samples per pixel), whatever the planar configuration; the layout is
    checked first, as the pixel count alone does not bound what decoding a volume or 60000 bands takes."""
    from tifffile import PHOTOMETRIC

    separate, depth, height, width, contig = page.shaped
    if depth != 1 or page.samplesperpixel > MAX_TIFF_SAMPLES:
        raise ImageError(f"TIFF of {depth} plane(s) of {page.samplesperpixel} samples a pixel is not a photo")
    try:
        samples = page.asarray()
    except (ValueError, ImportError) as exc:
        if isinstance(exc, ValueError) and "imagecodecs" not in str(exc):
            raise
        if page.photometric == PHOTOMETRIC.MINISWHITE and page.bitspersample > 8:  # Pillow leaves it inverted
            raise ImageError(f"cannot decode TIFF: {one_line(exc)}") from None
        raise TiffNeedsPillow(one_line(exc), page.bitspersample > 8) from None
    return np.moveaxis(samples.reshape(separate, height, width, contig), 0, -1).reshape(height, width, -1)


def _tiff_arrays(page) -> tuple[np.ndarray, np.ndarray | None, bytes | None]:
    """Colour (gray or RGB), alpha and ICC profile of a TIFF page decoded by tifffile."""
    from tifffile import COMPRESSION, EXTRASAMPLE, PHOTOMETRIC

    photometric = page.photometric
    channels = _TIFF_COLOUR_CHANNELS.get(int(photometric))
    if photometric == PHOTOMETRIC.YCBCR and page.compression == COMPRESSION.JPEG:
        channels = 3  # tifffile decodes JPEG-compressed YCbCr to RGB
    if channels is None or page.samplesperpixel < channels:
        name = getattr(photometric, "name", photometric)
        raise TiffNeedsPillow(f"TIFF photometric {name}", page.bitspersample > 8)
    samples = _tiff_samples(page)
    icc = page.tags.valueof(34675)
    if photometric == PHOTOMETRIC.PALETTE:
        color = page.colormap.T[samples[..., 0]]
        color = to_uint8(color) if page.bitspersample <= 8 else color
    elif photometric == PHOTOMETRIC.SEPARATED:
        cmyk = standard_depth(samples[..., :4])
        color, icc = _cmyk_samples_to_rgb(cmyk, icc, page.tags.valueof(332, 1)), None
    else:
        color = standard_depth(samples[..., :channels])
        color = color[..., 0] if channels == 1 else color
        if photometric == PHOTOMETRIC.MINISWHITE:
            color = np.iinfo(color.dtype).max - color
    extras = list(page.extrasamples)
    alphas = [kind for kind in extras if kind in (EXTRASAMPLE.ASSOCALPHA, EXTRASAMPLE.UNASSALPHA)]
    if not alphas:
        return color, None, icc
    alpha = _with_depth(standard_depth(samples[..., channels + extras.index(alphas[0])]), color.dtype)
    if alphas[0] == EXTRASAMPLE.ASSOCALPHA:
        color = _unpremultiply(color, alpha)
    return color, alpha, icc


def _with_depth(samples: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """uint8 or uint16 samples brought to `dtype`, the depth of the colour they go with."""
    if samples.dtype == dtype:
        return samples
    return to_uint8(samples) if dtype == np.uint8 else samples.astype(np.uint16) * np.uint16(257)


def _cmyk_samples_to_rgb(cmyk: np.ndarray, icc: bytes | None, ink_set: int) -> np.ndarray:
    """8-bit RGB of CMYK samples (any depth), through the embedded profile when there is one."""
    if ink_set != 1:  # TIFF InkSet 1 is CMYK; 2 names other inks
        raise ImageError("TIFF ink set is not CMYK")
    image = Image.fromarray(to_uint8(cmyk), "CMYK")
    if icc:
        image.info["icc_profile"] = icc
    return np.asarray(cmyk_to_rgb(image))


def _unpremultiply(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight colour from colour premultiplied by alpha (TIFF associated alpha)."""
    top = np.iinfo(color.dtype).max
    weights = alpha.astype(np.float32)[..., None] if color.ndim == 3 else alpha.astype(np.float32)
    straight = color.astype(np.float32) * top / np.maximum(weights, 1)
    return np.rint(np.clip(straight, 0, top)).astype(color.dtype)


def save_tiff(picture: Picture, temp: Path) -> None:
    """A deflate-compressed TIFF (8 or 16 bits) with ICC profile and EXIF, by tifffile: the Exif and GPS
    IFDs, which tifffile cannot write, are appended afterwards and pointed at from the first IFD."""
    samples = picture_to_array(picture)
    data = samples if samples.shape[2] > 1 else samples[..., 0]
    _write_tiff(
        temp, picture, data, photometric="minisblack" if picture.is_gray else "rgb", **TIFF_COMPRESSION
    )


def save_tiff_strips(striped: StripedPicture, temp: Path) -> None:
    """The TIFF save_tiff writes, from colour strips: each strip (with its rows of alpha) is differenced
    and deflated as it comes, on every core, so no more than a few strips are ever held."""
    channels = 3 + (striped.source.alpha is not None)
    _write_tiff(
        temp,
        striped.source,
        _deflated(striped.samples()),
        photometric="rgb",
        shape=(striped.height, striped.width, channels),
        dtype=np.dtype(striped.dtype),
        rowsperstrip=striped.rows,
        compression=TIFF_COMPRESSION["compression"],
        predictor=TIFF_COMPRESSION["predictor"],
    )


def _deflated(strips: Iterator[np.ndarray]) -> Iterator[bytes]:
    """Each strip as TIFF stores it under TIFF_COMPRESSION: horizontal differencing (predictor 2) of
    little-endian samples, then deflate; compressed in threads (the codec frees the GIL), kept in order."""
    workers = TIFF_COMPRESSION["maxworkers"]
    with ThreadPoolExecutor(workers, thread_name_prefix="colorplug-deflate") as pool:
        pending: deque = deque()
        for strip in strips:
            pending.append(pool.submit(_deflated_strip, strip))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _deflated_strip(strip: np.ndarray) -> bytes:
    """One strip (r, W, C) differenced along each row, sample by sample (wrapping), then deflated by
    the codec tifffile itself deflates with (libdeflate through imagecodecs: 2.6x zlib's speed).

    >>> import zlib
    >>> strip = np.array([[[10, 200], [12, 100], [9, 0]]], np.uint8)
    >>> list(zlib.decompress(_deflated_strip(strip)))
    [10, 200, 2, 156, 253, 156]
    """
    delta = np.empty(strip.shape, strip.dtype.newbyteorder("<"))
    delta[:, :1] = strip[:, :1]
    np.subtract(strip[:, 1:], strip[:, :-1], out=delta[:, 1:])
    import tifffile

    deflate = tifffile.TIFF.COMPRESSORS[tifffile.COMPRESSION.ADOBE_DEFLATE]
    return deflate(delta, level=TIFF_COMPRESSION["compressionargs"]["level"])


def _write_tiff(temp: Path, picture: Picture, data: Any, **layout: Any) -> None:
    """tifffile.imwrite of `data` (an array, or deflated strips) with `picture`'s alpha, ICC profile and
    EXIF (the Exif and GPS IFDs appended afterwards, see save_tiff)."""
    import tifffile

    tree = {}
    if picture.exif:
        exif = Image.Exif()
        exif.load(picture.exif)
        tree, _ = exif_tree(exif)
    sub_ifds = {group: tree[group] for group in (EXIF_IFD, GPS_IFD) if group in tree}
    tags = {tag: value for tag, value in tree.items() if tag in DESCRIPTIVE_TAGS}
    tifffile.imwrite(
        temp,
        data,
        extrasamples=["unassalpha"] if picture.alpha is not None else None,
        iccprofile=picture.icc_profile,
        metadata=None,
        software=False,
        byteorder="<",
        bigtiff=False,
        **layout,
        **_tifffile_resolution(tags),
        extratags=[_tifffile_tag(tag, value) for tag, value in tags.items() if tag not in _RESOLUTION_TAGS]
        + [(_POINTER_STAND_INS[group], 4, 1, 0, True) for group in sub_ifds],
    )
    if sub_ifds:
        _append_sub_ifds(temp, sub_ifds)


def _tifffile_resolution(tree: dict[int, Any]) -> dict[str, Any]:
    """tifffile's resolution arguments from EXIF's, or none when they are missing or not positive numbers
    (a 0/0 rational from a scanner must not stop the photo)."""
    if 0x011A not in tree or 0x011B not in tree:
        return {}
    if not all(math.isfinite(float(tree[tag])) and float(tree[tag]) > 0 for tag in (0x011A, 0x011B)):
        return {}
    unit = {"resolutionunit": tree[0x0128]} if tree.get(0x0128) in (1, 2, 3) else {}
    return {"resolution": (float(tree[0x011A]), float(tree[0x011B])), **unit}


def _tifffile_tag(tag: int, value: Any) -> tuple[int, int, None, bytes, bool]:
    """A tifffile extratag holding the value exactly as Pillow writes it in EXIF (type and packed bytes)."""
    directory = TiffImagePlugin.ImageFileDirectory_v2()  # little-endian, as the TIFF is written
    directory[tag] = value
    written = directory.tobytes()  # count, then one 12-byte entry, then the value if over 4 bytes
    kind, count, inline = struct.unpack_from("<HL4s", written, 4)
    size = count * struct.calcsize("<" + _TIFF_ITEM_FORMATS[kind])
    data = inline[:size] if size <= 4 else written[struct.unpack("<L", inline)[0] :][:size]
    return tag, kind, None, data, True


def _append_sub_ifds(path: Path, sub_ifds: dict[int, dict[int, Any]]) -> None:
    """Write each Exif/GPS IFD at the end of a TIFF; make its stand-in entry in IFD0 the pointer to it."""
    import tifffile

    with open(path, "r+b") as handle:
        with tifffile.TiffFile(handle) as tif:
            stand_ins = {group: tif.pages[0].tags[_POINTER_STAND_INS[group]] for group in sub_ifds}
            entries_at = {group: (tag.offset, tag.valueoffset) for group, tag in stand_ins.items()}
        for group, entries in sub_ifds.items():
            directory = TiffImagePlugin.ImageFileDirectory_v2(group=group)
            for tag, value in entries.items():
                directory[tag] = value
            end = handle.seek(0, os.SEEK_END)
            start = end + end % 2  # IFDs begin on a word boundary
            handle.write(b"\x00" * (start - end) + directory.tobytes(start))
            entry, value_at = entries_at[group]
            handle.seek(entry)
            handle.write(struct.pack("<H", group))
            handle.seek(value_at)
            handle.write(struct.pack("<L", start))
