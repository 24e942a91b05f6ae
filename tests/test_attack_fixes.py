"""Small defects found by an attack on the release: each error names its cause and what to give,
`--where` summaries without numpy warnings, and `suggest --where` running the network once."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from colorplug_cli.main import main

from colorplug.engine.colorizer import Colorizer
from colorplug.errors import ColorplugError
from tests.conftest import write_images


def _eval(*args) -> object:
    return CliRunner().invoke(main, ["eval", *(str(a) for a in args)])


@pytest.fixture(scope="module")
def colour_photos(tmp_path_factory, photos) -> Path:
    """Three small colour photos whose names carry no ImageNet synset."""
    folder = tmp_path_factory.mktemp("colour")
    write_images(folder, photos, gray=False, size=64)
    return folder


@pytest.mark.parametrize("side", ["photos", "pool"])
def test_same_class_without_synset_names_says_so(tmp_path, photos, colour_photos, lite_weights, side):
    named = tmp_path / "named"
    write_images(named, {"n03028079_1": photos["coffee"], "n03028079_2": photos["astronaut"]}, False, 64)
    measured, pool = (colour_photos, named) if side == "photos" else (named, colour_photos)
    result = _eval(measured, "--reference", "same-class", "--reference-pool", pool, "--weights", lite_weights)
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1, result.output
    assert "named by their ImageNet synset" in result.output and "3 skipped for lacking one" in result.output
    assert ("reference pool" in result.output) == (side == "pool")


def test_a_list_as_reference_names_the_reference_argument(lite_weights, photos):
    colorizer = Colorizer(lite_weights, device="cpu")
    with pytest.raises(TypeError, match=r"^reference: got a list; give one colour photo"):
        colorizer.colorize_batch([np.zeros((30, 40), np.uint8)], reference=[photos["coffee"]])


@pytest.mark.parametrize("batch", ["some/path.jpg", b"some/path.jpg", Path("some/path.jpg")])
def test_one_path_as_the_batch_is_refused_in_words(lite_weights, batch):
    with pytest.raises(TypeError, match=r"sequence of images.*use colorize for a single image"):
        Colorizer(lite_weights, device="cpu").colorize_batch(batch)


def test_where_to_hint_without_the_head_names_places_to_hint(tiny_weights):
    with pytest.raises(ColorplugError, match="distribution, which places to hint needs"):
        Colorizer(tiny_weights, device="cpu").where_to_hint(np.zeros((30, 40), np.uint8))


def test_eval_where_on_gray_photos_is_one_line_without_warnings(tmp_path, photos, lite_weights):
    write_images(tmp_path / "gray", photos)  # grayscale files: no colour ground truth
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would stop the command
        result = _eval(tmp_path / "gray", "--where", "--weights", lite_weights)
    assert result.exit_code != 0 and len(result.output.strip().splitlines()) == 1, result.output
    assert "no image could be evaluated" in result.output and "grayscale" in result.output


def test_eval_where_without_any_place_says_why_the_figure_is_missing(
    tmp_path, colour_photos, lite_weights, monkeypatch
):
    monkeypatch.setattr(Colorizer, "where_to_hint", lambda self, image, count=5: [])  # e.g. flat photos
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = _eval(colour_photos, "--where", "--weights", lite_weights, "--report", tmp_path / "report")
    assert result.exit_code == 0, result.output
    assert "no figure: no place to hint was found on any photo" in result.output
    where = json.loads((tmp_path / "report" / "summary.json").read_text())["where"]
    assert where["psnr_lift_placed"] is None and where["placed_minus_random"] is None
    assert where["photos_without_places"] == 3 and "no place" in where["undefined"]["psnr_lift_random"]


def _count_network_runs(colorizer: Colorizer) -> list[int]:
    runs = [0]
    colorizer.network.register_forward_hook(lambda *_: runs.__setitem__(0, runs[0] + 1))
    return runs


def test_suggest_and_place_equal_the_separate_calls_from_one_network_run(lite_weights, photos):
    from colorplug.engine.advice import suggest_and_place  # new in this release

    colorizer, image, box = (
        Colorizer(lite_weights, device="cpu"),
        photos["chelsea"][::4, ::4],
        (10, 20, 40, 30),
    )
    separate = (colorizer.suggest(image, box, 4), colorizer.where_to_hint(image, 3))
    runs = _count_network_runs(colorizer)
    assert suggest_and_place(colorizer, image, box, 4, 3) == separate and runs == [1]
    assert len(separate[0]) == 4 and separate[1]


def test_suggest_where_prepares_and_runs_once(tmp_path, photos, lite_weights, monkeypatch):
    photo = write_images(tmp_path, {"chelsea": photos["chelsea"]}, size=120)[0]
    calls = {"prepare": 0, "network": 0}
    real_prepare, real_init = Colorizer.prepare, Colorizer.__init__

    def prepare(self, *args, **kwargs):
        calls["prepare"] += 1
        return real_prepare(self, *args, **kwargs)

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.network.register_forward_hook(lambda *_: calls.__setitem__("network", calls["network"] + 1))

    monkeypatch.setattr(Colorizer, "prepare", prepare)
    monkeypatch.setattr(Colorizer, "__init__", init)
    args = ["suggest", str(photo), "--weights", str(lite_weights)]
    alone = CliRunner().invoke(main, args)
    calls.update(prepare=0, network=0)
    both = CliRunner().invoke(main, [*args, "--where"])
    assert both.exit_code == 0 and calls == {"prepare": 1, "network": 1}, both.output
    assert both.output.startswith(alone.output) and "hint at " in both.output
