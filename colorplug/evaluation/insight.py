"""Measuring what the distribution tells beside the colour, on colour photos: how well the confidence map
ranks the errors (sparsification), how often a region's true colour is among the suggestions, and how
much hints at the suggested places help beside hints at random places.

Sparsification (per photo, then averaged): the mean CIEDE2000 of the pixels kept when the x% least
certain are removed, x = 0..90, beside the oracle's (the x% worst removed) and a seeded random order's;
AUSE is the area between a curve and the oracle's (x as a fraction). Ties in the 8-bit map are broken at
random (seeded). Suggestions: the ground truth's SLIC superpixels of at least MIN_REGION of the photo; a
hit is a region whose true mean colour is within HIT_DE (CIEDE2000) of one of the top-k suggestions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from colorplug.color.lab import normalize_ab
from colorplug.color.metrics import lab_of, psnr
from colorplug.engine.colorizer import Colorizer
from colorplug.engine.insight import Place, suggest_in
from colorplug.errors import ColorplugError
from colorplug.evaluation.run import _paths
from colorplug.evaluation.truth import readable_truth, truth_ab
from colorplug.hints.maps import EVAL_PATCH, sample_points
from colorplug.io.picture import Picture

STEPS = np.arange(0, 91)  # percent of pixels removed
MIN_REGION = 0.01  # share of the photo a superpixel must cover to be a region
SEGMENTS = 40  # SLIC superpixels asked for per photo
HIT_DE = 10.0  # CIEDE2000 within which a suggestion counts as the region's colour
TOP = (1, 3, 5)
PLACED_HINTS = 5
LIFTS = ("psnr_lift_placed", "psnr_lift_random", "placed_minus_random")

Progress = Callable[[int, int], None] | None


@dataclass
class InsightReport:
    """The summary (summary.json) and the mean sparsification curves (for the plot), if measured."""

    summary: dict = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class InsightRun:
    """What every insight evaluation is asked: the colorizer, the photos (folders, at most `limit`, 0
    for all), the protocol, and whom to tell the progress."""

    colorizer: Colorizer
    folders: list[str]
    protocol: str = "paper"
    limit: int = 0
    progress: Progress = None

    def truths(self, skipped: list[str]) -> Iterator[tuple[int, Picture]]:
        """(index, ground truth) of the photos, the unreadable ones noted in `skipped`."""
        paths: list[Path] = _paths(self.folders, self.limit)
        for index, path in enumerate(paths):
            if (truth := readable_truth(path, self.protocol, self.colorizer.max_pixels, skipped)) is not None:
                yield index, truth
            if self.progress:
                self.progress(index + 1, len(paths))

    def described(self, summary: dict) -> dict:
        """The summary with what was measured, how and where (ColorplugError if no photo could be read)."""
        if not summary["images"]:
            raise ColorplugError("no image could be evaluated: " + "; ".join(summary["skipped"][:3]))
        colorizer = self.colorizer
        settings = {"weights": colorizer.weights_name, "vividness": colorizer.vividness}
        settings |= {"decoder": colorizer.decoder, "render_size": colorizer.render_size}
        return {**settings, "protocol": self.protocol, "data": self.folders, **summary}


def removal_curve(errors: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(len(STEPS),) mean of `errors` (n,) left when the first x% of `order` (indices) are removed.

    >>> removal_curve(np.array([4.0, 0.0]), np.array([0, 1]))[[0, 50, 90]].tolist()
    [2.0, 0.0, 0.0]
    """
    kept_sums = errors.sum() - np.concatenate(([0.0], np.cumsum(errors[order])))
    removed = np.floor(STEPS / 100 * len(errors)).astype(int)
    return kept_sums[removed] / (len(errors) - removed)


