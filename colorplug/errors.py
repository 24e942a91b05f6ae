"""The one exception type front ends catch to print a clean one-line error instead of a traceback."""


class ColorplugError(Exception):
    """A problem the user can act on; its message is one complete line."""
