"""A corpus of 38 bad and awkward inputs through `colorplug run`: each bad file gets one clear line and
the others are colorized correctly, in the same run; inputs are never changed."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from skimage.color import rgb2lab

from colorplug.png16 import encode_png16
from tests.test_images import png_declaring


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, photos) -> tuple[Path, dict[str, str]]:
    """The input tree and what each file must give: 'ok', 'warn' (ok with a note) or 'fail'."""
    root = tmp_path_factory.mktemp("corpus")
    rgb = np.asarray(Image.fromarray(photos["coffee"]).resize((96, 64)))
    gray = Image.fromarray(rgb).convert("L")
    jpeg = encoded(gray, "JPEG", quality=90)
    png = encoded(gray, "PNG")
    expect: dict[str, str] = {}

    def put(name: str, content: bytes, outcome: str) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        expect[name] = outcome

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
    put("gray16.png", encoded(Image.fromarray(np.asarray(gray).astype(np.uint16) * 257), "PNG"), "ok")
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
    put("gray16.tif", buffer.getvalue(), "ok")
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.asarray(gray.convert("RGB")).astype(np.uint16) * 257, photometric="rgb")
    put("rgb16.tif", buffer.getvalue(), "ok")
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
    return root, expect


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and "loop" not in p.parts
    }


@pytest.fixture(scope="module")
def run(corpus, tiny_weights, tmp_path_factory):
    root, _ = corpus
    out = tmp_path_factory.mktemp("out")
    before = tree_digest(root)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "colorplug_cli.main",
            "run",
            str(root),
            "-o",
            str(out),
            "--weights",
            str(tiny_weights),
            "--render-size",
            "64",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, out, before


def test_corpus_has_at_least_30_cases(corpus):
    assert len(corpus[1]) >= 30


def test_each_bad_file_gets_one_clear_line_and_exit_1(run, corpus):
    result, _, _ = run
    _, expect = corpus
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    for name, outcome in expect.items():
        shown = name.replace("\n", "\\n")
        failed = [line for line in lines if line.startswith("colorplug: FAILED") and f"/{shown}:" in line]
        assert len(failed) == (1 if outcome == "fail" else 0), (name, failed)
    bad = sum(outcome == "fail" for outcome in expect.values())
    good = len(expect) - bad
    assert f"colorplug: {good} colorized, 0 skipped (output exists), {bad} failed" in result.stderr
    summary = next(line for line in lines if line.startswith("colorplug: failed:"))
    assert summary.count(";") == bad - 1
    for reason in ("not an image file", "over the limit", "cannot decode", "file not found"):
        assert reason in result.stderr


def test_animations_colorize_the_first_frame_with_a_note(run):
    result, out, _ = run
    assert result.stderr.count("colorized the first frame only") == 2
    assert (out / "animated.gif").is_file() is False and (out / "animated.png").is_file()  # gif -> png
    assert (out / "animated.webp").is_file()


def test_valid_inputs_are_colorized_correctly(run, corpus):
    _, out, _ = run
    root, expect = corpus
    for name, outcome in expect.items():
        if outcome == "fail":
            continue
        target = out / name
        if target.suffix in (".gif",):
            target = target.with_suffix(".png")
        assert target.is_file(), name
    for name in ("gray16.png", "rgb16.png", "gray16.tif", "rgb16.tif", "rgba16.png"):
        data = tifffile.imread(out / name) if name.endswith(".tif") else None
        if data is None:
            from colorplug.images import load_picture

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


def test_inputs_are_byte_for_byte_unchanged(run, corpus):
    _, _, before = run
    assert tree_digest(corpus[0]) == before


def test_max_pixels_refuses_before_decoding(corpus, tiny_weights, tmp_path):
    root, _ = corpus
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