def sparsification(errors: np.ndarray, confidence: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The curves of one photo: by confidence (least certain first), the oracle's and a random order's."""
    tie_break = (generator := np.random.default_rng(seed)).random(len(errors)) * 0.5  # within one level
    return {
        "confidence": removal_curve(errors, np.argsort(confidence + tie_break, kind="stable")),
        "oracle": removal_curve(errors, np.argsort(-errors, kind="stable")),
        "random": removal_curve(errors, generator.permutation(len(errors))),
    }


def ause(curve: np.ndarray, oracle: np.ndarray) -> float:
    """Area between a sparsification curve and the oracle's, over the removed share 0..0.9."""
    gap = np.asarray(curve) - np.asarray(oracle)
    return float(np.sum((gap[1:] + gap[:-1]) / 2) * (STEPS[1] - STEPS[0]) / 100)


def pixel_errors(output: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """CIEDE2000 (H * W,) of each pixel of an output against its truth (both uint8 RGB)."""
    from skimage.color import deltaE_ciede2000

    return deltaE_ciede2000(lab_of(output), lab_of(truth)).ravel()


def confidence_summary(curves: dict[str, np.ndarray]) -> dict:
    """AUSE of the confidence and of the random order, their ratio, and the 20% removal figures ({} when
    no photo was measured)."""
    if not curves:
        return {}
    mine, oracle, chance = (curves[key] for key in ("confidence", "oracle", "random"))
    drop, best = mine[0] - mine[20], oracle[0] - oracle[20]
    return {
        "ause": ause(mine, oracle),
        "ause_random": ause(chance, oracle),
        "ause_ratio_to_random": ause(mine, oracle) / max(ause(chance, oracle), 1e-12),
        "ciede2000_all": float(mine[0]),
        "ciede2000_without_20pct_least_certain": float(mine[20]),
        "ciede2000_without_20pct_worst_oracle": float(oracle[20]),
        "drop_20pct_share_of_oracle": float(drop / best) if best > 0 else float("nan"),
    }


def evaluate_confidence(run: InsightRun) -> InsightReport:
    """Sparsification of the confidence map over the photos of `folders` (see the module docstring)."""
    run.colorizer.check_distribution("a confidence map")
    skipped: list[str] = []
    sums: dict[str, np.ndarray] = {}
    count = 0
    for index, truth in run.truths(skipped):
        output, sure = run.colorizer.colorize_pictures([truth], confidence=True)[0]
        for key, curve in sparsification(
            pixel_errors(output.color, truth.color), sure.ravel(), index
        ).items():
            sums[key] = sums.get(key, 0) + curve
        count += 1
    curves = {key: (value / max(count, 1)).tolist() for key, value in sums.items()}
    summary = {"images": count, "skipped": skipped, "removed_percent": STEPS.tolist(), "curves": curves}
    summary.update(confidence_summary({key: np.asarray(value) for key, value in curves.items()}))
    return InsightReport(run.described(summary), curves)


def regions_of(truth: np.ndarray) -> Iterator[np.ndarray]:
    """Boolean masks of the truth's SLIC superpixels that cover at least MIN_REGION of it."""
    from skimage.segmentation import slic

    segments = slic(truth, n_segments=SEGMENTS, compactness=10, start_label=1)
    areas = np.bincount(segments.ravel())
    for label in np.nonzero(areas >= MIN_REGION * segments.size)[0]:
        yield segments == label


def region_hits(colorizer: Colorizer, truth: Picture) -> list[list[bool]]:
    """For each region of a photo, whether each of the top-k suggestions (k in TOP) hits its colour."""
    from skimage.color import deltaE_ciede2000

    prepared = colorizer.prepare(truth)
    logits = colorizer.predict_logits(prepared)
    bins, weights = colorizer.network.bins.cpu(), colorizer.network.class_weights.cpu()
    lab = lab_of(truth.color)
    hits, full = [], prepared.full_lightness()
    for mask in regions_of(truth.color):
        offered = suggest_in(logits, bins, weights, full, prepared.shape, mask, max(TOP))
        distances = deltaE_ciede2000(np.array([s.lab for s in offered]), lab[mask].mean(axis=0)[None])
        hits.append([bool((distances[:top] <= HIT_DE).any()) for top in TOP])
    return hits


def evaluate_suggest(run: InsightRun) -> InsightReport:
    """Top-1/3/5 hit rates of the suggestions over the photos' regions (see the module docstring)."""
    run.colorizer.check_distribution("colour suggestions")
    skipped: list[str] = []
    hits: list[list[bool]] = []
    photos = 0
    for _, truth in run.truths(skipped):
        hits += region_hits(run.colorizer, truth)
        photos += 1
    rates = np.mean(np.array(hits, dtype=float), axis=0) if hits else np.full(len(TOP), np.nan)
    summary = {"images": photos, "skipped": skipped, "regions": len(hits), "hit_ciede2000": HIT_DE}
    summary.update({f"top{top}_hit_rate": float(rate) for top, rate in zip(TOP, rates, strict=True)})
    return InsightReport(run.described(summary))


def placed_hints(ab: torch.Tensor, places: list[Place], patch: int = EVAL_PATCH) -> torch.Tensor:
    """A hint map (3, H, W) revealing the truth's mean ab (2, H, W) over a patch at each place."""
    hints = torch.zeros(3, *ab.shape[-2:])
    for place in places:
        top = min(max(place.y - patch // 2, 0), ab.shape[-2] - patch)
        left = min(max(place.x - patch // 2, 0), ab.shape[-1] - patch)
        window = (slice(top, top + patch), slice(left, left + patch))
        hints[:2, window[0], window[1]] = normalize_ab(ab[:, window[0], window[1]].mean(dim=(1, 2)))[
            :, None, None
        ]
        hints[2, window[0], window[1]] = 1.0
    return hints


def hint_lifts(colorizer: Colorizer, truth: Picture, seed: int) -> tuple[float, float]:
    """PSNR lift of PLACED_HINTS hints at the places to hint, and of as many at seeded random places
    (the first NaN when no place to hint was found: no hint was placed)."""
    ab = truth_ab(truth.color)
    places = colorizer.where_to_hint(truth, PLACED_HINTS)
    random = sample_points(ab, PLACED_HINTS, seed=seed)
    plain, *hinted = colorizer.colorize_pictures(
        [truth, truth, truth], [None, placed_hints(ab, places), random]
    )
    base = psnr(plain.color, truth.color)
    placed = psnr(hinted[0].color, truth.color) - base if places else float("nan")
    return placed, psnr(hinted[1].color, truth.color) - base


def lift_figures(lifts: np.ndarray) -> dict:
    """The mean lifts (n, 2) over the photos where a place to hint was found, and how many had none;
    each figure None with the reason in `undefined` when no photo had one (no numpy warning).

    >>> lift_figures(np.array([[2.0, 1.0], [np.nan, 3.0]]))
    {'photos_without_places': 1, 'psnr_lift_placed': 2.0, 'psnr_lift_random': 1.0, 'placed_minus_random': 1.0}
    >>> lift_figures(np.empty((0, 2)))["undefined"]["psnr_lift_placed"]
    'no photo was measured'
    """
    measured = lifts[np.isfinite(lifts[:, 0])]
    figures = {"photos_without_places": len(lifts) - len(measured)}
    if not len(measured):
        why = "no place to hint was found on any photo" if len(lifts) else "no photo was measured"
        return figures | dict.fromkeys(LIFTS) | {"undefined": dict.fromkeys(LIFTS, why)}
    placed, random = (float(value) for value in measured.mean(axis=0))
    return figures | dict(zip(LIFTS, (placed, random, placed - random), strict=True))


def evaluate_where(run: InsightRun) -> InsightReport:
    """Mean PSNR lift of hints at the places to hint beside hints at random places (over the photos where
    a place to hint was found, see lift_figures)."""
    run.colorizer.check_distribution("places to hint")
    skipped: list[str] = []
    found = run.truths(skipped)
    lifts = np.array([hint_lifts(run.colorizer, truth, index) for index, truth in found]).reshape(-1, 2)
    summary = {"images": len(lifts), "skipped": skipped, "hints": PLACED_HINTS, "hint_patch": EVAL_PATCH}
    summary.update(lift_figures(lifts))
    return InsightReport(run.described(summary))
