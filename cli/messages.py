"""How the engine's errors read on the command line: one line, each setting named by its option."""

from __future__ import annotations

from collections.abc import Callable

import click

from colorplug.errors import one_line


def flag_namer(command: click.Command | None) -> Callable[[str], str]:
    """Each setting (a parameter's Python name) as the option a user types for it in `command`
    ('max_pixels' -> '--max-pixels'); settings it has no option for keep their name."""
    params = command.params if command is not None else []
    flags = {param.name: max(param.opts, key=len) for param in params if isinstance(param, click.Option)}
    return lambda setting: flags.get(setting, setting)


def say(exc: BaseException, command: click.Command | None, *, with_type: bool = False) -> str:
    """An exception as one line for this command's user (see errors.one_line)."""
    return one_line(exc, with_type=with_type, name=flag_namer(command))
