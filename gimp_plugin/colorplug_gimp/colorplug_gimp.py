#!/usr/bin/env python3
"""GIMP 3 plug-in: Colors > Colorize Photo (colorplug)... adds a colorized layer above the active one.

This file only marshals pixels and arguments. The colorization runs in the user's own Python that has
colorplug and torch (recorded by `colorplug gimp install`), started as a subprocess; pixels travel
through a private temporary folder (see colorplug_marshal.py). An optional hint layer (dots or strokes
of colour on transparency) tells the network which colours to use where; it is only read.
"""

from __future__ import annotations

import os
import shutil
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GimpUi, GLib, GObject  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import colorplug_marshal as marshal  # noqa: E402

PROCEDURE = "plug-in-colorplug-colorize"
SUGGEST = "plug-in-colorplug-suggest"
HERE = os.path.dirname(os.path.abspath(__file__))
EIGHT_BIT = {Gimp.Precision.U8_LINEAR, Gimp.Precision.U8_NON_LINEAR, Gimp.Precision.U8_PERCEPTUAL}


def _weights_choice(config: dict) -> tuple:
    names = config.get("weights") or ["general"]
    choice = Gimp.Choice.new()
    for index, name in enumerate(names):
        choice.add(name, index, name, "")
    return choice, config.get("default_weights") or names[0]


def _output_choice():
    choice = Gimp.Choice.new()
    choice.add("full", 0, "Full colour (Normal layer)", "")
    choice.add("colour-only", 1, "Colour only (LCh Color layer over the original)", "")
    return choice


def _fail(procedure, run_mode, message: str):
    if run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.message(message)
    return procedure.new_return_values(
        Gimp.PDBStatusType.EXECUTION_ERROR,
        GLib.Error.new_literal(GLib.quark_from_string("colorplug"), message, 0),
    )


def _colorize_pixels(config: dict, pixels: bytes, layout: dict, options: dict) -> tuple:
    """The colorized pixels and the confidence map (None unless options ask for it)."""
    folder = marshal.private_folder()
    try:
        marshal.write_request(folder, pixels, **layout, **options)
        marshal.run_engine(config, folder, pulse=Gimp.progress_pulse)
        sure = options.get("confidence")
        confidence = marshal.read_confidence(folder, layout["width"], layout["height"]) if sure else None
        return marshal.read_output(folder, **layout), confidence
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _add_confidence_layer(image, source, colour_layer, confidence: bytes):
    """The map as a hidden layer named "<layer> confidence" right above the colour layer."""
    width, height = source.get_width(), source.get_height()
    image.undo_group_start()
    try:
        name = marshal.confidence_layer_name(source.get_name())
        layer = Gimp.Layer.new(
            image, name, width, height, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL
        )
        image.insert_layer(layer, colour_layer.get_parent(), image.get_item_position(colour_layer))
        _, x, y = source.get_offsets()
        layer.set_offsets(x, y)
        buffer = layer.get_buffer()
        buffer.set(Gegl.Rectangle.new(0, 0, width, height), "Y' u8", confidence)
        buffer.flush()
        layer.update(0, 0, width, height)
        layer.set_visible(False)
    finally:
        image.undo_group_end()
    return layer


def _hint_pixels(hint_layer, source) -> bytes:
    """The hint layer's RGBA u8 pixels over the source layer's area (transparent where it does not reach)."""
    if hint_layer == source:
        raise ValueError("the hint layer must be another layer than the photo")
    if not hint_layer.has_alpha():
        raise ValueError("the hint layer has no transparency: add an alpha channel and paint the hints on it")
    _, source_x, source_y = source.get_offsets()
    _, hint_x, hint_y = hint_layer.get_offsets()
    area = Gegl.Rectangle.new(source_x - hint_x, source_y - hint_y, source.get_width(), source.get_height())
    return bytes(hint_layer.get_buffer().get(area, 1.0, "R'G'B'A u8", Gegl.AbyssPolicy.NONE))


