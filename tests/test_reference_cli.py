"""`colorplug run --reference FILE` and `--reference-folder DIR`: a series in one look, bad references."""

from __future__ import annotations

import hashlib

import numpy as np
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from tests.conftest import write_images


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def failures(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if "FAILED" in line]


def test_one_reference_colours_a_whole_series(tmp_path, photos):
    source, out = tmp_path / "in", tmp_path / "out"
    write_images(source, {"a": photos["astronaut"], "b": photos["astronaut"][::-1]}, size=160)
    (key,) = write_images(tmp_path / "key", {"key": photos["astronaut"][:, ::-1]}, gray=False, size=160)
    before = hashlib.sha256(key.read_bytes()).hexdigest()
    plain = invoke("run", source, "-o", tmp_path / "plain")
    result = invoke("run", source, "-o", out, "--reference", key)
    assert plain.exit_code == 0 and result.exit_code == 0, result.stderr
    assert "2 colorized" in result.stderr and not failures(result)
    a = np.asarray(Image.open(out / "a.jpg"), dtype=int)
    b = np.asarray(Image.open(tmp_path / "plain" / "a.jpg"), dtype=int)
    assert np.abs(a - b).mean() > 1  # the reference's colours were followed
    assert hashlib.sha256(key.read_bytes()).hexdigest() == before


def test_one_gray_reference_for_all_photos_is_refused_once_before_any_work(tmp_path, photos, lite_weights):
    source = tmp_path / "in"
    write_images(source, {"a": photos["coffee"], "b": photos["chelsea"]})
    (key,) = write_images(tmp_path / "key", {"key": photos["coffee"]}, gray=True)
    result = invoke("run", source, "-o", tmp_path / "out", "--weights", lite_weights, "--reference", key)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "reference" in result.stderr and "is gray" in result.stderr
    assert not (tmp_path / "out").exists()  # refused before the output folder is made


def test_a_reference_folder_pairs_by_relative_path(tmp_path, photos, lite_weights):
    source, references, out = tmp_path / "in", tmp_path / "refs", tmp_path / "out"
    write_images(source, {"coffee": photos["coffee"], "chelsea": photos["chelsea"]})
    write_images(source / "sub", {"astronaut": photos["astronaut"]})
    write_images(references / "sub", {"astronaut": photos["astronaut"]}, gray=False)
    Image.fromarray(photos["chelsea"]).resize((20, 20)).save(references / "chelsea.png")  # tiny
    result = invoke("run", source, "-o", out, "--weights", lite_weights, "--reference-folder", references)
    assert result.exit_code == 1, result.stderr
    lines = failures(result)
    assert len(lines) == 1 and "chelsea.jpg" in lines[0] and "20x20 pixels" in lines[0]
    assert "2 colorized" in result.stderr  # coffee (no reference) and sub/astronaut (its own)
    notes = [line for line in result.stderr.splitlines() if "note" in line]
    assert len(notes) == 1 and "coffee.jpg" in notes[0] and "no reference photo" in notes[0]
    assert (out / "sub" / "astronaut.jpg").exists() and not (out / "chelsea.jpg").exists()


def test_reference_usage_errors(tmp_path, photos, lite_weights, tiny_weights):
    (photo,) = write_images(tmp_path / "in", {"coffee": photos["coffee"]})
    (key,) = write_images(tmp_path / "key", {"key": photos["coffee"]}, gray=False)
    both = invoke("run", photo, "-o", tmp_path / "o", "--reference", key, "--reference-folder", tmp_path)
    assert both.exit_code == 2 and "not both" in both.stderr
    missing = invoke("run", photo, "-o", tmp_path / "o", "--reference", tmp_path / "nope.jpg")
    assert missing.exit_code == 2
    seed = invoke("run", photo, "-o", tmp_path / "o", "--weights", tiny_weights, "--reference", key)
    assert seed.exit_code != 0 and "--reference" in seed.stderr and "Traceback" not in seed.stderr
    refs = key.parent
    folder = invoke("run", photo, "-o", tmp_path / "o", "--weights", tiny_weights, "--reference-folder", refs)
    assert folder.exit_code == 2 and "--reference-folder:" in folder.stderr  # the option the user gave
