"""colorplug's benchmark suite: `python -m benchmarks` from the repository root.

Every figure is printed as an absolute value and as a ratio against a baseline measured in the same run:
- 12 MP JPEG in, JPEG out, in-process with the model loaded, against Pillow alone decoding and encoding
  the same image and against the naive path (scikit-image conversions at full size); peak memory above
  the loaded model, each measured in a fresh process;
- `colorplug run` over a folder of 256x256 photos (images/s, end to end);
- start-up time of commands that need no model, against a bare `python -c pass`;
- the default network against the ECCV16 architecture at 256x256 (same machine, random weights);
- training: lite0-unet samples/s in fp32 and at the default precision, the losses both reach, and the
  share of step time spent waiting for data.
Timings are medians of a few runs; nothing here asserts: the figures are for the README and the notes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
GENERAL = ROOT / "weights" / "general.pt"


def median_time(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def child(code: str) -> dict:
    """Run `code` in a fresh Python; it prints one JSON line last, which is returned."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


MEMORY_HELPERS = """
import json, os, time, statistics
def rss_kb(field):
    for line in open('/proc/self/status'):
        if line.startswith(field):
            return int(line.split()[1])
def reset_peak():
    with open('/proc/self/clear_refs', 'w') as handle:
        handle.write('5')
"""


