"""The plug-in's confidence layer and "Suggest colours" in a real GIMP 3, headless."""

from __future__ import annotations

import json

import pytest

from tests.test_gimp_plugin import _run, gimp, workspace  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # a real GIMP 3, headless

BATCH = r"""
import json
from gi.repository import Gegl
pdb = Gimp.get_pdb()
report = {"registered": pdb.lookup_procedure("plug-in-colorplug-suggest") is not None}

def call(name, image, layer, **options):
    proc = pdb.lookup_procedure(name)
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [layer])
    for key, value in options.items():
        cfg.set_property(key, value)
    result = proc.run(cfg)
    status = result.index(0)
    return status.value_nick, str(result.index(1)) if status != Gimp.PDBStatusType.SUCCESS else None

image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(__PHOTO__))
source = image.get_layers()[0]
report["colorize"] = call("plug-in-colorplug-colorize", image, source, confidence=True)
layers = image.get_layers()
report["layers"] = [(l.get_name(), l.get_visible()) for l in layers]
sure = layers[0]
data = bytes(sure.get_buffer().get(Gegl.Rectangle.new(0, 0, 180, 120), 1.0, "Y' u8", Gegl.AbyssPolicy.CLAMP))
report["map_range"] = [min(data), max(data)]
image.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 10, 60, 40)
report["suggest"] = call("plug-in-colorplug-suggest", image, source)
palette = Gimp.Palette.get_by_name("Colorplug suggestions")
report["palette"] = palette.get_color_count() if palette else None
report["palette_api"] = [name for name in dir(palette) if "entry" in name or "color" in name]
report["foreground"] = Gimp.context_get_foreground().get_rgba()[:3]
report["suggest_again"] = call("plug-in-colorplug-suggest", image, source)
paths = image.get_paths()
report["paths"] = [(p.get_name(), len(p.get_strokes())) for p in paths]
answers = [p.stroke_get_points(s) for p in paths for s in p.get_strokes()]  # (type, points, closed)
report["boxes"] = [[list(v) for v in answer if isinstance(v, (list, tuple))][0] for answer in answers]
report["closed"] = [bool(answer[-1]) for answer in answers]
image.delete()
with open(__OUT__ + "/insight.json", "w") as handle:
    json.dump(report, handle)
"""


@pytest.fixture(scope="module")
def report(gimp, workspace) -> dict:  # noqa: F811
    _run(gimp, workspace, BATCH)
    return json.loads((workspace["out"] / "insight.json").read_text())


def test_the_confidence_layer_is_hidden_above_the_colour_layer(report):
    assert report["colorize"][0] == "success", report["colorize"]
    names = [name for name, _ in report["layers"]]
    assert names[0].endswith(" confidence") and names[1].endswith("(colorized)")
    assert report["layers"][0][1] is False and report["layers"][1][1] is True
    assert report["map_range"][0] < report["map_range"][1]


def test_suggest_colours_fills_the_palette(report):
    assert report["registered"]
    assert report["suggest"][0] == "success", report["suggest"]
    assert 1 <= report["palette"] <= 5, report["palette_api"]
    assert report["foreground"] != [0.0, 0.0, 0.0]  # the first suggestion, ready to paint hints with


def test_suggest_colours_marks_the_places_to_hint_with_one_path_of_boxes(report):
    assert report["suggest_again"][0] == "success", report["suggest_again"]
    assert len(report["paths"]) == 1, report["paths"]  # the second run replaced the first's path
    name, strokes = report["paths"][0]
    assert name == "colorplug: where to hint" and strokes >= 1
    assert all(report["closed"])
    for points in report["boxes"]:  # control points: (x, y) triples of a closed four-corner stroke
        xs, ys = points[0::2], points[1::2]
        assert len(xs) == 12 and max(xs) > min(xs) and max(ys) > min(ys)
        assert min(xs) >= 0 and max(xs) <= 180 and min(ys) >= 0 and max(ys) <= 120  # inside the photo
