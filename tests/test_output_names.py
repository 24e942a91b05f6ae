"""Every output name passes one check: never an input, never an existing output without --overwrite,
never two jobs to one name (across shards too); reruns are idempotent; concurrent runs never clash."""

from __future__ import annotations

import hashlib
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from colorplug.io.files import atomic_path, remove_stale_temporaries
from colorplug.io.provenance import is_colorplug_output
from colorplug.jobs.plan import in_shard


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def gray(photos, size=(80, 60)) -> Image.Image:
    return Image.fromarray(photos["coffee"]).convert("L").resize(size)


def test_a_transparency_fallback_never_replaces_an_input(tmp_path, photos, tiny_weights):
    folder = tmp_path / "d"
    folder.mkdir()
    gray(photos).convert("LA").save(folder / "x.tif")
    gray(photos).save(folder / "x_c.png")  # the user's own file, named like x.tif's fallback output
    before = digests(folder)
    result = invoke(
        "run", folder, "-o", folder, "--suffix", "_c", "--format", "jpg", "--weights", tiny_weights
    )
    assert result.exit_code == 1
    assert "x.tif: output" in result.stderr and "is an input file" in result.stderr
    assert {name: before[name] for name in before} == {name: digests(folder)[name] for name in before}
    assert (folder / "x_c_c.jpg").is_file()  # the user's PNG is still colorized, as JPEG


def test_a_fallback_output_is_skipped_on_rerun_and_kept_without_overwrite(tmp_path, photos, tiny_weights):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    gray(photos).convert("LA").save(source / "glass.tif")
    first = invoke("run", source, "-o", out, "--format", "jpg", "--weights", tiny_weights)
    assert first.exit_code == 0 and "cannot hold" in first.stderr
    written = (out / "glass.png").read_bytes()
    again = invoke("run", source, "-o", out, "--format", "jpg", "--weights", tiny_weights)
    assert again.exit_code == 0 and "0 colorized, 1 skipped (output exists)" in again.stderr
    assert (out / "glass.png").read_bytes() == written
    assert (
        invoke(
            "run", source, "-o", out, "--format", "jpg", "--weights", tiny_weights, "--overwrite"
        ).exit_code
        == 0
    )


def bmp_with_alpha(rgba: np.ndarray) -> bytes:
    """A 32-bit BMP whose bit fields include alpha (Pillow writes BMPs without it, but reads these)."""
    height, width, _ = rgba.shape
    pixels = rgba[::-1][..., [2, 1, 0, 3]].tobytes()  # bottom-up BGRA rows
    header = struct.pack("<IiiHHIIiiII", 56, width, height, 1, 32, 3, len(pixels), 2835, 2835, 0, 0)
    masks = struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
    offset = 14 + len(header) + len(masks)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + header + masks + pixels


def test_two_inputs_for_one_output_name_are_one_job_and_one_problem(tmp_path, photos, tiny_weights):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    rgba = np.asarray(gray(photos).convert("RGBA")).copy()
    rgba[:10, :, 3] = 0
    (source / "a.bmp").write_bytes(bmp_with_alpha(rgba))  # BMP cannot hold its alpha: falls back to a.png
    gray(photos).save(source / "a.png")
    result = invoke("run", source, "-o", out, "--weights", tiny_weights)
    assert result.exit_code == 1 and "1 colorized" in result.stderr
    assert "a.png: output" in result.stderr and "is also the output of" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]


def test_colliding_names_meet_in_one_shard(tmp_path, photos, tiny_weights):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for index in range(12):
        gray(photos, (40 + index, 30)).save(source / f"c{index}.gif")
        gray(photos, (40 + index, 30)).save(source / f"c{index}.png")
    outcomes = [
        invoke("run", source, "-o", out, "--weights", tiny_weights, "--shard", f"{i}/3") for i in (1, 2, 3)
    ]
    colorized = sum(int(re.search(r"(\d+) colorized", r.stderr).group(1)) for r in outcomes)
    problems = sum(r.stderr.count("is also the output of") for r in outcomes)
    assert colorized == 12 and problems == 12 and len(list(out.iterdir())) == 12


def test_the_readme_in_place_run_is_idempotent(tmp_path, photos, tiny_weights):
    photos_dir = tmp_path / "photos"
    photos_dir.mkdir()
    gray(photos).save(photos_dir / "photo.jpg")
    gray(photos).save(photos_dir / "scan.png")
    for attempt in range(3):
        result = invoke("run", photos_dir, "-o", photos_dir, "--suffix", "_color", "--weights", tiny_weights)
        assert result.exit_code == 0, result.stderr
        expected = "2 colorized, 0 skipped" if attempt == 0 else "0 colorized, 2 skipped"
        assert expected in result.stderr
    assert sorted(p.name for p in photos_dir.iterdir()) == [
        "photo.jpg",
        "photo_color.jpg",
        "scan.png",
        "scan_color.png",
    ]
    assert is_colorplug_output(photos_dir / "photo_color.jpg") and not is_colorplug_output(
        photos_dir / "photo.jpg"
    )