def make_photo(folder: Path, megapixels: float, mode: str = "L") -> Path:
    """A realistic JPEG of about `megapixels` (an upscaled real photo with sensor-like noise) whose
    pixels are gray, stored as a gray (mode L) or an RGB JPEG (as scanners and cameras often do)."""
    import numpy as np
    from PIL import Image
    from skimage import data

    height = int((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = height * 4 // 3
    base = Image.fromarray(data.astronaut()).resize((width, height), Image.Resampling.BICUBIC).convert("L")
    noise = np.random.default_rng(0).normal(0, 3, (height, width))
    pixels = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    path = folder / f"photo_{megapixels:g}mp_{mode}.jpg"
    Image.fromarray(pixels).convert(mode).save(path, quality=92)
    return path


def bench_full_resolution(folder: Path, repeat: int, mode: str) -> list[tuple]:
    photo = make_photo(folder, 12, mode)
    out = folder / "out.jpg"
    pillow = child(
        MEMORY_HELPERS
        + f"""
from PIL import Image
def once():
    with Image.open({str(photo)!r}) as image:
        image.load()
        image.save({str(out)!r}, quality=95)
once()
times = []
for _ in range({repeat}):
    start = time.perf_counter(); once(); times.append(time.perf_counter() - start)
print(json.dumps({{"time": statistics.median(times)}}))
"""
    )
    ours = child(
        MEMORY_HELPERS
        + f"""
import numpy as np
from colorplug import Colorizer
from colorplug.io.decode import load_picture
from colorplug.io.encode import save_picture
colorizer = Colorizer(device="cpu")
def once():
    picture = colorizer.colorize_pictures([load_picture({str(photo)!r})])[0]
    save_picture(picture, {str(out)!r})
colorizer.colorize(np.zeros((64, 64), np.uint8))
reset_peak(); base = rss_kb('VmRSS')
once()
peak = rss_kb('VmHWM') - base
times = []
for _ in range({repeat}):
    start = time.perf_counter(); once(); times.append(time.perf_counter() - start)
print(json.dumps({{"time": statistics.median(times), "peak_mb": peak / 1024}}))
"""
    )
    naive = child(
        MEMORY_HELPERS
        + f"""
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
from skimage.color import rgb2lab, lab2rgb
from colorplug import Colorizer
colorizer = Colorizer(device="cpu")
def once():
    rgb = np.asarray(Image.open({str(photo)!r}).convert("RGB"))
    lab = rgb2lab(rgb)
    small = F.interpolate(torch.from_numpy(lab[..., 0].astype(np.float32))[None, None], size=(256, 341),
                          mode="bilinear", antialias=True)
    ab = colorizer.predict_ab(small)
    ab_full = F.interpolate(ab, size=lab.shape[:2], mode="bilinear")[0].permute(1, 2, 0).numpy()
    out = lab2rgb(np.concatenate((lab[..., :1], ab_full), axis=-1))
    Image.fromarray((out * 255).round().astype(np.uint8)).save({str(out)!r}, quality=95)
colorizer.colorize(np.zeros((64, 64), np.uint8))
reset_peak(); base = rss_kb('VmRSS')
start = time.perf_counter(); once(); elapsed = time.perf_counter() - start
print(json.dumps({{"time": elapsed, "peak_mb": (rss_kb('VmHWM') - base) / 1024}}))
"""
    )
    kind = "gray" if mode == "L" else "RGB"  # the same gray pixels, stored as an L or an RGB JPEG
    return [
        (
            f"12 MP {kind} JPEG -> JPEG, in-process",
            f"{ours['time']:.2f} s",
            f"Pillow decode+encode {pillow['time']:.2f} s",
            f"{ours['time'] / pillow['time']:.2f}x",
            "<= 0.6 s and <= 3x",
        ),
        (
            "  against the naive path",
            f"{ours['time']:.2f} s",
            f"skimage path {naive['time']:.2f} s",
            f"{naive['time'] / ours['time']:.1f}x faster",
            "",
        ),
        (
            f"12 MP {kind} peak memory above model",
            f"{ours['peak_mb']:.0f} MB",
            f"naive {naive['peak_mb']:.0f} MB",
            f"{ours['peak_mb'] / naive['peak_mb']:.2f}x",
            "<= 500 MB",
        ),
    ]


def small_photos(folder: Path, count: int, mode: str = "L") -> Path:
    """`count` 256x256 JPEGs (gray unless mode says): from the general test split when present, else
    made from scikit-image's photos."""
    import numpy as np
    from PIL import Image
    from skimage import data

    target = folder / f"small-{mode}"
    target.mkdir()
    sources = sorted((DATA / "general" / "test").glob("*.jpg"))[:count]
    for index in range(count):
        if sources:
            image = Image.open(sources[index % len(sources)]).convert(mode)
        else:
            base = [data.astronaut(), data.chelsea(), data.coffee()][index % 3]
            image = Image.fromarray(np.roll(base, index * 7, axis=1)).convert(mode)
        image.resize((256, 256), Image.Resampling.BICUBIC).save(target / f"{index:04d}.jpg", quality=92)
    return target


def bench_folder(folder: Path, count: int) -> list[tuple]:
    photos = small_photos(folder, count)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "colorplug_cli.main",
            "run",
            str(photos),
            "-o",
            str(folder / "cli-out"),
            "--quiet",
        ],
        check=True,
        capture_output=True,
    )
    end_to_end = count / (time.perf_counter() - start)
    rates = child(f"""
import json, time
from pathlib import Path
from colorplug import Colorizer
from colorplug.jobs.batch import run_jobs
from colorplug.io.decode import load_picture
from colorplug.io.encode import save_picture
from colorplug.jobs.plan import Job
colorizer = Colorizer(device="cpu")
files = sorted(Path({str(photos)!r}).iterdir())
serial_out, pipe_out = Path({str(folder / "serial-out")!r}), Path({str(folder / "pipe-out")!r})
serial_out.mkdir(); pipe_out.mkdir()
start = time.perf_counter()
for path in files:
    save_picture(colorizer.colorize_pictures([load_picture(path)])[0], serial_out / path.name)
serial = len(files) / (time.perf_counter() - start)
start = time.perf_counter()
results = list(run_jobs(colorizer, [Job(path, pipe_out / path.name) for path in files]))
assert not any(r.error for r in results)
print(json.dumps({{"serial": serial, "pipeline": len(files) / (time.perf_counter() - start)}}))
""")
    return [
        (
            f"colorplug run, {count} photos 256x256",
            f"{end_to_end:.1f} img/s",
            "(CLI: start-up + model load included)",
            "",
            ">= 15 img/s",
        ),
        (
            "  same, in-process pipeline",
            f"{rates['pipeline']:.1f} img/s",
            f"one file at a time {rates['serial']:.1f} img/s",
            f"{rates['pipeline'] / rates['serial']:.2f}x",
            "",
        ),
    ]


