"""Training precision: bf16 detected from the CPU's flags, the same losses as fp32 within a tolerance,
`auto` timing both, and a resumed run keeping the precision it started with."""

from __future__ import annotations

import copy
import json

import torch

from colorplug.color.chroma import ab_bins, classification_loss
from colorplug.engine.network import load_network
from colorplug.nets.registry import create_model
from colorplug.training import precision
from colorplug.training.data import to_lab_batch
from tests.test_training_errors import colour_folder, train


def test_bf16_is_detected_from_the_cpu_flags_only(tmp_path):
    with_amx = tmp_path / "amx"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f amx_bf16 amx_tile\n")
    older = tmp_path / "older"
    older.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\nbugs\t\t: avx512_bf16\n")
    assert precision.cpu_has_bf16(with_amx)
    assert not precision.cpu_has_bf16(older)  # a word outside the flags line does not count
    assert not precision.cpu_has_bf16(tmp_path / "missing")


def _loss_and_gradients(model, chosen: str, lightness, target) -> tuple[float, dict[str, torch.Tensor]]:
    trial = precision.prepare(copy.deepcopy(model), chosen, torch.device("cpu"))
    with precision.autocast(chosen, torch.device("cpu")):
        prediction = trial(lightness.contiguous(memory_format=torch.channels_last))
    small = torch.nn.functional.avg_pool2d(target, 4) * 128
    loss = classification_loss(prediction.logits.float(), small, ab_bins(), None)
    loss = loss + 10 * (prediction.ab.float() - target).abs().mean()
    loss.backward()
    return loss.item(), {name: p.grad.flatten() for name, p in trial.named_parameters() if p.grad is not None}


def _cosine(first: torch.Tensor, second: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(first, second, dim=0))


def test_bf16_losses_and_gradients_match_fp32_within_a_tolerance(photos):
    """The loss to 1%; the heads' gradients closely; the whole gradient of the trained network far closer
    to fp32's than another mini-batch's fp32 gradient is (early encoder layers sum many rounded terms: bf16
    adds noise there, less than the next batch does; measured: cosine 0.82 against 0.45 for the shipped
    general, 0.94 against 0.34 for the previous one; tools/precision_curve.py compares whole curves)."""
    model = load_network("general").module
    model.train()

    def batch(rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
        rgb = torch.stack([torch.from_numpy(p[rows, rows].copy()).permute(2, 0, 1) for p in photos.values()])
        return to_lab_batch(rgb)[:2]

    fp32_loss, fp32 = _loss_and_gradients(model, "fp32", *batch(slice(0, 96)))
    bf16_loss, bf16 = _loss_and_gradients(model, "bf16", *batch(slice(0, 96)))
    _, next_batch = _loss_and_gradients(model, "fp32", *batch(slice(96, 192)))
    assert abs(bf16_loss - fp32_loss) <= 0.01 * abs(fp32_loss), (bf16_loss, fp32_loss)
    for head in ("regression.0.weight", "classes.weight"):
        assert _cosine(fp32[head], bf16[head]) > 0.99, head
    every = [name for name in fp32 if name in bf16]
    whole = [torch.cat([grads[n] for n in every]) for grads in (fp32, bf16, next_batch)]
    assert _cosine(whole[0], whole[1]) > _cosine(whole[0], whole[2]) + 0.2


def test_mixed_bf16_keeps_the_parameters_and_runs_depthwise_convolutions_in_fp32():
    model = create_model("lite0-unet", 0.25)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    changed = precision.mixed_bf16(model)
    assert changed > 20
    assert model.state_dict().keys() == before.keys()
    assert all(torch.equal(model.state_dict()[key], value) for key, value in before.items())
    depthwise = model.encoder.blocks[1].depthwise[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert depthwise(torch.randn(1, depthwise.in_channels, 8, 8)).dtype == torch.float32
        assert model.encoder.stem[0](torch.randn(1, 6, 8, 8)).dtype == torch.bfloat16  # dense: bf16
    copied = copy.deepcopy(model)  # the per-layer forward follows the copy, not the original
    assert copied.encoder.blocks[1].depthwise[0].forward.__self__ is copied.encoder.blocks[1].depthwise[0]


def test_auto_times_every_candidate_and_keeps_the_faster(monkeypatch):
    model = create_model("seed", 0.0625)
    monkeypatch.setattr(precision, "candidates", lambda device: ["fp32", "bf16"])
    slow = {"fp32": 0.0, "bf16": 0.0}

    def step(trial, chosen):
        slow[chosen] += 1
        if chosen == "fp32":
            torch.ones(400, 400) @ torch.ones(400, 400)  # fp32 made the slower one here

    chosen, timings = precision.choose("auto", model, torch.device("cpu"), step, steps=3)
    assert set(timings) == {"fp32", "bf16"} and chosen == min(timings, key=timings.get) == "bf16"
    assert slow == {"fp32": 4, "bf16": 4}  # a warm-up and three timed steps each
    assert precision.choose("fp32", model, torch.device("cpu"), step) == ("fp32", {})


def test_a_resumed_run_keeps_the_precision_it_started_with(tmp_path, photos):
    data = tmp_path / "data"
    colour_folder(data, photos)
    out = tmp_path / "run"
    first = train(data, out, "--precision", "bf16")
    assert first.returncode == 0, first.stderr
    assert json.loads((out / "manifest_entry.json").read_text())["precision"]["used"] == "bf16"
    resumed = train(data, out, "--resume", "--epochs", "2", "--precision", "fp32")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((out / "manifest_entry.json").read_text())["precision"]["used"] == "bf16"
