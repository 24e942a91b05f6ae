"""Colour hints: hint images as hint maps, and carrying each hint's correction over its region."""
