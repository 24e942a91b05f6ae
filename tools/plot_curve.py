"""Draw an evaluation curve for the README from `colorplug eval --report` summaries (PIL only).

    python tools/plot_curve.py vividness docs/vividness.png reports/vivid-*/summary.json
    python tools/plot_curve.py hints docs/hints.png reports/hints-*/summary.json

`vividness`: PSNR and colourfulness (relative to the ground truth's) against the vividness, with the
gray baseline's PSNR and the default marked. With --min-gain G it also prints what the rule for the
default vividness picks from these summaries (run on a validation split): the most vivid setting
whose PSNR is still at least G dB above the gray baseline's (--min-gain G; the best-PSNR setting if
none is). `hints`: PSNR with N ground-truth hints against N (the no-hint figure at N = 0), with the gray
baseline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw

WIDTH, PANEL, MARGIN = 640, 220, 56


def points(kind: str, summaries: list[dict]) -> list[tuple[float, float, float]]:
    """(x, PSNR, colourfulness ratio) per summary, sorted by x."""
    rows = []
    for summary in summaries:
        if kind == "vividness":
            figures = summary["model"]
            rows.append((summary["vividness"], figures["psnr"], figures["colorfulness_ratio"]))
        else:
            count = summary.get("hint_points", summary.get("hints", 0))  # "hints": summaries up to 0.1.0
            figures = summary["hinted"] if count else summary["model"]
            rows.append((count, figures["psnr"], figures["colorfulness_ratio"]))
    if kind == "hints" and all(row[0] for row in rows):  # N = 0: the no-hint figures of the same run
        figures = summaries[0]["model"]
        rows.append((0, figures["psnr"], figures["colorfulness_ratio"]))
    return sorted(rows)


def panel(
    draw: ImageDraw.ImageDraw, top: int, xs, ys, label: str, x_label: str, floor=None, mark=None
) -> None:
    """One line chart in the box (MARGIN, top) - (WIDTH - 16, top + PANEL - 40)."""
    left, right, bottom = MARGIN, WIDTH - 16, top + PANEL - 40
    low = min([*ys, *([floor] if floor is not None else [])])
    high = max([*ys, *([floor] if floor is not None else [])])
    span = (high - low) or 1.0
    low, high = low - 0.08 * span, high + 0.08 * span

    def at(x: float, y: float) -> tuple[float, float]:
        fx = (x - min(xs)) / ((max(xs) - min(xs)) or 1.0)
        return left + fx * (right - left), bottom - (y - low) / (high - low) * (bottom - top)

    draw.rectangle((left, top, right, bottom), outline="black")
    draw.text((left, top - 14), label, fill="black")
    for value in (low + (high - low) * k / 4 for k in range(5)):
        y = at(min(xs), value)[1]
        draw.line((left - 4, y, left, y), fill="black")
        draw.text((4, y - 6), f"{value:.2f}", fill="black")
    for x in xs:
        px = at(x, low)[0]
        draw.line((px, bottom, px, bottom + 4), fill="black")
        draw.text((px - 8, bottom + 6), f"{x:g}", fill="black")
    draw.text(((left + right) // 2 - 20, bottom + 20), x_label, fill="black")
    if floor is not None:
        y = at(min(xs), floor)[1]
        draw.line((left, y, right, y), fill=(150, 150, 150), width=1)
        draw.text((right - 130, y - 14), f"gray baseline {floor:.2f}", fill=(110, 110, 110))
    if mark is not None:
        px = at(mark, low)[0]
        draw.line((px, top, px, bottom), fill=(60, 160, 60))
        draw.text((px + 4, top + 4), "default", fill=(40, 130, 40))
    line = [at(x, y) for x, y in zip(xs, ys, strict=True)]
    draw.line(line, fill=(200, 40, 40), width=2)
    for x, y in line:
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(200, 40, 40))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["vividness", "hints"])
    parser.add_argument("out", type=Path)
    parser.add_argument("summaries", nargs="+", type=Path)
    parser.add_argument("--default", type=float, default=None, help="x of the default setting to mark")
    parser.add_argument("--min-gain", type=float, default=None, help="dB: print the default rule's choice")
    args = parser.parse_args()
    summaries = [json.loads(path.read_text(encoding="utf-8")) for path in args.summaries]
    rows = points(args.kind, summaries)
    xs, psnrs, colours = (list(column) for column in zip(*rows, strict=True))
    gray = summaries[0]["gray_baseline"]["psnr"]
    title = (
        f"{summaries[0]['weights']} on {', '.join(summaries[0]['data'])} ({summaries[0]['images']} images)"
    )
    panels = 2 if args.kind == "vividness" else 1
    image = Image.new("RGB", (WIDTH, 40 + PANEL * panels), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, 4), title, fill="black")
    x_label = "vividness" if args.kind == "vividness" else "ground-truth hints per image"
    panel(draw, 40, xs, psnrs, "PSNR dB", x_label, floor=gray, mark=args.default)
    if args.kind == "vividness":
        panel(draw, 40 + PANEL, xs, colours, "colourfulness / ground truth's", x_label, mark=args.default)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.out)
    for x, psnr, colour in rows:
        print(f"{x:g}\tPSNR {psnr:.2f} (gray {gray:.2f}, {psnr - gray:+.2f})\tcolour/GT {colour:.2f}")
    if args.min_gain is not None:
        enough = [x for x, psnr, _ in rows if psnr >= gray + args.min_gain]
        chosen = max(enough) if enough else max(rows, key=lambda row: row[1])[0]
        print(f"rule: most vivid with PSNR >= gray + {args.min_gain:g} dB: vividness {chosen:g}")


if __name__ == "__main__":
    main()
