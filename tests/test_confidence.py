"""The confidence map: its measure, how it is carried along the lightness, the API and `run --confidence`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from colorplug.color.chroma import ab_bins
from colorplug.color.confidence import (
    bins_in_gamut,
    cell_confidence,
    expected_distance,
    to_full_size,
    to_render_size,
)
from colorplug.engine.colorizer import Colorizer
from colorplug.errors import ColorplugError
from colorplug.io.provenance import is_colorplug_output
from colorplug.jobs.inputs import find_images
from colorplug.jobs.plan import plan_jobs
from tests.conftest import write_images


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def logits_peaked_at(*colours: tuple[float, float], size: int = 2) -> torch.Tensor:
    """Logits (1, Q, size, size) sharing their mass equally between the bins nearest the colours."""
    bins = ab_bins()
    logits = torch.full((1, len(bins), size, size), -30.0)
    for colour in colours:
        logits[0, int((bins - torch.tensor(colour)).norm(dim=1).argmin())] = 0.0
    return logits


def test_a_certain_colour_is_more_confident_than_two_far_apart():
    bins, weights, lightness = ab_bins(), torch.ones(len(ab_bins())), torch.full((1, 1, 8, 8), 60.0)
    sure = cell_confidence(logits_peaked_at((20.0, 20.0)), bins, weights, 0.4, lightness)
    torn = cell_confidence(logits_peaked_at((20.0, 20.0), (-30.0, -20.0)), bins, weights, 0.4, lightness)
    assert float(sure.min()) > 0.95
    assert float(torn.max()) < 0.5


def test_colours_outside_the_gamut_at_that_lightness_are_not_counted():
    bins = ab_bins()
    dark = torch.full((1, 1, 1, 1), 8.0)  # near black: vivid yellow cannot be shown
    probabilities = torch.softmax(logits_peaked_at((0.0, 0.0), (0.0, 90.0), size=1), dim=1)
    inside = bins_in_gamut(dark, bins)
    everything = torch.ones_like(inside)
    chosen = torch.zeros(1, 2, 1, 1)
    assert float(expected_distance(probabilities, bins, chosen, inside)) < 1.0
    assert float(expected_distance(probabilities, bins, chosen, everything)) > 40.0


def test_the_map_stops_at_a_lightness_edge_where_bilinear_would_blend():
    lightness = torch.full((1, 1, 8, 24), 20.0)
    lightness[..., 12:] = 80.0  # an edge on a cell boundary
    cells = torch.ones(1, 1, 2, 6)
    cells[..., 3:] = 0.0
    carried = to_render_size(cells, lightness)[0, 0]
    blended = F.interpolate(cells, scale_factor=4, mode="bilinear", align_corners=False)[0, 0]
    assert float(carried[:, 11].min()) > 0.95 and float(carried[:, 12].max()) < 0.05
    assert 0.1 < float(blended[0, 11]) < 0.9  # the test can tell the two apart


def test_the_full_size_map_is_8_bit_and_255_means_certain():
    full = to_full_size(torch.tensor([[0.0, 1.0]]), (10, 20))
    assert full.dtype == np.uint8 and full.shape == (10, 20)
    assert full[:, 0].min() < 30 and full[:, -1].max() == 255


def test_colorize_returns_the_map_in_the_kind_of_the_image(lite_weights, photos):
    colorizer = Colorizer(lite_weights, device="cpu")
    gray = np.asarray(Image.fromarray(photos["chelsea"]).convert("L").resize((96, 72)))
    image, sure = colorizer.colorize(gray, confidence=True)
    assert image.shape == (72, 96, 3) and sure.shape == (72, 96) and sure.dtype == np.uint8
    assert sure.min() < sure.max()  # a random network is not equally sure everywhere
    pil_image, pil_map = colorizer.colorize(Image.fromarray(gray), confidence=True)
    assert pil_map.mode == "L" and pil_map.size == pil_image.size
    assert np.array_equal(colorizer.colorize(gray), image)  # the colours are those without the map


def test_weights_without_the_distribution_head_refuse_a_map_in_one_line(tiny_weights):
    with pytest.raises(ColorplugError, match="predict no colour distribution"):
        Colorizer(tiny_weights, device="cpu").colorize(np.zeros((30, 40), np.uint8), confidence=True)


def test_the_planner_names_maps_beside_outputs_and_never_over_an_input(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "a_confidence.png", "b.jpg"):
        Image.new("L", (8, 8)).save(folder / name)
    found, _ = find_images([str(folder)])
    plan = plan_jobs(found, folder, name_suffix="_c", confidence=True)
    targets = {job.source.name: (job.target.name, job.confidence.name) for job in plan.jobs}
    assert targets["b.jpg"] == ("b_c.jpg", "b_c_confidence.png")
    same = plan_jobs(found, folder, confidence=True)
    refused = {path.name: why for path, why in same.problems}
    assert "input file" in refused["a.png"]  # a's output a.png is an input; and its map is one too


def test_a_job_is_skipped_only_when_output_and_map_both_exist(tmp_path):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    Image.new("L", (8, 8)).save(folder / "p.png")
    Image.new("RGB", (8, 8)).save(out / "p.png")
    found, _ = find_images([str(folder)])
    assert len(plan_jobs(found, out, confidence=True).jobs) == 1
    Image.new("L", (8, 8)).save(out / "p_confidence.png")
    plan = plan_jobs(found, out, confidence=True)
    assert not plan.jobs and len(plan.existing) == 1
    assert len(plan_jobs(found, out).existing) == 1


def test_run_confidence_writes_marked_maps_and_a_rerun_skips_them(tmp_path, photos, lite_weights):
    paths = write_images(tmp_path / "in", {"coffee": photos["coffee"], "chelsea": photos["chelsea"]})
    out = tmp_path / "out"
    result = invoke("run", tmp_path / "in", "-o", out, "--weights", lite_weights, "--confidence", "--quiet")
    assert result.exit_code == 0, result.output
    for path in paths:
        confidence = out / f"{path.stem}_confidence.png"
        with Image.open(confidence) as image, Image.open(out / path.name) as colour:
            assert image.mode == "L" and image.size == colour.size
        assert is_colorplug_output(confidence)
    again = invoke("run", tmp_path / "in", "-o", out, "--weights", lite_weights, "--confidence")
    assert "0 colorized, 2 skipped" in again.output


def test_run_confidence_with_weights_without_the_head_is_one_line_exit_2(tmp_path, photos, tiny_weights):
    write_images(tmp_path / "in", {"coffee": photos["coffee"]})
    result = invoke("run", tmp_path / "in", "-o", tmp_path / "out", "--weights", tiny_weights, "--confidence")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--confidence" in lines[0] and "distribution" in lines[0]


def test_the_map_is_of_the_colour_the_chosen_decoder_picks():
    bins, weights, lightness = ab_bins(), torch.ones(len(ab_bins())), torch.full((1, 1, 8, 8), 60.0)
    logits = torch.log(torch.softmax(logits_peaked_at((30.0, 30.0), (-30.0, -30.0)), dim=1) + 1e-9)
    logits[:, int((bins - torch.tensor([30.0, 30.0])).norm(dim=1).argmin())] += 0.5  # one leads
    annealed = cell_confidence(logits, bins, weights, 1.0, lightness, "annealed")
    region = cell_confidence(logits, bins, weights, 1.0, lightness, "region")
    assert float(region.mean()) != pytest.approx(float(annealed.mean()), abs=1e-3)


def test_the_gamut_table_agrees_with_the_exact_test_but_near_its_edge():
    from colorplug.color.confidence import exactly_in_gamut

    bins = ab_bins()
    lightness = torch.linspace(0, 100, 997).view(1, 1, -1, 1)
    table, exact = bins_in_gamut(lightness, bins), exactly_in_gamut(lightness, bins)
    assert table.shape == exact.shape == (1, len(bins), 997, 1)
    assert float((table != exact).float().mean()) < 0.01


def test_a_broken_photo_does_not_stop_the_maps_of_the_others(tmp_path, photos, lite_weights):
    paths = write_images(tmp_path / "in", {"coffee": photos["coffee"]})
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["run", str(tmp_path / "in"), "-o", str(out), "--weights", str(lite_weights), "--confidence"]
    )
    assert result.exit_code == 1 and "broken.png" in result.output and "Traceback" not in result.output
    assert (out / f"{paths[0].stem}_confidence.png").is_file()
    assert not (out / "broken_confidence.png").exists()


def test_a_rerun_adding_confidence_writes_only_the_maps(tmp_path, photos, lite_weights):
    paths = write_images(tmp_path / "in", {"coffee": photos["coffee"]})
    out = tmp_path / "out"
    assert invoke("run", tmp_path / "in", "-o", out, "--weights", lite_weights, "--quiet").exit_code == 0
    colour = out / paths[0].name
    before = (colour.read_bytes(), colour.stat().st_mtime_ns)
    again = invoke("run", tmp_path / "in", "-o", out, "--weights", lite_weights, "--confidence", "--quiet")
    assert again.exit_code == 0, again.output
    assert (colour.read_bytes(), colour.stat().st_mtime_ns) == before  # the finished output is kept as it was
    with Image.open(out / f"{paths[0].stem}_confidence.png") as image:
        assert image.mode == "L"
