"""Make the README's "fix a colour with a hint" picture: automatic result | hint image | result with hints.

    python tools/hint_example.py PHOTO OUT.jpg --dot Y X R G B [--dot ...] [--weights general]

Each --dot paints a 7x7 square of colour (R, G, B) at row Y, column X of the photo (sizes in photo
pixels) on a transparent hint image, as a user paints dots on a hint layer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from colorplug import Colorizer
from colorplug.io.decode import load_picture
from colorplug.io.picture import picture_to_pil

DOT = 7
TILE = 320


def hint_image(height: int, width: int, dots: list[list[int]]) -> np.ndarray:
    hints = np.zeros((height, width, 4), np.uint8)
    for top, left, red, green, blue in dots:
        hints[top : top + DOT, left : left + DOT] = (red, green, blue, 255)
    return hints


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("photo", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--dot", nargs=5, type=int, action="append", required=True, metavar=("Y", "X", "R", "G", "B")
    )
    parser.add_argument("--weights", default=None)
    args = parser.parse_args()
    colorizer = Colorizer(args.weights, device="cpu")
    picture = load_picture(args.photo)
    hints = hint_image(picture.height, picture.width, args.dot)
    before = picture_to_pil(colorizer.colorize(picture))
    after = picture_to_pil(colorizer.colorize(picture, hints=hints))
    shown = Image.fromarray(picture.color).convert("RGB")  # the dots over the gray photo
    shown.paste(Image.fromarray(hints[..., :3]), mask=Image.fromarray(hints[..., 3]))
    scale = TILE / max(picture.width, picture.height)
    size = (round(picture.width * scale), round(picture.height * scale))
    canvas = Image.new("RGB", (3 * size[0], size[1] + 18), "white")
    draw = ImageDraw.Draw(canvas)
    for column, (title, image) in enumerate(
        (("automatic", before), ("hint dots on a layer", shown), ("with the hints", after))
    ):
        canvas.paste(image.resize(size, Image.Resampling.LANCZOS), (column * size[0], 18))
        draw.text((column * size[0] + 4, 2), title, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out, quality=90)


if __name__ == "__main__":
    main()
