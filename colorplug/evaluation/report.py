"""The report of an evaluation: the summary as a small table, a grid of examples (gray input /
colorplug / ground truth), and the files `colorplug eval --report` writes."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from colorplug.evaluation.reference import reference_lines
from colorplug.io.files import atomic_path

GRID_TILE = 192


@dataclass
class EvalReport:
    """Per-image rows, the summary and the grid's examples of an evaluation run."""

    rows: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    grid: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


COLUMNS = (
    ("mae_ab", "MAE_ab", "{:.4f}"),
    ("mse_ab", "MSE_ab", "{:.4f}"),
    ("psnr", "PSNR dB", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("ciede2000", "dE2000", "{:.2f}"),
    ("colorfulness_ratio", "colour/GT", "{:.2f}"),
    ("delta_colorfulness", "dCF", "{:.2f}"),
)


def format_table(summary: dict) -> str:
    """The summary as a small text table: the model above the gray baseline."""
    header = f"{'':16}" + "".join(f"{title:>11}" for _, title, _ in COLUMNS)
    lines = [
        f"{summary['images']} images, protocol {summary['protocol']}, weights {summary['weights']}",
        header,
    ]
    rows = [("colorplug", "model"), ("gray baseline", "gray_baseline")]
    if summary.get("hint_points"):
        rows.insert(1, (f"with {summary['hint_points']} hints", "hinted"))
    if summary.get("reference_mode"):
        rows.insert(1, (f"ref {summary['reference_mode']}", "reference"))
    for label, key in rows:
        values = "".join(f"{fmt.format(summary[key][name]):>11}" for name, _, fmt in COLUMNS)
        lines.append(f"{label:16}{values}")
    lines.append(realism_line(summary["realism"]))
    lines += reference_lines(summary) if summary.get("reference_mode") else []
    if summary.get("hint_points"):
        lines.append(
            f"hinted pixels: median CIEDE2000 {summary['hinted_pixel_ciede2000_median']:.2f} to the hint "
            f"({summary['hinted_pixels_in_gamut']} pixels with in-gamut hints)"
        )
    return "\n".join(lines)


def realism_line(realism: dict) -> str:
    """The Fréchet distances of a summary in one line, or why they were not measured."""
    if (distances := realism["frechet_distance"]) is None:
        return f"realism: not measured ({realism['why']})"
    model, gray = distances["model"], distances["gray_baseline"]
    said = f"Fréchet distance {model:.2f} (gray baseline {gray:.2f}) on {realism['photos']} photos"
    return f"realism: {said}; {realism['note']}"


def grid_image(
    triples: list[tuple[np.ndarray, np.ndarray, np.ndarray]], tile: int = GRID_TILE
) -> Image.Image:
    """Rows of input / prediction / ground truth tiles under a caption line."""
    caption = 16
    canvas = Image.new("RGB", (3 * tile, caption + tile * len(triples)), "white")
    draw = ImageDraw.Draw(canvas)
    for column, title in enumerate(("gray input", "colorplug", "ground truth")):
        draw.text((column * tile + 4, 2), title, fill="black")
    for row, images in enumerate(triples):
        for column, array in enumerate(images):
            thumb = Image.fromarray(array)
            thumb.thumbnail((tile, tile), Image.Resampling.LANCZOS)
            canvas.paste(thumb, (column * tile, caption + row * tile))
    return canvas


def write_report(report: EvalReport, folder: Path) -> list[Path]:
    """per_image.csv, summary.json and grid.png in `folder`, each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "per_image.csv", folder / "summary.json", folder / "grid.png"]
    with atomic_path(paths[0]) as temp, open(temp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(report.rows[0]))
        writer.writeheader()
        writer.writerows(report.rows)
    with atomic_path(paths[1]) as temp:
        temp.write_text(
            json.dumps(json_safe(report.summary), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
    with atomic_path(paths[2]) as temp:
        grid_image(report.grid).save(temp, format="PNG")
    return paths


# Why a figure can be undefined on some photos (written as null in summary.json, with the reason)
UNDEFINED_BECAUSE = {
    "ssim": "every photo is under SSIM's 7x7 window (smaller than 7 pixels on a side)",
    "colorfulness_ratio": "the ground truth has no colour (colourfulness 0)",
    "hinted_pixel_ciede2000_median": "no hint fell in the sRGB gamut",
}


def json_safe(summary: dict) -> dict:
    """The summary with each NaN or infinite figure as None (JSON has neither), and `undefined`, a table
    of each such figure's place and why it is undefined, so that the file is valid JSON.

    >>> safe = json_safe({"model": {"ssim": float("nan"), "psnr": 20.0}})
    >>> safe["model"], list(safe["undefined"])
    ({'ssim': None, 'psnr': 20.0}, ['model.ssim'])
    """
    undefined: dict[str, str] = {}
    safe = _nulls_for_non_finite(summary, "", undefined)
    return {**safe, "undefined": undefined} if undefined else safe


def _nulls_for_non_finite(value, place: str, undefined: dict[str, str]):
    if isinstance(value, dict):
        return {key: _nulls_for_non_finite(item, f"{place}{key}.", undefined) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [
            _nulls_for_non_finite(item, f"{place}{index}.", undefined) for index, item in enumerate(value)
        ]
    if isinstance(value, float) and not math.isfinite(value):
        return _undefined(place.rstrip("."), value, undefined)
    return value


def _undefined(name: str, value: float, undefined: dict[str, str]) -> None:
    """Record why the figure at `name` is undefined; None, the JSON for it."""
    why = f"not finite ({value}) on these photos"
    undefined[name] = UNDEFINED_BECAUSE.get(name.rsplit(".", 1)[-1], why)