def _add_layer(image, source, pixels: bytes, pixel_format: str, colour_only: bool):
    """The new layer above `source`: same size and offsets, selection as its mask. One undo step."""
    width, height = source.get_width(), source.get_height()
    image.undo_group_start()
    try:
        if image.get_base_type() == Gimp.ImageBaseType.GRAY:
            image.convert_rgb()
        layer_type = Gimp.ImageType.RGBA_IMAGE if source.has_alpha() else Gimp.ImageType.RGB_IMAGE
        mode = Gimp.LayerMode.LCH_COLOR if colour_only else Gimp.LayerMode.NORMAL
        name = marshal.layer_name(source.get_name(), colour_only)
        layer = Gimp.Layer.new(image, name, width, height, layer_type, 100.0, mode)
        image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
        _, x, y = source.get_offsets()
        layer.set_offsets(x, y)
        buffer = layer.get_buffer()
        buffer.set(Gegl.Rectangle.new(0, 0, width, height), pixel_format, pixels)
        buffer.flush()
        layer.update(0, 0, width, height)
        if not Gimp.Selection.is_empty(image):
            layer.add_mask(layer.create_mask(Gimp.AddMaskType.SELECTION))
    finally:
        image.undo_group_end()
    return layer


def run(procedure, run_mode, image, drawables, arguments, data):
    if len(drawables) != 1 or not isinstance(drawables[0], Gimp.Layer):
        return _fail(procedure, run_mode, "colorplug works on exactly one selected layer")
    source = drawables[0]
    if run_mode == Gimp.RunMode.INTERACTIVE:
        GimpUi.init(PROCEDURE)
        dialog = GimpUi.ProcedureDialog(procedure=procedure, config=arguments)
        dialog.fill(None)
        accepted = dialog.run()
        dialog.destroy()
        if not accepted:
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
    try:
        config = marshal.read_config(HERE)
    except marshal.EngineError as exc:
        return _fail(procedure, run_mode, str(exc))
    weights_file = arguments.get_property("weights-file")
    reference_file = arguments.get_property("reference-file")
    vividness = arguments.get_property("vividness")
    options = {
        "weights": weights_file.get_path() if weights_file else arguments.get_property("weights"),
        "render_size": arguments.get_property("render-size"),
        "saturation": arguments.get_property("saturation"),
        "vividness": marshal.requested_vividness(config, vividness),
        "reference": reference_file.get_path() if reference_file else None,
        "confidence": bool(arguments.get_property("confidence")),
    }
    colour_only = arguments.get_property("output-mode") == "colour-only"
    width, height = source.get_width(), source.get_height()
    channels = 4 if source.has_alpha() else 3
    depth = 8 if image.get_precision() in EIGHT_BIT else 16
    layout = {"width": width, "height": height, "channels": channels, "depth": depth}
    pixel_format = ("R'G'B'A" if channels == 4 else "R'G'B'") + (" u8" if depth == 8 else " u16")
    Gimp.progress_init("Colorizing with colorplug...")
    pixels = source.get_buffer().get(
        Gegl.Rectangle.new(0, 0, width, height), 1.0, pixel_format, Gegl.AbyssPolicy.CLAMP
    )
    try:
        hint_layer = arguments.get_property("hint-layer")
        options["hints"] = _hint_pixels(hint_layer, source) if hint_layer is not None else None
        colorized, confidence = _colorize_pixels(config, bytes(pixels), layout, options)
    except (marshal.EngineError, OSError, ValueError) as exc:
        return _fail(procedure, run_mode, str(exc))
    colour_layer = _add_layer(image, source, colorized, pixel_format, colour_only)
    if confidence is not None:
        _add_confidence_layer(image, source, colour_layer, confidence)
    Gimp.progress_update(1.0)
    Gimp.displays_flush()
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)


