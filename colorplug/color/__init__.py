"""Colour maths: sRGB <-> CIE LAB, full-resolution composition, ab bins, metrics (numpy and torch only)."""
