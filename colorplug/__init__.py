"""colorplug: automatic colorization of grayscale photos (engine API).

`from colorplug import Colorizer` is the entry point; heavy modules (torch) load only when used, so
front ends that need no model start fast. The subpackages are layers (see docs/architecture.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from colorplug.version import __version__

__all__ = ["Colorizer", "ColorplugError", "__version__"]

if TYPE_CHECKING:
    from colorplug.engine.colorizer import Colorizer
    from colorplug.errors import ColorplugError


def __getattr__(name: str):
    if name == "Colorizer":
        from colorplug.engine.colorizer import Colorizer

        return Colorizer
    if name == "ColorplugError":
        from colorplug.errors import ColorplugError

        return ColorplugError
    raise AttributeError(f"module 'colorplug' has no attribute {name!r}")
