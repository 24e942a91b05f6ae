"""16-bit PNG support that Pillow lacks: it decodes 16-bit colour PNGs to 8 bits and cannot write them.

Reading reuses Pillow's own (fast, C) inflate and un-filter code: the same compressed stream is decoded
a second time with a raw mode that keeps the other byte of each sample. Writing is a plain PNG encoder
(Sub filter, zlib) in numpy.
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


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png16(samples: np.ndarray, icc_profile: bytes | None = None, level: int = 6) -> bytes:
    """PNG bytes of uint16 samples shaped (H, W) or (H, W, C) with C in 1..4."""
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
    header = struct.pack(">IIBBBBB", width, height, 16, _COLOR_TYPES[channels], 0, 0, 0)
    parts = [_SIGNATURE, _chunk(b"IHDR", header)]
    if icc_profile:
        parts.append(_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile)))
    parts.append(_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), level)))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)
