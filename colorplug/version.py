"""colorplug's version, in a module of its own that imports nothing (the package's metadata reads it)."""

__version__ = "0.1.0"
