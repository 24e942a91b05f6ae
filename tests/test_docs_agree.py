"""The README's documented figures are the code's (issue 19: the hints' lightness reach read 12 L units
while the code used 6)."""

from __future__ import annotations

import re
from pathlib import Path

from colorplug.defaults import DEFAULT_DECODER, DEFAULT_MAX_PIXELS, DEFAULT_VIVIDNESS, MAX_VIVIDNESS
from colorplug.hints.follow import SPACE_SIGMA, TONE_SIGMA

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
FRACTIONS = {"a fifth": 0.2, "a quarter": 0.25, "a third": 1 / 3, "half": 0.5, "a tenth": 0.1}


def flat() -> str:
    return " ".join(README.split())


def test_the_hints_reach_in_the_readme_is_the_codes():
    found = re.search(
        r"a reach of (a \w+|half) of the photo's short side\) and in lightness \(([\d.]+) L units\)", flat()
    )
    assert found, "the README no longer states the hints' reach"
    assert FRACTIONS[found.group(1)] == SPACE_SIGMA
    assert float(found.group(2)) == TONE_SIGMA


def test_the_vividness_and_decoder_figures_in_the_readme_are_the_codes():
    assert f"The default, `{DEFAULT_DECODER}` at {DEFAULT_VIVIDNESS:g}, was chosen" in flat()
    assert f"up to {MAX_VIVIDNESS:g}" in flat()
    assert f"{DEFAULT_VIVIDNESS:g} (default)" in flat()


def test_the_pixel_limit_in_the_help_is_the_default():
    from click.testing import CliRunner
    from colorplug_cli.main import main

    help_text = CliRunner().invoke(main, ["run", "--help"]).output
    assert str(DEFAULT_MAX_PIXELS) in " ".join(help_text.split())
