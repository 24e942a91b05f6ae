"""The paper's architecture and the Lite0 U-Net: size, cost, any input shape, hints, and the registry."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from colorplug.color.chroma import BIN_COUNT
from colorplug.nets.fuse import fuse_for_inference
from colorplug.nets.lite0_unet import HINT_CHANNELS
from colorplug.nets.registry import ARCHITECTURES, count_parameters, create_model


def macs_at_256(model: torch.nn.Module) -> float:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 1, 256, 256))
    return counter.get_total_flops() / 2


def test_seed_width_1_matches_the_paper_size_and_cost():
    model = create_model("seed", 1.0).eval()
    assert count_parameters(model) == pytest.approx(17.1e6, rel=0.01)
    assert macs_at_256(model) == pytest.approx(13.4e9, rel=0.02)


def test_width_multiplier_scales_the_model():
    assert count_parameters(create_model("seed", 0.5)) == pytest.approx(4.3e6, rel=0.02)


def test_encoder_is_vgg16_with_strided_convs_and_batchnorm():
    model = create_model("seed", 1.0)
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 13  # VGG16's 13 convolutions, no dense layers, no pooling
    assert [c.stride[0] for c in convs].count(2) == 5
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.Linear)) for m in model.modules())
    norms = [m for m in model.encoder.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 13
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in model.modules())


def test_latent_is_512_channels_at_one_32nd():
    model = create_model("seed", 1.0).eval()
    with torch.no_grad():
        latent = model.encoder(torch.zeros(1, 1, 64, 96))[-1]
    assert latent.shape == (1, 512, 2, 3)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 1, 37, 53), (1, 1, 300, 7), (1, 1, 64, 64)])
def test_any_input_size_gives_the_same_output_size(arch, shape):
    model = create_model(arch, 0.125).eval()
    with torch.no_grad():
        out = model(torch.rand(shape) * 2 - 1)
    assert out.ab.shape == (shape[0], 2, *shape[2:])
    assert out.ab.abs().max() <= 1.0  # tanh output: ab / 128
    if out.logits is not None:  # the ab-bin distribution, at a quarter of the size (rounded up)
        assert out.logits.shape == (shape[0], BIN_COUNT, -(-shape[2] // 4), -(-shape[3] // 4))


def test_lite0_unet_is_small_and_cheap():
    model = create_model("lite0-unet", 1.0).eval()
    assert count_parameters(model) == pytest.approx(3.5e6, rel=0.05)
    assert macs_at_256(model) < 1.2e9  # about a tenth of the seed model at width 0.5


def test_hints_enter_the_network_and_no_hints_means_zeros():
    torch.manual_seed(0)
    model = create_model("lite0-unet", 1.0).eval()
    lightness = torch.rand(1, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        torch.nn.init.normal_(model.encoder.stem[0].weight)  # trained weights: hints matter
        plain = model(lightness)
        zeros = model(lightness, torch.zeros(1, HINT_CHANNELS, 64, 64))
        hints = torch.zeros(1, HINT_CHANNELS, 64, 64)
        hints[:, :, 10:14, 10:14] = torch.tensor([0.5, 0.2, 1.0]).view(1, 3, 1, 1)
        hinted = model(lightness, hints)
    assert torch.equal(plain.ab, zeros.ab)
    assert not torch.allclose(plain.ab, hinted.ab)


def test_fused_lite0_gives_the_same_output():
    torch.manual_seed(0)
    model = create_model("lite0-unet", 1.0).eval()
    x = torch.rand(1, 1, 96, 64) * 2 - 1
    with torch.no_grad():
        expected, fused = model(x), fuse_for_inference(model)(x)
    torch.testing.assert_close(fused.ab, expected.ab, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fused.logits, expected.logits, atol=1e-3, rtol=1e-3)


def test_architectures_without_hint_inputs_refuse_hints():
    model = create_model("seed", 0.125)
    assert not ARCHITECTURES["seed"].takes_hints and ARCHITECTURES["lite0-unet"].takes_hints
    with pytest.raises(ValueError, match="no colour hints"):
        model(torch.zeros(1, 1, 32, 32), torch.zeros(1, HINT_CHANNELS, 32, 32))


def test_unknown_architecture_and_bad_width_are_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        create_model("resnet", 1.0)
    with pytest.raises(ValueError, match="width"):
        create_model("seed", 0)
