"""Plain-Python helpers of the GIMP plug-in (no GIMP, no numpy): they run inside GIMP's own Python.

The plug-in and the engine talk through files in a private (0700) temporary folder:
  request.json   {"width", "height", "channels" (3 or 4), "depth" (8 or 16), "weights", "render_size",
                  "saturation", "vividness" (null: the weights' default), "hints" (true: hints.raw is there),
                  "reference" (null, or the path of a colour photo to take colours from),
                  "confidence" (true: also write confidence.raw),
                  "action" ("colorize", or "suggest": suggest colours)}
  input.raw      pixels, row-major, interleaved, native-endian u8/u16 (as GEGL hands them out)
  hints.raw      the hint layer over the same area, RGBA u8 (transparent where there is no hint)
  mask.raw       with "suggest": the selection over the same area, u8 (above 127 = selected), if any
  output.raw     the colorized pixels in the same layout (written by `python -m colorplug.gimp_bridge`)
  confidence.raw the confidence map, u8 gray (255 = most certain), one byte per pixel
  response.json  {"ok": true} or {"ok": false, "error": "one line"}; with "suggest" also "suggestions"
                  ([{"hex", "rgb", "share"}], most likely first), "places" ([{"x", "y", "width", "height"}])
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time

CONFIG_NAME = "colorplug_gimp.json"
REQUEST, INPUT, HINTS, OUTPUT, RESPONSE = (
    "request.json",
    "input.raw",
    "hints.raw",
    "output.raw",
    "response.json",
)
MASK, CONFIDENCE = "mask.raw", "confidence.raw"
PALETTE = "Colorplug suggestions"
PLACES_PATH = "colorplug: where to hint"  # the path of boxes round the places to hint
DEFAULT_TIMEOUT_S = 600
# The dialog's labels; each mnemonic (the letter after "_") differs from the others and from those of
# GIMP's own dialog buttons (_Help, _Reset, _Cancel, _OK, _Load Saved Settings, _Save Settings).
ARGUMENT_LABELS = {
    "weights": "_Weights",
    "weights-file": "Weights _file",
    "render-size": "Render si_ze (0 = as trained)",
    "vividness": "_Vividness",
    "saturation": "Satur_ation",
    "hint-layer": "Hin_t layer (colour dots on transparency)",
    "reference-file": "R_eference photo (colours to take)",
    "output-mode": "Out_put",
    "confidence": "Co_nfidence layer (hidden, 255 = most certain)",
}
GIMP_DIALOG_MNEMONICS = "hrcols"


class EngineError(Exception):
    """The engine could not be started or reported a failure; the message is one line for the user."""


def read_config(folder: str) -> dict:
    """The settings `colorplug gimp install` wrote next to the plug-in (python, weights names, timeout)."""
    path = os.path.join(folder, CONFIG_NAME)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise EngineError(f"colorplug is not set up ({path}: {exc}); run `colorplug gimp install`") from None


def private_folder() -> str:
    """A new temporary folder only this user can enter (mkdtemp creates it 0700)."""
    return tempfile.mkdtemp(prefix="colorplug-gimp-")


def engine_environment(environ: dict) -> dict:
    """GIMP's environment without the GI_* and PYTHON* variables that would break another Python."""
    return {k: v for k, v in environ.items() if not k.startswith(("GI_", "PYTHON"))}


def write_request(
    folder: str,
    pixels: bytes,
    *,
    width: int,
    height: int,
    channels: int,
    depth: int,
    weights: str,
    render_size: int,
    saturation: float,
    vividness: float | None = None,
    hints: bytes | None = None,
    reference: str | None = None,
    confidence: bool = False,
    action: str = "colorize",
    mask: bytes | None = None,
) -> None:
    """Write the pixels (and the hint layer's, RGBA u8 over the same area; for "suggest" the selection's,
    u8) and the request for the engine."""
    expected = width * height * channels * depth // 8
    if len(pixels) != expected:
        raise ValueError(f"{len(pixels)} bytes of pixels, expected {expected}")
    if hints is not None and len(hints) != width * height * 4:
        raise ValueError(f"{len(hints)} bytes of hint pixels, expected {width * height * 4}")
    with open(os.path.join(folder, INPUT), "wb") as handle:
        handle.write(pixels)
    if hints is not None:
        with open(os.path.join(folder, HINTS), "wb") as handle:
            handle.write(hints)
    if mask is not None:
        if len(mask) != width * height:
            raise ValueError(f"{len(mask)} bytes of selection, expected {width * height}")
        with open(os.path.join(folder, MASK), "wb") as handle:
            handle.write(mask)
    request = {
        "width": width,
        "height": height,
        "channels": channels,
        "depth": depth,
        "weights": weights,
        "render_size": render_size,
        "saturation": saturation,
        "vividness": vividness,
        "hints": hints is not None,
        "reference": reference,
        "confidence": confidence,
        "action": action,
    }
    with open(os.path.join(folder, REQUEST), "w", encoding="utf-8") as handle:
        json.dump(request, handle)


