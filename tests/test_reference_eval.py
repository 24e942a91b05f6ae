"""`colorplug eval --reference MODE`: the references each mode picks and the figures it adds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from colorplug import Colorizer
from colorplug.evaluation.reference import ReferenceEval
from colorplug.evaluation.run import evaluate


@pytest.fixture(scope="module")
def folder(tmp_path_factory, photos) -> Path:
    """Colour photos named like general's: two of one ImageNet class, one cat, one CamVid frame."""
    folder = tmp_path_factory.mktemp("photos")
    names = {"astronaut": "n03028079_a1", "coffee": "n03028079_b2", "chelsea": "cats_c3"}
    for key, name in names.items():
        Image.fromarray(photos[key]).resize((160, 160)).save(folder / f"{name}.png")
    Image.fromarray(photos["coffee"][::-1]).resize((160, 160)).save(folder / "train_d4.png")
    return folder


def test_each_mode_picks_its_kind_of_reference(folder):
    paths = sorted(folder.iterdir())
    same = ReferenceEval("same-class", [str(folder)], "paper", None)
    unrelated = ReferenceEval("unrelated", [str(folder)], "paper", None)
    assert [p.name for p in same.usable(paths)] == ["n03028079_a1.png", "n03028079_b2.png"]
    first = paths[1]  # n03028079_a1
    picked = same.reference(None, 0, first, None)
    assert picked.color.shape == (256, 256, 3)  # a pool photo as the protocol's ground truth
    truth_b = np.asarray(Image.open(paths[2]).convert("RGB").resize((256, 256), Image.Resampling.LANCZOS))
    assert np.abs(picked.color.astype(int) - truth_b).mean() < 2  # the other church, never itself
    others = {unrelated.reference(None, seed, first, None).color.mean() for seed in range(6)}
    assert len(others) == 2  # the cat and the CamVid frame, never the other church


def test_self_reference_lifts_and_series_reports_consistency(folder):
    colorizer = Colorizer("general", device="cpu")
    report = evaluate(colorizer, [str(folder)], reference="self", realism=False)
    summary = report.summary
    assert summary["reference"]["psnr"] > summary["model"]["psnr"] + 0.5
    assert summary["reference_cost_ratio"] > 0 and summary["reference_refused"] == []
    series = evaluate(colorizer, [str(folder)], reference="series", realism=False).summary
    assert series["images"] == 4 and series["series_ab_difference_alone"] > 0
    assert "series_ab_difference_reference" in series


def test_eval_reference_options(folder):
    runner = CliRunner()
    missing = runner.invoke(main, ["eval", str(folder), "--reference", "same-class"])
    assert missing.exit_code == 2 and "--reference-pool" in missing.stderr
    wrong = runner.invoke(main, ["eval", str(folder), "--reference", "other"])
    assert wrong.exit_code == 2
