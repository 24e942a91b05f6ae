"""The engine side of the GIMP plug-in: `python -m colorplug.gimp_bridge FOLDER` (see gimp_bridge.py).

Reads request.json and input.raw from FOLDER (the format is described in the plug-in's
colorplug_marshal.py), colorizes, writes output.raw and response.json. Every failure becomes a one-line
error in response.json (and exit status 1) so GIMP can show it, settings named as the dialog labels them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from colorplug.defaults import DEFAULT_SATURATION
from colorplug.errors import ColorplugError, one_line
from colorplug.gimp.insight import read_mask, suggest_answer, write_confidence
from colorplug.io.files import Terminated, atomic_path, stop_cleanly_on_sigterm

DTYPES = {8: np.uint8, 16: np.uint16}
SUGGESTIONS = 5  # colours the plug-in's "Suggest colours" offers
# The engine's settings as the plug-in's dialog labels them (gimp_plugin/colorplug_gimp/colorplug_marshal.py).
DIALOG_NAMES = {
    "weights": "Weights",
    "render_size": "Render size",
    "vividness": "Vividness",
    "saturation": "Saturation",
    "hints": "Hint layer",
    "reference": "Reference photo",
    "confidence": "Confidence layer",
}


def _respond(folder: Path, response: dict) -> None:
    with atomic_path(folder / "response.json") as temp:
        temp.write_text(json.dumps(response), encoding="utf-8")


def colorize_request(folder: Path) -> dict:
    """Do what FOLDER/request.json asks (colorize, or with "action": "suggest" suggest colours) and return
    what the response adds; raise ColorplugError with a one-line message on bad input."""
    from colorplug.engine.colorizer import Colorizer
    from colorplug.io.picture import picture_from_array

    try:
        request = _checked(json.loads((folder / "request.json").read_text(encoding="utf-8")))
        width, height, channels, depth = (request[key] for key in ("width", "height", "channels", "depth"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ColorplugError(f"bad request from the plug-in: {one_line(exc)}") from None
    if channels not in (3, 4) or depth not in DTYPES:
        raise ColorplugError(f"unsupported pixel layout: {channels} channels of {depth} bits")
    pixels = _raw(folder, "input.raw", DTYPES[depth])
    if pixels.size != width * height * channels:
        raise ColorplugError("the plug-in sent pixels of the wrong size")
    hints = None
    if request.get("hints"):
        hints = _raw(folder, "hints.raw", np.uint8)
        if hints.size != width * height * 4:
            raise ColorplugError("the plug-in sent hint pixels of the wrong size")
        hints = hints.reshape(height, width, 4)
    colorizer = Colorizer(
        request.get("weights") or None,
        render_size=request.get("render_size") or None,
        saturation=float(request.get("saturation", DEFAULT_SATURATION)),
        vividness=request.get("vividness"),
    )
    picture = picture_from_array(pixels.reshape(height, width, channels))
    if request.get("action") == "suggest":
        return suggest_answer(colorizer, picture, read_mask(folder, width, height), SUGGESTIONS)
    _colorize_into(
        folder, colorizer, picture, hints, request.get("reference") or None, bool(request.get("confidence"))
    )
    return {}


# What each request entry must be (see colorplug_marshal.py): its JSON types; the ints are also positive.
_OPTIONAL_NUMBER, _OPTIONAL_TEXT = (int, float, type(None)), (str, type(None))
_REQUEST_TYPES = {
    **dict.fromkeys(("width", "height", "channels", "depth"), int),
    "render_size": (int, type(None)),
    **dict.fromkeys(("hints", "confidence"), bool),
    **dict.fromkeys(("saturation", "vividness"), _OPTIONAL_NUMBER),
    **dict.fromkeys(("weights", "reference", "action"), _OPTIONAL_TEXT),
}


def _checked(request: Any) -> dict:
    """The request if every entry is of its type (ValueError naming the first that is not)."""
    if not isinstance(request, dict) or request.get("action") not in (None, "colorize", "suggest"):
        raise ValueError("not a request of this plug-in")
    for key, kinds in _REQUEST_TYPES.items():
        value, required = request.get(key), kinds is int
        wrong = isinstance(value, bool) != (kinds is bool) or not isinstance(value, kinds)
        if (value is not None or required) and (wrong or (required and value < 1)):
            raise ValueError(f"{key} is {value!r}")
    return request


def _raw(folder: Path, name: str, dtype: Any) -> np.ndarray:
    """The samples of FOLDER/name; ColorplugError naming it when it cannot be read."""
    try:
        return np.fromfile(folder / name, dtype=dtype)
    except OSError as exc:
        raise ColorplugError(
            f"cannot read {name} from the plug-in: {exc.strerror or one_line(exc)}"
        ) from None


def _colorize_into(
    folder: Path, colorizer: Any, picture: Any, hints: Any, reference: Any, sure: bool
) -> None:
    """Colorize into FOLDER/output.raw a strip at a time (a big 16-bit layer's result is never held
    whole), and its confidence map into FOLDER/confidence.raw when `sure`."""
    if sure:
        colorizer.check_distribution("a confidence map")
    prepared = colorizer.prepare(picture, hints, reference)
    ab = colorizer.predict_prepared([prepared], confidence=sure)[0]
    ab, confidence = ab if sure else (ab, None)
    _write_strips(folder / "output.raw", colorizer.finish_strips(prepared, ab))
    if confidence is not None:  # after the colour: a stopped run leaves neither or only output.raw
        _write_map(folder, prepared, confidence)


def _write_map(folder: Path, prepared: Any, confidence: Any) -> None:
    """Write the photo's full-size confidence map, from the render size's (1, h, w)."""
    from colorplug.color.confidence import to_full_size

    write_confidence(folder, to_full_size(confidence[0], prepared.full_shape))


def _write_strips(path: Path, striped: Any) -> None:
    """The samples of a StripedPicture as raw pixels, row-major and interleaved, atomically."""
    with atomic_path(path) as temp, open(temp, "wb") as handle:
        for strip in striped.samples():
            strip.tofile(handle)


def _dialog_name(setting: str) -> str:
    return DIALOG_NAMES.get(setting, setting)


def main(argv: list[str]) -> int:
    """Answer the request in FOLDER (argv[0]); exit status 0 when it was done, 1 when not, 2 for usage."""
    if len(argv) != 1:
        print("usage: python -m colorplug.gimp_bridge FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    if not folder.is_dir():
        print(f"colorplug bridge: no such folder: {folder}", file=sys.stderr)
        return 2
    stop_cleanly_on_sigterm()  # the plug-in stops a run that times out: no partial output.raw then
    try:
        answer = colorize_request(folder)
    except Terminated:
        return 143
    except Exception as exc:  # whatever happens, GIMP shows one line
        message = one_line(exc, with_type=not isinstance(exc, ValueError), name=_dialog_name)
        if isinstance(exc, MemoryError) or "out of memory" in message.lower():
            message = "out of memory: try a smaller render size"
        elif not isinstance(exc, (ColorplugError, ValueError)):
            message = f"colorplug engine error: {message}"
        _respond(folder, {"ok": False, "error": message})
        return 1
    _respond(folder, {"ok": True, **answer})
    return 0
