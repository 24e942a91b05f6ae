"""The engine's main API: `Colorizer(weights, device).colorize(image, hints=None)`.

The network runs on L at a render size (with the user's colour hints, for networks that take them); its
chroma is decoded at the chosen vividness, fitted into the sRGB gamut, scaled by `saturation` and put
back onto the photo's own full-resolution L (see color/compose.py). Alpha, ICC profile and bit depth are
carried from input to output.
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

from colorplug.color import compose
from colorplug.color.confidence import cell_confidence, to_full_size, to_render_size
from colorplug.color.decoders import DECODERS, decode
from colorplug.color.lab import denormalize_ab, normalize_lightness
from colorplug.defaults import (
    DEFAULT_DECODER,
    DEFAULT_MAX_PIXELS,
    DEFAULT_RENDER_SIZE,
    DEFAULT_SATURATION,
    DEFAULT_VIVIDNESS,
    MAX_SATURATION,
    MAX_VIVIDNESS,
    MIN_RENDER_SIZE,
)
from colorplug.device import pick_device
from colorplug.engine import insight
from colorplug.engine.network import Network, load_network
from colorplug.errors import ColorplugError, SettingError
from colorplug.hints.follow import follow_hints
from colorplug.hints.maps import HintError, hints_from_rgba, resize_hints
from colorplug.io.decode import load_picture
from colorplug.io.files import display_path
from colorplug.io.picture import (
    Picture,
    picture_from_array,
    picture_from_pil,
    picture_to_array,
    picture_to_pil,
    replace_color,
)
from colorplug.nets.fuse import fuse_for_inference
from colorplug.nets.registry import CHANNELS_LAST

MEMORY_FORMATS = {CHANNELS_LAST: torch.channels_last}  # any other: torch.contiguous_format


@dataclass
class Prepared:
    """A picture with its full-size L and the network's input L, ready for a batch."""

    picture: Picture
    lightness: np.ndarray  # (H, W) float32, L in [0, 100]
    lightness_small: torch.Tensor  # (h, w)
    hints_small: torch.Tensor | None = None  # (3, h, w) hint map at the render size

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.lightness_small.shape)


def check_vividness(vividness: float) -> float:
    """A finite vividness in [0, MAX_VIVIDNESS], else ValueError.

    >>> check_vividness(0.4)
    0.4
    """
    if not 0 <= vividness <= MAX_VIVIDNESS:  # also refuses NaN
        raise ValueError(f"vividness must be in [0, {MAX_VIVIDNESS:g}], got {vividness}")
    return float(vividness)


def _check_render_size(render_size: int) -> int:
    if render_size < MIN_RENDER_SIZE:
        raise ValueError(
            f"render size must be at least {MIN_RENDER_SIZE} (or unset: as trained), got {render_size}"
        )
    return render_size


def _check_saturation(saturation: float) -> float:
    if not 0 <= saturation <= MAX_SATURATION:  # also refuses NaN
        raise ValueError(f"saturation must be in [0, {MAX_SATURATION:g}], got {saturation}")
    return saturation


def _check_decoder(decoder: str) -> str:
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, got {decoder!r}")
    return decoder


