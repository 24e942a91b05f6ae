"""Big scans (issue 19): time and peak memory of colorizing one large photo in-process, each figure beside a
baseline measured in the same run, and the peak beside the photo's own decoded size.

    OMP_NUM_THREADS=2 python -m benchmarks.big_scans [--jpeg-megapixels 12] [--tiff-megapixels 50]

- 12 MP gray JPEG -> JPEG, against Pillow's decode + RGB encode of the same file;
- 50 MP 16-bit gray TIFF (uncompressed, as scanners write) -> 16-bit RGB TIFF (colorplug's deflate),
  against tifffile's own read of that file + write of its (gray) samples with colorplug's compression;
- the GIMP bridge on a 50 MP 16-bit RGB layer (input.raw -> output.raw, as the plug-in hands it over),
  against reading input.raw and writing it back.
Ours is what `colorplug run` does with the photo (colorplug.jobs.batch.run_jobs).
Each case runs in a fresh process; peak memory is VmHWM above the RSS after the model is loaded and has
run once on a small photo. Nothing asserts: the figures are for the notes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from benchmarks.__main__ import MEMORY_HELPERS, child, make_photo

TARGETS = {
    "jpeg": "<= 2.0x and <= 0.3 s; peak <= 100 MB",
    "tiff": "<= 2.5x; peak <= 3x decoded",
    "gimp": "",
}


def make_scan(folder: Path, megapixels: float) -> Path:
    """An uncompressed 16-bit gray TIFF of about `megapixels` (a real photo upscaled, with noise)."""
    import numpy as np
    import tifffile
    from PIL import Image
    from skimage import data

    height = int((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = height * 4 // 3
    base = Image.fromarray(data.astronaut()).convert("L").resize((width // 4, height // 4))
    small = np.asarray(base, np.float32) * 257
    pixels = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)[:height, :width]
    pixels += np.random.default_rng(0).normal(0, 300, pixels.shape).astype(np.float32)
    path = folder / f"scan_{megapixels:g}mp.tif"
    tifffile.imwrite(path, np.clip(pixels, 0, 65535).astype(np.uint16), photometric="minisblack")
    return path


def make_layer(folder: Path, megapixels: float) -> Path:
    """A GIMP bridge folder holding a 16-bit RGB layer of about `megapixels` (the scan's gray, as GEGL
    hands a gray layer over in R'G'B' u16) and its request."""
    import json

    import numpy as np
    import tifffile

    scan = make_scan(folder, megapixels)
    gray = tifffile.imread(scan)
    scan.unlink()
    layer = folder / "layer"
    layer.mkdir()
    np.repeat(gray[..., None], 3, axis=2).tofile(layer / "input.raw")
    request = {"width": gray.shape[1], "height": gray.shape[0], "channels": 3, "depth": 16}
    (layer / "request.json").write_text(json.dumps(request), encoding="utf-8")
    return layer


BASELINES = {
    "jpeg": """
from PIL import Image
def once():
    with Image.open(SOURCE) as image:
        image.load()
        image.convert("RGB").save(TARGET, quality=95)
""",
    "tiff": """
import tifffile
from colorplug.io.tiff import TIFF_COMPRESSION
def once():
    samples = tifffile.imread(SOURCE)
    tifffile.imwrite(TARGET, samples, photometric="minisblack", **TIFF_COMPRESSION)
""",
    "gimp": """
import numpy as np
from pathlib import Path
def once():
    np.fromfile(Path(SOURCE) / "input.raw", np.uint16).tofile(Path(SOURCE) / "output.raw")
""",
}

OURS = """
from pathlib import Path
import numpy as np
from colorplug import Colorizer
from colorplug.jobs.batch import run_jobs
from colorplug.jobs.plan import Job
colorizer = Colorizer(device="cpu")
colorizer.colorize(np.zeros((64, 64), np.uint8))
def once():  # what `colorplug run` does with the photo (a TIFF is written as it is made)
    (result,) = run_jobs(colorizer, [Job(Path(SOURCE), Path(TARGET), overwrite=True)])
    assert result.error is None, result.error
"""

OURS_GIMP = """
from pathlib import Path
from colorplug.gimp.bridge import colorize_request
colorize_request(Path(SOURCE))  # the model loaded and run once (on this layer)
def once():  # what the plug-in's engine process does with the layer
    colorize_request(Path(SOURCE))
"""

MEASURE = """
reset_peak(); base = rss_kb('VmRSS')
once()
peak = (rss_kb('VmHWM') - base) / 1024
times = []
for _ in range(REPEAT):
    start = time.perf_counter(); once(); times.append(time.perf_counter() - start)
print(json.dumps({"time": statistics.median(times), "peak_mb": peak}))
"""


def measure(code: str, source: Path, target: Path, repeat: int) -> dict:
    header = f"SOURCE, TARGET, REPEAT = {str(source)!r}, {str(target)!r}, {repeat}\n"
    return child(MEMORY_HELPERS + header + code + MEASURE)


def decoded_mb(source: Path) -> float:
    from colorplug.io.decode import load_picture

    if source.is_dir():  # a GIMP bridge folder: the layer as handed over
        return (source / "input.raw").stat().st_size / 2**20
    return load_picture(source).color.nbytes / 2**20


def bench(kind: str, source: Path, repeat: int) -> tuple:
    """One row: our time, the baseline's, the ratio, our peak, the decoded size and their ratio."""
    target = source.with_name("out" + source.suffix)
    baseline = measure(BASELINES[kind], source, target, repeat)
    ours = measure(OURS_GIMP if kind == "gimp" else OURS, source, target, repeat)
    size = decoded_mb(source)
    return (
        source.name,
        f"{ours['time']:.2f} s",
        f"{baseline['time']:.2f} s",
        f"{ours['time'] / baseline['time']:.2f}x",
        f"{ours['peak_mb']:.0f} MB",
        f"{size:.0f} MB",
        f"{ours['peak_mb'] / size:.2f}x",
        TARGETS[kind],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="colorplug big-scan benchmark")
    parser.add_argument("--jpeg-megapixels", type=float, default=12)
    parser.add_argument("--tiff-megapixels", type=float, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="*", choices=list(TARGETS), default=list(TARGETS))
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, {os.cpu_count()} cores")
    header = ("photo", "colorplug", "baseline", "ratio", "peak above model", "decoded", "peak/decoded")
    print("  ".join(header) + "  target")
    with tempfile.TemporaryDirectory(prefix="colorplug-big-") as folder:
        for kind in args.cases:
            if kind == "jpeg":
                photo = make_photo(Path(folder), args.jpeg_megapixels)
            else:
                photo = (make_scan if kind == "tiff" else make_layer)(Path(folder), args.tiff_megapixels)
            print("  ".join(bench(kind, photo, args.repeat)), flush=True)
            shutil.rmtree(photo) if photo.is_dir() else photo.unlink()


if __name__ == "__main__":
    main()