def default_vividness(config: dict) -> float:
    """The engine's default vividness, written into the configuration when the plug-in was installed
    (for a configuration written before there was one, the engine's default of this plug-in's release;
    `colorplug gimp install` rewrites the configuration)."""
    return float(config.get("default_vividness", 0.2))


def requested_vividness(config: dict, vividness: float) -> float | None:
    """The vividness to ask for: None (the weights' own behaviour) when it is the default, so weights
    that have no vividness control still run with the dialog's default."""
    return None if abs(vividness - default_vividness(config)) < 1e-9 else vividness


def engine_command(config: dict, folder: str) -> list:
    """The engine call as an argument list (never through a shell)."""
    return [config["python"], "-m", "colorplug.gimp_bridge", folder]


def run_engine(config: dict, folder: str, pulse=None, timeout_s: float | None = None) -> dict:
    """Run the engine on a prepared folder, calling pulse() while it works; its response, or EngineError
    on failure."""
    timeout_s = timeout_s or config.get("timeout_s", DEFAULT_TIMEOUT_S)
    command = engine_command(config, folder)
    try:
        process = subprocess.Popen(
            command,
            env=engine_environment(dict(os.environ)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        raise EngineError(
            f"colorplug engine not found ({command[0]}: {exc.strerror}); "
            "run `colorplug gimp install` from the Python that has colorplug"
        ) from None
    started = time.monotonic()
    while process.poll() is None:
        if time.monotonic() - started > timeout_s:
            process.kill()
            process.wait()
            raise EngineError(f"colorplug engine timed out after {timeout_s:.0f} s")
        if pulse is not None:
            pulse()
        time.sleep(0.1)
    stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    response = read_response(folder)
    if response is None:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {process.returncode}"
        raise EngineError(f"colorplug engine failed: {last}")
    if not response.get("ok"):
        raise EngineError(response.get("error") or "colorplug engine failed")
    return response


def read_response(folder: str) -> dict | None:
    """The engine's response, or None if it wrote none (it crashed or could not start)."""
    try:
        with open(os.path.join(folder, RESPONSE), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def read_output(folder: str, width: int, height: int, channels: int, depth: int) -> bytes:
    """The colorized pixels, checked for size."""
    with open(os.path.join(folder, OUTPUT), "rb") as handle:
        data = handle.read()
    if len(data) != width * height * channels * depth // 8:
        raise EngineError("colorplug engine returned pixels of the wrong size")
    return data


def layer_name(source_name: str, colour_only: bool) -> str:
    """The new layer's name, derived from its source layer's."""
    return f"{source_name} (colorized{' colour' if colour_only else ''})"


def read_confidence(folder: str, width: int, height: int) -> bytes:
    """The confidence map, one byte per pixel, checked for size."""
    with open(os.path.join(folder, CONFIDENCE), "rb") as handle:
        data = handle.read()
    if len(data) != width * height:
        raise EngineError("colorplug engine returned a confidence map of the wrong size")
    return data


def confidence_layer_name(source_name: str) -> str:
    """The confidence layer's name."""
    return f"{source_name} confidence"


def suggestion_lines(response: dict) -> list:
    """What the plug-in shows after "Suggest colours": one line per colour, then the places to hint."""
    lines = [f"{s['hex']}  {s['share'] * 100:.0f}%" for s in response.get("suggestions", [])]
    places = response.get("places", [])
    if places:
        lines.append("hint at: " + ", ".join(f"{p['x']},{p['y']}" for p in places))
    return lines


def place_boxes(places: list, width: int, height: int) -> list:
    """The boxes (left, top, right, bottom) to draw round the places to hint: each of its region's size
    round its centre, kept on the width x height layer; entries that are not places or have no area
    left on the layer are dropped, so a box is always one the user can turn into a selection."""
    boxes = []
    for place in places if isinstance(places, list) else []:
        try:
            x, y, w, h = (float(place[key]) for key in ("x", "y", "width", "height"))
        except (KeyError, TypeError, ValueError):
            continue
        left, right = (min(max(x + side * w / 2, 0.0), float(width)) for side in (-1, 1))
        top, bottom = (min(max(y + side * h / 2, 0.0), float(height)) for side in (-1, 1))
        if right - left >= 1 and bottom - top >= 1:
            boxes.append((left, top, right, bottom))
    return boxes
