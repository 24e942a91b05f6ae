"""Colour from a reference photo: matches gate it, user hints win, nothing changes without one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import rgb2lab

from colorplug import Colorizer
from colorplug.hints.reference import ReferencePhotoError, free_cells
from colorplug.io.picture import Picture


@pytest.fixture(scope="module")
def general() -> Colorizer:
    return Colorizer("general", device="cpu")


def small(rgb: np.ndarray, side: int = 192) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((side, side), Image.Resampling.LANCZOS))


def gray_of(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


def ab_error(output: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(rgb2lab(output)[..., 1:] - rgb2lab(truth)[..., 1:]).mean())


def test_no_reference_is_bit_identical_even_beside_a_referenced_photo(general, photos):
    cat, coffee = small(photos["chelsea"]), small(photos["coffee"])
    alone = general.colorize(gray_of(cat))
    assert np.array_equal(general.colorize(gray_of(cat), reference=None), alone)
    pictures = [Picture(gray_of(cat)), Picture(gray_of(coffee))]
    mixed = general.colorize_pictures(pictures, None, [None, general.reference(coffee[:, ::-1])])
    assert np.array_equal(mixed[0].color, alone)
    assert not np.array_equal(mixed[1].color, general.colorize(gray_of(coffee)))


def test_the_photo_itself_as_reference_brings_its_colours_back(general, photos):
    truth = small(photos["astronaut"])
    reference = np.ascontiguousarray(truth[10:170, ::-1][:, 15:175])  # mirrored, cropped
    plain = general.colorize(gray_of(truth))
    guided = general.colorize(gray_of(truth), reference=reference)
    assert ab_error(guided, truth) < ab_error(plain, truth) - 1.0


def test_a_reference_that_matches_nothing_changes_nothing(general, photos):
    noise = np.random.default_rng(0).integers(0, 256, (192, 192, 3), dtype=np.uint8)
    gray = gray_of(small(photos["chelsea"]))
    assert np.array_equal(general.colorize(gray, reference=noise), general.colorize(gray))


def test_gray_tiny_and_unreadable_references_are_one_line(general, tmp_path):
    with pytest.raises(ReferencePhotoError, match="is gray"):
        general.reference(np.full((64, 64, 3), 120, np.uint8))
    with pytest.raises(ReferencePhotoError, match="16x16 pixels"):
        general.reference(np.zeros((16, 16, 3), np.uint8))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    with pytest.raises(ReferencePhotoError, match=r"reference .*broken\.jpg") as caught:
        general.reference(broken)
    assert "\n" not in str(caught.value)


def test_weights_without_an_encoder_refuse_a_reference(tiny_weights, photos):
    with pytest.raises(ReferencePhotoError, match="cannot take a reference"):
        Colorizer(tiny_weights, device="cpu").reference(photos["coffee"])


def test_a_series_prepares_its_reference_file_once(photos, tmp_path):
    colorizer = Colorizer("general", device="cpu")
    key = tmp_path / "key.png"
    Image.fromarray(small(photos["coffee"])).save(key)
    grays = [gray_of(small(photos["coffee"], side)) for side in (160, 176, 192)]
    first = colorizer.colorize_batch(grays, reference=key)
    again = colorizer.colorize(grays[0], reference=str(key))
    assert colorizer.references.prepared == 1
    assert np.array_equal(first[0], again)


def test_the_users_hints_win_over_the_reference(general, photos):
    truth = small(photos["astronaut"])
    hints = np.zeros((*truth.shape[:2], 4), np.uint8)
    hints[60:100, 60:100] = (0, 200, 0, 255)  # the user says green here
    reference = np.ascontiguousarray(truth[:, ::-1])
    with_user = general.colorize(gray_of(truth), hints=hints)
    both = general.colorize(gray_of(truth), hints=hints, reference=reference)
    inside = (slice(70, 90), slice(70, 90))
    assert np.abs(both[inside].astype(int) - with_user[inside].astype(int)).mean() < 3


def test_reference_hints_keep_away_from_the_users():
    user = torch.zeros(3, 64, 64)
    user[:, 30:32, 30:32] = 1.0
    free = free_cells(user, (8, 8))
    assert not free[3, 3] and free[0, 0] and free[7, 7]
    assert bool(free_cells(None, (8, 8)).all())
