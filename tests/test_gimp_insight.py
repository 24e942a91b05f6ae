"""The plug-in's confidence layer and "Suggest colours", engine side and marshalling, without GIMP."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from colorplug.gimp.bridge import main as bridge_main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "gimp_plugin" / "colorplug_gimp"))
import colorplug_marshal as marshal  # noqa: E402

sys.path.pop(0)


@pytest.fixture()
def layer(photos):
    gray = np.asarray(photos["chelsea"][::4, ::4].mean(axis=-1), dtype=np.uint8)
    return np.ascontiguousarray(np.dstack([gray, gray, gray]))


def _request(folder, layer, weights, **extra):
    height, width = layer.shape[:2]
    marshal.write_request(
        str(folder), layer.tobytes(), width=width, height=height, channels=3, depth=8,
        weights=str(weights), render_size=64, saturation=1.0, **extra,
    )  # fmt: skip
    status = bridge_main([str(folder)])
    return status, json.loads((folder / marshal.RESPONSE).read_text())


def test_the_confidence_map_comes_back_beside_the_colours(tmp_path, layer, lite_weights):
    status, response = _request(tmp_path, layer, lite_weights, confidence=True)
    assert status == 0 and response == {"ok": True}
    height, width = layer.shape[:2]
    sure = np.frombuffer(marshal.read_confidence(str(tmp_path), width, height), np.uint8)
    assert sure.min() < sure.max()
    assert len(marshal.read_output(str(tmp_path), width, height, 3, 8)) == layer.size
    assert marshal.confidence_layer_name("photo") == "photo confidence"


def test_no_map_unless_asked(tmp_path, layer, lite_weights):
    assert _request(tmp_path, layer, lite_weights)[0] == 0
    assert not (tmp_path / marshal.CONFIDENCE).exists()


def test_suggest_for_the_selection_answers_colours_and_places(tmp_path, layer, lite_weights):
    height, width = layer.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    mask[10:40, 20:60] = 255
    status, response = _request(tmp_path, layer, lite_weights, action="suggest", mask=mask.tobytes())
    assert status == 0, response
    shares = [s["share"] for s in response["suggestions"]]
    assert 1 <= len(shares) <= 5 and sum(shares) == pytest.approx(1, abs=1e-3)
    assert all(len(s["hex"]) == 7 and len(s["rgb"]) == 3 for s in response["suggestions"])
    assert all(0 <= p["x"] < width and 0 <= p["y"] < height for p in response["places"])
    lines = marshal.suggestion_lines(response)
    assert lines[0].startswith("#") and lines[-1].startswith("hint at: ")
    assert not (tmp_path / marshal.OUTPUT).exists()  # suggesting colorizes nothing


def test_an_empty_selection_and_weights_without_the_head_are_one_line(
    tmp_path, layer, lite_weights, tiny_weights
):
    height, width = layer.shape[:2]
    empty = bytes(height * width)
    status, response = _request(tmp_path, layer, lite_weights, action="suggest", mask=empty)
    assert status == 1 and "selection" in response["error"] and "\n" not in response["error"]
    status, response = _request(tmp_path / "..", layer, tiny_weights, confidence=True)
    assert status == 1 and "distribution" in response["error"] and "\n" not in response["error"]


def test_a_selection_of_the_wrong_size_is_refused_before_the_engine(tmp_path, layer):
    with pytest.raises(ValueError, match="bytes of selection"):
        marshal.write_request(
            str(tmp_path), layer.tobytes(), width=layer.shape[1], height=layer.shape[0], channels=3,
            depth=8, weights="general", render_size=0, saturation=1.0, action="suggest", mask=b"\0" * 3,
        )  # fmt: skip