class Colorizer:
    """Colorize grayscale photos at full resolution with a trained network.

    >>> colorizer = Colorizer("general", device="cpu")
    >>> colorizer.weights_name, colorizer.render_size, colorizer.vividness, colorizer.takes_hints
    ('general', 160, 0.4, True)
    """

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str | None = None,
        render_size: int | None = None,
        saturation: float = DEFAULT_SATURATION,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        network: Network | None = None,
        batch_size: int | None = None,
        vividness: float | None = None,
        decoder: str | None = None,
    ) -> None:
        """`weights`: a shipped name ('general', ...) or a file, None for the default.

        `render_size` None means the size the weights were trained at (else DEFAULT_RENDER_SIZE).
        `vividness` (0 to 1.5, for weights that predict a colour distribution) goes from the colours most
        likely right (0) to rarer, more vivid ones (1: as rebalanced in training, and beyond); None means
        DEFAULT_VIVIDNESS, which was chosen on a validation split (see the README). `batch_size` None
        means 1 on the CPU (batching only slows convolutions there) and 16 on GPUs. `network` passes an
        already loaded network instead of `weights` (tests, experiments). `decoder`: how a colour
        distribution becomes one colour per pixel (color/decoders.py), None for DEFAULT_DECODER.
        """
        network = network or load_network(weights)
        self.weights_name = network.name
        self.config = network.config
        self.render_size = _check_render_size(render_size or network.render_size or DEFAULT_RENDER_SIZE)
        self.saturation = _check_saturation(saturation)
        self.vividness = self._vividness(vividness)
        self.decoder = _check_decoder(decoder or DEFAULT_DECODER)
        self.device = pick_device(device)
        # BatchNorm folded into the convs; channels_last where it is the faster layout (plain convs)
        self.memory_format = MEMORY_FORMATS.get(self.config.memory_format, torch.contiguous_format)
        self.network = fuse_for_inference(network.module).to(self.device, memory_format=self.memory_format)
        self.batch_size = batch_size or (1 if self.device.type == "cpu" else 16)
        self.max_pixels = max_pixels

    @property
    def takes_hints(self) -> bool:
        """Whether the network takes colour hints."""
        return self.config.takes_hints

    def _vividness(self, vividness: float | None) -> float | None:
        """The vividness to decode at: None for weights without a colour distribution (which refuse one)."""
        if self.config.predicts_distribution:
            return DEFAULT_VIVIDNESS if vividness is None else check_vividness(vividness)
        if vividness is not None:
            raise SettingError(
                "weights {name!r} have no vividness control (trained without the colour distribution "
                "head): leave {vividness} at its default",
                ["vividness"],
                name=self.weights_name,
            )
        return None

    def predict_ab(
        self, lightness_small: torch.Tensor, hints: torch.Tensor | None = None, confidence: bool = False
    ) -> Any:
        """Predicted chroma (N, 2, h, w) in LAB units, on the CPU, for L (N, 1, h, w) in [0, 100] and
        optional hint maps (N, 3, h, w). With `confidence`: (chroma, confidence (N, 1, h, w) in 0..1).

        >>> Colorizer("general", device="cpu").predict_ab(torch.full((1, 1, 32, 48), 50.0)).shape
        torch.Size([1, 2, 32, 48])
        """
        x = normalize_lightness(lightness_small).to(self.device).contiguous(memory_format=self.memory_format)
        given = None if hints is None else hints.to(self.device).contiguous(memory_format=self.memory_format)
        with torch.inference_mode():
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                chroma = self.network(x) if given is None else self.network(x, given)
            if self.config.predicts_distribution:
                weights = self.network.class_weights
                ab = decode(chroma, self.network.bins, weights, self.vividness, x, self.decoder)
            else:
                ab = chroma.ab
            if given is not None:  # make sure of what the user asked for, over the hinted regions
                ab = follow_hints(ab.float(), x.float(), given.float())
        ab = denormalize_ab(ab.float().cpu())
        if not bool(torch.isfinite(ab).all()):
            raise ColorplugError(
                f"weights {self.weights_name!r} produced non-finite colours (damaged weights?)"
            )
        if confidence:
            return ab, self._confidence(chroma.logits, lightness_small)
        return ab

    def check_distribution(self, what: str) -> None:
        """ColorplugError unless the weights predict a colour distribution (which `what` needs)."""
        if not self.config.predicts_distribution:
            name = self.weights_name
            raise ColorplugError(f"weights {name!r} predict no colour distribution, which {what} needs")

    def _confidence(self, logits: torch.Tensor | None, lightness_small: torch.Tensor) -> torch.Tensor:
        """Render-size confidence (N, 1, h, w) of the colours decoded (see color/confidence.py)."""
        self.check_distribution("a confidence map")
        settings = (self.network.bins.cpu(), self.network.class_weights.cpu(), self.vividness)
        with torch.inference_mode():
            cells = cell_confidence(logits.float().cpu(), *settings, lightness_small, self.decoder)
            return to_render_size(cells, lightness_small.float())

    def predict_logits(self, prepared: Prepared) -> torch.Tensor:
        """The network's logits (1, Q, h / 4, w / 4) over the ab bins for one prepared picture (no hints)."""
        self.check_distribution("colour suggestions")
        x = normalize_lightness(prepared.lightness_small[None, None]).to(self.device)
        with torch.inference_mode():
            return self.network(x.contiguous(memory_format=self.memory_format)).logits.float().cpu()

    def prepare(self, picture: Picture, hints: Any = None) -> Prepared:
        """Compute the picture's L and the network input (the CPU-heavy part that can run in threads).

        `hints`: a hint image (path, PIL image, array with alpha, Picture) or a hint map (3, H, W).

        >>> prepared = Colorizer("general", device="cpu").prepare(Picture(np.zeros((300, 400), np.uint8)))
        >>> prepared.lightness.shape, prepared.shape
        ((300, 400), (160, 213))
        """
        full = compose.lightness(picture.color)
        shape = compose.render_shape(picture.height, picture.width, self.render_size)
        hint_map = None if hints is None else resize_hints(self.hint_map(hints, picture), shape)
        return Prepared(picture, full, compose.downscale(full, shape), hint_map)

    def hint_map(self, hints: Any, picture: Picture) -> torch.Tensor:
        """The hint map (3, H, W) of `hints` for `picture` (see prepare); HintError if unusable.

        >>> photo, dots = Picture(np.zeros((30, 40), np.uint8)), np.zeros((30, 40, 4), np.uint8)
        >>> dots[10, 20] = (255, 0, 0, 255)  # one red, opaque pixel
        >>> hint_map = Colorizer("general", device="cpu").hint_map(dots, photo)
        >>> hint_map.shape, int(hint_map[2].sum())
        (torch.Size([3, 30, 40]), 1)
        """
        if not self.takes_hints:
            raise ColorplugError(
                f"weights {self.weights_name!r} take no colour hints (the default, general, do)"
            )
        if isinstance(hints, torch.Tensor):
            if tuple(hints.shape) != (3, picture.height, picture.width):
                raise ValueError(
                    f"a hint map must be (3, {picture.height}, {picture.width}), got {tuple(hints.shape)}"
                )
            return hints.float()
        given = f"hints {display_path(hints)}" if isinstance(hints, (str, os.PathLike)) else "hints"
        try:
            if isinstance(hints, np.ndarray) and hints.dtype.kind == "f" and not np.isfinite(hints).all():
                raise HintError("the array holds NaN or infinite values")
            image = self._as_picture(hints)
            if image.alpha is None:
                raise HintError("no alpha channel: paint the hints on a transparent layer")
            rgb = np.repeat(image.color[..., None], 3, axis=-1) if image.is_gray else image.color
            return hints_from_rgba(rgb, image.alpha, picture.height, picture.width)
        except (ColorplugError, TypeError) as exc:  # said of the hints, not of the photo
            raise HintError(f"{given}: {exc}") from None

    def finish(self, prepared: Prepared, ab_small: torch.Tensor) -> Picture:
        """Scale, gamut-fit and upsample predicted chroma (2, h, w) onto the full-size L.

        >>> colorizer = Colorizer("general", device="cpu")
        >>> prepared = colorizer.prepare(Picture(np.full((30, 40), 128, np.uint8)))
        >>> colorizer.finish(prepared, torch.zeros(2, *prepared.shape)).color.shape
        (30, 40, 3)
        """
        small = prepared.lightness_small[None]
        scaled = ab_small * self.saturation
        if not bool(torch.isfinite(scaled).all()):  # e.g. a saturation set to NaN after construction
            raise ColorplugError(f"colour scaled by saturation {self.saturation} is not finite")
        ab = compose.fit_to_gamut(small, scaled)
        rgb = compose.compose(prepared.lightness, ab, prepared.picture.color.dtype)
        return replace_color(prepared.picture, rgb)

    def predict_prepared(self, batch: Sequence[Prepared], confidence: bool = False) -> list[Any]:
        """Run the network once on prepared pictures of one render shape (confidence: see predict_ab).

        >>> colorizer = Colorizer("general", device="cpu")
        >>> batch = [colorizer.prepare(Picture(np.zeros((30, 40), np.uint8))) for _ in range(2)]
        >>> [ab.shape for ab in colorizer.predict_prepared(batch)]
        [torch.Size([2, 160, 213]), torch.Size([2, 160, 213])]
        """
        stacked = torch.stack([item.lightness_small for item in batch])[:, None]
        hints = None
        if any(item.hints_small is not None for item in batch):
            empty = torch.zeros(3, *stacked.shape[-2:])
            hints = torch.stack([empty if item.hints_small is None else item.hints_small for item in batch])
        if confidence:
            return list(zip(*self.predict_ab(stacked, hints, confidence=True), strict=True))
        return list(self.predict_ab(stacked, hints))

    def colorize_pictures(
        self, pictures: Sequence[Picture], hints: Sequence[Any] | None = None, confidence: bool = False
    ) -> list[Any]:
        """Colorize Pictures (each with its hints, or None), batching those with equal render shapes;
        with `confidence`, each result is (Picture, 8-bit confidence map (H, W)).

        >>> gray = Picture(np.zeros((30, 40), np.uint16))
        >>> [out.color.dtype for out in Colorizer("general", device="cpu").colorize_pictures([gray])]
        [dtype('uint16')]
        """
        hints = [None] * len(pictures) if hints is None else hints
        if confidence:
            self.check_distribution("a confidence map")
        prepared = [self.prepare(picture, given) for picture, given in zip(pictures, hints, strict=True)]
        results: list[Any] = [None] * len(prepared)
        by_shape: dict[tuple[int, int], list[int]] = {}
        for index, item in enumerate(prepared):
            by_shape.setdefault(item.shape, []).append(index)
        for indices in by_shape.values():
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                predicted = self.predict_prepared([prepared[i] for i in chunk], confidence)
                for index, result in zip(chunk, predicted, strict=True):
                    results[index] = self._finish_result(prepared[index], result, confidence)
        return [r for r in results if r is not None]

    def _finish_result(self, prepared: Prepared, result: Any, confidence: bool) -> Any:
        if not confidence:
            return self.finish(prepared, result)
        return self.finish(prepared, result[0]), to_full_size(result[1][0], prepared.lightness.shape)

    def colorize(self, image: Any, hints: Any = None, confidence: bool = False) -> Any:
        """Colorize one image and return it in the kind it came as.

        PIL image -> PIL image (8-bit); ndarray -> ndarray of the same dtype ((H, W, 3) or (H, W, 4));
        path -> Picture (use colorplug.io.encode.save_picture to write it, 16-bit kept); Picture ->
        Picture. `hints`: a hint image of the photo's size or aspect ratio (path, PIL image, RGBA array)
        whose opaque pixels give colours to follow; their lightness is ignored. With `confidence`:
        (image, map), the map 8-bit gray (255 = most certain) as a PIL image, an array or a Picture.

        >>> colorizer = Colorizer("general", device="cpu")
        >>> colorizer.colorize(np.zeros((30, 40), np.uint8)).shape
        (30, 40, 3)
        >>> colorizer.colorize(Image.new("L", (40, 30))).mode
        'RGB'
        >>> [part.mode for part in colorizer.colorize(Image.new("L", (40, 30)), confidence=True)]
        ['RGB', 'L']
        """
        return self.colorize_batch([image], None if hints is None else [hints], confidence)[0]

    def colorize_batch(
        self, images: Sequence[Any], hints: Sequence[Any] | None = None, confidence: bool = False
    ) -> list[Any]:
        """Colorize several images (each as `colorize` takes and returns them), batching network calls.

        >>> images = [np.zeros((30, 40), np.uint8), np.zeros((20, 20, 4), np.uint8)]
        >>> [out.shape for out in Colorizer("general", device="cpu").colorize_batch(images)]
        [(30, 40, 3), (20, 20, 4)]
        """
        pictures = [self._as_picture(image) for image in images]
        outputs = self.colorize_pictures(pictures, hints, confidence)
        if not confidence:
            return [self._as_kind(out, original) for out, original in zip(outputs, images, strict=True)]
        pairs = zip(outputs, images, strict=True)
        return [(self._as_kind(out, kind), insight.map_as_kind(sure, kind)) for (out, sure), kind in pairs]

    def suggest(self, image: Any, region: Any = None, count: int = 5) -> list[insight.Suggestion]:
        """The `count` most likely distinct colours of a region: a box (x, y, w, h), a mask or None (all).

        >>> [len(s.hex) for s in Colorizer("general", device="cpu").suggest(np.zeros((30, 40), np.uint8))]
        [7, 7, 7, 7, 7]
        """
        prepared = self.prepare(self._as_picture(image))
        logits, bins = self.predict_logits(prepared), self.network.bins.cpu()
        weights = self.network.class_weights.cpu()
        return insight.suggest_in(logits, bins, weights, prepared.lightness, prepared.shape, region, count)

    def where_to_hint(self, image: Any, count: int = 5) -> list[insight.Place]:
        """The `count` places, most unsure first, where a hint would help most (see engine/insight.py).

        >>> len(Colorizer("general", device="cpu").where_to_hint(np.zeros((60, 80), np.uint8))) <= 5
        True
        """
        prepared = self.prepare(self._as_picture(image))
        _, confidence = self.predict_ab(prepared.lightness_small[None, None], confidence=True)
        return insight.where_to_hint(confidence[0, 0], prepared.lightness.shape, count)

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
