"""The click options that several commands share, and the options built from a settings dataclass
(TrainConfig): flag, default, help text and accepted values all come from its fields, declared once."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any

import click
from colorplug_cli.types import DeviceType, FiniteFloatRange

from colorplug.defaults import (
    DECODER_NAMES,
    DEFAULT_DECODER,
    DEFAULT_VIVIDNESS,
    MAX_RENDER_SIZE,
    MAX_VIVIDNESS,
    MIN_RENDER_SIZE,
)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

device_option = click.option(
    "--device",
    default=None,
    type=DeviceType(),
    help="cpu, cuda, cuda:N or mps (default: cuda, then mps, then cpu).",
)
weights_option = click.option(
    "--weights",
    "weights",
    default=None,
    metavar="NAME|PATH",
    help="Shipped weights name (see `colorplug weights list`) or a weights file.",
)
batch_option = click.option(
    "--batch-size",
    default=None,
    type=click.IntRange(1, 1024),
    help="Photos per network call (default: 1 on the CPU, 16 on GPUs).",
)
vividness_option = click.option(
    "--vividness",
    default=None,
    type=FiniteFloatRange(0, MAX_VIVIDNESS),
    help=f"0: the colours most likely right; 1: rarer, more vivid ones; up to {MAX_VIVIDNESS:g} (default: "
    f"{DEFAULT_VIVIDNESS:g}, chosen on a validation set). For weights that predict a colour distribution "
    "(general).",
)
decoder_option = click.option(
    "--decoder",
    default=None,
    type=click.Choice(DECODER_NAMES),
    help=f"How the colour distribution becomes one colour per pixel: annealed (each pixel's own mean) or "
    f"region (one likely colour per region, stopping at edges) (default: {DEFAULT_DECODER}, chosen on a "
    "validation set).",
)
render_option = click.option(
    "--render-size",
    default=None,
    type=click.IntRange(MIN_RENDER_SIZE, MAX_RENDER_SIZE),
    help="Short side at which the network sees the photo (default: the size the weights were trained at;"
    " never more than the photo's own short side or 256, whichever is larger).",
)
quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="No progress line (nor notes): failures and the summary only."
)


def options_from(
    settings: type, *, skip: Collection[str] = (), shared: Mapping[str, Decorator] | None = None
) -> Decorator:
    """Decorate a command with one option per field of the dataclass `settings` (see training/config.py's
    `setting`), except those in `skip`; `shared` gives the ready-made option of some fields."""
    annotations = typing.get_type_hints(settings)
    shared = shared or {}

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for item in reversed(dataclasses.fields(settings)):
            if item.name not in skip:
                command = (shared.get(item.name) or _option(item, annotations[item.name]))(command)
        return command

    return decorate


def _option(item: dataclasses.Field, annotation: Any) -> Decorator:
    """The click option of one field: a flag for bools, repeatable for lists, a choice or a range."""
    meta = item.metadata
    flag = "--" + (meta["flag"] or item.name.replace("_", "-"))
    default = item.default_factory() if item.default is dataclasses.MISSING else item.default
    if annotation is bool:
        return click.option(flag, item.name, is_flag=True, default=default, help=meta["help"])
    if typing.get_origin(annotation) is list:
        return click.option(flag, item.name, multiple=True, help=meta["help"])
    return click.option(
        flag,
        item.name,
        default=default,
        show_default=default not in ("", None),
        type=_type(annotation, meta),
        metavar=meta["metavar"],
        help=meta["help"],
    )


def _type(annotation: Any, meta: Mapping[str, Any]) -> click.ParamType | type:
    """A field's values as a click type: its choices, or its bounds (finite numbers only)."""
    if meta["choices"] is not None:
        return click.Choice(meta["choices"])
    bounds = {"min_open": meta["open_low"], "max_open": meta["open_high"]}
    if meta["low"] is None and meta["high"] is None:
        return annotation
    if annotation is int:
        return click.IntRange(meta["low"], meta["high"], **bounds)
    if annotation is float:
        return FiniteFloatRange(meta["low"], meta["high"], **bounds)
    return annotation
