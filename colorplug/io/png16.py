"""PNG support that Pillow lacks: 16-bit colour samples, an eXIf chunk in 16-bit output, and a check that
the image data holds every row the header declares.

Pillow decodes 16-bit colour PNGs to 8 bits and cannot write them. Reading reuses Pillow's own (fast, C)
inflate and un-filter code: the same compressed stream is decoded a second time with a raw mode that keeps
the other byte of each sample. Writing is a plain PNG encoder (Sub filter, libdeflate) in numpy. Pillow also
accepts a zlib stream that ends before the last row and leaves the missing rows black: `check_png_complete`
inflates the data once more, counting bytes, to refuse such files.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow's raw mode for each 16-bit colour type -> (raw mode giving the high bytes, the low bytes).
_HIGH_LOW_RAW_MODES = {"RGB;16B": ("RGB;16B", "RGB;16L"), "RGBA;16B": ("RGBA;16B", "RGBA;16L")}
_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (gray, gray+alpha, RGB, RGBA)
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel
# Adam7 passes as (first column, first row, column step, row step); a plain image is one such pass.
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_EXIF_HEADER = b"Exif\x00\x00"


def sixteen_bit_raw_mode(image: Image.Image) -> str | None:
    """The raw mode of a 16-bit colour PNG Pillow would truncate to 8 bits, else None."""
    if image.format != "PNG" or len(image.tile) != 1:
        return None
    raw_mode = image.tile[0].args
    return raw_mode if raw_mode in (*_HIGH_LOW_RAW_MODES, "LA;16B") else None


def _decode_with_raw_mode(path: Path, raw_mode: str) -> np.ndarray:
    with Image.open(path) as image:
        image.tile = [image.tile[0]._replace(args=raw_mode)]
        image.load()
        return np.asarray(image)


def read_png16(path: Path, raw_mode: str) -> np.ndarray:
    """Full-precision samples (H, W, C) uint16 of a 16-bit RGB, RGBA or gray+alpha PNG."""
    if raw_mode == "LA;16B":  # 4 bytes a pixel: decode them as 8-bit RGBA, i.e. the raw bytes
        raw = _decode_with_raw_mode(path, "RGBA").astype(np.uint16)
        return np.stack((raw[..., 0] << 8 | raw[..., 1], raw[..., 2] << 8 | raw[..., 3]), axis=-1)
    high_mode, low_mode = _HIGH_LOW_RAW_MODES[raw_mode]
    high = _decode_with_raw_mode(path, high_mode).astype(np.uint16)
    low = _decode_with_raw_mode(path, low_mode).astype(np.uint16)
    return high << 8 | low


def _data_size(width: int, height: int, depth: int, color_type: int, interlaced: bool) -> int:
    """Bytes of filtered scanlines (filter byte included) that an image of this header inflates to."""
    bits = depth * _CHANNELS[color_type]
    total = 0
    for x0, y0, dx, dy in _ADAM7 if interlaced else ((0, 0, 1, 1),):
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            total += rows * (1 + (columns * bits + 7) // 8)
    return total


def _inflated_size(inflater: zlib._Decompress, data: bytes, wanted: int) -> int:
    """How many bytes `data` inflates to, up to `wanted`, without holding them (bounded memory)."""
    size = 0
    while data and size < wanted:
        size += len(inflater.decompress(data, min(wanted - size, 1 << 20)))
        data = inflater.unconsumed_tail
    return size


def check_png_complete(path: Path) -> None:
    """Raise ValueError when a PNG's image data stops before the last row its header declares."""
    with open(path, "rb") as handle:
        handle.seek(len(_SIGNATURE))
        header = handle.read(8 + 13)
        width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", header[8:])
        wanted = _data_size(width, height, depth, color_type, bool(interlace))
        inflater = zlib.decompressobj()
        size = 0
        handle.seek(4, 1)  # IHDR's CRC
        while size < wanted and len(head := handle.read(8)) == 8:
            length, kind = struct.unpack(">I4s", head)
            if kind == b"IEND":
                break
            data = handle.read(length)
            if kind == b"IDAT":
                size += _inflated_size(inflater, data, wanted - size)
            handle.seek(4, 1)  # CRC
    if size < wanted:
        raise ValueError(f"image data stops at {100 * size // wanted}% of the declared pixels")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png16(
    samples: np.ndarray, icc_profile: bytes | None = None, exif: bytes | None = None, level: int = 6
) -> bytes:
    """PNG bytes of uint16 samples shaped (H, W) or (H, W, C) with C in 1..4, with an ICC profile and an
    eXIf chunk (EXIF as Pillow gives it, with or without its 'Exif' APP1 header) when given."""
    if samples.dtype != np.uint16:
        raise TypeError(f"16-bit PNG needs uint16 samples, got {samples.dtype}")
    pixels = samples[..., None] if samples.ndim == 2 else samples
    height, width, channels = pixels.shape
    row = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(height, width * channels * 2)
    bpp = channels * 2
    filtered = row.copy()
    filtered[:, bpp:] -= row[:, :-bpp]  # PNG "Sub" filter (wraps modulo 256 in uint8)
    scanlines = np.empty((height, filtered.shape[1] + 1), dtype=np.uint8)
    scanlines[:, 0] = 1  # filter type Sub on every line
    scanlines[:, 1:] = filtered
    return png_bytes(scanlines, width, 16, _COLOR_TYPES[channels], icc_profile, exif, level)


def png_bytes(
    scanlines: np.ndarray,
    width: int,
    depth: int,
    color_type: int,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    level: int = 6,
) -> bytes:
    """A PNG file's bytes from filtered scanlines (H, 1 + row bytes) uint8 (each led by its filter type),
    with an ICC profile and an eXIf chunk when given, the data deflated at `level` by libdeflate (through
    imagecodecs): on a 12 MP 16-bit RGB photo 1.0 s against zlib's 3.7 s at level 6, 10% larger.

    >>> png_bytes(np.zeros((2, 4), np.uint8), 3, 8, 0)[:8] == _SIGNATURE
    True
    """
    header = struct.pack(">IIBBBBB", width, scanlines.shape[0], depth, color_type, 0, 0, 0)
    parts = [_SIGNATURE, _chunk(b"IHDR", header)]
    if icc_profile:
        parts.append(_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    if exif:
        parts.append(_chunk(b"eXIf", exif.removeprefix(_EXIF_HEADER)))
    import imagecodecs  # loaded when a PNG is written, not with the command line

    parts.append(_chunk(b"IDAT", imagecodecs.deflate_encode(scanlines, level=level)))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)
