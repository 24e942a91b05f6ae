"""Colour suggestions for a region, places to hint, `colorplug suggest` and the insight evaluations."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from colorplug.color.modes import pick_modes
from colorplug.engine.colorizer import Colorizer
from colorplug.engine.insight import where_to_hint
from colorplug.engine.kinds import as_picture
from colorplug.errors import ColorplugError
from colorplug.evaluation.insight import ause, removal_curve, sparsification
from tests.conftest import write_images


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture()
def gray_photo(tmp_path, photos):
    return write_images(tmp_path / "in", {"chelsea": photos["chelsea"]}, size=120)[0]


def test_modes_are_distinct_colours_not_neighbouring_bins():
    bins = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [50.0, 50.0], [-40.0, 30.0]])
    probabilities = torch.tensor([0.3, 0.2, 0.2, 0.2, 0.1])
    colours, shares = pick_modes(probabilities, bins, 5)
    assert len(colours) == 3  # the three bins around gray are one colour
    assert torch.cdist(colours, colours).add(torch.eye(3) * 99).min() >= 15
    assert shares.tolist() == pytest.approx([0.7, 0.2, 0.1], abs=1e-6)


def test_suggestions_are_in_the_region_own_lightness(lite_weights, photos):
    colorizer = Colorizer(lite_weights, device="cpu")
    gray = np.asarray(Image.fromarray(photos["coffee"]).convert("L").resize((120, 90)))
    offered = colorizer.suggest(gray, (10, 20, 40, 30), count=4)
    assert 1 <= len(offered) <= 4 and sum(s.share for s in offered) == pytest.approx(1.0, abs=1e-4)
    region_l = float(colorizer.prepare(as_picture(gray, None)).full_lightness()[20:50, 10:50].mean())
    assert all(abs(s.lab[0] - region_l) < 0.01 for s in offered)
    assert all(s.hex.startswith("#") and len(s.hex) == 7 for s in offered)
    mask = np.zeros((90, 120), bool)
    mask[20:50, 10:50] = True
    assert [s.hex for s in colorizer.suggest(gray, mask, count=4)] == [s.hex for s in offered]


def test_a_box_outside_the_photo_is_refused(lite_weights):
    with pytest.raises(ValueError, match="not inside"):
        Colorizer(lite_weights, device="cpu").suggest(np.zeros((30, 40), np.uint8), (30, 0, 20, 10))


def test_weights_without_the_head_give_no_suggestions(tiny_weights):
    with pytest.raises(ColorplugError, match="predict no colour distribution"):
        Colorizer(tiny_weights, device="cpu").suggest(np.zeros((30, 40), np.uint8))


def test_places_to_hint_are_spread_over_the_unsure_area_most_unsure_first():
    sure = torch.ones(40, 40)
    sure[2:6, 2:6] = 0.2  # a small unsure square
    sure[20:32, 20:32] = 0.1  # a large one
    two = where_to_hint(sure, (80, 80), count=2)
    assert [(p.x, p.y) for p in two] == [(51, 51), (7, 7)]  # the large one first, at the centres
    assert two[0].area == 4 * 144 and two[0].width == 24 and two[1].area == 4 * 16
    five = where_to_hint(sure, (80, 80))
    assert len(five) == 5 and all(sure[p.y // 2, p.x // 2] < 1 for p in five)  # each on the unsure area
    assert len({(p.x, p.y) for p in five}) == 5
    assert where_to_hint(torch.full((10, 10), 0.5), (10, 10)) == []  # nothing is less sure than the rest


def test_sparsification_of_a_perfect_ranking_is_the_oracle():
    errors = np.random.default_rng(0).random(1000)
    ranks = np.argsort(np.argsort(errors))  # whole levels, as the 8-bit map has (ties broken within one)
    curves = sparsification(errors, -ranks.astype(float), seed=1)
    assert ause(curves["confidence"], curves["oracle"]) == pytest.approx(0, abs=1e-3)
    assert ause(curves["random"], curves["oracle"]) > 0.1
    assert removal_curve(errors, np.argsort(-errors))[90] < errors.mean()


def test_suggest_prints_colours_and_writes_swatches(gray_photo, lite_weights, tmp_path):
    strip = tmp_path / "strip.png"
    result = invoke(
        "suggest", gray_photo, "--region", "10,10,30,20", "--weights", lite_weights, "--count", "3",
        "--swatches", strip, "--where",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    colours = [line for line in lines if line.startswith("#")]
    assert 1 <= len(colours) <= 3 and any(line.startswith("hint at ") for line in lines)
    with Image.open(strip) as image:
        assert image.size == (64 * len(colours), 64)


@pytest.mark.parametrize(
    "where", [("--at", "120,3"), ("--region", "100,80,30,10"), ("--region", "1,2,0,5"), ("--at", "-1,3")]
)
def test_suggest_outside_the_photo_is_a_usage_error(gray_photo, lite_weights, where):
    result = invoke("suggest", gray_photo, *where, "--weights", lite_weights)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "--" in result.output


def test_suggest_with_weights_without_the_head_is_one_line_exit_2(gray_photo, tiny_weights):
    result = invoke("suggest", gray_photo, "--weights", tiny_weights)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "distribution" in result.output


def test_eval_insights_write_their_summary_and_the_plot(tmp_path, photos, lite_weights):
    write_images(tmp_path / "truth", photos, gray=False, size=64)
    report = tmp_path / "report"
    result = invoke(
        "eval", tmp_path / "truth", "--weights", lite_weights, "--confidence", "--suggest", "--where",
        "--report", report,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((report / "summary.json").read_text())
    assert summary["confidence"]["images"] == 3 and len(summary["confidence"]["curves"]["oracle"]) == 91
    assert 0 <= summary["suggest"]["top1_hit_rate"] <= summary["suggest"]["top5_hit_rate"] <= 1
    assert np.isfinite(summary["where"]["psnr_lift_placed"])
    with Image.open(report / "sparsification.png") as plot:
        assert plot.size == (640, 400)


def test_eval_insights_with_weights_without_the_head_are_one_line(tmp_path, photos, tiny_weights):
    write_images(tmp_path / "truth", {"coffee": photos["coffee"]}, gray=False, size=64)
    result = CliRunner().invoke(
        main, ["eval", str(tmp_path / "truth"), "--weights", str(tiny_weights), "--suggest"]
    )
    assert result.exit_code != 0 and "distribution" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_swatches_into_a_missing_folder_are_one_line(gray_photo, lite_weights, tmp_path):
    strip = tmp_path / "no" / "such" / "strip.png"
    result = CliRunner().invoke(
        main, ["suggest", str(gray_photo), "--weights", str(lite_weights), "--swatches", str(strip)]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("colorplug: ")


@pytest.mark.parametrize("name", ["strip.xyz", "missing/strip.png"])
def test_a_bad_swatch_file_is_a_usage_error_before_any_work(gray_photo, lite_weights, tmp_path, name):
    result = invoke("suggest", gray_photo, "--weights", lite_weights, "--swatches", tmp_path / name)
    assert result.exit_code == 2 and "--swatches" in result.output
    assert not any(line.startswith("#") for line in result.output.splitlines())  # no colours were worked out


@pytest.mark.parametrize("box", [(1.5, 1, 10, 10), (float("nan"), 1, 10, 10), "10,10,20,20", (1, 2, 3)])
def test_a_region_of_anything_but_whole_pixels_is_refused_in_words(lite_weights, box):
    with pytest.raises(ValueError, match="whole pixels"):
        Colorizer(lite_weights, device="cpu").suggest(np.zeros((30, 40), np.uint8), box)


def test_places_to_hint_need_a_count_and_never_have_no_area():
    with pytest.raises(ValueError, match="at least 1"):
        where_to_hint(torch.ones(8, 8), (8, 8), count=0)
    sure = torch.rand(40, 40, generator=torch.Generator().manual_seed(0))
    assert all(place.area > 0 for place in where_to_hint(sure, (1, 1)))  # a 1x1 photo