def bench_startup(repeat: int) -> list[tuple]:
    def run(*args: str) -> float:
        return median_time(
            lambda: subprocess.run([sys.executable, *args], check=True, capture_output=True), repeat
        )

    bare = run("-c", "pass")
    rows = []
    for label, args in (("colorplug --help", ["--help"]), ("colorplug weights list", ["weights", "list"])):
        took = run("-m", "colorplug_cli.main", *args)
        rows.append(
            (
                f"start-up: {label}",
                f"{took:.2f} s",
                f"python -c pass {bare:.2f} s",
                f"+{took - bare:.2f} s",
                "<= 0.1 s (an editable install's import hook added ~0.04 s here)",
            )
        )
    return rows


def bench_network(repeat: int) -> list[tuple]:
    """The default network as colorplug runs it (decoding at the default vividness included), against
    ECCV16 in its fastest layout; the same with the other decoder, and given 10 colour hints."""
    import torch

    from benchmarks.eccv16 import ECCV16
    from colorplug.engine.colorizer import Colorizer
    from colorplug.hints.maps import sample_points

    colorizer = Colorizer(None, device="cpu")
    lightness = torch.rand(1, 1, 256, 256) * 100
    hints = sample_points(torch.randn(2, 256, 256) * 30, 10, seed=0)[None]
    eccv16 = ECCV16().eval().to(memory_format=torch.channels_last)
    x = torch.zeros(1, 1, 256, 256).contiguous(memory_format=torch.channels_last)

    def timed(action) -> float:
        with torch.inference_mode():
            action()
            return median_time(action, repeat)

    ours = timed(lambda: colorizer.predict_ab(lightness))
    theirs = timed(lambda: eccv16(x))
    rows = [
        (
            f"network 256x256: default ({colorizer.weights_name})",
            f"{ours * 1000:.0f} ms",
            f"ECCV16 {theirs * 1000:.0f} ms",
            f"{theirs / ours:.1f}x faster",
            "<= 40 ms and >= 6x",
        )
    ]
    if colorizer.config.predicts_distribution:
        other = "region" if colorizer.decoder == "annealed" else "annealed"
        alternative = Colorizer(None, device="cpu", decoder=other)
        times = {colorizer.decoder: ours, other: timed(lambda: alternative.predict_ab(lightness))}
        rows.append(
            (
                "  same, region decoder",
                f"{times['region'] * 1000:.0f} ms",
                f"annealed {times['annealed'] * 1000:.0f} ms",
                f"{times['region'] / times['annealed']:.2f}x",
                "<= 1.2x",
            )
        )
    if colorizer.takes_hints:
        hinted = timed(lambda: colorizer.predict_ab(lightness, hints))
        rows.append(
            (
                "  same, given 10 colour hints",
                f"{hinted * 1000:.0f} ms",
                f"no hints {ours * 1000:.0f} ms",
                f"{(hinted / ours - 1) * 100:+.0f}%",
                "<= +10%",
            )
        )
    return rows


def _train(data: list[Path], out: Path, *options: str, checkout: Path | None = None) -> dict:
    """One `colorplug train` run of lite0-unet at 160 px, batch 16 (from the shipped general weights, so
    no ImageNet file is needed), with this checkout's code or another's; its last log row."""
    command = [sys.executable, "-m", "colorplug_cli.main", "train", *map(str, data), "--out", str(out)]
    command += ["--arch", "lite0-unet", "--loss", "blend", "--hints", "--init-from", str(GENERAL)]
    command += ["--image-size", "160", "--batch-size", "16", "--workers", "2", "-q", *options]
    subprocess.run(command, check=True, capture_output=True, env=_code_of(checkout, out.parent))
    return list(csv.DictReader((out / "log.csv").read_text().splitlines()))[-1]


