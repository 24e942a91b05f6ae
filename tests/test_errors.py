"""Bad options, numbers that are not numbers and broken surroundings: one clear line, the right exit
status (2 for usage errors, before any work), never a traceback, never a silently black photo."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from colorplug.nets.registry import NetworkConfig, create_model
from colorplug.nets.weights import save_weights_file
from tests.conftest import write_images


def invoke(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kwargs)


def one_line_usage_error(result) -> bool:
    return (
        result.exit_code == 2 and "Traceback" not in result.output and "internal error" not in result.output
    )


@pytest.fixture()
def folder(tmp_path, photos) -> Path:
    write_images(tmp_path / "in", photos)
    return tmp_path / "in"


@pytest.mark.parametrize(
    "options",
    [
        ["--saturation", "nan"],
        ["--saturation", "inf"],
        ["--vividness", "nan"],
        ["--vividness", "-1"],
        ["--device", "xpu"],
        ["--device", "cuda:x"],
        ["--shard", "0/3"],
        ["--shard", "two/3"],
        ["--render-size", "3"],
    ],
)
def test_bad_run_options_are_usage_errors_before_any_work(folder, tmp_path, options):
    result = invoke("run", folder, "-o", tmp_path / "out", *options)
    assert one_line_usage_error(result), result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "options",
    [
        ["--arch", "foo"],
        ["--lr", "-1"],
        ["--lr", "nan"],
        ["--beta1", "1.5"],
        ["--loss", "x"],
        ["--ema", "inf"],
    ],
)
def test_bad_train_options_are_usage_errors(folder, tmp_path, options):
    result = invoke("train", folder, "--out", tmp_path / "run", *options)
    assert one_line_usage_error(result), result.output
    assert not (tmp_path / "run").exists()


def test_a_weights_file_holding_nan_is_refused_in_one_line(folder, tmp_path):
    model = create_model("seed", 0.0625)
    state = model.state_dict()
    state["encoder.blocks.0.0.0.weight"][0, 0, 0, 0] = float("nan")
    path = tmp_path / "nan.pt"
    save_weights_file(path, NetworkConfig.of("seed", 0.0625), state, half=False)
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", path)
    assert result.exit_code == 2 and "non-finite values" in result.stderr
    assert result.stderr.count("\n") == 1


def test_non_finite_network_outputs_fail_instead_of_black_photos(tiny_weights, photos):
    from colorplug import Colorizer, ColorplugError

    colorizer = Colorizer(tiny_weights, device="cpu", render_size=64)
    with torch.no_grad():
        for parameter in colorizer.network.parameters():
            parameter.fill_(float("inf"))
    with pytest.raises(ColorplugError, match="non-finite colours"):
        colorizer.colorize(np.asarray(Image.fromarray(photos["coffee"]).convert("L")))


@pytest.mark.parametrize("problem", ["a file", "read-only", "missing parent is a file"])
def test_shipped_weights_work_whatever_the_data_folder(folder, tmp_path, monkeypatch, problem):
    home = tmp_path / "home"
    if problem == "a file":
        home.write_text("not a folder")
    elif problem == "read-only":
        home.mkdir()
        home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    else:
        (tmp_path / "blocker").write_text("x")
        home = tmp_path / "blocker" / "home"
    monkeypatch.setenv("COLORPLUG_HOME", str(home))
    from colorplug.nets.weights import read_manifest, resolve_weights, shipped_dir

    name = next(iter(read_manifest()))
    loaded = resolve_weights(name)
    assert loaded.state_dict and loaded.name == name
    if problem != "read-only" or os.geteuid() != 0:  # root writes through read-only permissions
        assert loaded.path.parent == shipped_dir()  # straight from the package, verified


def test_the_gimp_bridge_answers_bad_requests_in_one_line(tmp_path, tiny_weights):
    from colorplug.gimp_bridge import main as bridge

    request = {"width": 2, "height": 2, "channels": 3, "depth": 8, "weights": str(tiny_weights)}
    cases = {
        "render size 3": ({"render_size": 3}, "render size must be at least 8"),
        "saturation nan": ({"saturation": float("nan")}, "saturation"),
        "vividness on a model without it": ({"vividness": 0.9}, "no vividness control"),
    }
    for name, (extra, expected) in cases.items():
        folder = tmp_path / name.replace(" ", "-")
        folder.mkdir()
        (folder / "request.json").write_text(json.dumps({**request, **extra}))
        (folder / "input.raw").write_bytes(b"\x80" * 12)
        assert bridge([str(folder)]) == 1
        error = json.loads((folder / "response.json").read_text())["error"]
        assert expected in error and "\n" not in error and "--device" not in error, (name, error)


def test_internal_errors_are_one_line_with_exit_1(folder, tmp_path, monkeypatch, tiny_weights):
    import colorplug.jobs.batch

    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(colorplug.jobs.batch, "run_jobs", broken)
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", tiny_weights)
    assert result.exit_code == 1 and "internal error: KeyError" in result.stderr
    assert result.stderr.count("\n") == 1


def test_python_api_validates_what_other_callers_can_pass(tiny_weights):
    from colorplug import Colorizer, ColorplugError

    for bad in ({"saturation": float("inf")}, {"render_size": 3}, {"vividness": float("nan")}):
        with pytest.raises((ValueError, ColorplugError)):
            Colorizer(tiny_weights, device="cpu", **bad)


def test_usage_errors_are_one_line(folder, tmp_path):
    for options in (["--device", "xpu"], ["--saturation", "nan"], ["--format", "gif"]):
        result = invoke("run", folder, "-o", tmp_path / "out", *options)
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith("colorplug: error:") and "--help" in result.stderr
    result = invoke("train", folder, "--arch", "foo")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_an_output_folder_that_cannot_be_made_is_refused_before_any_work(folder, tmp_path, tiny_weights):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    result = invoke("run", folder, "-o", tmp_path / "blocker" / "out", "--weights", tiny_weights)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "cannot create the output folder" in result.stderr
    train = invoke("train", folder, "--out", tmp_path / "blocker")
    assert train.exit_code == 2 and "is a file, not a folder" in train.stderr


def test_an_empty_argument_is_named_as_such(tmp_path, tiny_weights):
    result = invoke("run", "", "-o", tmp_path / "out", "--weights", tiny_weights)
    assert result.exit_code == 1 and 'FAILED "": empty name' in result.stderr


def test_saturation_is_bounded_in_the_python_api_too(tiny_weights, photos):
    from colorplug import Colorizer, ColorplugError

    with pytest.raises(ValueError, match="saturation"):
        Colorizer(tiny_weights, device="cpu", saturation=1e308)
    colorizer = Colorizer(tiny_weights, device="cpu", render_size=64)
    colorizer.saturation = float("nan")  # set after construction
    with pytest.raises(ColorplugError, match="not finite"):
        colorizer.colorize(np.asarray(Image.fromarray(photos["coffee"]).convert("L")))


def test_a_scanners_zero_resolution_does_not_stop_a_tiff(tmp_path, photos, tiny_weights):
    from PIL import TiffImagePlugin

    source = tmp_path / "in"
    source.mkdir()
    exif = Image.Exif()
    exif[282] = TiffImagePlugin.IFDRational(0, 0)
    exif[283] = TiffImagePlugin.IFDRational(0, 0)
    Image.fromarray(photos["coffee"]).convert("L").resize((80, 60)).save(
        source / "scan.tif", exif=exif.tobytes()
    )
    result = invoke("run", source, "-o", tmp_path / "out", "--weights", tiny_weights)
    assert result.exit_code == 0, result.stderr
    assert Image.open(tmp_path / "out" / "scan.tif").size == (80, 60)


def test_setting_errors_name_the_setting_as_each_front_end_does(folder, tmp_path, tiny_weights):
    from colorplug import ColorplugError
    from colorplug.gimp.bridge import main as bridge
    from colorplug.io.decode import load_picture

    photo = next(folder.iterdir())
    with pytest.raises(ColorplugError, match=r"raise max_pixels to allow"):  # the Python API's name
        load_picture(photo, max_pixels=100)
    result = invoke("run", photo, "-o", tmp_path / "out", "--weights", tiny_weights, "--max-pixels", 100)
    assert "raise --max-pixels to allow" in result.stderr  # the command line's flag
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", tiny_weights, "--vividness", 0.5)
    assert result.exit_code == 2 and "leave --vividness at its default" in result.stderr
    gimp = tmp_path / "gimp"
    gimp.mkdir()
    request = {"width": 2, "height": 2, "channels": 3, "depth": 8, "weights": str(tiny_weights)}
    (gimp / "request.json").write_text(json.dumps({**request, "vividness": 0.5}))
    (gimp / "input.raw").write_bytes(b"\x80" * 12)
    assert bridge([str(gimp)]) == 1
    assert "leave Vividness at its default" in json.loads((gimp / "response.json").read_text())["error"]


def test_train_config_checks_what_python_callers_give():
    from colorplug.errors import SettingError
    from colorplug.training.config import TrainConfig

    with pytest.raises(SettingError, match="loss must be one of"):
        TrainConfig(data=["x"], loss="x")
    with pytest.raises(SettingError, match="lr is out of range"):
        TrainConfig(data=["x"], lr=0.0)
    with pytest.raises(SettingError, match="ema is out of range"):
        TrainConfig(data=["x"], ema=float("nan"))