def _selection_pixels(image, source) -> bytes | None:
    """The selection over the source layer's area, one byte per pixel (None when nothing is selected)."""
    if Gimp.Selection.is_empty(image):
        return None
    _, x, y = source.get_offsets()
    area = Gegl.Rectangle.new(x, y, source.get_width(), source.get_height())
    return bytes(image.get_selection().get_buffer().get(area, 1.0, "Y u8", Gegl.AbyssPolicy.NONE))


def _fill_palette(suggestions: list) -> None:
    """The palette "Colorplug suggestions" holds the colours (most likely first); the first becomes the
    foreground colour, ready to paint onto the hint layer."""
    palette = Gimp.Palette.get_by_name(marshal.PALETTE) or Gimp.Palette.new(marshal.PALETTE)
    while palette.get_color_count():
        palette.delete_entry(0)
    for suggestion in suggestions:
        colour = Gegl.Color.new(suggestion["hex"])
        palette.add_entry(f"{suggestion['hex']} {suggestion['share'] * 100:.0f}%", colour)
    if suggestions:
        Gimp.context_set_foreground(Gegl.Color.new(suggestions[0]["hex"]))


def _mark_places(image, source, places: list) -> None:
    """The places to hint as one path of boxes (each round its region, the most unsure first), replacing
    the one an earlier run made: visible in the Paths dialog, and a box becomes a selection from there."""
    image.undo_group_start()
    try:
        for old in image.get_paths():
            if old.get_name() == marshal.PLACES_PATH:
                image.remove_path(old)
        boxes = marshal.place_boxes(places, source.get_width(), source.get_height())
        if not boxes:
            return
        path = Gimp.Path.new(image, marshal.PLACES_PATH)
        _, dx, dy = source.get_offsets()
        for left, top, right, bottom in boxes:
            left, right, top, bottom = left + dx, right + dx, top + dy, bottom + dy
            stroke = path.bezier_stroke_new_moveto(left, top)
            for x, y in ((right, top), (right, bottom), (left, bottom)):
                path.bezier_stroke_lineto(stroke, x, y)
            path.stroke_close(stroke)
        image.insert_path(path, None, 0)
        path.set_visible(True)
    finally:
        image.undo_group_end()


def run_suggest(procedure, run_mode, image, drawables, arguments, data):
    """Suggest colours for the selection (or the whole layer) into the palette, and say where to hint."""
    if len(drawables) != 1 or not isinstance(drawables[0], Gimp.Layer):
        return _fail(procedure, run_mode, "colorplug works on exactly one selected layer")
    source = drawables[0]
    width, height = source.get_width(), source.get_height()
    channels = 4 if source.has_alpha() else 3
    layout = {"width": width, "height": height, "channels": channels, "depth": 8}
    pixel_format = "R'G'B'A u8" if channels == 4 else "R'G'B' u8"
    pixels = source.get_buffer().get(
        Gegl.Rectangle.new(0, 0, width, height), 1.0, pixel_format, Gegl.AbyssPolicy.CLAMP
    )
    folder = marshal.private_folder()
    try:
        config = marshal.read_config(HERE)
        options = {"weights": arguments.get_property("weights"), "render_size": 0, "saturation": 1.0}
        mask = _selection_pixels(image, source)
        Gimp.progress_init("Suggesting colours with colorplug...")
        marshal.write_request(folder, bytes(pixels), **layout, **options, action="suggest", mask=mask)
        response = marshal.run_engine(config, folder, pulse=Gimp.progress_pulse)
    except (marshal.EngineError, OSError, ValueError) as exc:
        return _fail(procedure, run_mode, str(exc))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _fill_palette(response.get("suggestions", []))
    _mark_places(image, source, response.get("places", []))
    if run_mode == Gimp.RunMode.INTERACTIVE:
        Gimp.message(f"{marshal.PALETTE}:\n" + "\n".join(marshal.suggestion_lines(response)))
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)