def _code_of(checkout: Path | None, folder: Path) -> dict | None:
    """The environment that runs another checkout's engine and CLI (None: this one's, as installed)."""
    if checkout is None:
        return None
    shim = folder / "shim"
    shim.mkdir(exist_ok=True)
    for package, source in (("colorplug_cli", "cli"), ("colorplug_weights", "weights")):
        if not (shim / package).exists():
            (shim / package).symlink_to(checkout.resolve() / source)
    return {**os.environ, "PYTHONPATH": f"{checkout.resolve()}{os.pathsep}{shim}"}


def bench_training(folder: Path, against: Path | None) -> list[tuple]:
    """lite0-unet training speed in fp32 and at the default precision (`auto`), on the same seeded
    batches, with the losses they reach (bf16 must learn like fp32), and the data path's share of time;
    with `against` (an older checkout), also that checkout's speed on the same command."""
    general = DATA / "general" / "train"
    data = [general] if general.is_dir() else [small_photos(folder, 96, "RGB")]
    val = ["--val", str(DATA / "scenes" / "val")] if (DATA / "scenes" / "val").is_dir() else []
    common = ["--epochs", "2", "--limit", "320", *val]
    fp32 = _train(data, folder / "train-fp32", "--precision", "fp32", *common)
    default = _train(data, folder / "train-auto", *common)
    chosen = json.loads((folder / "train-auto" / "manifest_entry.json").read_text())["precision"]["used"]
    streamed = _train(data, folder / "train-stream", "--preload", "no", "--epochs", "1", "--limit", "160")
    rate_fp32, rate = float(fp32["images_per_s"]), float(default["images_per_s"])
    rows = []
    if against is not None:
        old = _train(data, folder / "train-old", *common, checkout=against)
        rows.append(
            (
                f"training lite0-unet 160px b16: default ({chosen})",
                f"{rate:.1f} img/s",
                f"{against.name} {float(old['images_per_s']):.1f} img/s",
                f"{rate / float(old['images_per_s']):.2f}x",
                ">= 1.5x",
            )
        )
    rows += [
        (
            f"training lite0-unet 160px b16: default ({chosen})",
            f"{rate:.1f} img/s",
            f"fp32 {rate_fp32:.1f} img/s",
            f"{rate / rate_fp32:.2f}x",
            "",
        ),
        (
            "  losses after 40 steps: train / val",
            f"{float(default['loss']):.4f} / {float(default.get('val_loss') or 'nan'):.4f}",
            f"fp32 {float(fp32['loss']):.4f} / {float(fp32.get('val_loss') or 'nan'):.4f}",
            "",
            "alike",
        ),
    ]
    for label, row in (("preloaded", default), ("decoded each epoch", streamed)):
        rows.append(
            (
                f"  training data wait ({label})",
                f"{float(row['data_wait_fraction']) * 100:.1f}% of step time",
                f"{float(row['images_per_s']):.1f} img/s",
                "",
                "data never starves the model",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="colorplug benchmarks")
    parser.add_argument("--repeat", type=int, default=3)
    sections = ["full", "folder", "startup", "network", "training"]
    parser.add_argument(
        "only",
        nargs="*",
        choices=sections,
        default=sections,
        metavar="SECTION",
        help=f"sections to run: {', '.join(sections)} (default: all)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        default=None,
        metavar="CHECKOUT",
        help="training: also time an older checkout of colorplug (e.g. a git worktree of main) on the "
        "same command, as the baseline",
    )
    args = parser.parse_args()
    import torch

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}"
    )
    folder = Path(tempfile.mkdtemp(prefix="colorplug-bench-"))
    rows: list[tuple] = []
    try:
        steps = {
            "full": lambda: [
                *bench_full_resolution(folder, args.repeat, "L"),
                *bench_full_resolution(folder, args.repeat, "RGB"),
            ],
            "folder": lambda: bench_folder(folder, 200),
            "startup": lambda: bench_startup(5),
            "network": lambda: bench_network(20),
            "training": lambda: bench_training(folder, args.against),
        }
        for name in args.only:
            rows += steps[name]()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    header = ("figure", "value", "baseline (same run)", "ratio", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
