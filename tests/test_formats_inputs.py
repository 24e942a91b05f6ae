"""Inputs that are not plain image files: named pipes, an empty argument, unreadable folders, and a TIFF
codec tifffile lacks. Each gives one line (or a note) and never a hang, a traceback or a wrong output."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from colorplug.io.decode import load_picture
from colorplug.io.picture import ImageError
from colorplug.jobs.inputs import find_images
from tests.test_formats import small_rgb


def colorplug(*arguments: str, cwd: Path | None = None, prefix: tuple[str, ...] = ()):
    return subprocess.run(
        [*prefix, sys.executable, "-m", "colorplug_cli.main", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.fixture()
def photo_folder(tmp_path, photos) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(small_rgb(photos)).convert("L").save(folder / "good.jpg")
    return folder


def test_fifo_named_directly_or_in_a_folder_fails_at_once(photo_folder, tmp_path, tiny_weights):
    os.mkfifo(photo_folder / "pipe.jpg")
    out = tmp_path / "out"
    for arguments in ([str(photo_folder)], [str(photo_folder / "pipe.jpg"), str(photo_folder / "good.jpg")]):
        result = colorplug("run", *arguments, "-o", str(out), "--weights", str(tiny_weights), "--overwrite")
        assert result.returncode == 1, result.stderr
        failed = [line for line in result.stderr.splitlines() if line.startswith("colorplug: FAILED")]
        assert len(failed) == 1 and failed[0].endswith("pipe.jpg: is a named pipe (FIFO), not a regular file")
        assert "Traceback" not in result.stderr and (out / "good.jpg").is_file()


def test_empty_argument_is_a_problem_not_the_current_folder(photo_folder, tmp_path, tiny_weights):
    out = tmp_path / "out"
    result = colorplug("run", "", "-o", str(out), "--weights", str(tiny_weights), cwd=photo_folder)
    assert result.returncode == 1
    assert 'colorplug: FAILED "": empty name given as input' in result.stderr
    assert not out.exists() or not any(out.rglob("*.jpg"))


def test_empty_argument_beside_real_ones():
    _, problems = find_images(["", "."])
    assert problems == [("", "empty name given as input (an unset variable?)")]


def test_unreadable_subfolder_is_reported_by_find_images(tmp_path, monkeypatch):
    (tmp_path / "locked").mkdir()
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "a.jpg").write_bytes(b"")
    scandir = os.scandir

    def refusing(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    found, problems = find_images([str(tmp_path)])
    assert [item.relative for item in found] == [Path("open/a.jpg")]
    assert problems == [(str(tmp_path / "locked"), "cannot read this folder: Permission denied")]


def without_root_powers() -> tuple[str, ...]:
    """A command prefix under which permission bits bind (root ignores them), or skip the test."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permission bits cannot be tested")
    return (setpriv, "--inh-caps=-all", "--bounding-set=-all", "--")


def test_unreadable_subfolder_gives_a_line_and_exit_1(photo_folder, tmp_path, tiny_weights):
    locked = photo_folder / "locked"
    locked.mkdir()
    Image.new("L", (8, 8)).save(locked / "hidden.jpg")
    locked.chmod(0)
    try:
        out = tmp_path / "out"
        result = colorplug(
            "run",
            str(photo_folder),
            "-o",
            str(out),
            "--weights",
            str(tiny_weights),
            prefix=without_root_powers(),
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1, result.stderr
    assert f"colorplug: FAILED {locked}: cannot read this folder: Permission denied" in result.stderr
    assert (out / "good.jpg").is_file()


def missing_codec(*args, **kwargs):
    raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")


def test_tiff_codec_tifffile_lacks_is_read_by_pillow(tmp_path, photos, monkeypatch):
    rgb = small_rgb(photos)
    Image.fromarray(rgb).save(tmp_path / "rgb8.tif", compression="tiff_lzw")
    Image.fromarray(np.asarray(Image.fromarray(rgb).convert("L")).astype(np.uint16) * 257).save(
        tmp_path / "gray16.tif", compression="tiff_lzw"
    )
    tifffile.imwrite(tmp_path / "rgb16.tif", rgb.astype(np.uint16) * 257, photometric="rgb")
    tifffile.imwrite(tmp_path / "white16.tif", np.zeros((8, 8), np.uint16), photometric="miniswhite")
    monkeypatch.setattr(tifffile.TiffPage, "asarray", missing_codec)
    assert load_picture(tmp_path / "rgb8.tif").notes == []
    gray16 = load_picture(tmp_path / "gray16.tif")
    assert gray16.color.dtype == np.uint16 and gray16.notes == []  # Pillow keeps 16-bit gray whole
    rgb16 = load_picture(tmp_path / "rgb16.tif")
    np.testing.assert_array_equal(rgb16.color, rgb)
    assert rgb16.notes == [
        "<COMPRESSION.LZW: 5> requires the 'imagecodecs' package: read at 8 bits per sample"
    ]
    with pytest.raises(ImageError, match="requires the 'imagecodecs' package"):
        load_picture(tmp_path / "white16.tif")  # Pillow would show 16-bit MinIsWhite inverted


def test_eval_skips_what_it_cannot_use_without_a_traceback(tmp_path, photos, tiny_weights):
    from colorplug.engine.colorizer import Colorizer
    from colorplug.evaluation.run import evaluate

    rgb = small_rgb(photos)
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    Image.fromarray(rgb).save(tmp_path / "colour-zstd.tif", compression="zstd")
    gray16 = np.asarray(Image.fromarray(rgb).convert("L")).astype(np.uint16) * 257
    Image.fromarray(gray16).save(tmp_path / "gray16-zstd.tif", compression="zstd")
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb, photometric="rgb", compression="zlib")
    (tmp_path / "cut.tif").write_bytes(buffer.getvalue()[:600])
    report = evaluate(Colorizer(tiny_weights), [str(tmp_path)])
    assert sorted(Path(row["image"]).name for row in report.rows) == ["colour-zstd.tif", "colour.png"]
