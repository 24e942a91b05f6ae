"""The engine's main API: `Colorizer(weights, device).colorize(image, hints=None)`.

The network runs on L at a render size (with the user's colour hints, for networks that take them); its
chroma is decoded at the chosen vividness, fitted into the sRGB gamut, scaled by `saturation` and put
back onto the photo's own full-resolution L (see color/compose.py). Alpha, ICC profile and bit depth are
carried from input to output.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np  # noqa: F401 (the examples in the docstrings use it)
import torch

from colorplug.color import compose
from colorplug.color.confidence import cell_confidence, to_full_size, to_render_size
from colorplug.color.decoders import decode, upsample_cells
from colorplug.color.lab import denormalize_ab, normalize_lightness
from colorplug.defaults import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_RENDER_SIZE,
    DEFAULT_SATURATION,
)
from colorplug.device import pick_device
from colorplug.engine import advice, insight
from colorplug.engine.kinds import as_kind, as_picture, as_reference_picture, batch_of, hint_map_of
from colorplug.engine.network import Network, load_network
from colorplug.engine.prepared import Prepared
from colorplug.engine.reference import ReferenceCache, guided_run, reference_of, with_reference_hints
from colorplug.engine.settings import (
    check_render_size,
    check_saturation,
    count_mismatch,
    decoder_for,
    vividness_for,
)
from colorplug.errors import ColorplugError
from colorplug.hints.follow import follow_hints
from colorplug.hints.maps import HintError, resize_hints
from colorplug.hints.reference import Reference, ReferencePhotoError, check_network
from colorplug.io.picture import Picture, StripedPicture, replace_color
from colorplug.nets.fuse import fuse_for_inference
from colorplug.nets.registry import CHANNELS_LAST

MEMORY_FORMATS = {CHANNELS_LAST: torch.channels_last}  # any other: torch.contiguous_format


class Colorizer:
    """Colorize grayscale photos at full resolution with a trained network.

    >>> colorizer = Colorizer("general", device="cpu")
    >>> colorizer.weights_name, colorizer.render_size, colorizer.vividness, colorizer.decoder
    ('general', 160, 0.2, 'region')
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
        self.render_size = check_render_size(render_size or network.render_size or DEFAULT_RENDER_SIZE)
        self.saturation = check_saturation(saturation)
        self.vividness = vividness_for(self.config, self.weights_name, vividness)
        self.decoder = decoder_for(self.config, self.weights_name, decoder)
        self.device = pick_device(device)
        # BatchNorm folded into the convs; channels_last where it is the faster layout (plain convs)
        self.memory_format = MEMORY_FORMATS.get(self.config.memory_format, torch.contiguous_format)
        self.network = fuse_for_inference(network.module).to(self.device, memory_format=self.memory_format)
        self.batch_size = batch_size or (1 if self.device.type == "cpu" else 16)
        self.max_pixels = max_pixels
        self.references = ReferenceCache(self._reference_of_picture, max_pixels)  # files, once each

    @property
    def takes_hints(self) -> bool:
        """Whether the network takes colour hints."""
        return self.config.takes_hints

    @property
    def takes_reference(self) -> bool:
        """Whether the network can match a reference photo (it has the Lite0 encoder, as general)."""
        try:
            check_network(self.network, self.weights_name)
        except ReferencePhotoError:
            return False
        return True

    def predict_ab(
        self,
        lightness_small: torch.Tensor,
        hints: torch.Tensor | None = None,
        references: Sequence[Reference | None] | None = None,
        confidence: bool = False,
    ) -> Any:
        """Predicted chroma (N, 2, h, w) in LAB units, on the CPU, for L (N, 1, h, w) in [0, 100],
        optional hint maps (N, 3, h, w) and optional references (one per photo, or None). With
        `confidence`: (chroma, confidence (N, 1, h, w) in 0..1).

        >>> Colorizer("general", device="cpu").predict_ab(torch.full((1, 1, 32, 48), 50.0)).shape
        torch.Size([1, 2, 32, 48])
        """
        x = normalize_lightness(lightness_small).to(self.device).contiguous(memory_format=self.memory_format)
        given = None if hints is None else hints.to(self.device).contiguous(memory_format=self.memory_format)
        with torch.inference_mode():
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
                if references is None:
                    chroma = self.network(x) if given is None else self.network(x, given)
                else:
                    chroma, found = guided_run(self.network, x, given, references)
            ab, cells = self._decode(chroma, x)
            if references is not None:  # the matches' hints beside the user's, which win
                given = with_reference_hints(ab.float(), given, found, references)
            if given is not None:  # make sure of what the user asked for, over the hinted regions
                ab = follow_hints(ab.float(), x.float(), given.float())
        ab = denormalize_ab(ab.float().cpu())
        if not bool(torch.isfinite(ab).all()):
            raise ColorplugError(
                f"weights {self.weights_name!r} produced non-finite colours (damaged weights?)"
            )
        if confidence:
            return ab, self._confidence(chroma.logits, lightness_small, cells)
        return ab

    def _decode(self, chroma: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """ab / 128 of the network's output (its distribution decoded at the settings, else its regression)
        and the decoded cells in LAB units (None for a regression), which the confidence reuses."""
        if not self.config.predicts_distribution:
            return chroma.ab, None
        settings = (self.network.bins, self.network.class_weights, self.vividness)
        cells = decode(chroma, *settings, x, self.decoder, cells=True)
        return upsample_cells(cells, tuple(chroma.ab.shape[-2:])), cells

    def check_distribution(self, what: str) -> None:
        """ColorplugError unless the weights predict a colour distribution (which `what` needs)."""
        if not self.config.predicts_distribution:
            name = self.weights_name
            raise ColorplugError(f"weights {name!r} predict no colour distribution, which {what} needs")

    def _confidence(self, logits: Any, lightness_small: torch.Tensor, cells: Any = None) -> torch.Tensor:
        """Render-size confidence (N, 1, h, w) of the colours decoded (`cells`, see color/confidence.py)."""
        self.check_distribution("a confidence map")
        settings = (self.network.bins.cpu(), self.network.class_weights.cpu(), self.vividness)
        with torch.inference_mode():
            chosen = None if cells is None else cells.float().cpu()
            sure = cell_confidence(logits.float().cpu(), *settings, lightness_small, self.decoder, chosen)
            return to_render_size(sure, lightness_small.float())

    def predict_logits(self, prepared: Prepared) -> torch.Tensor:
        """The network's logits (1, Q, h / 4, w / 4) over the ab bins for one prepared picture (no hints)."""
        self.check_distribution("colour suggestions")
        x = normalize_lightness(prepared.lightness_small[None, None]).to(self.device)
        with torch.inference_mode():
            return self.network(x.contiguous(memory_format=self.memory_format)).logits.float().cpu()

    def prepare(self, picture: Picture, hints: Any = None, reference: Any = None) -> Prepared:
        """Compute the picture's L and the network input (the CPU-heavy part that can run in threads).

        `hints`: a hint image (path, PIL image, array with alpha, Picture) or a hint map (3, H, W);
        `reference`: a colour photo to take colours from (see `reference`).

        >>> prepared = Colorizer("general", device="cpu").prepare(Picture(np.zeros((300, 400), np.uint8)))
        >>> prepared.full_shape, prepared.shape
        ((300, 400), (160, 213))
        """
        shape = compose.render_shape(picture.height, picture.width, self.render_size)
        hint_map = None if hints is None else resize_hints(self.hint_map(hints, picture), shape)
        given = None if reference is None else self.reference(reference)
        samples = compose.lightness_samples(picture.color)
        return Prepared(picture, samples, compose.small_lightness(samples, shape), hint_map, given)

    def reference(self, image: Any) -> Reference:
        """A colour photo (path, PIL image, array, Picture) prepared as a reference: prepare it once and
        pass it to every photo of a series (files are prepared once anyway); ReferencePhotoError if unusable.

        >>> colorizer = Colorizer("general", device="cpu")
        >>> colorizer.reference(np.zeros((64, 64, 3), np.uint8))
        Traceback (most recent call last):
        ...
        colorplug.hints.reference.ReferencePhotoError: reference: is gray: a reference must be a colour photo
        """
        if isinstance(image, Reference):
            return image
        check_network(self.network, self.weights_name)
        if isinstance(image, (str, os.PathLike)):
            return self.references.get(image)
        try:
            return self._reference_of_picture(as_reference_picture(image, self.max_pixels))
        except ReferencePhotoError as exc:
            raise ReferencePhotoError(f"reference: {exc}") from None

    def _reference_of_picture(self, picture: Picture) -> Reference:
        return reference_of(self.network, picture, self.render_size, self.device)

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
        return hint_map_of(hints, picture, self.max_pixels)

    def finish(
        self, prepared: Prepared, ab_small: torch.Tensor, dtype: Any = None, padded: bool = False
    ) -> Picture:
        """Scale, gamut-fit and upsample predicted chroma (2, h, w) onto the full-size L, as samples of
        `dtype` (None: the picture's own; uint8 for a 16-bit photo bound for an 8-bit file); `padded`:
        stored as the RGBX a JPEG encoder takes without a copy (see compose.compose).

        >>> colorizer = Colorizer("general", device="cpu")
        >>> prepared = colorizer.prepare(Picture(np.full((30, 40), 128, np.uint8)))
        >>> colorizer.finish(prepared, torch.zeros(2, *prepared.shape)).color.shape
        (30, 40, 3)
        """
        dtype = dtype or prepared.picture.color.dtype
        rgb = compose.compose(prepared.samples, self._fitted(prepared, ab_small), dtype, padded)
        return replace_color(prepared.picture, rgb)

    def finish_strips(self, prepared: Prepared, ab_small: torch.Tensor, dtype: Any = None) -> StripedPicture:
        """What finish gives, as strips of rows made as a writer takes them (see io.encode.save_striped):
        the full-size result is never held, only the photo and a few strips.

        >>> colorizer = Colorizer("general", device="cpu")
        >>> prepared = colorizer.prepare(Picture(np.full((30, 40), 128, np.uint8)))
        >>> striped = colorizer.finish_strips(prepared, torch.zeros(2, *prepared.shape))
        >>> striped.rows, [strip.shape for strip in striped.strips]
        (13107, [(30, 40, 3)])
        """
        dtype = dtype or prepared.picture.color.dtype
        rows = max(1, compose.STRIP_PIXELS // prepared.full_shape[1])
        strips = compose.compose_strips(prepared.samples, self._fitted(prepared, ab_small), dtype, rows)
        return StripedPicture(prepared.picture, dtype, rows, strips)

    def _fitted(self, prepared: Prepared, ab_small: torch.Tensor) -> torch.Tensor:
        """Predicted chroma (2, h, w) scaled by the saturation and fitted into the sRGB gamut."""
        scaled = ab_small * self.saturation
        if not bool(torch.isfinite(scaled).all()):  # e.g. a saturation set to NaN after construction
            raise ColorplugError(f"colour scaled by saturation {self.saturation} is not finite")
        return compose.fit_to_gamut(prepared.lightness_small[None], scaled)

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
        references = [item.reference for item in batch]
        references = None if references == [None] * len(batch) else references
        if confidence:
            return list(zip(*self.predict_ab(stacked, hints, references, confidence=True), strict=True))
        return list(self.predict_ab(stacked, hints, references))

    def colorize_pictures(
        self,
        pictures: Sequence[Picture],
        hints: Sequence[Any] | None = None,
        references: Sequence[Any] | None = None,
        confidence: bool = False,
    ) -> list[Any]:
        """Colorize Pictures (each with its hints and its reference, or None), batching those with equal
        render shapes; with `confidence`, each result is (Picture, 8-bit confidence map (H, W)).

        >>> gray = Picture(np.zeros((30, 40), np.uint16))
        >>> [out.color.dtype for out in Colorizer("general", device="cpu").colorize_pictures([gray])]
        [dtype('uint16')]
        """
        hints = [None] * len(pictures) if hints is None else list(hints)
        references = [None] * len(pictures) if references is None else list(references)
        if len(hints) != len(pictures):
            raise HintError(count_mismatch(len(pictures), len(hints)))
        if len(references) != len(pictures):
            raise ReferencePhotoError(count_mismatch(len(pictures), len(references), "reference"))
        if confidence:
            self.check_distribution("a confidence map")
        prepared = [
            self.prepare(picture, given, reference)
            for picture, given, reference in zip(pictures, hints, references, strict=True)
        ]
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
        return self.finish(prepared, result[0]), to_full_size(result[1][0], prepared.full_shape)

    def colorize(self, image: Any, hints: Any = None, reference: Any = None, confidence: bool = False) -> Any:
        """Colorize one image and return it in the kind it came as.

        PIL image -> PIL image (8-bit); ndarray -> ndarray of the same dtype ((H, W, 3) or (H, W, 4));
        path -> Picture (use colorplug.io.encode.save_picture to write it, 16-bit kept); Picture ->
        Picture. `hints`: a hint image of the photo's size or aspect ratio (path, PIL image, RGBA array)
        whose opaque pixels give colours to follow; their lightness is ignored. `reference`: a colour photo
        of similar content (or a prepared `reference`) whose matching colours are followed. With
        `confidence`: (image, map), the map 8-bit gray (255 = most certain) as a PIL image, an array or a
        Picture.

        >>> from PIL import Image
        >>> colorizer = Colorizer("general", device="cpu")
        >>> colorizer.colorize(np.zeros((30, 40), np.uint8)).shape
        (30, 40, 3)
        >>> colorizer.colorize(Image.new("L", (40, 30))).mode
        'RGB'
        >>> [part.mode for part in colorizer.colorize(Image.new("L", (40, 30)), confidence=True)]
        ['RGB', 'L']
        """
        return self.colorize_batch([image], None if hints is None else [hints], reference, confidence)[0]

    def colorize_batch(
        self,
        images: Sequence[Any],
        hints: Sequence[Any] | None = None,
        reference: Any = None,
        confidence: bool = False,
    ) -> list[Any]:
        """Colorize several images (each as `colorize` takes and returns them), batching the network
        calls; one `reference` for all of them (a series), prepared once.

        >>> images = [np.zeros((30, 40), np.uint8), np.zeros((20, 20, 4), np.uint8)]
        >>> [out.shape for out in Colorizer("general", device="cpu").colorize_batch(images)]
        [(30, 40, 3), (20, 20, 4)]
        """
        pictures = [as_picture(image, self.max_pixels) for image in batch_of(images)]
        given = None if reference is None else [self.reference(reference)] * len(pictures)
        outputs = self.colorize_pictures(pictures, hints, given, confidence)
        if not confidence:
            return [as_kind(out, original) for out, original in zip(outputs, images, strict=True)]
        pairs = zip(outputs, images, strict=True)
        return [(as_kind(out, kind), insight.map_as_kind(sure, kind)) for (out, sure), kind in pairs]

    def suggest(self, image: Any, region: Any = None, count: int = 5) -> list[insight.Suggestion]:
        """The `count` most likely distinct colours of a region: a box (x, y, w, h), a mask or None (all).

        >>> [len(s.hex) for s in Colorizer("general", device="cpu").suggest(np.zeros((30, 40), np.uint8))]
        [7, 7, 7, 7, 7]
        """
        prepared = self.prepare(as_picture(image, self.max_pixels))
        return advice.suggestions_of(self, prepared, self.predict_logits(prepared), region, count)

    def where_to_hint(self, image: Any, count: int = 5) -> list[insight.Place]:
        """The `count` places, most unsure first, where a hint would help most (see engine/insight.py).

        >>> len(Colorizer("general", device="cpu").where_to_hint(np.zeros((60, 80), np.uint8))) <= 5
        True
        """
        self.check_distribution("places to hint")
        prepared = self.prepare(as_picture(image, self.max_pixels))
        return advice.places_of(self, prepared, self.predict_logits(prepared), count)
