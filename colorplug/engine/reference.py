"""A reference photo in the engine: prepared once (its features, lightness and colours at the render
size, see hints/reference.py), cached per file for a whole series, and used on a batch: the colour
prior added to the logits during the network's run, then the matches' hints beside the user's."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from colorplug.color import compose
from colorplug.color.lab import normalize_ab, normalize_lightness, rgb_to_lab
from colorplug.errors import one_line
from colorplug.hints.reference import (
    MIN_MATCH_SHARE,
    STRIDE,
    Reference,
    ReferencePhotoError,
    cell_means,
    colour_prior,
    distribution_of,
    encoder_features,
    free_cells,
    match_hints,
    matches,
    similarity,
    tap_features,
)
from colorplug.io.decode import load_picture
from colorplug.io.files import display_path
from colorplug.io.picture import Picture
from colorplug.nets.blocks import Chroma

MIN_SIDE = 32  # a reference smaller than this (pixels, either side) is refused as tiny
MIN_CHROMA = 0.5  # ... and one whose mean chroma (LAB units) is below this as gray (a muted colorized
# output is a fine reference for a series: 2.0 refused 21 of 80 val photos' first crops, 0.5 refused 2)


def _small_colour(picture: Picture, shape: tuple[int, int]) -> torch.Tensor:
    """The picture's LAB (3, h, w) at `shape` (RGB resized first, antialiased)."""
    top = 65535.0 if picture.color.dtype == np.uint16 else 255.0
    rgb = torch.from_numpy(picture.color.astype(np.float32) / top).permute(2, 0, 1)[None]
    rgb = F.interpolate(rgb, size=shape, mode="bilinear", align_corners=False, antialias=True)
    return rgb_to_lab(rgb.clamp(0, 1))[0]


def reference_of(network: nn.Module, picture: Picture, render_size: int, device: torch.device) -> Reference:
    """Prepare a colour photo as a reference; ReferencePhotoError when it is tiny or gray."""
    if min(picture.height, picture.width) < MIN_SIDE:
        raise ReferencePhotoError(
            f"is only {picture.width}x{picture.height} pixels: a reference needs {MIN_SIDE} a side"
        )
    shape = compose.render_shape(picture.height, picture.width, render_size)
    lab = None if picture.is_gray else _small_colour(picture, shape)
    if lab is None or float(lab[1:].norm(dim=0).mean()) < MIN_CHROMA:
        raise ReferencePhotoError("is gray: a reference must be a colour photo")
    lightness = compose.small_lightness(picture.color, shape)
    x = normalize_lightness(lightness)[None, None].to(device)
    with torch.inference_mode():
        features = encoder_features(network, x)[0].float().cpu()
    bins = getattr(network, "bins", None)
    has_bins = bins is not None and bool(bins.abs().sum() > 0)
    return Reference(
        features,
        cell_means(lightness[None, None])[0, 0],
        cell_means(normalize_ab(lab[None, 1:]))[0],
        distribution_of(lab[1:], bins.cpu()) if has_bins else None,
    )


def guided_run(
    network: nn.Module, x: torch.Tensor, given: torch.Tensor | None, references: Sequence[Reference | None]
) -> tuple[Chroma, list[torch.Tensor | None]]:
    """The network's Chroma for L `x` (N, 1, H, W) with the references' colour prior on its logits, and
    each photo's matches (None without a reference), from the encoder's features of this very run."""
    taps: list = []
    handle = network.encoder.register_forward_hook(lambda module, inputs, output: taps.append(output))
    try:
        chroma = network(x) if given is None else network(x, given)
    finally:
        handle.remove()
    features = tap_features(taps[0], tuple(x.shape[-2:]))
    lightness = cell_means(x.float() * 50 + 50)[:, 0]
    cells = tuple(features.shape[-2:])
    logits = None if chroma.logits is None else list(chroma.logits.float())
    found: list[torch.Tensor | None] = []
    for index, reference in enumerate(references):
        kept = None if reference is None else _confident(features[index], lightness[index], reference)
        found.append(None if kept is None else kept[1])
        if kept is not None and logits is not None and reference.distribution is not None:
            logits[index] = logits[index] + colour_prior(kept[0], reference, cells, logits[index].shape[-2:])
    return Chroma(chroma.ab, None if logits is None else torch.stack(logits)), found


def _confident(
    features: torch.Tensor, lightness: torch.Tensor, reference: Reference
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The similarity and matches of a target to its reference, None when too few of its cells match
    (the photo's confidence gate: a reference that matches nothing changes nothing)."""
    sim = similarity(features, reference)
    found = matches(sim, lightness, reference)
    return (sim, found) if len(found) >= MIN_MATCH_SHARE * sim.shape[0] else None


def with_reference_hints(
    ab: torch.Tensor,
    given: torch.Tensor | None,
    found: Sequence[torch.Tensor | None],
    references: Sequence[Reference | None],
) -> torch.Tensor | None:
    """The hint maps (N, 3, H, W) to follow: the user's `given` where they are, the matches' hints (see
    match_hints) elsewhere, away from the user's; None when there are neither."""
    maps = []
    for index, reference in enumerate(references):
        user = None if given is None else given[index]
        if reference is None or found[index] is None:
            maps.append(ab.new_zeros(3, *ab.shape[-2:]) if user is None else user)
            continue
        free = free_cells(user, (-(-ab.shape[-2] // STRIDE), -(-ab.shape[-1] // STRIDE)))
        hints = match_hints(ab[index], found[index], reference, free)
        maps.append(hints if user is None else torch.where(user[2:] > 0, user, hints))
    stacked = torch.stack(maps)
    return stacked if given is not None or bool(stacked[:, 2].any()) else None


class ReferenceCache:
    """References prepared from files, once each (by path, size and modification time), failures too;
    safe to use from several threads. `prepared` counts the preparations (benchmarks, tests)."""

    def __init__(self, prepare: Callable[[Picture], Reference], max_pixels: int | None) -> None:
        self._prepare, self._max_pixels = prepare, max_pixels
        self._lock = threading.Lock()
        self._known: dict[tuple, Reference | ReferencePhotoError] = {}
        self.prepared = 0

    def get(self, path: str | os.PathLike) -> Reference:
        """The reference of the photo at `path`; ReferencePhotoError (one line, naming it) when unusable."""
        key = _file_key(Path(path))
        with self._lock:
            if key not in self._known:
                self._known[key] = self._load(Path(path))
            known = self._known[key]
        if isinstance(known, ReferencePhotoError):
            raise known
        return known

    def _load(self, path: Path) -> Reference | ReferencePhotoError:
        self.prepared += 1
        try:
            return self._prepare(load_picture(path, self._max_pixels))
        except Exception as exc:  # unreadable, gray, tiny: said of the reference, not of the photo
            return ReferencePhotoError(f"reference {display_path(path)}: {one_line(exc)}")


def _file_key(path: Path) -> tuple:
    try:
        status = path.stat()
        return (os.path.realpath(path), status.st_size, status.st_mtime_ns)
    except OSError:
        return (str(path),)