def _new_procedure(plug_in, name, run_function, label: str, blurb: str, text: str):
    """An image procedure of colorplug under Colors, for one drawable of an RGB or gray image."""
    procedure = Gimp.ImageProcedure.new(plug_in, name, Gimp.PDBProcType.PLUGIN, run_function, None)
    procedure.set_image_types("RGB*, GRAY*")
    procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
    procedure.set_menu_label(label)
    procedure.add_menu_path("<Image>/Colors")
    procedure.set_documentation(blurb, text, name)
    procedure.set_attribution("colorplug", "colorplug", "2026")
    return procedure


def _installed_config() -> dict:
    """The installed configuration, or {} when the plug-in is not set up (it says so when run)."""
    try:
        return marshal.read_config(HERE)
    except marshal.EngineError:
        return {}


def _suggest_procedure(plug_in, name):
    procedure = _new_procedure(
        plug_in,
        name,
        run_suggest,
        "Suggest Colours (colorplug)",
        "Suggest the most likely colours of the selection",
        f"Fills the palette '{marshal.PALETTE}' with the most likely distinct colours of the selection (or "
        "the whole layer) and sets the first as the foreground colour, to paint onto a hint layer.",
    )
    choice, default = _weights_choice(_installed_config())
    procedure.add_choice_argument(
        "weights",
        marshal.ARGUMENT_LABELS["weights"],
        "Shipped weights",
        choice,
        default,
        GObject.ParamFlags.READWRITE,
    )
    return procedure


class ColorplugPlugIn(Gimp.PlugIn):
    def do_query_procedures(self):
        return [PROCEDURE, SUGGEST]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        if name == SUGGEST:
            return _suggest_procedure(self, name)
        procedure = _new_procedure(
            self,
            name,
            run,
            "Colorize Photo (colorplug)...",
            "Colorize a grayscale photo automatically",
            "Adds a new colour layer above the selected layer, predicted by colorplug's neural network.",
        )
        config = _installed_config()
        flags = GObject.ParamFlags.READWRITE
        labels = marshal.ARGUMENT_LABELS
        choice, default = _weights_choice(config)
        procedure.add_choice_argument("weights", labels["weights"], "Shipped weights", choice, default, flags)
        procedure.add_file_argument(
            "weights-file",
            labels["weights-file"],
            "A weights file (overrides Weights when set)",
            Gimp.FileChooserAction.OPEN,
            True,
            None,
            flags,
        )
        procedure.add_int_argument(
            "render-size",
            labels["render-size"],
            "Short side the network sees; 0: the size the weights were trained at",
            0,
            4096,
            0,
            flags,
        )
        procedure.add_double_argument(
            "vividness",
            labels["vividness"],
            "0: the colours most likely right; 1: rarer, more vivid ones; up to 1.5",
            0.0,
            1.5,
            marshal.default_vividness(config),
            flags,
        )
        procedure.add_double_argument(
            "saturation", labels["saturation"], "Scales the predicted colour", 0.0, 4.0, 1.0, flags
        )
        procedure.add_layer_argument(
            "hint-layer",
            labels["hint-layer"],
            "A layer with dots or strokes of colour on transparency: the colours to use there (not changed)",
            True,
            flags,
        )
        procedure.add_file_argument(
            "reference-file",
            labels["reference-file"],
            "A colour photo of similar content (e.g. a key photo of the series, colorized): its colours "
            "are taken where the two match",
            Gimp.FileChooserAction.OPEN,
            True,
            None,
            flags,
        )
        procedure.add_choice_argument(
            "output-mode", labels["output-mode"], "Layer the colour goes to", _output_choice(), "full", flags
        )
        procedure.add_boolean_argument(
            "confidence",
            labels["confidence"],
            "Also add a hidden layer showing how sure the colour is: white = sure, dark = a guess",
            False,
            flags,
        )
        return procedure


Gimp.main(ColorplugPlugIn.__gtype__, sys.argv)
