"""What each evaluation measures against: a colour photo's ground truth under a protocol, and the gray
baseline (the photo with no colour), the floor beside every figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from colorplug.color import compose
from colorplug.color.metrics import lab_of
from colorplug.evaluation.protocols import PROTOCOLS
from colorplug.io.decode import load_picture
from colorplug.io.picture import ImageError, Picture, to_uint8


def ground_truth(path: Path, protocol: str, max_pixels: int | None) -> Picture:
    """The colour reference as 8-bit RGB (resized to the protocol's size, if it has one)."""
    picture = load_picture(path, max_pixels)
    color = to_uint8(picture.color)
    if picture.is_gray:
        raise ImageError("is a grayscale image: evaluation needs colour ground truth")
    size = PROTOCOLS[protocol].size
    if size is not None:
        color = np.asarray(Image.fromarray(color).resize((size, size), Image.Resampling.LANCZOS))
    return Picture(color=np.ascontiguousarray(color))


def readable_truth(path: Path, protocol: str, max_pixels: int | None, skipped: list[str]) -> Picture | None:
    """The ground truth of one photo, or None with the reason added to `skipped` (an evaluation skips a
    photo it cannot use, it does not stop)."""
    try:
        return ground_truth(path, protocol, max_pixels)
    except ImageError as exc:
        skipped.append(f"{path}: {exc}")
        return None


def gray_baseline(truth: np.ndarray) -> np.ndarray:
    """The no-colour floor: the ground truth's own L with ab = 0, as uint8 RGB."""
    return compose.compose(truth, torch.zeros((2, 1, 1)), np.uint8)


def truth_ab(color: np.ndarray) -> torch.Tensor:
    """The ground truth's ab (2, H, W) in LAB units, which hints are sampled from."""
    return torch.from_numpy(lab_of(color)[..., 1:]).permute(2, 0, 1)
