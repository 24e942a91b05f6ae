"""The sparsification plot: mean CIEDE2000 of the pixels kept against the share removed, drawn with
Pillow (no plotting library needed) for the report and the README."""

from __future__ import annotations

from PIL import Image, ImageDraw

WIDTH, HEIGHT, MARGIN = 640, 400, 56
COLOURS = {"random": (150, 150, 150), "confidence": (200, 60, 40), "oracle": (40, 90, 200)}
LABELS = {"random": "random order", "confidence": "least certain removed", "oracle": "oracle (worst removed)"}


def _scale(steps: list[float], top: float):
    """A function from (removed percent, CIEDE2000) to canvas pixels."""
    span_x = max(steps[-1] - steps[0], 1e-9)

    def point(x: float, y: float) -> tuple[float, float]:
        return (
            MARGIN + (x - steps[0]) / span_x * (WIDTH - 2 * MARGIN),
            HEIGHT - MARGIN - y / top * (HEIGHT - 2 * MARGIN),
        )

    return point


def _axes(draw: ImageDraw.ImageDraw, point, steps: list[float], top: float) -> None:
    """The axes with ticks every 10% and five error levels."""
    draw.line([point(steps[0], 0), point(steps[-1], 0)], fill="black")
    draw.line([point(steps[0], 0), point(steps[0], top)], fill="black")
    for x in range(int(steps[0]), int(steps[-1]) + 1, 10):
        px, py = point(x, 0)
        draw.line([(px, py), (px, py + 4)], fill="black")
        draw.text((px - 8, py + 6), f"{x}%", fill="black")
    for level in range(6):
        px, py = point(steps[0], top * level / 5)
        draw.text((px - 40, py - 6), f"{top * level / 5:.1f}", fill="black")
    draw.text((WIDTH // 2 - 90, HEIGHT - 22), "share of pixels removed", fill="black")
    draw.text((6, 8), "mean CIEDE2000 of the pixels kept", fill="black")


def sparsification_plot(steps: list[float], curves: dict[str, list[float]], title: str = "") -> Image.Image:
    """The curves (name -> mean error at each step) on one RGB canvas with a legend.

    >>> sparsification_plot([0, 50, 90], {"oracle": [3.0, 1.0, 0.2], "random": [3.0, 3.0, 3.0]}).size
    (640, 400)
    """
    top = max(max(curve) for curve in curves.values()) * 1.1 or 1.0
    canvas = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    point = _scale(list(steps), top)
    _axes(draw, point, list(steps), top)
    for row, (name, curve) in enumerate(curves.items()):
        colour = COLOURS.get(name, (0, 0, 0))
        draw.line([point(x, y) for x, y in zip(steps, curve, strict=True)], fill=colour, width=2)
        draw.text((WIDTH - 230, 24 + 14 * row), LABELS.get(name, name), fill=colour)
    draw.text((MARGIN, 24), title, fill="black")
    return canvas
