"""What the distribution tells beside the colour: suggestions for a region and where a hint would help.

Suggestions: the probabilities (at vividness 0: the colours most likely right) of the cells a region
covers are pooled (their mean, weighted by how much of each cell the region covers) and their distinct
modes (color/modes.py) are offered in the region's own mean lightness, fitted into sRGB. Where to hint:
the pixels whose confidence is below the photo's own LOW_SHARE quantile are split into places by a
k-means weighted by their unsureness (1 - confidence), the most unsure place first, each at its member
nearest its centre. On validation photos this beat the largest unsure connected regions: hints spread
over the unsure area help more than hints in its biggest blobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from colorplug.color.compose import fit_to_gamut
from colorplug.color.confidence import bins_in_gamut, cell_lightness, distribution
from colorplug.color.lab import lab_to_rgb
from colorplug.color.modes import pick_modes
from colorplug.io.picture import Picture

SUGGESTIONS = 5  # colours offered by default
PLACES = 5  # places to hint offered by default
LOW_SHARE = 0.5  # "unsure": below this quantile of the photo's own map (chosen on val, docs/confidence.md)
ROUNDS = 15  # k-means rounds

Box = tuple[int, int, int, int]  # x, y, width, height in photo pixels


@dataclass(frozen=True)
class Suggestion:
    """A colour offered for a region: 8-bit sRGB, its share of the region's distribution, its LAB."""

    rgb: tuple[int, int, int]
    share: float
    lab: tuple[float, float, float]

    @property
    def hex(self) -> str:
        """'#rrggbb'.

        >>> Suggestion((255, 128, 0), 0.5, (67.0, 43.0, 74.0)).hex
        '#ff8000'
        """
        return "#{:02x}{:02x}{:02x}".format(*self.rgb)


@dataclass(frozen=True)
class Place:
    """A place where a hint would help: its centre and the size of its region, in photo pixels."""

    x: int
    y: int
    width: int
    height: int
    area: int


def check_box(box: Box, height: int, width: int) -> Box:
    """The box if it lies inside a photo of height x width and is not empty, else ValueError.

    >>> check_box((0, 0, 10, 10), 10, 10)
    (0, 0, 10, 10)
    """
    if len(box) != 4 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in box):
        raise ValueError(f"a region is a box (x, y, width, height) of whole pixels, got {box!r}")
    x, y, w, h = box
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise ValueError(f"region {x},{y},{w},{h} is not inside the {width}x{height} photo")
    return box


def _overlaps(start: int, length: int, size: int, cells: int) -> torch.Tensor:
    """(cells,) how many photo pixels of [start, start + length) each of `cells` equal spans covers."""
    edges = torch.arange(cells + 1, dtype=torch.float64) * (size / cells)
    low, high = edges[:-1].clamp(min=start), edges[1:].clamp(max=start + length)
    return (high - low).clamp(min=0).float()


def render_weights(region: Box | np.ndarray, photo: tuple[int, int], render: tuple[int, int]) -> torch.Tensor:
    """(h, w) share of each render pixel covered by a box or a boolean mask of the photo's size.

    >>> render_weights((0, 0, 2, 4), (4, 4), (2, 2)).tolist()
    [[1.0, 0.0], [1.0, 0.0]]
    """
    if isinstance(region, np.ndarray):
        mask = torch.from_numpy(region.astype(np.float32))[None, None]
        return F.adaptive_avg_pool2d(mask, render)[0, 0]
    x, y, w, h = check_box(region, *photo)
    rows = _overlaps(y, h, photo[0], render[0]) * (render[0] / photo[0])
    columns = _overlaps(x, w, photo[1], render[1]) * (render[1] / photo[1])
    return rows[:, None] * columns[None, :]


def region_lightness(region: Box | np.ndarray, lightness: np.ndarray) -> float:
    """The mean L of a region (a box or a boolean mask) of the full-size L (H, W)."""
    if isinstance(region, np.ndarray):
        return float(lightness[region].mean())
    x, y, w, h = region
    return float(lightness[y : y + h, x : x + w].mean())


def suggest_colours(
    logits: torch.Tensor,
    bins: torch.Tensor,
    class_weights: torch.Tensor,
    weights: torch.Tensor,
    lightness: float,
    count: int = SUGGESTIONS,
) -> list[Suggestion]:
    """The distinct colours of logits (1, Q, gh, gw) pooled over render-size weights (h, w), in L.

    >>> bins = torch.tensor([[0.0, 0.0], [40.0, 40.0]])
    >>> logits = torch.tensor([0.0, 2.0]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    >>> [s.share > 0.8 for s in suggest_colours(logits, bins, torch.ones(2), torch.ones(8, 8), 60.0)]
    [True, False]
    """
    cells = cell_lightness(weights.float()[None, None], tuple(logits.shape[-2:]))[0, 0]
    probabilities = distribution(logits, class_weights, 0.0)[0]  # (Q, gh, gw)
    pooled = (probabilities * cells).sum(dim=(1, 2)) / cells.sum().clamp(min=1e-12)
    pooled = pooled * bins_in_gamut(torch.full((1, 1, 1, 1), lightness), bins.float())[0, :, 0, 0]
    colours, shares = pick_modes(pooled, bins, count)
    return [
        _suggestion(colour, float(share), lightness) for colour, share in zip(colours, shares, strict=True)
    ]


