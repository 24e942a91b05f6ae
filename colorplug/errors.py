"""The one exception type front ends catch to print a clean one-line error instead of a traceback, and
the one way any exception becomes a one-line message."""


class ColorplugError(Exception):
    """A problem the user can act on; its message is one complete line."""


def one_line(exc: BaseException, *, with_type: bool = False) -> str:
    """What an exception says, as one line: its first line of text (an OS error's reason), else its type.

    `with_type` names the type before the text of exceptions that are not ours or OS errors, for places
    where an unexpected error is reported ('KeyError: 'x'' says more than ''x'').
    """
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if with_type and not isinstance(exc, (ColorplugError, OSError)):
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text or type(exc).__name__
