"""The Lite0 encoder is Google's ImageNet EfficientNet-Lite0: same logits as the reference implementation,
and the expected classes on sample photos; the checkpoint is verified before use."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colorplug.errors import ColorplugError
from colorplug.nets.efficientnet import (
    LITE0_INPUT_MEAN,
    LITE0_INPUT_STD,
    PRETRAINED_ENV,
    LiteEncoder,
    find_pretrained_file,
    load_pretrained,
    pretrained_state,
)

ESPRESSO = 967
CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module")
def classifier():
    """Our encoder with the checkpoint's ImageNet head applied functionally: image -> 1000 logits."""
    state = pretrained_state()
    encoder = LiteEncoder("lite0")
    load_pretrained(encoder)
    encoder.eval()

    def classify(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = F.conv2d(encoder(x)[-1], state["head.0.weight"])
            features = F.batch_norm(
                features,
                state["head.1.running_mean"],
                state["head.1.running_var"],
                state["head.1.weight"],
                state["head.1.bias"],
                eps=1e-3,
            ).clamp(0, 6)
            return F.linear(features.mean(dim=(2, 3)), state["fc.weight"], state["fc.bias"])

    return classify


def normalised(photo: np.ndarray) -> torch.Tensor:
    image = Image.fromarray(photo).resize((224, 224), Image.Resampling.BICUBIC)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255
    return (x - torch.tensor(LITE0_INPUT_MEAN).view(3, 1, 1)) / torch.tensor(LITE0_INPUT_STD).view(3, 1, 1)


def test_sample_photos_get_their_imagenet_classes(classifier, photos):
    assert classifier(normalised(photos["coffee"])).argmax().item() == ESPRESSO
    assert classifier(normalised(photos["chelsea"])).argmax().item() in CATS


def test_gray_photos_still_get_their_classes(classifier, photos):
    """The encoder sees gray L as three equal channels: it must still recognise the scene."""
    gray = np.repeat(np.asarray(Image.fromarray(photos["coffee"]).convert("L"))[..., None], 3, axis=-1)
    assert classifier(normalised(gray)).argmax().item() == ESPRESSO


def test_logits_equal_the_reference_implementation(classifier, photos):
    reference_module = pytest.importorskip("efficientnet_lite_pytorch")
    reference = reference_module.EfficientNet.from_name("efficientnet-lite0")
    reference.load_state_dict(torch.load(find_pretrained_file(), map_location="cpu", weights_only=True))
    reference.eval()
    for name in ("coffee", "chelsea", "astronaut"):
        x = normalised(photos[name])
        with torch.no_grad():
            expected = reference(x)
        torch.testing.assert_close(classifier(x), expected, atol=1e-4, rtol=1e-4)


def test_extra_input_channels_start_at_zero():
    encoder = LiteEncoder("lite0", in_channels=6)
    load_pretrained(encoder)
    stem = encoder.stem[0].weight
    assert stem[:, 3:].abs().max() == 0 and stem[:, :3].abs().max() > 0


def test_missing_or_wrong_checkpoint_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv(PRETRAINED_ENV, str(tmp_path / "absent.pth"))
    with pytest.raises(ColorplugError, match="cannot read the EfficientNet-Lite0 weights") as missing:
        pretrained_state()
    wrong = tmp_path / "wrong.pth"
    torch.save({"x": torch.zeros(1)}, wrong)
    monkeypatch.setenv(PRETRAINED_ENV, str(wrong))
    with pytest.raises(ColorplugError, match="not the expected EfficientNet-Lite0 checkpoint") as damaged:
        pretrained_state()
    assert "\n" not in str(missing.value) + str(damaged.value)
