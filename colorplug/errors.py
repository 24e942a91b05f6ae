"""The exception types front ends catch to print a clean one-line error instead of a traceback, and the
one way any exception becomes a one-line message.

Errors about a setting carry the setting's name as data (SettingError), never a front end's word for it:
the engine says `max_pixels`, the command line `--max-pixels`, the GIMP dialog its own label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


class ColorplugError(Exception):
    """A problem the user can act on; its message is one complete line."""


class SettingError(ColorplugError):
    """A problem with the value of one or more settings (parameters of the Python API).

    `template` holds a placeholder for each setting ("{max_pixels}") and for each value; `worded` fills
    the settings in with a front end's names for them, the Python names by default.
    """

    def __init__(self, template: str, settings: Sequence[str], **values: object) -> None:
        self.template = template
        self.settings = tuple(settings)
        self.values = values
        super().__init__(self.worded())

    def worded(self, name: Callable[[str], str] = str) -> str:
        """The message with each setting called what `name` calls it."""
        return self.template.format(**self.values, **{setting: name(setting) for setting in self.settings})


def one_line(exc: BaseException, *, with_type: bool = False, name: Callable[[str], str] = str) -> str:
    """What an exception says, as one line: its first line of text (an OS error's reason), else its type.

    `with_type` names the type before the text of exceptions that are not ours or OS errors, for places
    where an unexpected error is reported ('KeyError: 'x'' says more than ''x''). `name` words the
    settings a SettingError is about (see SettingError.worded).
    """
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = exc.worded(name) if isinstance(exc, SettingError) else str(exc)
    lines = text.strip().splitlines()
    text = printable(lines[0]) if lines else ""
    if with_type and not isinstance(exc, (ColorplugError, OSError)):
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text or type(exc).__name__


def printable(text: str) -> str:
    """`text` with every character a terminal would not print as itself escaped (control characters,
    and the bytes of undecodable file names that Python carries as lone surrogates, shown as \\x..).

    >>> printable("caf\\udce9\\x1b[31m\\tok été")
    'caf\\\\xe9\\\\x1b[31m\\\\tok été'
    """
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def _escaped(ch: str) -> str:
    if "\udc80" <= ch <= "\udcff":  # os.fsdecode's stand-in for an undecodable byte
        return f"\\x{ord(ch) - 0xDC00:02x}"
    return ch.encode("unicode_escape").decode("ascii")
