"""The GIMP 3 plug-in, end to end in a real headless GIMP 3 with the shipped default weights.

GIMP runs the procedure non-interactively on prepared images; the batch code only dumps what GIMP holds
afterwards (layer stack, modes, offsets, raw pixels) into files, and the assertions here read those files.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from colorplug.color.metrics import psnr
from colorplug.gimp.install import install
from tests.gimp3 import engine_paths, gimp_root, run_batch, run_dialog

pytestmark = pytest.mark.slow  # a real GIMP 3, headless

PROCEDURE = "plug-in-colorplug-colorize"
HINT_DOT = (40, 100)  # top-left of the 6x6 red dot of the hint layer (on the cat's gray-brown fur)

BATCH = r"""
import json, os
from gi.repository import Gegl
OUT = __OUT__
PROC = Gimp.get_pdb().lookup_procedure("plug-in-colorplug-colorize")
report = {"registered": PROC is not None}

def dump(layer, name, fmt="R'G'B'A u8"):
    w, h = layer.get_width(), layer.get_height()
    data = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    with open(os.path.join(OUT, name + ".raw"), "wb") as handle:
        handle.write(bytes(data))
    _, x, y = layer.get_offsets()
    info = {"name": layer.get_name(), "width": w, "height": h, "x": x, "y": y,
            "mode": layer.get_mode().value_nick, "alpha": layer.has_alpha(), "mask": None}
    mask = layer.get_mask()
    if mask is not None:
        data = mask.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, "Y u8", Gegl.AbyssPolicy.CLAMP)
        with open(os.path.join(OUT, name + ".mask.raw"), "wb") as handle:
            handle.write(bytes(data))
        info["mask"] = name + ".mask.raw"
    return info

def colorize(image, layer, **options):
    cfg = PROC.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [layer])
    for key, value in options.items():
        if value is not None:
            cfg.set_property(key, value)
    result = PROC.run(cfg)
    status = result.index(0)
    error = result.index(1) if status != Gimp.PDBStatusType.SUCCESS and result.length() > 1 else None
    return status.value_nick, (str(error) if error is not None else None)

def scenario(name, path, setup=None, hints=False, **options):
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
    source = image.get_layers()[0]
    if setup:
        source = setup(image, source)
    hint = options["hint-layer"] = hint_layer(image) if hints else None
    before = dump(source, name + ".source.before")
    if hint is not None:
        dump(hint, name + ".hint.before")
    status, error = colorize(image, source, **options)
    layers = [layer for layer in image.get_layers() if layer != hint]
    entry = {"status": status, "error": error, "before": before,
             "names": [l.get_name() for l in layers], "base_type": image.get_base_type().value_nick,
             "precision": image.get_precision().value_nick}
    deep = "u16" if "16" in entry["precision"] else "u8"
    entry["source_after"] = dump(source, name + ".source.after")
    if hint is not None:
        entry["hint_after"] = dump(hint, name + ".hint.after")
    if len(layers) > 1:
        above = image.get_layers()[image.get_item_position(source) - 1]  # positions count the hint layer
        entry["new"] = dump(above, name + ".new", "R'G'B'A " + deep)
        entry["new_position"] = image.get_item_position(source) - 1
        entry["source_position"] = image.get_item_position(source)
    report[name] = entry
    image.delete()

def offset_layer(image, source):
    image.resize(image.get_width() + 40, image.get_height() + 30, 20, 10)  # source moves to (20, 10)
    return source

def select_box(image, source):
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 10, 60, 40)
    return source

def to_gray(image, source):
    image.convert_grayscale()
    return image.get_layers()[0]

def to_16_bit(image, source):
    image.convert_precision(Gimp.Precision.U16_NON_LINEAR)
    return image.get_layers()[0]

def hint_layer(image):  # a transparent layer on top with a red dot painted on the cat's fur
    layer = Gimp.Layer.new(image, "hints", 180, 120, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, None, 0)
    pixels = bytearray(180 * 120 * 4)
    for y in range(__DOT__[0], __DOT__[0] + 6):
        for x in range(__DOT__[1], __DOT__[1] + 6):
            pixels[(y * 180 + x) * 4 : (y * 180 + x) * 4 + 4] = bytes((220, 30, 30, 255))
    buffer = layer.get_buffer()
    buffer.set(Gegl.Rectangle.new(0, 0, 180, 120), "R'G'B'A u8", bytes(pixels))
    buffer.flush()
    return layer

scenario("full", __PHOTO__, offset_layer)
scenario("colour_only", __PHOTO__, None, **{"output-mode": "colour-only"})
scenario("selection", __PHOTO__, select_box)
scenario("alpha", __ALPHA__)
scenario("gray_mode", __PHOTO__, to_gray)
scenario("deep", __PHOTO__, to_16_bit)
scenario("hinted", __PHOTO__, None, hints=True)
with open(OUT + "/report.json", "w") as handle:
    json.dump(report, handle)
