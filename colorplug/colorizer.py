"""The engine's main API: `Colorizer(weights, device).colorize(image)`.

The network runs on L at a render size; the predicted chroma is fitted into the sRGB gamut, scaled by
`saturation` and put back onto the photo's own full-resolution L (see compose.py). Alpha, ICC profile
and bit depth are carried from input to output.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from colorplug import compose
from colorplug.device import pick_device
from colorplug.images import (
    DEFAULT_MAX_PIXELS,
    Picture,
    load_picture,
    picture_from_array,
    picture_from_pil,
    picture_to_array,
    picture_to_pil,
    replace_color,
)
from colorplug.lab import denormalize_ab, normalize_lightness
from colorplug.model import ColorizationNet, create_model, fuse_for_inference
from colorplug.weights import LoadedWeights, WeightsError, resolve_weights

DEFAULT_RENDER_SIZE = 256


def load_network(weights: str | os.PathLike | None = None) -> tuple[ColorizationNet, LoadedWeights]:
    """Build the architecture a weights file names and load its parameters (eval mode, float32)."""
    loaded = resolve_weights(weights)
    try:
        model = create_model(loaded.arch, loaded.width)
    except ValueError as exc:
        raise WeightsError(f"weights {loaded.name!r}: {exc}") from None
    state = {
        key: value.float() if value.is_floating_point() else value for key, value in loaded.state_dict.items()
    }
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(
            f"weights {loaded.name!r} do not fit architecture {loaded.arch}: {first}"
        ) from None
    return model.eval(), loaded


@dataclass
class Prepared:
    """A picture with its full-size L and the network's input L, ready for a batch."""

    picture: Picture
    lightness: np.ndarray  # (H, W) float32, L in [0, 100]
    lightness_small: torch.Tensor  # (h, w)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.lightness_small.shape)


class Colorizer:
    """Colorize grayscale photos at full resolution with a trained network."""

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | None = None,
        render_size: int | None = None,
        saturation: float = 1.0,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        network: ColorizationNet | None = None,
        batch_size: int | None = None,
    ) -> None:
        """`weights`: a shipped name ('general', ...) or a file, None for the default.

        `render_size` None means the size the weights were trained at (else 256). `batch_size` None
        means 1 on the CPU (batching only slows convolutions there) and 16 on GPUs. `network` passes an
        already built model instead (tests, experiments).
        """
        trained_size = None
        if network is None:
            network, loaded = load_network(weights)
            self.weights_name = loaded.name
            trained_size = loaded.render_size
        else:
            self.weights_name = "custom"
        render_size = render_size or trained_size or DEFAULT_RENDER_SIZE
        if render_size < 8:
            raise ValueError(f"render size must be at least 8, got {render_size}")
        if saturation < 0:
            raise ValueError(f"saturation must be >= 0, got {saturation}")
        self.device = pick_device(device)
        # BatchNorm folded into the convs, channels_last: the fastest layout on CPUs and GPUs alike
        self.network = fuse_for_inference(network).to(self.device, memory_format=torch.channels_last)
        self.render_size = render_size
        self.saturation = saturation
        self.batch_size = batch_size or (1 if self.device.type == "cpu" else 16)
        self.max_pixels = max_pixels

    def predict_ab(self, lightness_small: torch.Tensor) -> torch.Tensor:
        """Predicted chroma (N, 2, h, w) in LAB units, on the CPU, for L (N, 1, h, w) in [0, 100]."""
        x = normalize_lightness(lightness_small).to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            if self.device.type == "cuda":
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    y = self.network(x)
            else:
                y = self.network(x)
        return denormalize_ab(y.float().cpu())

    def prepare(self, picture: Picture) -> Prepared:
        """Compute the picture's L and the network input (the CPU-heavy part that can run in threads)."""
        full = compose.lightness(picture.color)
        shape = compose.render_shape(picture.height, picture.width, self.render_size)
        return Prepared(picture, full, compose.downscale(full, shape))

    def finish(self, prepared: Prepared, ab_small: torch.Tensor) -> Picture:
        """Scale, gamut-fit and upsample predicted chroma (2, h, w) onto the full-size L."""
        small = prepared.lightness_small[None]
        ab = compose.fit_to_gamut(small, ab_small * self.saturation)
        rgb = compose.compose(prepared.lightness, ab, prepared.picture.color.dtype)
        return replace_color(prepared.picture, rgb)

    def predict_prepared(self, batch: Sequence[Prepared]) -> list[torch.Tensor]:
        """Run the network once on prepared pictures that share one render shape."""
        stacked = torch.stack([item.lightness_small for item in batch])[:, None]
        return list(self.predict_ab(stacked))

    def colorize_pictures(self, pictures: Sequence[Picture]) -> list[Picture]:
        """Colorize Pictures, batching those with equal render shapes."""
        prepared = [self.prepare(picture) for picture in pictures]
        results: list[Picture | None] = [None] * len(prepared)
        by_shape: dict[tuple[int, int], list[int]] = {}
        for index, item in enumerate(prepared):
            by_shape.setdefault(item.shape, []).append(index)
        for indices in by_shape.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                for index, ab in zip(chunk, self.predict_prepared([prepared[i] for i in chunk]), strict=True):
                    results[index] = self.finish(prepared[index], ab)
        return [r for r in results if r is not None]

    def colorize(self, image: Any) -> Any:
        """Colorize one image and return it in the kind it came as.

        PIL image -> PIL image (8-bit); ndarray -> ndarray of the same dtype ((H, W, 3) or (H, W, 4));
        path -> Picture (use images.save_picture to write it, 16-bit kept); Picture -> Picture.
        """
        return self.colorize_batch([image])[0]

    def colorize_batch(self, images: Sequence[Any]) -> list[Any]:
        """Colorize several images (each as `colorize` takes them), batching the network calls."""
        pictures = [self._as_picture(image) for image in images]
        return [
            self._as_kind(out, original)
            for out, original in zip(self.colorize_pictures(pictures), images, strict=True)
        ]

    def _as_picture(self, image: Any) -> Picture:
        if isinstance(image, Picture):
            return image
        if isinstance(image, Image.Image):
            return picture_from_pil(image)
        if isinstance(image, np.ndarray):
            return picture_from_array(image)
        if isinstance(image, (str, os.PathLike)):
            return load_picture(Path(image), self.max_pixels)
        raise TypeError(f"cannot colorize a {type(image).__name__}: give a PIL image, ndarray or path")

    @staticmethod
    def _as_kind(picture: Picture, original: Any) -> Any:
        if isinstance(original, Image.Image):
            return picture_to_pil(picture)
        if isinstance(original, np.ndarray):
            samples = picture_to_array(picture)
            if original.dtype.kind == "f":
                return (samples.astype(np.float32) / 65535.0).astype(original.dtype)
            return samples
        return picture
