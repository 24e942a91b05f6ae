"""Evaluation on folders of colour photos: gray input -> colorize -> compare, beside the gray floor.

Protocols (stated in every summary):
- `seed`: each image resized to 256x256 (Lanczos) as in the founding paper; the network sees its L.
- `native`: each image at full size; the network runs at the colorizer's render size.
Both report the gray baseline (ab = 0, i.e. the input itself) from the same run, so every figure has
its floor beside it. With `hints` = N, each image is also colorized with N colour hints sampled from its
ground truth (seeded by the image's position, so runs are reproducible), reported beside the no-hint
figures, with how closely the output follows the hints (CIEDE2000 at the hinted pixels).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from colorplug import compose
from colorplug.colorizer import Colorizer
from colorplug.errors import ColorplugError
from colorplug.files import atomic_path
from colorplug.hints import EVAL_PATCH, sample_points
from colorplug.images import ImageError, Picture, load_picture, to_uint8
from colorplug.inputs import find_images
from colorplug.lab import AB_SCALE, lab_to_linear_rgb
from colorplug.metrics import METRICS, colorfulness, image_metrics, lab_of

PROTOCOLS = {
    "seed": "each image resized to 256x256 (Lanczos); gray input = its CIE L; MAE/MSE on ab/128 of the "
    "output image vs ground truth; PSNR per image on 8-bit RGB, peak 255, then averaged; SSIM 7x7 on "
    "RGB; mean CIEDE2000; colourfulness (Hasler-Suesstrunk) of the output",
    "native": "each image at its full size; the network runs at the render size (short side) and ab is "
    "upsampled onto the full-size L; metrics as in `seed`, at full size",
}
SEED_SIZE = 256
GRID_TILE = 192


@dataclass
class EvalReport:
    """Per-image rows and the summary of an evaluation run."""

    rows: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    grid: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


def ground_truth(path: Path, protocol: str, max_pixels: int | None) -> Picture:
    """The colour reference as 8-bit RGB (resized to 256x256 under the seed protocol)."""
    picture = load_picture(path, max_pixels)
    color = to_uint8(picture.color)
    if picture.is_gray:
        raise ImageError("is a grayscale image: evaluation needs colour ground truth")
    if protocol == "seed":
        color = np.asarray(Image.fromarray(color).resize((SEED_SIZE, SEED_SIZE), Image.Resampling.LANCZOS))
    return Picture(color=np.ascontiguousarray(color))


def gray_baseline(truth: np.ndarray) -> np.ndarray:
    """The no-colour floor: the ground truth's own L with ab = 0, as uint8 RGB."""
    return compose.compose(compose.lightness(truth), torch.zeros((2, 1, 1)), np.uint8)


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
    protocol: str = "seed",
    limit: int = 0,
    chunk_size: int = 16,
    grid_count: int = 8,
    progress: Callable[[int, int], None] | None = None,
    hints: int = 0,
) -> EvalReport:
    """Colorize the gray version of every image in `folders` and measure it against the original."""
    if protocol not in PROTOCOLS:
        raise ColorplugError(f"unknown protocol {protocol!r} (use {', '.join(PROTOCOLS)})")
    found, problems = find_images(folders)
    if problems:
        raise ColorplugError("; ".join(f"{what}: {why}" for what, why in problems))
    paths = [item.path for item in found][: limit or None]
    if not paths:
        raise ColorplugError(f"no images found in {', '.join(folders)}")
    grid_at = set(np.linspace(0, len(paths) - 1, min(grid_count, len(paths))).round().astype(int).tolist())
    report = EvalReport()
    truth_colorfulness = []
    hinted_errors: list[np.ndarray] = []
    began = time.perf_counter()
    skipped = []
    for start in range(0, len(paths), chunk_size):
        chunk = []
        for index in range(start, min(start + chunk_size, len(paths))):
            try:
                chunk.append((index, ground_truth(paths[index], protocol, colorizer.max_pixels)))
            except ImageError as exc:
                skipped.append(f"{paths[index]}: {exc}")
        outputs = colorizer.colorize_pictures([truth for _, truth in chunk])
        given = (
            [sample_points(_truth_ab(truth.color), hints, seed=index) for index, truth in chunk]
            if hints
            else []
        )
        hinted = colorizer.colorize_pictures([truth for _, truth in chunk], given) if hints else outputs
        for position, ((index, truth), output) in enumerate(zip(chunk, outputs, strict=True)):
            prediction = output.color
            gray = gray_baseline(truth.color)
            truth_figure = colorfulness(truth.color)
            truth_colorfulness.append(truth_figure)
            row = {"image": str(paths[index]), "width": truth.width, "height": truth.height}
            row.update(image_metrics(prediction, truth.color))
            row.update({f"gray_{k}": v for k, v in image_metrics(gray, truth.color).items()})
            row["truth_colorfulness"] = truth_figure
            if hints:
                with_hints = hinted[position].color
                row.update({f"hinted_{k}": v for k, v in image_metrics(with_hints, truth.color).items()})
                hinted_errors.append(hint_errors(with_hints, given[position]))
            report.rows.append(row)
            if index in grid_at:
                report.grid.append((gray, prediction, truth.color))
        if progress:
            progress(min(start + chunk_size, len(paths)), len(paths))
    if not report.rows:
        raise ColorplugError("no image could be evaluated: " + "; ".join(skipped[:3]))
    report.summary = _summarize(
        report.rows,
        truth_colorfulness,
        colorizer,
        folders,
        protocol,
        time.perf_counter() - began,
        skipped,
    )
    if hints:
        errors = np.concatenate(hinted_errors) if hinted_errors else np.zeros(0)
        hinted_summary = {key: _mean(report.rows, f"hinted_{key}") for key in METRICS}
        hinted_summary["colorfulness_ratio"] = (
            hinted_summary["colorfulness"] / report.summary["truth_colorfulness"]
        )
        report.summary.update(
            hints=hints,
            hints_description=(
                f"{hints} points per image, each a {EVAL_PATCH}x{EVAL_PATCH} patch of the ground truth's "
                "mean ab, at seeded random places"
            ),
            hinted=hinted_summary,
            hinted_pixel_ciede2000_median=float(np.median(errors)) if errors.size else float("nan"),
            hinted_pixels_in_gamut=int(errors.size),
        )
    return report


