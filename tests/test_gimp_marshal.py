"""The GIMP plug-in's plain-Python side and the engine bridge, without GIMP."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gimp_plugin" / "colorplug_gimp"))
import colorplug_marshal as marshal  # noqa: E402

sys.path.pop(0)


def fake_python(folder: Path, body: str) -> str:
    """An executable standing in for the engine's Python."""
    path = folder / "fake-python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_request_and_engine_round_trip(tmp_path, tiny_weights, photos, monkeypatch):
    monkeypatch.setenv("GI_TYPELIB_PATH", "/should/not/leak")
    gray = np.asarray(photos["chelsea"][::4, ::4].mean(axis=-1), dtype=np.uint16) * 257
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 65535)])
    height, width = gray.shape
    folder = marshal.private_folder()
    marshal.write_request(
        folder,
        rgba.tobytes(),
        width=width,
        height=height,
        channels=4,
        depth=16,
        weights=str(tiny_weights),
        render_size=64,
        saturation=1.0,
    )
    pulses = []
    marshal.run_engine({"python": sys.executable}, folder, pulse=lambda: pulses.append(1))
    out = np.frombuffer(marshal.read_output(folder, width, height, 4, 16), np.uint16).reshape(
        height, width, 4
    )
    assert out[..., :3].std(axis=-1).mean() > 50  # coloured, at 16 bits
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    assert pulses


def test_write_request_checks_the_pixel_count(tmp_path):
    with pytest.raises(ValueError, match="expected 24"):
        marshal.write_request(
            str(tmp_path),
            b"\0" * 10,
            width=2,
            height=3,
            channels=4,
            depth=8,
            weights="general",
            render_size=0,
            saturation=1.0,
        )


def test_missing_engine_is_reported(tmp_path):
    folder = marshal.private_folder()
    with pytest.raises(marshal.EngineError, match="engine not found"):
        marshal.run_engine({"python": str(tmp_path / "nope")}, folder)


def test_engine_errors_and_crashes_are_one_line(tmp_path, tiny_weights):
    folder = marshal.private_folder()
    marshal.write_request(
        folder,
        b"\0" * 12,
        width=2,
        height=2,
        channels=3,
        depth=8,
        weights="no-such-weights",
        render_size=0,
        saturation=1.0,
    )
    with pytest.raises(marshal.EngineError, match="unknown weights 'no-such-weights'"):
        marshal.run_engine({"python": sys.executable}, folder)
    crash = fake_python(tmp_path, "echo 'Segmentation fault' >&2; exit 139")
    folder = marshal.private_folder()
    with pytest.raises(marshal.EngineError, match="Segmentation fault"):
        marshal.run_engine({"python": crash}, folder)


def test_timeout_kills_the_engine(tmp_path):
    slow = fake_python(tmp_path, "sleep 30")
    with pytest.raises(marshal.EngineError, match="timed out after 1 s"):
        marshal.run_engine({"python": slow}, marshal.private_folder(), timeout_s=1)


def test_wrong_size_output_is_refused(tmp_path):
    (tmp_path / marshal.OUTPUT).write_bytes(b"\0" * 5)
    with pytest.raises(marshal.EngineError, match="wrong size"):
        marshal.read_output(str(tmp_path), 2, 2, 3, 8)


def test_config_missing_says_how_to_fix(tmp_path):
    with pytest.raises(marshal.EngineError, match="colorplug gimp install"):
        marshal.read_config(str(tmp_path))
    (tmp_path / marshal.CONFIG_NAME).write_text(json.dumps({"python": "/x"}))
    assert marshal.read_config(str(tmp_path)) == {"python": "/x"}


def test_bridge_refuses_bad_requests(tmp_path):
    from colorplug.gimp_bridge import main

    (tmp_path / "request.json").write_text(json.dumps({"width": 2, "height": 2, "channels": 2, "depth": 8}))
    assert main([str(tmp_path)]) == 1
    response = json.loads((tmp_path / "response.json").read_text())
    assert response["ok"] is False and "unsupported pixel layout" in response["error"]
    assert not (tmp_path / "output.raw").exists()  # refused before any work


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"render_size": 100.5}, "render_size is 100.5"),
        ({"action": "bogus"}, "not a request"),
        ({"width": 30.7}, "width is 30.7"),
        ({"width": -2, "height": -2}, "width is -2"),
        ({"confidence": "no"}, "confidence is 'no'"),
        ({"vividness": "high"}, "vividness is 'high'"),
        ({}, "cannot read input.raw"),  # the pixels were never written
    ],
)
def test_bridge_requests_with_wrong_values_are_one_line(tmp_path, change, said, capsys):
    from colorplug.gimp_bridge import main

    request = {"width": 2, "height": 2, "channels": 3, "depth": 8, "render_size": 0, "confidence": False}
    (tmp_path / "request.json").write_text(json.dumps(request | change))
    assert main([str(tmp_path)]) == 1
    response = json.loads((tmp_path / "response.json").read_text())
    assert response["ok"] is False and said in response["error"] and "\n" not in response["error"]
    assert not (tmp_path / "output.raw").exists()


