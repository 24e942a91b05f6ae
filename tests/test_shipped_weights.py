"""The shipped weights, for real: each loads, verifies and beats the gray baseline on photos it never saw."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.color import rgb2lab

from colorplug import Colorizer
from colorplug.color.metrics import psnr
from colorplug.evaluation.run import evaluate
from colorplug.nets.weights import default_weights_name, read_manifest
from tests.conftest import TEST_DATA

SHIPPED = read_manifest()


def test_the_manifest_names_a_default_and_describes_every_weight():
    assert default_weights_name(SHIPPED) == "general"
    for entry in SHIPPED.values():
        for key in ("command", "hardware", "wall_time_s", "recipe", "data", "eval"):
            assert entry.info.get(key), f"{entry.name}: manifest lacks {key}"
        assert entry.info["data"]["license"]


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_shipped_weight_beats_the_gray_baseline_on_its_test_photos(name):
    folder = TEST_DATA / name.split("-")[0]
    report = evaluate(Colorizer(name, device="cpu"), [str(folder)])
    model, gray = report.summary["model"], report.summary["gray_baseline"]
    assert report.summary["images"] == 4
    assert model["psnr"] > gray["psnr"]
    assert model["mae_ab"] < gray["mae_ab"]


@pytest.fixture(scope="module")
def default_colorizer() -> Colorizer:
    return Colorizer(device="cpu")


@pytest.mark.parametrize("name", ["chelsea", "coffee", "astronaut"])
def test_default_weights_end_to_end_on_full_size_photos(default_colorizer, photos, name):
    truth = photos[name]
    gray = np.asarray(Image.fromarray(truth).convert("L"))
    out = default_colorizer.colorize(gray)
    assert out.shape == truth.shape
    lightness_in = rgb2lab(np.repeat(gray[..., None], 3, axis=-1))[..., 0]
    change = np.abs(rgb2lab(out)[..., 0] - lightness_in)
    assert change.mean() < 0.5 and np.percentile(change, 99) < 2.0  # the photo's L is kept
    as_given = np.repeat(gray[..., None], 3, axis=-1)  # the gray photo the user has
    assert psnr(out, truth) > psnr(as_given, truth)


def hint_image(truth: np.ndarray, count: int, seed: int, side: int = 5) -> np.ndarray:
    """An RGBA hint image: `count` seeded square dots of the ground truth's colour, transparent elsewhere."""
    rng = np.random.default_rng(seed)
    hints = np.zeros((*truth.shape[:2], 4), np.uint8)
    for _ in range(count):
        y = rng.integers(0, truth.shape[0] - side)
        x = rng.integers(0, truth.shape[1] - side)
        hints[y : y + side, x : x + side, :3] = truth[y : y + side, x : x + side].mean(axis=(0, 1))
        hints[y : y + side, x : x + side, 3] = 255
    return hints


def test_the_default_weights_follow_ground_truth_hints(photos):
    colorizer = Colorizer("general", device="cpu")
    gains = []
    for seed, photo in enumerate(["chelsea", "coffee", "astronaut"]):
        truth = photos[photo]
        gray = np.asarray(Image.fromarray(truth).convert("L"))
        automatic = colorizer.colorize(gray)
        assert np.array_equal(colorizer.colorize(gray, hints=np.zeros((*gray.shape, 4), np.uint8)), automatic)
        gains.append(
            psnr(colorizer.colorize(gray, hints=hint_image(truth, 20, seed)), truth) - psnr(automatic, truth)
        )
    assert np.mean(gains) > 1.0, gains
