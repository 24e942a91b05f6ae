"""click parameter types that validate at the edge: bad values are usage errors (exit 2) before any work."""

from __future__ import annotations

import math

import click


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses NaN and infinities (click's own lets NaN through)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class DeviceType(click.ParamType):
    """A torch device name: cpu, cuda, cuda:N or mps (whether it is present is checked when used)."""

    name = "device"

    def convert(self, value, param, ctx):
        text = str(value).strip().lower()
        kind, _, index = text.partition(":")
        if (kind in ("cpu", "mps") and not index) or (kind == "cuda" and (not index or index.isdigit())):
            return text
        self.fail(f"{value!r} is not a device (use cpu, cuda, cuda:N or mps).", param, ctx)


class ShardType(click.ParamType):
    """'I/N': the I-th of N parts of the work, 1 <= I <= N, as a tuple (I, N)."""

    name = "I/N"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        index, slash, count = str(value).partition("/")
        if slash and index.strip().isdigit() and count.strip().isdigit():
            shard = int(index), int(count)
            if 1 <= shard[0] <= shard[1]:
                return shard
        self.fail(f"{value!r} is not I/N with 1 <= I <= N (e.g. 2/8).", param, ctx)


class IntsType(click.ParamType):
    """COUNT comma-separated whole numbers ('X,Y' or 'X,Y,W,H'), none negative, as a tuple; with `sized`,
    the last two (a width and a height) at least 1."""

    def __init__(self, count: int, name: str, sized: bool = False) -> None:
        self.count, self.name, self.sized = count, name, sized

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = [part.strip() for part in str(value).split(",")]
        if len(parts) == self.count and all(part.isdigit() for part in parts):
            numbers = tuple(int(part) for part in parts)
            if not self.sized or min(numbers[2:]) >= 1:
                return numbers
        self.fail(f"{value!r} is not {self.name} (whole numbers, none negative, sizes >= 1).", param, ctx)