"""

FAILING = r"""
import json
PROC = Gimp.get_pdb().lookup_procedure("plug-in-colorplug-colorize")
image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(__PHOTO__))
cfg = PROC.create_config()
cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
cfg.set_property("image", image)
cfg.set_core_object_array("drawables", [image.get_layers()[0]])
result = PROC.run(cfg)
with open(__OUT__ + "/failing.json", "w") as handle:
    json.dump({"status": result.index(0).value_nick, "error": str(result.index(1)),
               "layers": len(image.get_layers())}, handle)
"""


@pytest.fixture(scope="module")
def gimp(tmp_path_factory):
    root, reason = gimp_root()
    if root is None:
        print(f"\nSKIPPED GIMP 3 end-to-end test: {reason}")
        pytest.skip(reason)
    return root


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, photos) -> dict:
    folder = tmp_path_factory.mktemp("gimp")
    truth = np.asarray(Image.fromarray(photos["chelsea"]).resize((180, 120), Image.Resampling.LANCZOS))
    gray = Image.fromarray(truth).convert("L").convert("RGB")
    gray.save(folder / "photo.png")
    with_alpha = gray.convert("RGBA")
    alpha = np.full((120, 180), 255, np.uint8)
    alpha[:, :60] = 0
    with_alpha.putalpha(Image.fromarray(alpha))
    with_alpha.save(folder / "alpha.png")
    out = folder / "out"
    out.mkdir()
    return {"folder": folder, "truth": truth, "alpha": alpha, "out": out}


def _run(gimp, workspace, template: str, python: str | None = None):
    profile = workspace["folder"] / ("profile-broken" if python else "profile")
    install(profile, python=python)
    code = (
        template.replace("__OUT__", repr(str(workspace["out"])))
        .replace("__PHOTO__", repr(str(workspace["folder"] / "photo.png")))
        .replace("__ALPHA__", repr(str(workspace["folder"] / "alpha.png")))
        .replace("__DOT__", repr(HINT_DOT))
    )
    home = Path(str(Path(workspace["folder"]) / "home"))
    home.mkdir(exist_ok=True)
    shared = [workspace["folder"], *engine_paths()]
    result = run_batch(gimp, code, profile, shared)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def report(gimp, workspace) -> dict:
    _run(gimp, workspace, BATCH)
    return json.loads((workspace["out"] / "report.json").read_text())


def _pixels(workspace, info: dict, name: str, depth: int = 8) -> np.ndarray:
    dtype = np.uint16 if depth == 16 else np.uint8
    data = np.fromfile(workspace["out"] / f"{name}.raw", dtype=dtype)
    return data.reshape(info["height"], info["width"], 4)


def test_procedure_is_registered(report):
    assert report["registered"]


def test_full_colour_layer_above_the_source(report, workspace):
    entry = report["full"]
    assert entry["status"] == "success", entry["error"]
    new, before = entry["new"], entry["before"]
    assert entry["new_position"] == entry["source_position"] - 1  # directly above
    assert new["name"] == f"{before['name']} (colorized)"
    assert (new["width"], new["height"], new["x"], new["y"]) == (180, 120, 20, 10)
    assert new["mode"] == "normal"
    colour = _pixels(workspace, new, "full.new")[..., :3]
    gray = _pixels(workspace, before, "full.source.before")[..., :3]
    truth = workspace["truth"]
    assert psnr(colour, truth) > psnr(gray, truth)  # coloured where the ground truth is
    assert colour.std(axis=-1).mean() > 2
    np.testing.assert_array_equal(
        _pixels(workspace, entry["source_after"], "full.source.after"),
        _pixels(workspace, before, "full.source.before"),
    )  # the source layer is never modified


def test_colour_only_mode_uses_an_lch_color_layer(report):
    entry = report["colour_only"]
    assert entry["status"] == "success", entry["error"]
    assert entry["new"]["mode"] == "lch-color"
    assert entry["new"]["name"].endswith("(colorized colour)")


def test_selection_becomes_the_layer_mask(report, workspace):
    entry = report["selection"]
    assert entry["status"] == "success", entry["error"]
    mask = np.fromfile(workspace["out"] / entry["new"]["mask"], np.uint8).reshape(120, 180)
    assert mask[20:40, 20:60].min() == 255 and mask[60:, 80:].max() == 0


def test_alpha_is_preserved(report, workspace):
    entry = report["alpha"]
    assert entry["status"] == "success", entry["error"]
    assert entry["new"]["alpha"]
    np.testing.assert_array_equal(_pixels(workspace, entry["new"], "alpha.new")[..., 3], workspace["alpha"])


def test_grayscale_image_is_converted_to_rgb(report):
    entry = report["gray_mode"]
    assert entry["status"] == "success", entry["error"]
    assert entry["base_type"] == "rgb" and len(entry["names"]) == 2


def test_high_bit_depth_keeps_its_precision(report, workspace):
    entry = report["deep"]
    assert entry["status"] == "success", entry["error"]
    assert "16" in entry["precision"]
    colour = _pixels(workspace, entry["new"], "deep.new", depth=16)[..., :3]
    assert (colour % 257 != 0).mean() > 0.5  # real 16-bit values, not 8-bit ones scaled up


def test_a_red_hint_dot_turns_its_region_red_and_changes_no_layer(report, workspace):
    entry = report["hinted"]
    assert entry["status"] == "success", entry["error"]
    assert len(entry["names"]) == 2  # besides the hint layer: the new layer and the photo
    colour = _pixels(workspace, entry["new"], "hinted.new")[..., :3]
    automatic = _pixels(workspace, report["colour_only"]["new"], "colour_only.new")[..., :3]
    top, left = HINT_DOT
    region = (slice(top - 4, top + 10), slice(left - 4, left + 10))
    a_hinted = rgb2lab(colour[region])[..., 1].mean()
    a_automatic = rgb2lab(automatic[region])[..., 1].mean()
    assert a_hinted > 20 and a_hinted > a_automatic + 10, (a_hinted, a_automatic)
    for layer in ("source", "hint"):
        np.testing.assert_array_equal(
            _pixels(workspace, entry[f"{layer}_after"], f"hinted.{layer}.after"),
            _pixels(workspace, entry[f"{layer}_after"], f"hinted.{layer}.before"),
        )


DIALOG = r"""
import json
PROC = Gimp.get_pdb().lookup_procedure("plug-in-colorplug-colorize")
image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(__PHOTO__))
cfg = PROC.create_config()
cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
cfg.set_property("image", image)
cfg.set_core_object_array("drawables", [image.get_layers()[0]])
result = PROC.run(cfg)
with open(__OUT__ + "/dialog.json", "w") as handle:
    json.dump({"status": result.index(0).value_nick, "layers": [l.get_name() for l in image.get_layers()]},
              handle)
