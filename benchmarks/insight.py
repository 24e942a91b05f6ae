"""Cost of what the distribution tells beside the colour, on a 12 MP photo, in one run:
`run --confidence` (colour + map written) against the plain run (colour written), `suggest` for a region
and the places to hint, in-process with the model loaded (decoding the JPEG included, as the command does).

Usage: python -m benchmarks.insight [--repeat 3]   (from the repository root)
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks.__main__ import MEMORY_HELPERS, child, make_photo

CODE = """
import numpy as np
from colorplug import Colorizer
from colorplug.io.decode import load_picture
from colorplug.io.encode import save_picture
from colorplug.io.graymap import save_gray_map
colorizer = Colorizer(device="cpu")
photo, out = {photo!r}, {out!r}
def plain():
    save_picture(colorizer.colorize_pictures([load_picture(photo)])[0], out + ".jpg")
def with_map():
    picture, sure = colorizer.colorize_pictures([load_picture(photo)], confidence=True)[0]
    save_picture(picture, out + ".jpg")
    save_gray_map(sure, out + "_confidence.png")
def suggest():
    picture = load_picture(photo)
    colorizer.suggest(picture, (1000, 800, 400, 300))
def where():
    colorizer.where_to_hint(load_picture(photo))
def decode_only():
    load_picture(photo)
colorizer.colorize(np.zeros((64, 64), np.uint8))
times = {{name: [] for name in ("plain", "with_map", "suggest", "where", "decode_only")}}
for _ in range({repeat}):  # interleaved, so both sides see the same machine load
    for name in times:
        start = time.perf_counter(); globals()[name](); times[name].append(time.perf_counter() - start)
print(json.dumps({{name: statistics.median(values) for name, values in times.items()}}))
"""


def bench_insight(folder: Path, repeat: int) -> list[tuple]:
    """The rows: confidence overhead, suggest and where-to-hint times on a 12 MP gray JPEG."""
    photo = make_photo(folder, 12, "L")
    t = child(MEMORY_HELPERS + CODE.format(photo=str(photo), out=str(folder / "out"), repeat=repeat))
    return [
        (
            "12 MP JPEG -> JPEG + confidence PNG",
            f"{t['with_map']:.2f} s",
            f"without the map {t['plain']:.2f} s",
            f"+{(t['with_map'] / t['plain'] - 1) * 100:.0f}%",
            "<= +15%",
        ),
        ("12 MP suggest (decode + 5 colours)", f"{t['suggest']:.2f} s", "", "", "< 1 s"),
        ("12 MP where to hint (decode + 5)", f"{t['where']:.2f} s", "", "", ""),
        ("12 MP JPEG decode alone", f"{t['decode_only']:.2f} s", "", "", ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="colorplug: cost of confidence and suggestions")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="colorplug-bench-"))
    try:
        rows = bench_insight(folder, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    header = ("figure", "value", "baseline (same run)", "ratio", "target")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(5)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
