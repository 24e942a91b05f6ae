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
import time
from pathlib import Path

import numpy as np
from PIL import Image

from colorplug.color.metrics import METRICS, image_metrics, lab_of
from colorplug.engine.colorizer import Colorizer
from colorplug.errors import ColorplugError
from colorplug.evaluation.truth import ground_truth
from colorplug.hints.reference import Reference, ReferencePhotoError
from colorplug.io.picture import Picture
from colorplug.jobs.inputs import find_images

MODES = ("self", "same-class", "unrelated", "series")
SELF_CROP = 0.8
SERIES_CROP = 0.7
SERIES_SCALES = (0.8, 1.25)
CAMVID = "camvid"
SYNSET = re.compile(r"(n\d{8})(?:_|$)")


def image_class(path: Path) -> str | None:
    """The ImageNet synset a photo's name starts with, else None.

    >>> image_class(Path("n03028079_0a1b.jpg")), image_class(Path("cats_12.jpg"))
    ('n03028079', None)
    """
    found = SYNSET.match(path.name)
    return found.group(1) if found else None


def _group(path: Path) -> str:
    """A photo's class for `unrelated`: its synset, else the source its name starts with (CamVid's
    train_, val_ and test_ frames are one source, street scenes).

    >>> _group(Path("n03028079_0a1b.jpg")), _group(Path("cats_12.jpg")), _group(Path("val_3.jpg"))
    ('n03028079', 'cats', 'camvid')
    """
    source = path.name.split("_")[0]
    return image_class(path) or (CAMVID if source in ("train", "val", "test") else source)


def _no_synset(what: str, count: int) -> str:
    """Why same-class cannot measure: none of the `count` photos of `what` is named by its synset.

    >>> _no_synset("to measure", 3).endswith("none of the 3 photos to measure is (3 skipped for lacking one)")
    True
    """
    return (
        "--reference same-class needs photos named by their ImageNet synset (as n03028079_123.jpg): "
        f"none of the {count} photos {what} is ({count} skipped for lacking one)"
    )


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
        self.first_outputs: dict[int, Picture] = {}  # series: the first crop's output, the reference
        self.refused: list[str] = []
        self.seconds = {"alone": 0.0, "with_reference": 0.0, "references": 0.0}

    def _pool(self, folders: list[str]) -> list[Path]:
        if not folders:
            raise ColorplugError(f"--reference {self.mode} needs a pool of photos to pick from")
        found, problems = find_images(folders)
        if problems or not found:
            raise ColorplugError(f"reference pool {', '.join(folders)}: no usable photos")
        paths = [item.path for item in found]
        if self.mode == "same-class" and not any(map(image_class, paths)):
            raise ColorplugError(_no_synset(f"of the reference pool {', '.join(folders)}", len(paths)))
        return paths

    def usable(self, paths: list[Path]) -> list[Path]:
        """The photos this mode measures (same-class: those of an ImageNet class; ColorplugError if
        there are photos but none is named by its synset)."""
        if self.mode != "same-class":
            return paths
        named = [path for path in paths if image_class(path)]
        if paths and not named:
            raise ColorplugError(_no_synset("to measure", len(paths)))
        return named

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
        self, colorizer: Colorizer, chunk: list[tuple[int, Picture]], paths: list[Path], rows
    ) -> None:
        """Colorize the chunk's photos alone and with their references (timed apart; a refused reference
        leaves its photo as colorized alone, counted); add `reference_` figures to their rows."""
        truths = [truth for _, truth in chunk]
        began = time.perf_counter()
        outputs = colorizer.colorize_pictures(truths)
        self.seconds["alone"] += time.perf_counter() - began
        began = time.perf_counter()
        references = [self._prepared(colorizer, index, paths[index], truth) for index, truth in chunk]
        self.seconds["references"] += time.perf_counter() - began
        began = time.perf_counter()
        results = colorizer.colorize_pictures(truths, None, references)
        self.seconds["with_reference"] += time.perf_counter() - began
        for (index, truth), row, alone, guided in zip(chunk, rows, outputs, results, strict=True):
            row.update({f"reference_{k}": v for k, v in image_metrics(guided.color, truth.color).items()})
            if self.mode == "series":
                first = self.first_outputs.pop(index)
                pair = (self._difference(index, first, alone), self._difference(index, first, guided))
                row["series_ab_difference"], row["series_ab_difference_reference"] = pair
                self.consistency.append(pair)

    def _prepared(self, colorizer: Colorizer, index: int, path: Path, truth: Picture) -> Reference | None:
        """The prepared reference of a photo, None (counted in `refused`) when it is refused."""
        picture = self.reference(colorizer, index, path, truth)
        if self.mode == "series":
            self.first_outputs[index] = picture
        try:
            return colorizer.reference(picture)
        except ReferencePhotoError as exc:
            self.refused.append(f"{path.name}: {exc}")
            return None

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
        """The figures with the references, what the mode is, the time a reference costs, the refused
        references and (series) the consistency both ways."""
        figures = {key: float(np.nanmean([row[f"reference_{key}"] for row in rows])) for key in METRICS}
        figures["colorfulness_ratio"] = figures["colorfulness"] / truth_colorfulness
        figures["delta_colorfulness"] = abs(figures["colorfulness"] - truth_colorfulness)
        description = __doc__.split("- `")[1 + MODES.index(self.mode)].strip()
        added = {"reference_mode": self.mode, "reference_description": description, "reference": figures}
        added["reference_refused"] = self.refused
        added["reference_seconds"] = {key: round(value, 2) for key, value in self.seconds.items()}
        added["reference_cost_ratio"] = self.seconds["with_reference"] / max(self.seconds["alone"], 1e-9)
        if self.consistency:
            alone, guided = np.mean(self.consistency, axis=0)
            added.update(
                series_ab_difference_alone=float(alone), series_ab_difference_reference=float(guided)
            )
        return added


def reference_lines(summary: dict) -> list[str]:
    """The lines a summary's reference figures add below the table: lift, cost, consistency."""
    lift = summary["reference"]["psnr"] - summary["model"]["psnr"]
    lines = [
        f"reference {summary['reference_mode']}: PSNR {lift:+.2f} dB against the automatic run; "
        f"{len(summary['reference_refused'])} references refused (those photos colorized alone); "
        f"time with a reference {summary['reference_cost_ratio']:.2f}x the automatic run's"
    ]
    if "series_ab_difference_alone" in summary:
        lines.append(
            f"series: mean ab difference over the shared area {summary['series_ab_difference_alone']:.2f} "
            f"alone, {summary['series_ab_difference_reference']:.2f} with the first crop as reference"
        )
    return lines