def test_an_output_folder_inside_the_input_folder_is_not_read_back(tmp_path, photos, tiny_weights):
    photos_dir = tmp_path / "photos"
    photos_dir.mkdir()
    gray(photos).save(photos_dir / "photo.jpg")
    for attempt in range(2):
        result = invoke("run", photos_dir, "-o", photos_dir / "colorized", "--weights", tiny_weights)
        assert (
            result.exit_code == 0
            and ("1 colorized" if attempt == 0 else "0 colorized, 1 skipped") in result.stderr
        )
    assert sorted(p.relative_to(photos_dir).as_posix() for p in photos_dir.rglob("*") if p.is_file()) == [
        "colorized/photo.jpg",
        "photo.jpg",
    ]


def test_a_users_own_file_in_an_output_folder_inside_the_input_folder_is_kept(tmp_path, photos, tiny_weights):
    photos_dir = tmp_path / "photos"
    (photos_dir / "colorized").mkdir(parents=True)
    gray(photos).save(photos_dir / "photo.jpg")
    gray(photos, (40, 30)).save(photos_dir / "colorized" / "photo.jpg")  # the user's, not colorplug's
    before = digests(photos_dir)
    result = invoke(
        "run", photos_dir, "-o", photos_dir / "colorized", "--weights", tiny_weights, "--overwrite"
    )
    assert result.exit_code == 1 and "is an input file" in result.stderr
    assert digests(photos_dir) == before


def test_file_names_of_255_bytes_work(tmp_path, photos, tiny_weights):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    name = "é" * 125 + "x.png"  # 255 bytes in UTF-8
    assert len(os.fsencode(name)) == 255
    gray(photos).save(source / name)
    result = invoke("run", source, "-o", out, "--weights", tiny_weights)
    assert result.exit_code == 0, result.stderr
    assert Image.open(out / name).size == (80, 60)


HOLDER = """
import sys, time
from pathlib import Path
from colorplug.io.files import atomic_path
with atomic_path(Path(sys.argv[1])) as temp:
    temp.write_bytes(b"in progress")
    print(temp, flush=True)
    time.sleep(60)
"""


