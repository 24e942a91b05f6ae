"""Reading an image file into a Picture: regular files only, the pixel limit checked before decoding.

Loading accepts only regular files (a named pipe or a device is refused before it is opened), decodes
through Pillow (16-bit PNG at full precision with png16.py) or, for TIFF, through tiff.py; applies the
orientation, takes the first frame of animations and refuses decompression bombs and image data that
stops short. Every failure is one ImageError line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from colorplug.defaults import DEFAULT_MAX_PIXELS
from colorplug.errors import one_line
from colorplug.io import tiff
from colorplug.io.exif import XMP_NOTE, picture_with_metadata, pillow_exif_tree
from colorplug.io.picture import (
    ImageError,
    Picture,
    PixelLimitError,
    arrays_from_pil,
    check_size,
    colour_key,
    key_alpha,
)
from colorplug.io.png16 import check_png_complete, read_png16, sixteen_bit_raw_mode

_FILE_KINDS = (
    (stat.S_ISDIR, "is a folder, not an image"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
    (stat.S_ISCHR, "is a device, not a regular file"),
    (stat.S_ISBLK, "is a device, not a regular file"),
)


def not_a_regular_file(path: str | os.PathLike) -> str | None:
    """Why a path is not a regular file (a folder, a named pipe, a device...), found without opening it,
    or None when it is one: opening a FIFO or a device to read it can block forever. Raises OSError."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    return next((why for test, why in _FILE_KINDS if test(mode)), "is not a regular file")


def _check_regular_file(path: Path) -> None:
    try:
        why = not_a_regular_file(path)
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except OSError as exc:
        raise ImageError(f"cannot read: {exc.strerror or one_line(exc)}") from None
    if why:
        raise ImageError(why)


def load_picture(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Picture:
    """Decode an image file into a Picture (orientation applied). Raises ImageError, one line."""
    path = Path(path)
    _check_regular_file(path)
    if max_pixels is not None and Image.MAX_IMAGE_PIXELS is not None:
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, max_pixels)  # our limit replaces Pillow's
    try:
        return _load_tiff(path, max_pixels) if tiff.is_tiff(path) else _load_with_pillow(path, max_pixels)
    except PermissionError:
        raise ImageError("permission denied") from None
    except UnidentifiedImageError:
        raise ImageError("not an image file (unknown or corrupt format)") from None
    except Image.DecompressionBombError:
        raise PixelLimitError(max_pixels or Image.MAX_IMAGE_PIXELS) from None
    except ImageError:
        raise
    except Exception as exc:  # Pillow's plugins, tifffile and imagecodecs raise many types for bad data
        raise ImageError(f"cannot decode image (truncated or corrupt?): {one_line(exc)}") from None


def _load_with_pillow(path: Path, max_pixels: int | None) -> Picture:
    with Image.open(path) as image:
        check_size(image.width, image.height, max_pixels)
        raw_mode = sixteen_bit_raw_mode(image)  # before anything (EXIF lookup) loads the pixels
        key = colour_key(image)
        frames = getattr(image, "n_frames", 1)
        notes = [f"animated ({frames} frames): colorized the first frame only"] if frames > 1 else []
        if image.format == "PNG":
            check_png_complete(path)  # Pillow leaves the rows of a short zlib stream black, silently
        if raw_mode:
            samples = read_png16(path, raw_mode)
            color = samples[..., 0] if raw_mode == "LA;16B" else samples[..., :3]
            alpha = samples[..., -1] if raw_mode != "RGB;16B" else None
            alpha = key_alpha(color, key) if key is not None else alpha
        else:
            image.load()
            color, alpha = arrays_from_pil(image, key)
        tree, exif_notes = pillow_exif_tree(image)  # after load: Pillow has applied a TIFF's orientation
        if image.info.get("xmp") or image.info.get("XML:com.adobe.xmp"):
            notes.append(XMP_NOTE)
        icc = image.info.get("icc_profile") if image.mode != "CMYK" else None  # CMYK's is used up
    return picture_with_metadata(color, alpha, icc or None, tree, notes + exif_notes)


def _load_tiff(path: Path, max_pixels: int | None) -> Picture:
    """A TIFF through tifffile; through Pillow where tifffile lacks the page's codec (no imagecodecs)."""
    try:
        return tiff.read_tiff(path, max_pixels)
    except tiff.TiffNeedsPillow as reason:
        try:
            picture = _load_with_pillow(path, max_pixels)
        except Exception:
            raise ImageError(f"cannot decode TIFF: {reason}") from None
        if reason.wide and picture.color.dtype == np.uint8:
            picture.notes.append(f"{reason}: read at 8 bits per sample")
        return picture


def declares_alpha(path: Path) -> bool:
    """Whether an image file's header declares transparency (an alpha channel, a transparent colour or a
    TIFF alpha sample), read without decoding pixels and without opening anything but a regular file."""
    try:
        if not_a_regular_file(path):
            return False  # loading it reports why
        if tiff.is_tiff(path):
            return tiff.declares_alpha(path)
        with Image.open(path) as image:
            return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    except Exception:  # unreadable: decoding it later reports why
        return False


def is_lossless_webp(path: Path) -> bool:
    """Whether `path` is a WebP whose image is stored losslessly (a VP8L chunk, not VP8), by its chunk
    list: a copy of it should stay lossless. Anything unreadable or not WebP: False.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> Image.new("RGB", (8, 8)).save(folder / "a.webp", lossless=True)
    >>> Image.new("RGB", (8, 8)).save(folder / "b.webp", quality=90)
    >>> is_lossless_webp(folder / "a.webp"), is_lossless_webp(folder / "b.webp")
    (True, False)
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
                return False
            while len(chunk := handle.read(8)) == 8:
                kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
                if kind in (b"VP8L", b"VP8 "):
                    return kind == b"VP8L"
                handle.seek(size + size % 2, os.SEEK_CUR)
    except OSError:
        pass
    return False
