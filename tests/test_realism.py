"""The realism measure: our Lite2 is Google's (the reference implementation's logits), the Fréchet distance
puts a set at 0 from itself and ranks colour-shuffled and gray versions of the same photos further away."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from colorplug.evaluation.realism import frechet_distance, load_feature_net, pooled_features
from colorplug.nets.efficientnet import find_pretrained_file


@pytest.fixture(scope="module")
def feature_net():
    return load_feature_net()


@pytest.fixture(scope="module")
def tiles(photos):
    """48 seeded 96x96 colour tiles of the sample photos."""
    rng = np.random.default_rng(0)
    colour = [p for p in photos.values() if p.ndim == 3]
    out = []
    for index in range(48):
        photo = colour[index % len(colour)]
        top, left = rng.integers(0, photo.shape[0] - 96), rng.integers(0, photo.shape[1] - 96)
        out.append(np.ascontiguousarray(photo[top : top + 96, left : left + 96, :3]))
    return out


def test_features_are_the_reference_lite2s(feature_net):
    reference_module = pytest.importorskip("efficientnet_lite_pytorch")
    reference = reference_module.EfficientNet.from_name("efficientnet-lite2", image_size=256)
    reference.load_state_dict(
        torch.load(find_pretrained_file("lite2"), map_location="cpu", weights_only=True)
    )
    x = torch.randn(2, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = torch.nn.functional.linear(feature_net(x), reference._fc.weight, reference._fc.bias)
        torch.testing.assert_close(ours, reference.eval()(x), atol=1e-4, rtol=1e-4)


def test_truth_is_nearest_then_shuffled_and_gray_further(feature_net, tiles):
    truth = pooled_features(feature_net, tiles)
    shuffled = pooled_features(feature_net, [tile[..., ::-1].copy() for tile in tiles])  # RGB -> BGR
    grays = [np.repeat(tile.mean(-1, keepdims=True), 3, -1).astype(np.uint8) for tile in tiles]
    gray = pooled_features(feature_net, grays)
    assert frechet_distance(truth, truth) < 1e-6
    assert frechet_distance(shuffled, truth) > 1.0
    assert frechet_distance(gray, truth) > 1.0


def test_small_sets_say_why_realism_was_not_measured(tmp_path, photos, tiny_weights):
    for name in ("coffee", "chelsea", "astronaut"):
        Image.fromarray(photos[name]).save(tmp_path / f"{name}.png")
    report = tmp_path / "report"
    args = ["eval", str(tmp_path), "--weights", str(tiny_weights), "--report", str(report), "--realism"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((report / "summary.json").read_text())
    assert summary["realism"]["frechet_distance"] is None
    assert "fewer than the 250" in summary["realism"]["why"] and "realism: not measured" in result.output
    assert summary["model"]["delta_colorfulness"] == pytest.approx(
        abs(summary["model"]["colorfulness"] - summary["truth_colorfulness"])
    )


def test_no_realism_says_it_was_not_asked_for_and_the_summary_names_its_decoder(
    tmp_path, photos, lite_weights
):
    for name in ("coffee", "chelsea"):
        Image.fromarray(photos[name]).save(tmp_path / f"{name}.png")
    report = tmp_path / "report"
    args = ["eval", str(tmp_path), "--weights", str(lite_weights), "--report", str(report), "--no-realism"]
    args += ["--decoder", "annealed"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((report / "summary.json").read_text())
    assert summary["realism"]["why"] == "not asked for" and summary["decoder"] == "annealed"