def test_only_provably_stale_temporaries_are_removed(tmp_path):
    """A temporary file another run is writing (it holds the lock) survives clean-up; one left by a
    killed run (no lock) is removed once it is not brand new."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "out.png")], stdout=subprocess.PIPE, text=True
    )
    try:
        live = Path(holder.stdout.readline().strip())
        old = time.time() - 3600
        os.utime(live, (old, old))
        assert remove_stale_temporaries(tmp_path) == 0 and live.exists()
    finally:
        holder.kill()
        holder.wait()
    assert live.exists()  # killed mid-write: left behind...
    os.utime(live, (old, old))
    assert remove_stale_temporaries(tmp_path) == 1 and not live.exists()  # ...and cleaned up
    with atomic_path(tmp_path / "done.txt") as temp:
        temp.write_text("complete")
    assert [p.name for p in tmp_path.iterdir()] == ["done.txt"]


@pytest.mark.slow
def test_two_runs_into_one_folder_at_once_both_succeed(tmp_path, photos, tiny_weights):
    """The README's job-array case: two shards started together on one output folder, the second while
    the first is writing (and so cleaning up temporaries while the first holds some)."""
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    names = [f"p{index:03d}" for index in range(200)]
    first_shard = [name for name in names if in_shard(Path(name), 1, 2)][:20]  # most of the work
    second_shard = [name for name in names if in_shard(Path(name), 2, 2)][:6]
    for index, name in enumerate(first_shard + second_shard):
        Image.fromarray(np.roll(photos["chelsea"], index * 7, axis=1)).convert("L").resize((1200, 800)).save(
            source / f"{name}.png"
        )
    command = [sys.executable, "-m", "colorplug_cli.main", "run", str(source), "-o", str(out)]
    command += ["--weights", str(tiny_weights)]
    first = subprocess.Popen([*command, "--shard", "1/2"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(out.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.01)  # the second run starts (and cleans up) while the first is writing
    second = subprocess.Popen([*command, "--shard", "2/2"], stderr=subprocess.PIPE, text=True)
    assert first.poll() is None, "the first run ended before the second started"
    results = [(run.wait(timeout=300), run.stderr.read()) for run in (first, second)]
    assert all(code == 0 for code, _ in results), results
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in source.iterdir())
    written = {name: (out / f"{name}.png").stat().st_mtime for name in first_shard + second_shard}
    first_last = max(written[name] for name in first_shard)
    second_first = min(written[name] for name in second_shard)
    assert first_last > second_first, "the two runs never wrote at the same time"


def test_in_place_reruns_with_shards_skip_their_own_outputs(tmp_path, photos, tiny_weights):
    folder = tmp_path / "p"
    folder.mkdir()
    for index in range(6):
        gray(photos, (60 + index, 40)).save(folder / f"c{index}.png")
    for _ in range(2):
        for shard in ("1/2", "2/2"):
            result = invoke(
                "run", folder, "-o", folder, "--suffix", "_color", "--shard", shard, "--weights", tiny_weights
            )
            assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"c{i}.png" for i in range(6)] + [f"c{i}_color.png" for i in range(6)]
    )


def test_outputs_are_never_inputs_whatever_the_options_or_links(tmp_path, photos, tiny_weights):
    photos_dir, big = tmp_path / "photos", tmp_path / "big"
    photos_dir.mkdir()
    big.mkdir()
    gray(photos).save(photos_dir / "a.png")
    (photos_dir / "colorized").symlink_to(big)  # the output folder is a link to a bigger disk
    assert invoke("run", photos_dir, "-o", photos_dir / "colorized", "--weights", tiny_weights).exit_code == 0
    again = invoke(
        "run", photos_dir, "-o", photos_dir / "colorized", "--format", "jpg", "--weights", tiny_weights
    )
    assert again.exit_code == 0 and "1 colorized" in again.stderr
    assert sorted(p.name for p in big.iterdir()) == ["a.jpg", "a.png"]
    for options in (["--suffix", "_c"], ["--suffix", "_d", "--format", "tif"]):  # other options, in place
        assert invoke("run", photos_dir, "-o", photos_dir, *options, "--weights", tiny_weights).exit_code == 0
    names = sorted(p.name for p in photos_dir.iterdir())
    assert names == ["a.png", "a_c.png", "a_d.tif", "colorized"], names
    named = invoke("run", photos_dir / "a_c.png", "-o", tmp_path / "again", "--weights", tiny_weights)
    assert named.exit_code == 0 and "1 colorized" in named.stderr  # a file named directly is taken


def test_outputs_with_the_largest_exif_are_still_recognised(tmp_path, photos, tiny_weights):
    folder = tmp_path / "p"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x010E] = "x" * 65490  # ImageDescription filling a JPEG's EXIF segment
    gray(photos).save(folder / "a.jpg", exif=exif.tobytes())
    for _ in range(2):
        result = invoke("run", folder, "-o", folder, "--suffix", "_c", "--weights", tiny_weights)
        assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["a.jpg", "a_c.jpg"]
    assert is_colorplug_output(folder / "a_c.jpg")


def test_bmp_inputs_give_png_outputs(tmp_path, photos, tiny_weights):
    source = tmp_path / "in"
    source.mkdir()
    gray(photos).save(source / "scan.bmp")
    assert invoke("run", source, "-o", tmp_path / "out", "--weights", tiny_weights).exit_code == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["scan.png"]
    assert invoke("run", source, "-o", tmp_path / "o2", "--format", "bmp").exit_code == 2


def test_tiff_alpha_that_pillow_cannot_read_still_falls_back_to_png(tmp_path, tiny_weights):
    import tifffile

    source = tmp_path / "in"
    source.mkdir()
    ramp = np.tile(np.arange(200, dtype=np.uint16) * 300, (160, 1))
    alpha = np.full_like(ramp, 65535)
    alpha[:, :50] = 0
    tifffile.imwrite(
        source / "la16.tif", np.dstack([ramp, alpha]), photometric="minisblack", extrasamples=["unassalpha"]
    )
    result = invoke("run", source, "-o", tmp_path / "out", "--format", "jpg", "--weights", tiny_weights)
    assert result.exit_code == 0, result.stderr
    with Image.open(tmp_path / "out" / "la16.png") as written:
        assert written.size == (200, 160) and written.mode in ("RGBA", "LA")


def test_hint_folders_are_neither_inputs_nor_confused_by_outputs(tmp_path, photos, lite_weights):
    photos_dir = tmp_path / "photos"
    hints = photos_dir / "hints"
    hints.mkdir(parents=True)
    gray(photos).save(photos_dir / "b.jpg")
    dots = np.zeros((60, 80, 4), np.uint8)
    dots[10:20, 10:20] = (230, 20, 20, 255)
    Image.fromarray(dots).save(hints / "b.png")
    result = invoke("run", photos_dir, "-o", tmp_path / "out", "--hints", hints, "--weights", lite_weights)
    assert result.exit_code == 0 and "1 colorized" in result.stderr  # hints/b.png is not a photo
    for _ in range(2):  # outputs written into the hints folder are not hint images
        again = invoke("run", photos_dir, "-o", hints, "--hints", hints, "--weights", lite_weights)
        assert again.exit_code == 0, again.stderr


def test_an_output_or_map_name_taken_by_a_folder_is_refused_before_any_work(tmp_path, photos, lite_weights):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    gray(photos).save(source / "a.png")
    gray(photos).save(source / "b.png")
    (out / "a_confidence.png").mkdir(parents=True)  # where a's confidence map would go
    result = invoke("run", source, "-o", out, "--weights", lite_weights, "--confidence")
    assert result.exit_code == 1 and "1 colorized" in result.stderr, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert "a.png" in line and "a_confidence.png is a folder" in line
    assert sorted(p.name for p in out.iterdir()) == ["a_confidence.png", "b.png", "b_confidence.png"]
