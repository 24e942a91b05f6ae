"""The report of an evaluation: the summary as a small table, a grid of examples (gray input /
colorplug / ground truth), and the files `colorplug eval --report` writes."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

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
    for label, key in rows:
        values = "".join(f"{fmt.format(summary[key][name]):>11}" for name, _, fmt in COLUMNS)
        lines.append(f"{label:16}{values}")
    lines.append(realism_line(summary["realism"]))
    if summary.get("hint_points"):
        lines.append(
            f"hinted pixels: median CIEDE2000 {summary['hinted_pixel_ciede2000_median']:.2f} to the hint "
            f"({summary['hinted_pixels_in_gamut']} pixels with in-gamut hints)"
        )
    return "\n".join(lines)


def realism_line(realism: dict) -> str:
    """The Fréchet distances of a summary in one line, or why they were not measured."""
    distances = realism["frechet_distance"]
    if distances is None:
        return f"realism: not measured ({realism['why']})"
    return (
        f"realism: Fréchet distance {distances['model']:.2f} "
        f"(gray baseline {distances['gray_baseline']:.2f}) on {realism['photos']} photos; {realism['note']}"
    )


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
        temp.write_text(json.dumps(report.summary, indent=2) + "\n", encoding="utf-8")
    with atomic_path(paths[2]) as temp:
        grid_image(report.grid).save(temp, format="PNG")
    return paths
