"""`colorplug run --hints` and `colorplug eval --hints N` with a small random hint-capable model."""

from __future__ import annotations

import hashlib

import numpy as np
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from tests.conftest import write_images


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def red_dots(size: tuple[int, int]) -> Image.Image:
    hints = np.zeros((size[1], size[0], 4), np.uint8)
    hints[10:20, 10:20] = (230, 20, 20, 255)
    return Image.fromarray(hints)


def test_one_photo_with_one_hint_image(tmp_path, photos, lite_weights):
    (photo,) = write_images(tmp_path / "in", {"coffee": photos["coffee"]})
    red_dots(Image.open(photo).size).save(tmp_path / "hint.png")
    out = tmp_path / "out"
    plain = invoke("run", photo, "-o", tmp_path / "plain", "--weights", lite_weights)
    hinted = invoke("run", photo, "-o", out, "--weights", lite_weights, "--hints", tmp_path / "hint.png")
    assert plain.exit_code == 0 and hinted.exit_code == 0, hinted.stderr
    a = np.asarray(Image.open(out / "coffee.jpg"), dtype=int)
    b = np.asarray(Image.open(tmp_path / "plain" / "coffee.jpg"), dtype=int)
    assert np.abs(a[5:25, 5:25] - b[5:25, 5:25]).mean() > 1


def test_a_folder_of_hints_matches_by_relative_path_and_name(tmp_path, photos, lite_weights):
    source, hints, out = tmp_path / "in", tmp_path / "hints", tmp_path / "out"
    write_images(source, photos)
    write_images(source / "sub", {"coffee": photos["coffee"]})
    size = Image.open(source / "coffee.jpg").size
    (hints / "sub").mkdir(parents=True)
    red_dots(size).save(hints / "sub" / "coffee.png")  # another extension than the photo's
    red_dots(size).save(hints / "chelsea.tif")
    (hints / "astronaut.png").write_bytes(b"not an image at all")  # a corrupt hint file
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in hints.rglob("*") if p.is_file()}
    result = invoke("run", source, "-o", out, "--weights", lite_weights, "--hints", hints)
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "astronaut.jpg: hints" in failed[0] and "not an image" in failed[0]
    assert "3 colorized" in result.stderr  # coffee (no hint file), sub/coffee and chelsea (hinted)
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in hints.rglob("*") if p.is_file()}


def test_hint_images_that_do_not_fit_are_one_line_each(tmp_path, photos, lite_weights):
    source, hints = tmp_path / "in", tmp_path / "hints"
    write_images(source, photos)
    hints.mkdir()
    Image.new("RGBA", (50, 50)).save(hints / "coffee.png")  # another aspect ratio
    Image.new("RGB", Image.open(source / "chelsea.jpg").size).save(hints / "chelsea.png")  # no alpha
    result = invoke("run", source, "-o", tmp_path / "out", "--weights", lite_weights, "--hints", hints)
    assert result.exit_code == 1 and "1 colorized" in result.stderr
    assert "aspect ratios differ" in result.stderr and "no alpha channel" in result.stderr


def test_hints_are_refused_at_once_by_weights_without_them(tmp_path, photos, tiny_weights):
    photo, _ = write_images(tmp_path / "in", {"coffee": photos["coffee"], "chelsea": photos["chelsea"]})
    red_dots(Image.open(photo).size).save(tmp_path / "hint.png")
    result = invoke(
        "run", photo, "-o", tmp_path / "out", "--weights", tiny_weights, "--hints", tmp_path / "hint.png"
    )
    assert result.exit_code == 2 and "take no colour hints" in result.stderr
    several = invoke("run", tmp_path / "in", "-o", tmp_path / "o", "--hints", tmp_path / "hint.png")
    assert several.exit_code == 2 and not (tmp_path / "o").exists()  # one hint image for two photos


def test_eval_reports_hinted_figures_beside_the_automatic_ones(tmp_path, photos, lite_weights):
    write_images(tmp_path / "data", photos, gray=False)
    result = invoke(
        "eval", tmp_path / "data", "--weights", lite_weights, "--hints", 5, "--report", tmp_path / "r"
    )
    assert result.exit_code == 0, result.output
    assert "with 5 hints" in result.stdout and "hinted pixels: median CIEDE2000" in result.stdout
    import json

    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    again = invoke(
        "eval", tmp_path / "data", "--weights", lite_weights, "--hints", 5, "--report", tmp_path / "s"
    )
    assert again.exit_code == 0
    assert json.loads((tmp_path / "s" / "summary.json").read_text())["hinted"] == summary["hinted"]  # seeded
