"""What the Python API is given, as the engine's own types and back: images of any kind (Picture, PIL
image, ndarray, path) as Pictures, results in the kind their image came as, and hint images as hint maps."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from colorplug.errors import ColorplugError
from colorplug.hints.maps import HintError, hints_from_rgba
from colorplug.io.decode import load_picture
from colorplug.io.files import display_path
from colorplug.io.picture import (
    Picture,
    picture_from_array,
    picture_from_pil,
    picture_to_array,
    picture_to_pil,
)


def as_picture(image: Any, max_pixels: int | None) -> Picture:
    """What the Python API was given (Picture, PIL image, ndarray, path) as a Picture; TypeError else."""
    if isinstance(image, Picture):
        return image
    if isinstance(image, Image.Image):
        return picture_from_pil(image)
    if isinstance(image, np.ndarray):
        return picture_from_array(image)
    if isinstance(image, (str, os.PathLike)):
        return load_picture(Path(image), max_pixels)
    raise TypeError(f"cannot colorize a {type(image).__name__}: give a PIL image, ndarray or path")


def as_reference_picture(image: Any, max_pixels: int | None) -> Picture:
    """A reference photo given to the Python API as a Picture; a TypeError naming `reference` else.

    >>> as_reference_picture([np.zeros((4, 4, 3), np.uint8)], None)
    Traceback (most recent call last):
    ...
    TypeError: reference: got a list; give one colour photo (PIL image, ndarray, path, Picture) or a \
Colorizer.reference, used for every image
    """
    if isinstance(image, (Picture, Image.Image, np.ndarray, str, os.PathLike)):
        return as_picture(image, max_pixels)
    raise TypeError(
        f"reference: got a {type(image).__name__}; give one colour photo (PIL image, ndarray, path, "
        "Picture) or a Colorizer.reference, used for every image"
    )


def batch_of(images: Any) -> Any:
    """The images of a batch, unless one image (a path, PIL image, Picture) was given as the batch.

    >>> batch_of("old.jpg")
    Traceback (most recent call last):
    ...
    TypeError: colorize_batch takes a sequence of images, got one str: use colorize for a single image
    """
    if isinstance(images, (str, bytes, os.PathLike, Image.Image, Picture)):
        raise TypeError(
            f"colorize_batch takes a sequence of images, got one {type(images).__name__}: "
            "use colorize for a single image"
        )
    return images


def as_kind(picture: Picture, original: Any) -> Any:
    """A result in the kind its image came as: PIL image, ndarray (dtype kept), else the Picture."""
    if isinstance(original, Image.Image):
        return picture_to_pil(picture)
    if isinstance(original, np.ndarray):
        samples = picture_to_array(picture)
        if original.dtype.kind == "f":
            return (samples.astype(np.float32) / 65535.0).astype(original.dtype)
        return samples
    return picture


def hint_map_of(hints: Any, picture: Picture, max_pixels: int | None) -> torch.Tensor:
    """The hint map (3, H, W) of `hints` (a hint map, or a hint image of any kind as_picture takes) for
    `picture`; HintError if unusable."""
    if isinstance(hints, torch.Tensor):
        if tuple(hints.shape) != (3, picture.height, picture.width):
            raise HintError(
                f"a hint map must be (3, {picture.height}, {picture.width}), got {tuple(hints.shape)}"
            )
        return hints.float()
    given = f"hints {display_path(hints)}" if isinstance(hints, (str, os.PathLike)) else "hints"
    try:
        if isinstance(hints, np.ndarray) and hints.dtype.kind == "f" and not np.isfinite(hints).all():
            raise HintError("the array holds NaN or infinite values")
        image = as_picture(hints, max_pixels)
        if image.alpha is None:
            raise HintError("no alpha channel: paint the hints on a transparent layer")
        rgb = np.repeat(image.color[..., None], 3, axis=-1) if image.is_gray else image.color
        return hints_from_rgba(rgb, image.alpha, picture.height, picture.width)
    except (ColorplugError, TypeError) as exc:  # said of the hints, not of the photo
        raise HintError(f"{given}: {exc}") from None
