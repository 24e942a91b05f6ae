"""Measuring colour from a reference photo (`colorplug eval --reference MODE`), beside the automatic run
of the same invocation:

- `self`: the reference is the ground truth itself, mirrored left-right and cropped to SELF_CROP at a
  seeded offset (an upper bound of matching);
- `same-class`: a seeded photo of the pool of the same ImageNet class (the synset in general's file
  names, e.g. n03028079 for church), never the photo itself; photos without a synset are left out;
- `unrelated`: a seeded pool photo of another class (must not hurt);
- `series`: two crops of each photo (SERIES_CROP of each side at seeded offsets, the second scaled by a
  seeded factor in SERIES_SCALES); the second is the photo measured, colorized alone (the automatic
  row) and with the first's colorized output as its reference; the mean ab difference between the two
  crops' outputs over their shared area is reported both ways.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from colorplug.color.metrics import METRICS, image_metrics, lab_of
from colorplug.engine.colorizer import Colorizer
from colorplug.errors import ColorplugError
from colorplug.evaluation.truth import ground_truth
from colorplug.io.picture import Picture
from colorplug.jobs.inputs import find_images

MODES = ("self", "same-class", "unrelated", "series")
SELF_CROP = 0.8
SERIES_CROP = 0.7
SERIES_SCALES = (0.8, 1.25)
SYNSET = re.compile(r"(n\d{8})(?:_|$)")


def image_class(path: Path) -> str | None:
    """The ImageNet synset a photo's name starts with, else None.

    >>> image_class(Path("n03028079_0a1b.jpg")), image_class(Path("cats_12.jpg"))
    ('n03028079', None)
    """
    found = SYNSET.match(path.name)
    return found.group(1) if found else None


def _group(path: Path) -> str:
    """A photo's class for `unrelated`: its synset, else the source its name starts with."""
    return image_class(path) or path.name.split("_")[0]


def _crop(color: np.ndarray, share: float, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """A crop of `share` of each side at a seeded offset, and that offset (top, left)."""
    height, width = color.shape[:2]
    side_h, side_w = round(height * share), round(width * share)
    top, left = int(rng.integers(0, height - side_h + 1)), int(rng.integers(0, width - side_w + 1))
    return np.ascontiguousarray(color[top : top + side_h, left : left + side_w]), (top, left)


def _resized(color: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(color).resize((shape[1], shape[0]), Image.Resampling.LANCZOS))


class ReferenceEval:
    """One mode's references for the photos of an evaluation, and the rows and summary they add."""

    def __init__(self, mode: str, pool: list[str], protocol: str, max_pixels: int | None) -> None:
        if mode not in MODES:
            raise ColorplugError(f"unknown reference mode {mode!r} (use {', '.join(MODES)})")
        self.mode, self.protocol, self.max_pixels = mode, protocol, max_pixels
        self.pool = self._pool(pool) if mode in ("same-class", "unrelated") else []
        self.consistency: list[tuple[float, float]] = []  # series: (alone, with reference) per photo
        self.series: dict[int, tuple] = {}

    def _pool(self, folders: list[str]) -> list[Path]:
        if not folders:
            raise ColorplugError(f"--reference {self.mode} needs a pool of photos to pick from")
        found, problems = find_images(folders)
        if problems or not found:
            raise ColorplugError(f"reference pool {', '.join(folders)}: no usable photos")
        return [item.path for item in found]

    def usable(self, paths: list[Path]) -> list[Path]:
        """The photos this mode measures (same-class: those of an ImageNet class)."""
        return [path for path in paths if image_class(path)] if self.mode == "same-class" else paths

    def truths(self, chunk: list[tuple[int, Picture]]) -> list[tuple[int, Picture]]:
        """The photos to measure: in `series`, each photo's second crop (the first kept for later)."""
        if self.mode != "series":
            return chunk
        measured = []
        for index, truth in chunk:
            rng = np.random.default_rng(index)
            first, first_at = _crop(truth.color, SERIES_CROP, rng)
            second, second_at = _crop(truth.color, SERIES_CROP, rng)
            scale = float(rng.uniform(*SERIES_SCALES))
            shape = (round(second.shape[0] * scale), round(second.shape[1] * scale))
            self.series[index] = (first, first_at, second_at, second.shape[:2])
            measured.append((index, Picture(_resized(second, shape))))
        return measured

    def reference(self, colorizer: Colorizer, index: int, path: Path, truth: Picture) -> Picture:
        """The reference photo of the photo at `index` (its truth is `truth`)."""
        rng = np.random.default_rng(index)
        if self.mode == "self":
            return Picture(_crop(truth.color[:, ::-1], SELF_CROP, rng)[0])
        if self.mode == "series":
            return colorizer.colorize_pictures([Picture(self.series[index][0])])[0]
        own = _group(path) if self.mode == "unrelated" else image_class(path)
        same = self.mode == "same-class"
        candidates = [p for p in self.pool if (_group(p) == own) == same and p.name != path.name]
        if not candidates:
            raise ColorplugError(f"no {self.mode} reference in the pool for {path.name}")
        return ground_truth(candidates[int(rng.integers(len(candidates)))], self.protocol, self.max_pixels)

    def measure(
        self, colorizer: Colorizer, chunk: list[tuple[int, Picture]], paths: list[Path], outputs, rows
    ) -> None:
        """Colorize the chunk's photos with their references; add `reference_` figures to their rows."""
        references = [self.reference(colorizer, index, paths[index], truth) for index, truth in chunk]
        results = colorizer.colorize_pictures([truth for _, truth in chunk], None, references)
        for (index, truth), row, alone, guided, reference in zip(
            chunk, rows, outputs, results, references, strict=True
        ):
            row.update({f"reference_{k}": v for k, v in image_metrics(guided.color, truth.color).items()})
            if self.mode == "series":
                pair = (self._difference(index, reference, alone), self._difference(index, reference, guided))
                row["series_ab_difference"], row["series_ab_difference_reference"] = pair
                self.consistency.append(pair)

    def _difference(self, index: int, first_output: Picture, second_output: Picture) -> float:
        """Mean ab distance (LAB units) between the two crops' outputs over their shared area."""
        _, (top_a, left_a), (top_b, left_b), shape = self.series[index]
        second = _resized(second_output.color, shape)
        bottom, right = min(top_a, top_b) + shape[0], min(left_a, left_b) + shape[1]
        top, left = max(top_a, top_b), max(left_a, left_b)
        a = lab_of(first_output.color[top - top_a : bottom - top_a, left - left_a : right - left_a])
        b = lab_of(second[top - top_b : bottom - top_b, left - left_b : right - left_b])
        return float(np.linalg.norm(a[..., 1:] - b[..., 1:], axis=-1).mean())

    def summary(self, rows: list[dict], truth_colorfulness: float) -> dict:
        """The figures with the references, what the mode is, and (series) the consistency both ways."""
        figures = {key: float(np.nanmean([row[f"reference_{key}"] for row in rows])) for key in METRICS}
        figures["colorfulness_ratio"] = figures["colorfulness"] / truth_colorfulness
        description = __doc__.split("- `")[1 + MODES.index(self.mode)].strip()
        added = {"reference_mode": self.mode, "reference_description": description}
        added["reference"] = figures
        if self.consistency:
            alone, guided = np.mean(self.consistency, axis=0)
            added.update(
                series_ab_difference_alone=float(alone), series_ab_difference_reference=float(guided)
            )
        return added
