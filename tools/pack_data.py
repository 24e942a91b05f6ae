"""Pack a subset of ../shared/data as small WebP files, to carry to a GPU machine (64 MiB limit).

Usage: python tools/pack_data.py DEST   (writes DEST/general, DEST/faces, DEST/fruits)
The subsets are chosen by a fixed seed, so a pack is reproducible.
"""

from __future__ import annotations

import random
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# name: (source folders, images kept, short side, WebP quality)
PACKS = {
    "general": (["general/train"], 6500, 160, 80),
    "faces": (["faces/train"], 5000, 160, 80),
    "fruits": (["fruits360/train", "fruits360/val"], 6037, 100, 85),
}


def pack_one(source: Path, target: Path, side: int, quality: int) -> int:
    with Image.open(source) as image:
        image = image.convert("RGB")
        if min(image.size) > side:
            scale = side / min(image.size)
            size = (round(image.width * scale), round(image.height * scale))
            image = image.resize(size, Image.Resampling.LANCZOS)
        image.save(target, "WEBP", quality=quality, method=6)
    return target.stat().st_size


def main(dest: Path) -> None:
    for name, (folders, count, side, quality) in PACKS.items():
        files = sorted(p for folder in folders for p in (DATA / folder).iterdir())
        random.Random(0).shuffle(files)
        out = dest / name
        out.mkdir(parents=True, exist_ok=True)
        jobs = [(f, out / (f.stem + ".webp"), side, quality) for f in files[:count]]
        with ThreadPoolExecutor(4) as pool:
            total = sum(pool.map(lambda job: pack_one(*job), jobs))
        print(f"{name}: {len(jobs)} images, {total / 2**20:.1f} MiB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
