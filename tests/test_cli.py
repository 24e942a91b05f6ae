"""The command line on folders with a tiny random model: outputs, skipping, failures, exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from tests.conftest import write_images


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def tree(tmp_path, photos) -> Path:
    """photos/ with images at the top and in a subfolder, plus one broken file."""
    root = tmp_path / "photos"
    write_images(root, photos)
    write_images(root / "sub" / "deeper", {"coffee": photos["coffee"]})
    (root / "broken.jpg").write_bytes(b"not really a jpeg")
    (root / "notes.txt").write_text("not an image, ignored in folders")
    return root


def test_run_mirrors_a_folder_and_reports_the_broken_file(tree, tmp_path, tiny_weights):
    before = {p: digest(p) for p in tree.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    result = invoke("run", tree, "-o", out, "--weights", tiny_weights, "--render-size", "64")
    assert result.exit_code == 1
    assert "broken.jpg: not an image file" in result.stderr
    assert "4 colorized, 0 skipped (output exists), 1 failed" in result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "astronaut.jpg",
        "chelsea.jpg",
        "coffee.jpg",
        "sub/deeper/coffee.jpg",
    ]
    for name in ("astronaut.jpg", "sub/deeper/coffee.jpg"):
        source, result_image = Image.open(tree / name), Image.open(out / name)
        assert result_image.size == source.size and result_image.mode == "RGB"
    assert before == {p: digest(p) for p in tree.rglob("*") if p.is_file()}  # inputs untouched
    assert "Traceback" not in result.output


def test_rerun_skips_existing_outputs_unless_overwrite(tmp_path, photos, tiny_weights):
    source = tmp_path / "in"
    write_images(source, photos)
    out = tmp_path / "out"
    assert invoke("run", source, "-o", out, "--weights", tiny_weights).exit_code == 0
    stamp = (out / "chelsea.jpg").stat().st_mtime_ns
    (out / "coffee.jpg").unlink()
    result = invoke("run", source, "-o", out, "--weights", tiny_weights)
    assert result.exit_code == 0 and "1 colorized, 2 skipped" in result.stderr
    assert (out / "chelsea.jpg").stat().st_mtime_ns == stamp
    result = invoke("run", source, "-o", out, "--weights", tiny_weights, "--overwrite")
    assert "3 colorized, 0 skipped" in result.stderr


def test_format_suffix_and_glob(tmp_path, photos, tiny_weights):
    source = tmp_path / "in"
    write_images(source, photos)
    out = tmp_path / "out"
    result = invoke(
        "run",
        str(source / "c*.jpg"),
        "-o",
        out,
        "--weights",
        tiny_weights,
        "--format",
        "png",
        "--suffix",
        "_color",
    )
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["chelsea_color.png", "coffee_color.png"]


def test_never_writes_over_an_input(tmp_path, photos, tiny_weights):
    source = tmp_path / "in"
    write_images(source, photos)
    before = {p.name: digest(p) for p in source.iterdir()}
    result = invoke("run", source, "-o", source, "--weights", tiny_weights, "--overwrite")
    assert result.exit_code == 1
    assert "is an input file: refusing to overwrite" in result.stderr
    assert before == {p.name: digest(p) for p in source.iterdir()}
    result = invoke("run", source, "-o", source, "--weights", tiny_weights, "--suffix", "_c")
    assert result.exit_code == 0 and len(list(source.iterdir())) == 6


def test_transparent_input_keeps_alpha_even_when_jpeg_is_asked(tmp_path, photos, tiny_weights):
    source = tmp_path / "in"
    source.mkdir()
    Image.fromarray(photos["coffee"]).convert("LA").resize((80, 60)).save(source / "glass.png")
    out = tmp_path / "out"
    result = invoke("run", source, "-o", out, "--weights", tiny_weights, "--format", "jpg")
    assert result.exit_code == 0 and "cannot hold" in result.stderr
    assert Image.open(out / "glass.png").mode == "RGBA"


def test_usage_errors_exit_2_with_one_line(tmp_path, photos):
    source = tmp_path / "in"
    write_images(source, photos)
    result = invoke("run", source, "-o", tmp_path / "out", "--weights", "no-such-weights")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "unknown weights 'no-such-weights'" in result.stderr
    assert invoke("run", source, "-o", tmp_path / "out", "--device", "tpu").exit_code == 2
    assert invoke("run", source).exit_code == 2  # -o missing
    assert invoke("run", source, "-o", tmp_path / "o", "--shard", "3/2").exit_code == 2


def test_missing_inputs_fail_with_exit_1(tmp_path, tiny_weights):
    result = invoke("run", tmp_path / "nothing-here", "-o", tmp_path / "out", "--weights", tiny_weights)
    assert result.exit_code == 1 and "no such file or folder" in result.stderr


def test_eval_prints_the_table_with_the_gray_baseline(tmp_path, photos, tiny_weights):
    data = tmp_path / "colour"
    write_images(data, photos, gray=False)
    report = tmp_path / "report"
    result = invoke("eval", data, "--weights", tiny_weights, "--report", report)
    assert result.exit_code == 0, result.output
    assert "protocol paper" in result.stdout and "gray baseline" in result.stdout and "PSNR" in result.stdout
    summary = json.loads((report / "summary.json").read_text())
    assert summary["images"] == 3 and summary["protocol"] == "paper"
    assert "256x256" in summary["protocol_description"]
    assert summary["gray_baseline"]["colorfulness"] < 0.5  # rounding only: no colour
    rows = (report / "per_image.csv").read_text().splitlines()
    assert len(rows) == 4 and "gray_psnr" in rows[0]
    assert Image.open(report / "grid.png").size[0] == 3 * 192


def test_eval_native_protocol(tmp_path, photos, tiny_weights):
    data = tmp_path / "colour"
    write_images(data, photos, gray=False, size=150)
    result = invoke("eval", data, "--weights", tiny_weights, "--protocol", "native", "--render-size", "64")
    assert result.exit_code == 0 and "protocol native" in result.stdout


def test_every_help_shows_an_example():
    for command in (
        ["--help"],
        ["run", "--help"],
        ["eval", "--help"],
        ["train", "--help"],
        ["weights", "--help"],
        ["weights", "add", "--help"],
    ):
        result = invoke(*command)
        assert result.exit_code == 0 and "Example" in result.output, command


def test_version_and_console_script():
    result = subprocess.run(
        [sys.executable, "-m", "colorplug_cli.main", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("colorplug, version")


def test_weights_commands(tmp_path):
    listing = invoke("weights", "list")
    assert listing.exit_code == 0 and "*" in listing.stdout
    path = invoke("weights", "path")
    assert path.exit_code == 0 and Path(path.stdout.strip()).is_file()
    verify = invoke("weights", "verify")
    assert verify.exit_code == 0 and ": ok" in verify.stdout


def test_training_then_shipping_then_using_the_weights(tmp_path, photos, monkeypatch):
    data = tmp_path / "colour"
    for index in range(3):
        write_images(data / str(index), photos, gray=False, size=80)
    out = tmp_path / "run"
    result = invoke(
        "train",
        data,
        "--out",
        out,
        "--name",
        "mini",
        "--width",
        "0.0625",
        "--image-size",
        "32",
        "--batch-size",
        "4",
        "--epochs",
        "2",
        "--workers",
        "0",
        "-q",
    )
    assert result.exit_code == 0, result.output
    entry = json.loads((out / "manifest_entry.json").read_text())
    assert entry["recipe"]["epochs_done"] == 2 and entry["data"]["images"] == 9
    rows = (out / "log.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("epoch,step,images,loss")
    report = tmp_path / "report"
    assert invoke("eval", data, "--weights", out / "mini.pt", "--report", report).exit_code == 0
    shipped = tmp_path / "shipped"
    result = invoke(
        "weights",
        "add",
        out / "mini.pt",
        "--name",
        "mini",
        "--entry",
        out / "manifest_entry.json",
        "--eval",
        report / "summary.json",
        "--to",
        shipped,
        "--default",
    )
    assert result.exit_code == 0
    manifest = json.loads((shipped / "manifest.json").read_text())
    assert manifest["weights"]["mini"]["default"] is True
    assert manifest["weights"]["mini"]["eval"][0]["images"] == 9
    from colorplug.nets import weights as weights_module

    monkeypatch.setattr(weights_module, "shipped_dir", lambda: shipped)
    image = np.asarray(Image.fromarray(photos["chelsea"]).convert("L"))
    from colorplug import Colorizer

    assert Colorizer(device="cpu").colorize(image).shape == (*image.shape, 3)


def test_the_command_line_starts_without_the_engine_libraries():
    heavy = ("torch", "numpy", "PIL", "tifffile", "skimage")
    code = f"import sys, colorplug_cli.main; print([m for m in sys.modules if m.split('.')[0] in {heavy}])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_train_options_are_train_configs_fields():
    from dataclasses import fields

    from colorplug.training.config import TrainConfig

    params = {param.name: param for param in main.commands["train"].params}
    for item in fields(TrainConfig):
        assert item.name in params, item.name
        if item.name not in ("data", "val", "device"):
            assert params[item.name].default == item.default, item.name
    assert params["simulate_hints"].opts == ["--hints"] and params["random_seed"].opts == ["--seed"]
    assert sorted(params["arch"].type.choices) == ["lite0-unet", "seed", "unet"]


def test_eval_still_takes_the_paper_protocols_old_name(tmp_path, photos, tiny_weights):
    data = tmp_path / "colour"
    write_images(data, photos, gray=False, size=64)
    result = invoke("eval", data, "--weights", tiny_weights, "--protocol", "seed", "--limit", "1")
    assert result.exit_code == 0 and "protocol paper" in result.stdout
