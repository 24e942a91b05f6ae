"""Shared fixtures: photos bundled with scikit-image and tiny random models saved as weights files (the
private COLORPLUG_HOME of every test, and the working tree's packages first on the path, are set up by
the conftest.py at the repository's root)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data as skdata

from colorplug.nets.registry import NetworkConfig, create_model
from colorplug.nets.weights import save_weights_file

TEST_DATA = Path(__file__).parent / "data"


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
    save_weights_file(path, NetworkConfig.of("seed", 0.0625), model.state_dict(), half=False)
    return path


@pytest.fixture(scope="session")
def lite_weights(tmp_path_factory) -> Path:
    """A random `lite0-unet` (both heads, hint inputs) saved as a weights file, with its ab bins set and
    weights large enough that hints and vividness visibly change the output."""
    from colorplug.color.chroma import ab_bins

    torch.manual_seed(0)
    model = create_model("lite0-unet", 0.25)
    with torch.no_grad():
        model.bins.copy_(ab_bins())
        model.encoder.stem[0].weight.normal_()
        model.regression[0].weight.mul_(20)
        model.classes.weight.mul_(50)
        model.class_weights.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("weights") / "lite.pt"
    network = NetworkConfig.of("lite0-unet", 0.25, ("regression", "classes"))
    save_weights_file(path, network, model.state_dict(), half=False)
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