def _truth_ab(color: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(lab_of(color)[..., 1:]).permute(2, 0, 1)


def _mean(rows: list[dict], key: str) -> float:
    values = [row[key] for row in rows if not np.isnan(row[key])]
    return float(np.mean(values)) if values else float("nan")


def _summarize(
    rows: list[dict],
    truth_colorfulness: list[float],
    colorizer: Colorizer,
    folders: list[str],
    protocol: str,
    wall: float,
    skipped: list[str],
) -> dict:
    truth_mean = float(np.mean(truth_colorfulness))
    model = {key: _mean(rows, key) for key in METRICS}
    gray = {key: _mean(rows, f"gray_{key}") for key in METRICS}
    model["colorfulness_ratio"] = model["colorfulness"] / truth_mean if truth_mean else float("nan")
    gray["colorfulness_ratio"] = gray["colorfulness"] / truth_mean if truth_mean else float("nan")
    return {
        "protocol": protocol,
        "protocol_description": PROTOCOLS[protocol],
        "render_size": colorizer.render_size,
        "vividness": colorizer.vividness,
        "weights": colorizer.weights_name,
        "data": folders,
        "images": len(rows),
        "skipped": skipped,
        "model": model,
        "gray_baseline": gray,
        "truth_colorfulness": truth_mean,
        "device": str(colorizer.device),
        "wall_time_s": round(wall, 1),
    }


COLUMNS = (
    ("mae_ab", "MAE_ab", "{:.4f}"),
    ("mse_ab", "MSE_ab", "{:.4f}"),
    ("psnr", "PSNR dB", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("ciede2000", "dE2000", "{:.2f}"),
    ("colorfulness_ratio", "colour/GT", "{:.2f}"),
)


def format_table(summary: dict) -> str:
    """The summary as a small text table: the model above the gray baseline."""
    header = f"{'':16}" + "".join(f"{title:>11}" for _, title, _ in COLUMNS)
    lines = [
        f"{summary['images']} images, protocol {summary['protocol']}, weights {summary['weights']}",
        header,
    ]
    rows = [("colorplug", "model"), ("gray baseline", "gray_baseline")]
    if summary.get("hints"):
        rows.insert(1, (f"with {summary['hints']} hints", "hinted"))
    for label, key in rows:
        values = "".join(f"{fmt.format(summary[key][name]):>11}" for name, _, fmt in COLUMNS)
        lines.append(f"{label:16}{values}")
    if summary.get("hints"):
        lines.append(
            f"hinted pixels: median CIEDE2000 {summary['hinted_pixel_ciede2000_median']:.2f} to the hint "
            f"({summary['hinted_pixels_in_gamut']} pixels with in-gamut hints)"
        )
    return "\n".join(lines)


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