def test_bridge_given_no_folder_says_so_in_one_line(tmp_path, capsys):
    from colorplug.gimp_bridge import main

    assert main([str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_layer_names():
    assert marshal.layer_name("Background", False) == "Background (colorized)"
    assert marshal.layer_name("scan", True) == "scan (colorized colour)"


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"XDG_CONFIG_HOME": "/cfg"}, "/cfg/GIMP/3.0"),
        ("darwin", {}, "~/Library/Application Support/GIMP/3.0"),
        ("win32", {"APPDATA": "C:/Users/u/AppData/Roaming"}, "C:/Users/u/AppData/Roaming/GIMP/3.0"),
        ("linux", {"GIMP3_DIRECTORY": "/custom"}, "/custom"),
    ],
)
def test_default_gimp_profiles(monkeypatch, platform, env, expected):
    from colorplug.gimp import install as gimp_install

    for name in ("GIMP3_DIRECTORY", "XDG_CONFIG_HOME", "APPDATA"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(gimp_install.sys, "platform", platform)
    assert gimp_install.default_profile() == Path(expected).expanduser()


def test_the_dialog_asks_for_a_vividness_only_when_the_user_changed_it(tmp_path):
    from colorplug.defaults import DEFAULT_VIVIDNESS
    from colorplug.gimp.install import CONFIG_NAME, install

    config = json.loads((install(tmp_path) / CONFIG_NAME).read_text(encoding="utf-8"))
    assert marshal.default_vividness(config) == DEFAULT_VIVIDNESS  # what the dialog shows
    assert marshal.requested_vividness(config, DEFAULT_VIVIDNESS) is None  # weights without it still run
    assert marshal.requested_vividness(config, 1.0) == 1.0
    assert marshal.default_vividness({}) == DEFAULT_VIVIDNESS  # a configuration from an older install


def _gray_request(folder: str, photo: np.ndarray, weights: str, reference: str | None) -> tuple[int, int]:
    gray = np.asarray(photo[::4, ::4].mean(axis=-1), dtype=np.uint8)
    height, width = gray.shape
    rgb = np.dstack([gray, gray, gray])
    marshal.write_request(
        folder, rgb.tobytes(), width=width, height=height, channels=3, depth=8, weights=weights,
        render_size=0, saturation=1.0, reference=reference,
    )  # fmt: skip
    return width, height


def test_a_reference_photo_goes_through_the_bridge(tmp_path, tiny_weights, photos):
    from PIL import Image

    colour, gray = tmp_path / "key.png", tmp_path / "gray.png"
    Image.fromarray(photos["chelsea"][::4, ::-4]).save(colour)
    Image.fromarray(photos["chelsea"]).convert("L").save(gray)
    outputs = []
    for reference in (None, str(colour)):
        folder = marshal.private_folder()
        width, height = _gray_request(folder, photos["chelsea"], "general", reference)
        marshal.run_engine({"python": sys.executable}, folder)
        outputs.append(np.frombuffer(marshal.read_output(folder, width, height, 3, 8), np.uint8))
    assert np.abs(outputs[0].astype(int) - outputs[1]).mean() > 0.5  # its colours were taken
    folder = marshal.private_folder()
    _gray_request(folder, photos["chelsea"], "general", str(gray))
    with pytest.raises(marshal.EngineError, match=r"^reference .*gray\.png: is gray"):
        marshal.run_engine({"python": sys.executable}, folder)
    folder = marshal.private_folder()
    _gray_request(folder, photos["chelsea"], str(tiny_weights), str(colour))
    with pytest.raises(marshal.EngineError, match="cannot take a reference photo"):
        marshal.run_engine({"python": sys.executable}, folder)


def test_place_boxes_stay_on_the_layer_and_drop_what_is_no_box():
    places = [
        {"x": 10, "y": 20, "width": 8, "height": 4},  # well inside
        {"x": 0, "y": 0, "width": 30, "height": 30},  # clamped at the corner
        {"x": 200, "y": 5, "width": 10, "height": 10},  # wholly off the layer: no area left
        {"x": 50, "y": 50, "width": 0.2, "height": 9},  # too thin to select
        {"x": "left", "y": 1, "width": 2, "height": 2},  # malformed
        {"y": 1},
        None,
    ]
    assert marshal.place_boxes(places, 100, 60) == [(6.0, 18.0, 14.0, 22.0), (0.0, 0.0, 15.0, 15.0)]
    assert marshal.place_boxes(None, 100, 60) == []
