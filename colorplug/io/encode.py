"""Writing a Picture: atomically, in the format its suffix names, 16-bit where the format allows, with
the ICC profile, the descriptive EXIF and colorplug's mark as the Software (see provenance.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from colorplug.errors import one_line
from colorplug.io.exif import marked_exif
from colorplug.io.files import OutputExistsError, atomic_path, display_path
from colorplug.io.formats import ALPHA_FORMATS, EXIF_FORMATS, FORMATS, MAX_SIDES, SIXTEEN_BIT_FORMATS
from colorplug.io.picture import ImageError, Picture, StripedPicture, picture_to_array, picture_to_pil
from colorplug.io.png16 import encode_png16
from colorplug.io.tiff import save_tiff, save_tiff_strips


def format_for_suffix(suffix: str) -> str:
    """Pillow format name for an output suffix such as '.jpg'."""
    try:
        return FORMATS[suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ImageError(f"unsupported output type {suffix!r} (use one of {known})") from None


def check_fits(suffix: str, width: int, height: int) -> None:
    """Refuse (ImageError) a size the format of `suffix` cannot hold (WebP: 16383 pixels a side)."""
    fmt = format_for_suffix(suffix)
    if max(width, height) > MAX_SIDES.get(fmt, max(width, height)):
        longest = MAX_SIDES[fmt]
        raise ImageError(
            f"is {width}x{height} pixels but {fmt} holds at most {longest} a side: write .png or .tif"
        )


def save_picture(
    picture: Picture, path: str | Path, quality: int = 95, overwrite: bool = True, lossless: bool = False
) -> None:
    """Write a Picture atomically in the format its suffix names, 16-bit where the format allows;
    `lossless`: a WebP is stored losslessly (as the photo it colours was), else at `quality`.

    With `overwrite` False an existing file is never replaced, even one that appears while this one is
    being written (another run's finished output): ImageError then, and that file is kept.
    """
    path = Path(path)
    fmt = format_for_suffix(path.suffix)
    check_fits(path.suffix, picture.width, picture.height)
    if picture.alpha is not None and fmt not in ALPHA_FORMATS:
        raise ImageError(f"{fmt} cannot store the alpha channel; write .png, .tif or .webp instead")
    picture = replace(picture, exif=marked_exif(picture.exif))
    with _writing(path, overwrite) as temp:
        if fmt == "TIFF":
            save_tiff(picture, temp)
        elif fmt in SIXTEEN_BIT_FORMATS and picture.color.dtype == np.uint16:  # PNG
            temp.write_bytes(encode_png16(picture_to_array(picture), picture.icc_profile, picture.exif))
        else:
            _save_8bit(picture, temp, fmt, quality, lossless)


def save_striped(striped: StripedPicture, path: str | Path, overwrite: bool = True) -> None:
    """Write a StripedPicture atomically, a strip at a time, as save_picture writes a TIFF (only TIFF)."""
    path = Path(path)
    if format_for_suffix(path.suffix) != "TIFF":
        raise ImageError(f"colour strips are written only as TIFF, not as {path.suffix}")
    source = replace(striped.source, exif=marked_exif(striped.source.exif))
    with _writing(path, overwrite) as temp:
        save_tiff_strips(replace(striped, source=source), temp)


@contextlib.contextmanager
def _writing(path: Path, overwrite: bool) -> Iterator[Path]:
    """The temporary file to write `path` through (see files.atomic_path), with the failures said as
    ImageError in one line."""
    try:
        with atomic_path(path, replace=overwrite) as temp:
            yield temp
    except OutputExistsError:
        raise ImageError(
            f"{display_path(path)} was written meanwhile by another run: kept it (overwriting replaces it)"
        ) from None
    except OSError as exc:
        raise ImageError(f"cannot write {display_path(path)}: {exc.strerror or one_line(exc)}") from None


def _rgbx_buffer(picture: Picture) -> np.ndarray | None:
    """The (H, W, 4) uint8 array a picture's colour is the first three channels of (compose's `padded`),
    which Pillow wraps as RGBX without copying it; None for any other layout."""
    base = picture.color.base
    padded = (
        isinstance(base, np.ndarray)
        and base.dtype == np.uint8
        and base.shape == (*picture.color.shape[:2], 4)
    )
    return base if padded and base.flags.c_contiguous and picture.alpha is None else None


def _save_8bit(picture: Picture, temp: Path, fmt: str, quality: int, lossless: bool) -> None:
    """JPEG, PNG and WebP (8 bits a sample) through Pillow."""
    rgbx = _rgbx_buffer(picture) if fmt == "JPEG" else None
    image = picture_to_pil(picture) if rgbx is None else Image.frombuffer("RGBX", rgbx.shape[1::-1], rgbx)
    options: dict = {}
    if picture.icc_profile:
        options["icc_profile"] = picture.icc_profile
    if picture.exif and fmt in EXIF_FORMATS:
        options["exif"] = picture.exif
    if fmt == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        options.update(quality=quality, lossless=lossless)
    image.save(temp, format=fmt, **options)