def suggest_in(
    logits: torch.Tensor,
    bins: torch.Tensor,
    class_weights: torch.Tensor,
    lightness: np.ndarray,
    render: tuple[int, int],
    region: Box | np.ndarray | None,
    count: int = SUGGESTIONS,
) -> list[Suggestion]:
    """suggest_colours for a region (a box, a mask or None: the whole photo) of full-size L (H, W)."""
    region = (0, 0, lightness.shape[1], lightness.shape[0]) if region is None else region
    weights = render_weights(region, lightness.shape, render)
    return suggest_colours(logits, bins, class_weights, weights, region_lightness(region, lightness), count)


def _suggestion(ab: torch.Tensor, share: float, lightness: float) -> Suggestion:
    """A Suggestion of ab (2,) at L, fitted into the sRGB gamut."""
    fitted = fit_to_gamut(torch.full((1, 1, 1), lightness), ab.view(2, 1, 1))
    lab = torch.cat((torch.full((1, 1, 1), lightness), fitted))
    rgb = (lab_to_rgb(lab).clamp(0, 1) * 255).round().flatten().int().tolist()
    return Suggestion(tuple(rgb), share, tuple(round(float(v), 2) for v in lab.flatten()))


def where_to_hint(
    confidence: torch.Tensor, photo: tuple[int, int], count: int = PLACES, low_share: float = LOW_SHARE
) -> list[Place]:
    """Up to `count` places in the render-size confidence (h, w) below its `low_share` quantile: its
    pixels split by a weighted k-means, most unsure first, as Places in photo pixels (see the module
    docstring).

    >>> sure = torch.ones(20, 20)
    >>> sure[2:8, 2:8], sure[12:16, 12:16] = 0.1, 0.2  # two unsure squares
    >>> where_to_hint(sure, (40, 40), count=2)
    [Place(x=9, y=9, width=12, height=12, area=144), Place(x=27, y=27, width=8, height=8, area=64)]
    """
    if count < 1:
        raise ValueError(f"the number of places must be at least 1, got {count}")
    values = confidence.float().numpy()
    points = np.argwhere(values < min(float(np.quantile(values, low_share)), float(values.max())))
    if not len(points):
        return []
    weights = 1.0 - values[tuple(points.T)] + 1e-6
    owner = _clusters(points.astype(float), weights, min(count, len(points)))
    found = [(float(weights[owner == k].sum()), points[owner == k], weights[owner == k]) for k in set(owner)]
    found.sort(key=lambda item: -item[0])
    places = [_place(members, mass, values.shape, photo) for _, members, mass in found]
    return [place for place in places if place.area > 0]  # a photo smaller than the grid has fewer


def _clusters(points: np.ndarray, weights: np.ndarray, count: int) -> np.ndarray:
    """Which of `count` clusters each point (n, 2) belongs to: weighted k-means, started from the most
    unsure point and then, one by one, the point farthest (weighted) from the centres so far."""
    centres = points[[int(weights.argmax())]]
    while len(centres) < count:
        gaps = ((points[:, None] - centres[None]) ** 2).sum(axis=-1).min(axis=1)
        centres = np.vstack((centres, points[int((weights * gaps).argmax())]))
    for _ in range(ROUNDS):
        owner = ((points[:, None] - centres[None]) ** 2).sum(axis=-1).argmin(axis=1)
        for k in range(count):
            if (owner == k).any():
                centres[k] = np.average(points[owner == k], axis=0, weights=weights[owner == k])
    return owner


def _place(points: np.ndarray, weights: np.ndarray, grid: tuple[int, int], photo: tuple[int, int]) -> Place:
    """The Place of one cluster of render pixels (n, 2): its member nearest its weighted centre (so it
    lies on the unsure area, not beside a ring of it) and its extent."""
    centre = np.average(points, axis=0, weights=weights)
    row, column = points[int(((points - centre) ** 2).sum(axis=1).argmin())]
    extent = points.max(axis=0) - points.min(axis=0) + 1
    scale_y, scale_x = photo[0] / grid[0], photo[1] / grid[1]
    return Place(
        x=int((column + 0.5) * scale_x),
        y=int((row + 0.5) * scale_y),
        width=round(extent[1] * scale_x),
        height=round(extent[0] * scale_y),
        area=round(len(points) * scale_x * scale_y),
    )


def map_as_kind(confidence: np.ndarray, original: object) -> object:
    """A confidence map (H, W) uint8 in the kind of the image it belongs to (see Colorizer.colorize)."""
    from PIL import Image

    if isinstance(original, Image.Image):
        return Image.fromarray(confidence, mode="L")
    return confidence if isinstance(original, np.ndarray) else Picture(confidence)


def swatch_strip(suggestions: list[Suggestion], size: int = 64) -> np.ndarray:
    """The colours as a strip of square swatches (size, size * count, 3) uint8, most likely first.

    >>> swatch_strip([Suggestion((255, 0, 0), 1.0, (53.0, 80.0, 67.0))], 4)[0, 0].tolist()
    [255, 0, 0]
    """
    colours = np.array([s.rgb for s in suggestions], dtype=np.uint8).reshape(-1, 3)
    return np.ascontiguousarray(np.repeat(np.repeat(colours[None], size, axis=1), size, axis=0))
