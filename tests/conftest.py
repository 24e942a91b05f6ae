"""Shared fixtures: photos bundled with scikit-image, tiny random models saved as weights files, and a
private COLORPLUG_HOME per test so no test touches the user's real cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data as skdata

from colorplug.model import create_model
from colorplug.weights import save_weights_file

TEST_DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    """Every test gets its own empty user data directory."""
    home = tmp_path_factory.mktemp("colorplug-home")
    monkeypatch.setenv("COLORPLUG_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def photos() -> dict[str, np.ndarray]:
    """Real colour photos (uint8 RGB) shipped with scikit-image."""
    return {"astronaut": skdata.astronaut(), "chelsea": skdata.chelsea(), "coffee": skdata.coffee()}


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A randomly initialised, very narrow `seed` network saved as a weights file (fast to run)."""
    torch.manual_seed(0)
    model = create_model("seed", 0.0625)
    with torch.no_grad():  # larger last-layer weights so the random model predicts visible colour
        model.decoder[-1].refine[0].weight.mul_(20)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_weights_file(path, "seed", 0.0625, model.state_dict(), half=False)
    return path


@pytest.fixture(scope="session")
def lite_weights(tmp_path_factory) -> Path:
    """A random `lite0-unet` (both heads, hint inputs) saved as a weights file, with its ab bins set and
    weights large enough that hints and vividness visibly change the output."""
    from colorplug.chroma import ab_bins

    torch.manual_seed(0)
    model = create_model("lite0-unet", 0.25)
    with torch.no_grad():
        model.bins.copy_(ab_bins())
        model.encoder.stem[0].weight.normal_()
        model.regression[0].weight.mul_(20)
        model.classes.weight.mul_(50)
        model.class_weights.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("weights") / "lite.pt"
    save_weights_file(
        path, "lite0-unet", 0.25, model.state_dict(), half=False, heads=["regression", "classes"]
    )
    return path


def write_images(
    folder: Path, photos: dict[str, np.ndarray], gray: bool = True, size: int = 96
) -> list[Path]:
    """Save small versions of the photos as JPEG files (grayscale by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, array in photos.items():
        image = Image.fromarray(array).resize((size, size * 3 // 4))
        path = folder / f"{name}.jpg"
        (image.convert("L") if gray else image).save(path, quality=92)
        paths.append(path)
    return paths
