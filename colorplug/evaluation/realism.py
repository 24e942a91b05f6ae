"""A realism measure: the Fréchet distance between two sets of photos on the pooled features of an ImageNet
network the colorizer does not contain (EfficientNet-Lite2, Google's checkpoint, sha256-checked).

PSNR rewards the gray-brown guess that is never far from anything; the field judges automatic
colorization by a Fréchet distance on ImageNet features plus colourfulness. This is this project's
measure, not comparable with published FID figures (those use Inception-v3 at 299 px and 50,000 photos):
Lite2 features at 256x256, sets of a few hundred photos. The features are dominated by content, so the
figure means something only between sets of the same photos (colorized vs their own ground truth), and
below MIN_PHOTOS photos its covariance is too noisy to report.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import nn

from colorplug.errors import ColorplugError
from colorplug.nets.efficientnet import (
    HEAD_CHANNELS,
    LITE0_INPUT_MEAN,
    LITE0_INPUT_STD,
    LiteEncoder,
    conv_bn_relu6,
    feature_channels,
    find_pretrained_file,
    pretrained_state,
)

FEATURE_SIZE = 256  # every photo is resized to this square before the features
MIN_PHOTOS = 250
FEATURES = "EfficientNet-Lite2 (ImageNet) 1280-d average-pooled features at 256x256"
NOTE = "this project's realism measure: not comparable with published FID figures"


class FeatureNet(nn.Module):
    """EfficientNet-Lite2 without its classifier: (N, 3, 256, 256) normalised RGB -> (N, 1280) features."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = LiteEncoder("lite2")
        self.head = conv_bn_relu6(feature_channels("lite2")[-1], HEAD_CHANNELS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x)[-1]).mean(dim=(2, 3))


def load_feature_net() -> FeatureNet:
    """The verified ImageNet Lite2 (ColorplugError naming the `eval` extra when it is not installed)."""
    state = pretrained_state(variant="lite2")
    net = FeatureNet()
    net.encoder.load_state_dict({k: v for k, v in state.items() if not k.startswith(("head.", "fc."))})
    net.head.load_state_dict({k.removeprefix("head."): v for k, v in state.items() if k.startswith("head.")})
    return net.eval()


def pooled_features(net: FeatureNet, photos: list[np.ndarray]) -> np.ndarray:
    """(N, 1280) float64 features of uint8 RGB photos (H, W, 3), each resized to 256x256 (bicubic)."""
    size, bicubic = (FEATURE_SIZE, FEATURE_SIZE), Image.Resampling.BICUBIC
    squares = [np.asarray(Image.fromarray(photo).resize(size, bicubic)) for photo in photos]
    x = torch.from_numpy(np.stack(squares)).permute(0, 3, 1, 2).float() / 255
    mean, std = torch.tensor(LITE0_INPUT_MEAN).view(3, 1, 1), torch.tensor(LITE0_INPUT_STD).view(3, 1, 1)
    with torch.inference_mode():
        return net((x - mean) / std).double().numpy()


def frechet_distance(first: np.ndarray, second: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (N, D) and (M, D):
    |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2), the trace of the root taken through symmetric
    eigendecompositions (S1^1/2 S2 S1^1/2 has the same eigenvalues as S1 S2), so it stays real.

    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(400, 3)), rng.normal(size=(400, 3))
    >>> round(frechet_distance(a, a), 6), frechet_distance(a, b) < 0.1, frechet_distance(a, b + 2) > 11
    (0.0, True, True)
    """
    mean = np.mean(first, axis=0) - np.mean(second, axis=0)
    cov_first, cov_second = np.cov(first, rowvar=False), np.cov(second, rowvar=False)
    values, vectors = np.linalg.eigh(cov_first)
    root = (vectors * np.sqrt(values.clip(min=0))) @ vectors.T
    cross = np.linalg.eigvalsh(root @ cov_second @ root).clip(min=0)
    distance = mean @ mean + np.trace(cov_first) + np.trace(cov_second) - 2 * np.sqrt(cross).sum()
    return float(max(distance, 0.0))


def realism_available() -> bool:
    """Whether the Lite2 checkpoint can be found (the `eval` extra installed, or its variable set)."""
    try:
        return find_pretrained_file("lite2").is_file()
    except ColorplugError:
        return False


class RealismTally:
    """The features of the ground truths, the outputs and the gray baseline of a run, chunk by chunk."""

    def __init__(self) -> None:
        self.net = load_feature_net()
        self.features: dict[str, list[np.ndarray]] = {"truth": [], "model": [], "gray_baseline": []}

    def add(self, name: str, photos: list[np.ndarray]) -> None:
        """Add the features of uint8 RGB photos to the set `name` (truth, model or gray_baseline)."""
        if photos:
            self.features[name].append(pooled_features(self.net, photos))

    def summary(self) -> dict:
        """The Fréchet distance of the outputs and of the gray baseline to the ground truths."""
        sets = {name: np.concatenate(parts) for name, parts in self.features.items() if parts}
        count = len(sets.get("truth", ()))
        if count < MIN_PHOTOS:
            return skipped_realism(f"{count} photos, fewer than the {MIN_PHOTOS} the measure needs")
        distances = {name: frechet_distance(sets[name], sets["truth"]) for name in ("model", "gray_baseline")}
        return {"frechet_distance": distances, "photos": count, "features": FEATURES, "note": NOTE}


def skipped_realism(why: str) -> dict:
    """The realism entry of a summary when the measure was not taken, with the reason."""
    return {"frechet_distance": None, "why": why, "features": FEATURES, "note": NOTE}