"""


def test_the_dialog_renders_and_its_ok_button_colorizes(gimp, workspace, tmp_path):
    """The real dialog, in the GIMP 3 GUI on a virtual display, with a fresh profile: a screenshot of it,
    then Return (OK) runs the colorization. COLORPLUG_DIALOG_SCREENSHOT=path keeps the screenshot."""
    profile = tmp_path / "profile"
    install(profile)
    code = DIALOG.replace("__OUT__", repr(str(tmp_path))).replace(
        "__PHOTO__", repr(str(workspace["folder"] / "photo.png"))
    )
    result = run_dialog(
        gimp, code, profile, tmp_path, [workspace["folder"], *engine_paths()], "Colorize Photo"
    )
    log = (tmp_path / "gimp.log").read_text(errors="replace")
    assert result.returncode == 0, result.stdout + log[-2000:]
    outcome = json.loads((tmp_path / "dialog.json").read_text())
    assert outcome["status"] == "success" and outcome["layers"][0].endswith("(colorized)")
    shot = Image.open(tmp_path / "dialog.png")
    assert shot.width > 400 and shot.height > 300
    assert np.asarray(shot.convert("L")).std() > 10  # a drawn dialog, not an empty window
    assert "Gtk-CRITICAL" not in log and "Traceback" not in log
    if os.environ.get("COLORPLUG_DIALOG_SCREENSHOT"):
        shutil.copyfile(tmp_path / "dialog.png", os.environ["COLORPLUG_DIALOG_SCREENSHOT"])


def test_labels_have_distinct_mnemonics_apart_from_gimps_buttons():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gimp_plugin" / "colorplug_gimp"))
    try:
        import colorplug_marshal
    finally:
        sys.path.pop(0)
    letters = [label[label.index("_") + 1].lower() for label in colorplug_marshal.ARGUMENT_LABELS.values()]
    assert len(set(letters)) == len(letters)
    assert not set(letters) & set(colorplug_marshal.GIMP_DIALOG_MNEMONICS)


def test_missing_engine_gives_an_execution_error(gimp, workspace):
    _run(gimp, workspace, FAILING, python=str(workspace["folder"] / "no-such-python"))
    failing = json.loads((workspace["out"] / "failing.json").read_text())
    assert failing["status"] == "execution-error"
    assert "engine not found" in failing["error"]
    assert failing["layers"] == 1  # the image is left as it was


def test_install_and_uninstall(tmp_path):
    from colorplug.gimp.install import uninstall

    folder = install(tmp_path / "profile", python="/opt/python")
    plugin = folder / "colorplug_gimp.py"
    assert folder.name == plugin.stem and plugin.stat().st_mode & 0o111
    assert json.loads((folder / "colorplug_gimp.json").read_text())["python"] == "/opt/python"
    assert uninstall(tmp_path / "profile") == folder and not folder.exists()
    shutil.rmtree(tmp_path / "profile")
