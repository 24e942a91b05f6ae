"""A corpus of bad and awkward inputs through one `colorplug run`: each bad file gets one clear line and
the others are colorized correctly, in the same run; inputs are never changed.

Besides the classic traps it holds TIFF variants of every kind Pillow and tifffile write, PNG colour keys,
PNGs whose data stops short, broken TIFFs, a named pipe and odd or oversized metadata (tests/test_formats.py
builds them). Every valid file's output must open in Pillow (and tifffile, for TIFF) with the input's size,
lightness, alpha and orientation; the metadata files are also written as JPEG and TIFF by further runs.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageOps
from skimage.color import rgb2lab

from colorplug.io.png16 import encode_png16
from tests.test_formats import (
    ODD_EXIF,
    Case,
    camera_exif,
    colour_key_cases,
    encoded,
    exif_with_raw_entries,
    output_problems,
    pillow_tiff_cases,
    short_data_pngs,
    small_rgb,
    tifffile_bytes,
    tifffile_tiff_cases,
)
from tests.test_images import png_declaring

# The TIFF variants run through the CLI: every Pillow mode raw and LZW, every tifffile kind with deflate,
# the other codecs and all orientations on a few (tests/test_formats.py loads every variant directly).
CORPUS_TIFFS = re.compile(
    r"pil-.*-(raw|tiff_lzw|jpeg|group4)\.tif|pil-(L|I16|RGB)-zstd\.tif|pil-(L|RGB)-orientation\d\.tif"
    r"|tf-.*-zlib\.tif|tf-(u16rgb|f32gray)-none\.tif|tf-u16rgb-orientation\d\.tif|tf-u16rgb-(lzw|zstd)\.tif"
)
METADATA = "metadata"  # the folder also written as JPEG and as TIFF
# Mean |L| an output may differ from its input by: colorizing moves L a little where the gamut is tight
# (pure black and white), lossy formats a little more; a wrong decoding is off by tens.
OUTPUT_LOSSLESS, OUTPUT_LOSSY = 3.0, 4.0


class Corpus(NamedTuple):
    root: Path
    expect: dict[str, str]  # name -> 'ok', 'warn' (ok with a note) or 'fail'
    truth: dict[str, Case]  # name -> what a valid file shows, for checking its output


def pillow_reference(content: bytes, tolerance: float = 1.0) -> Case:
    """What Pillow shows of a (non-TIFF) file: its first frame, orientation applied, alpha if any."""
    with Image.open(io.BytesIO(content)) as image:
        image = ImageOps.exif_transpose(image)
        has_alpha = "A" in image.mode or "transparency" in image.info
        samples = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    return Case(content, samples[..., :3], samples[..., 3] if has_alpha else None, tolerance)


def metadata_files(rgb: np.ndarray) -> dict[str, tuple[bytes, str]]:
    """Photos whose metadata is odd, oversized or nested, each with its outcome ('warn': a note)."""
    gray = Image.fromarray(rgb).convert("L")
    big = camera_exif()
    big[0x010E] = "x" * 70_000  # ImageDescription over the 64 KB EXIF can hold
    odd = [entry for entries in ODD_EXIF.values() for entry in entries] + [(0x0110, 2, 8, b"model 1\x00")]
    xmp = b"<x:xmpmeta>" + b" " * 70_000 + b"</x:xmpmeta>"
    return {
        "camera.jpg": (encoded(gray, "JPEG", exif=camera_exif().tobytes()), "ok"),
        "camera16.png": (encode_png16(rgb.astype(np.uint16) * 257, exif=camera_exif().tobytes()), "ok"),
        "big-exif-png.png": (encoded(gray, "PNG", exif=big.tobytes()), "warn"),
        "big-exif-webp.webp": (
            encoded(Image.fromarray(rgb), "WEBP", exif=big.tobytes(), lossless=True),
            "warn",
        ),
        "big-exif-tif.tif": (encoded(gray, "TIFF", tiffinfo=dict(big)), "warn"),
        "odd-tags.png": (encoded(gray, "PNG", exif=exif_with_raw_entries(odd)), "warn"),
        "xmp-70kb.tif": (encoded(Image.fromarray(rgb), "TIFF", tiffinfo={700: xmp, 0x010F: "scanner"}), "ok"),
        "xmp-near-64kb.jpg": (
            encoded(gray, "JPEG", xmp=b"<x:xmpmeta>" + b" " * 65000 + b"</x:xmpmeta>"),
            "ok",
        ),
    }


def broken_tiffs(rgb: np.ndarray) -> dict[str, bytes]:
    deflated = tifffile_bytes(rgb, photometric="rgb", compression="zlib")
    raw = tifffile_bytes(rgb.astype(np.uint16), photometric="rgb")
    return {
        "no-entries.tif": b"II*\x00\x08\x00\x00\x00\x00\x00",
        "garbage-entries.tif": b"MM\x00*\x00\x00\x00\x08" + b"\xff" * 40,
        "bigtiff-header-only.tif": b"II+\x00\x08\x00\x00\x00" + b"\x00" * 8,
        "no-pages.tif": b"II*\x00\x08\x00\x00\x00",
        "cut-deflate.tif": deflated[: len(deflated) * 2 // 3],
        "cut-raw16.tif": raw[: len(raw) // 2],
        "twenty-bands.tif": tifffile_bytes(
            np.zeros((8, 8, 20), np.uint8), photometric="minisblack", planarconfig="contig"
        ),
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, photos) -> Corpus:
    """The input tree, what each file must give and what each valid file shows."""
    root = tmp_path_factory.mktemp("corpus")
    rgb = np.asarray(Image.fromarray(photos["coffee"]).resize((96, 64)))
    gray = Image.fromarray(rgb).convert("L")
    jpeg = encoded(gray, "JPEG", quality=90)
    png = encoded(gray, "PNG")
    expect: dict[str, str] = {}
    truth: dict[str, Case] = {}

    def put(name: str, content: bytes, outcome: str, shown: Case | None = None) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        expect[name] = outcome
        if outcome != "fail":
            truth[name] = shown or pillow_reference(content, 2.0 if name.endswith((".jpg", ".webp")) else 1.0)

    # broken or hostile files
    put("zero-bytes.jpg", b"", "fail")
    put("truncated.jpg", jpeg[: len(jpeg) // 2], "fail")
    put("truncated.png", png[: len(png) // 2], "fail")
    put("text-named.jpg", b"this is a text file, not a photo\n", "fail")
    put("html.png", b"<!doctype html><html><body>404</body></html>", "fail")
    put("bomb.png", png_declaring(100_000, 100_000), "fail")
    put("bomb-wide.png", png_declaring(400_000_000, 1), "fail")
    put("signature-only.png", b"\x89PNG\r\n\x1a\n", "fail")
    bad_crc = bytearray(png)
    bad_crc[30] ^= 0xFF
    put("bad-crc.png", bytes(bad_crc), "fail")
    put("random-bytes.tif", np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(), "fail")
    put("header-only.gif", b"GIF89a\x10\x00\x10\x00\x00\x00\x00", "fail")
    put("zero-size.png", png_declaring(0, 0), "fail")
    os.symlink(root / "does-not-exist.jpg", root / "dangling-link.jpg")
    expect["dangling-link.jpg"] = "fail"
    # awkward but valid
    put("tiny-1x1.png", encoded(Image.new("L", (1, 1), 90), "PNG"), "ok")
    put("line-1x5000.png", encoded(Image.new("L", (5000, 1), 120), "PNG"), "ok")
    put("column-5000x1.png", encoded(Image.new("L", (1, 5000), 60), "PNG"), "ok")
    put("cmyk.jpg", encoded(Image.fromarray(rgb).convert("CMYK"), "JPEG"), "ok")
    gray3 = np.asarray(gray.convert("RGB"))
    put(
        "gray16.png",
        encoded(Image.fromarray(np.asarray(gray).astype(np.uint16) * 257), "PNG"),
        "ok",
        Case(b"", gray3),
    )
    put("rgb16.png", encode_png16(np.asarray(gray.convert("RGB")).astype(np.uint16) * 257), "ok")
    put(
        "rgba16.png",
        encode_png16(
            np.dstack(
                [np.asarray(gray.convert("RGB")).astype(np.uint16) * 257, np.full((64, 96), 40000, np.uint16)]
            )
        ),
        "ok",
    )
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.asarray(gray).astype(np.uint16) * 257)
    put("gray16.tif", buffer.getvalue(), "ok", Case(b"", gray3))
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.asarray(gray.convert("RGB")).astype(np.uint16) * 257, photometric="rgb")
    put("rgb16.tif", buffer.getvalue(), "ok", Case(b"", gray3))
    palette = gray.convert("RGB").quantize(32)
    put("palette-transparent.png", encoded(palette, "PNG", transparency=0), "ok")
    put("gray-alpha.png", encoded(gray.convert("LA"), "PNG"), "ok")
    put("rgba.png", encoded(gray.convert("RGBA"), "PNG"), "ok")
    put("bilevel.png", encoded(gray.convert("1"), "PNG"), "ok")
    put("rgb-gray.jpg", encoded(gray.convert("RGB"), "JPEG"), "ok")
    put("colour.webp", encoded(Image.fromarray(rgb), "WEBP"), "ok")
    put("gray.bmp", encoded(gray, "BMP"), "ok")
    frames = [gray.point(lambda v, k=k: min(255, v + 20 * k)) for k in range(3)]
    put("animated.gif", encoded(frames[0], "GIF", save_all=True, append_images=frames[1:]), "warn")
    put(
        "animated.webp",
        encoded(
            frames[0].convert("RGB"),
            "WEBP",
            save_all=True,
            append_images=[f.convert("RGB") for f in frames[1:]],
        ),
        "warn",
    )
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    put("exif-rotated.jpg", encoded(gray, "JPEG", exif=exif.tobytes()), "ok")
    put("space in name.jpg", jpeg, "ok")
    put("ünïcödé-名前.jpg", jpeg, "ok")
    put("new\nline.jpg", jpeg, "ok")
    put("deep/er/nested.png", png, "ok")
    (root / "folder-named.jpg").mkdir()  # a folder with an image suffix is walked, not read
    os.symlink(root, root / "deep" / "loop")  # a symlink loop back to the top
    os.mkfifo(root / "pipe.jpg")  # reading it would wait for a writer forever
    expect["pipe.jpg"] = "fail"
    small = small_rgb(photos)
    tiffs = {**pillow_tiff_cases(small), **tifffile_tiff_cases(small)}
    for name, case in tiffs.items():
        if CORPUS_TIFFS.fullmatch(name):
            put(f"tiff/{name}", case.content, "warn" if "multipage" in name else "ok", case)
    for name, content in broken_tiffs(small).items():
        put(f"tiff-broken/{name}", content, "fail")
    for name, case in colour_key_cases(small).items():
        put(f"colour-key/{name}", case.content, "ok", case)
    for name, content in short_data_pngs(small).items():
        put(f"short-data/{name}", content, "fail")
    for name, (content, outcome) in metadata_files(small).items():
        put(f"{METADATA}/{name}", content, outcome)
    return Corpus(root, expect, truth)


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and "loop" not in p.parts
    }


@pytest.fixture(scope="module")
def run(corpus, tiny_weights, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    before = tree_digest(corpus.root)
    return colorplug_run(corpus.root, out, tiny_weights), out, before


def colorplug_run(source: Path, out: Path, weights: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "colorplug_cli.main",
            "run",
            str(source),
            "-o",
            str(out),
            "--weights",
            str(weights),
            "--render-size",
            "64",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def output_path(out: Path, name: str) -> Path:
    target = out / name
    return target.with_suffix(".png") if target.suffix in (".gif", ".bmp") else target  # no GIF/BMP writer


def test_corpus_has_at_least_120_cases(corpus):
    assert len(corpus.expect) >= 120


def test_each_bad_file_gets_one_clear_line_and_exit_1(run, corpus):
    result, _, _ = run
    expect = corpus.expect
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if not line.startswith("colorplug: ")] == []  # no library noise
    for name, outcome in expect.items():
        shown = name.replace("\n", "\\n")
        failed = [line for line in lines if line.startswith("colorplug: FAILED") and f"/{shown}:" in line]
        assert len(failed) == (1 if outcome == "fail" else 0), (name, failed)
    bad = sum(outcome == "fail" for outcome in expect.values())
    good = len(expect) - bad
    assert f"colorplug: {good} colorized, 0 skipped (output exists), {bad} failed" in result.stderr
    summary = next(line for line in lines if line.startswith("colorplug: failed:"))
    assert summary.count(";") == min(bad - 1, 20)  # twenty are listed, then "; and N more"
    for reason in ("not an image file", "over the limit", "cannot decode", "file not found"):
        assert reason in result.stderr


def test_animations_colorize_the_first_frame_with_a_note(run):
    result, out, _ = run
    assert result.stderr.count("colorized the first frame only") == 2
    assert (out / "animated.gif").is_file() is False and (out / "animated.png").is_file()  # gif -> png
    assert (out / "animated.webp").is_file()


def test_valid_inputs_are_colorized_correctly(run, corpus):
    _, out, _ = run
    root, expect, _ = corpus
    for name, outcome in expect.items():
        if outcome == "fail":
            continue
        assert output_path(out, name).is_file(), name
    for name in ("gray16.png", "rgb16.png", "gray16.tif", "rgb16.tif", "rgba16.png"):
        data = tifffile.imread(out / name) if name.endswith(".tif") else None
        if data is None:
            from colorplug.io.decode import load_picture

            data = load_picture(out / name).color
        assert data.dtype == np.uint16 and data.shape[:2] == (64, 96) and data.shape[-1] == 3, name
    assert Image.open(out / "exif-rotated.jpg").size == (64, 96)  # EXIF rotation applied
    assert Image.open(out / "line-1x5000.png").size == (5000, 1)
    assert Image.open(out / "rgba.png").mode == "RGBA"
    alpha = np.asarray(Image.open(out / "palette-transparent.png").convert("RGBA"))[..., 3]
    assert alpha.min() == 0 and alpha.max() == 255
    source = np.asarray(Image.open(root / "space in name.jpg").convert("RGB"))
    result = np.asarray(Image.open(out / "space in name.jpg"))
    assert np.abs(rgb2lab(result)[..., 0] - rgb2lab(source)[..., 0]).mean() < 1.5  # L kept (JPEG twice)


def test_every_output_opens_with_the_inputs_size_lightness_alpha_and_orientation(run, corpus):
    _, out, _ = run
    problems = []
    for name, case in corpus.truth.items():
        target = output_path(out, name)
        lossy = target.suffix in (".jpg", ".webp")
        problems += output_problems(
            target, case, case.tolerance + (OUTPUT_LOSSY if lossy else OUTPUT_LOSSLESS)
        )
    assert not problems, "\n".join(problems)


def test_files_with_something_to_say_get_a_note(run, corpus):
    result, _, _ = run
    for name, outcome in corpus.expect.items():
        if outcome == "warn":
            assert f"colorplug: note {corpus.root / name}: " in result.stderr, name


@pytest.fixture(scope="module", params=["jpg", "tif"])
def metadata_run(request, corpus, tiny_weights, tmp_path_factory):
    """The metadata photos written in another format, as `--format` asks."""
    out = tmp_path_factory.mktemp(f"metadata-{request.param}")
    result = colorplug_run(corpus.root / METADATA, out, tiny_weights, "--format", request.param)
    return result, out, request.param


def test_metadata_never_stops_a_photo_in_any_output_format(metadata_run, corpus):
    result, out, suffix = metadata_run
    assert result.returncode == 0, result.stderr
    assert "FAILED" not in result.stderr and "Traceback" not in result.stderr
    problems = []
    for name, case in corpus.truth.items():
        if name.startswith(f"{METADATA}/"):
            target = (out / Path(name).relative_to(METADATA)).with_suffix(f".{suffix}")
            problems += output_problems(target, case, case.tolerance + OUTPUT_LOSSY)
            if "camera" in name:
                with Image.open(target) as image:
                    exif = image.getexif()
                    assert exif[0x010F] == "colorplug camera" and exif.get_ifd(0x8769), target.name
    assert not problems, "\n".join(problems)


def test_inputs_are_byte_for_byte_unchanged(run, corpus):
    _, _, before = run
    assert tree_digest(corpus.root) == before


def test_max_pixels_refuses_before_decoding(corpus, tiny_weights, tmp_path):
    root = corpus.root
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorplug_cli.main",
            "run",
            str(root / "cmyk.jpg"),
            "-o",
            str(tmp_path),
            "--weights",
            str(tiny_weights),
            "--max-pixels",
            "1000",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "over the limit of 0.001 MP" in result.stderr
