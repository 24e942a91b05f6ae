"""Colour suggestions and places to hint from the network's logits over the ab bins: what
`Colorizer.suggest` and `Colorizer.where_to_hint` answer, and both at once from one network run
(`colorplug suggest --where`). The colorizer is passed in (this module does not import it)."""

from __future__ import annotations

from typing import Any

import torch

from colorplug.engine.insight import PLACES, SUGGESTIONS, Place, Suggestion, suggest_in, where_to_hint
from colorplug.engine.kinds import as_picture


def suggestions_of(colorizer: Any, prepared: Any, logits: torch.Tensor, region: Any, count: int) -> list:
    """The `count` suggestions for a region of a prepared photo, from its logits (see Colorizer.suggest)."""
    bins, weights = colorizer.network.bins.cpu(), colorizer.network.class_weights.cpu()
    return suggest_in(logits, bins, weights, prepared.full_lightness(), prepared.shape, region, count)


def places_of(colorizer: Any, prepared: Any, logits: torch.Tensor, count: int) -> list[Place]:
    """The `count` places to hint of a prepared photo, from its logits (see Colorizer.where_to_hint)."""
    sure = colorizer._confidence(logits, prepared.lightness_small[None, None])[0, 0]
    return where_to_hint(sure, prepared.full_shape, count)


def suggest_and_place(
    colorizer: Any, image: Any, region: Any = None, count: int = SUGGESTIONS, places: int = PLACES
) -> tuple[list[Suggestion], list[Place]]:
    """`colorizer.suggest(image, region, count)` and `colorizer.where_to_hint(image, places)`, the photo
    prepared and the network run once.

    >>> import numpy as np
    >>> from colorplug.engine.colorizer import Colorizer
    >>> offered, found = suggest_and_place(Colorizer("general", device="cpu"), np.zeros((60, 80), np.uint8))
    >>> len(offered), len(found) <= 5
    (5, True)
    """
    colorizer.check_distribution("colour suggestions and places to hint")
    prepared = colorizer.prepare(as_picture(image, colorizer.max_pixels))
    logits = colorizer.predict_logits(prepared)
    return suggestions_of(colorizer, prepared, logits, region, count), places_of(
        colorizer, prepared, logits, places
    )
