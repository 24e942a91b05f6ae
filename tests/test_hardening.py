"""Odd inputs a careless or hostile user gives (issue 19): each class has one clear line and no leftovers.

SIGTERM while writing, file names holding control characters or invalid UTF-8, weights files malformed
in their values, and two runs writing one output folder at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from colorplug.io import encode as encode_module
from colorplug.io.files import display_path
from colorplug.nets.registry import NetworkConfig, create_model
from colorplug.nets.weights import FORMAT_VERSION
from tests.conftest import write_images


def invoke(*args):
    return CliRunner().invoke(main, [a if isinstance(a, bytes) else str(a) for a in args])


@pytest.fixture()
def folder(tmp_path, photos) -> Path:
    write_images(tmp_path / "in", photos)
    return tmp_path / "in"


@pytest.fixture()
def sigterm_restored():
    """The CLI installs its own SIGTERM handler; put pytest's back afterwards."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


def test_sigterm_while_writing_leaves_no_temporary_or_partial_file(
    folder, tmp_path, tiny_weights, monkeypatch, sigterm_restored
):
    save = encode_module._save_8bit

    def write_half_then_get_terminated(picture, temp, fmt, quality, lossless):
        temp.write_bytes(b"\xff\xd8 half a JPEG")
        os.kill(os.getpid(), signal.SIGTERM)
        save(picture, temp, fmt, quality, lossless)  # never reached: the handler raises first

    monkeypatch.setattr(encode_module, "_save_8bit", write_half_then_get_terminated)
    out = tmp_path / "out"
    result = invoke("run", folder, "-o", out, "--weights", tiny_weights)
    assert result.exit_code == 143, result.output
    assert result.stderr.strip() == "colorplug: terminated"
    assert list(out.iterdir()) == []  # neither the temporary nor a partial output


def test_the_gimp_bridge_stops_on_sigterm_without_a_partial_output(tmp_path, monkeypatch, sigterm_restored):
    from colorplug.gimp import bridge

    def terminated(folder):
        (folder / ".output.raw.part").write_bytes(b"x")  # what a writer inside atomic_path would hold
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("not reached")

    monkeypatch.setattr(bridge, "colorize_request", terminated)
    assert bridge.main([str(tmp_path)]) == 143


def test_atomic_path_removes_its_temporary_on_sigterm(tmp_path, sigterm_restored):
    from colorplug.io.files import Terminated, atomic_path, stop_cleanly_on_sigterm

    stop_cleanly_on_sigterm()
    target = tmp_path / "out.bin"
    with pytest.raises(Terminated), atomic_path(target) as temp:
        temp.write_bytes(b"partial")
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(10**6):  # the handler runs between bytecodes
            pass
    assert list(tmp_path.iterdir()) == []


NAMES = ["new\nline.jpg", "tab\there.jpg", "bell\x07\x1b[31m.jpg"]


@pytest.mark.parametrize("name", NAMES)
def test_control_characters_in_file_names_are_escaped_in_one_line_errors(tmp_path, tiny_weights, name):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_bytes(b"not a JPEG")
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", tiny_weights)
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and display_path(folder / name) in failed[0]
    assert not any(ch in result.stderr for ch in "\t\x07\x1b")
    assert result.stderr.count("\n") == len(result.stderr.splitlines())


@pytest.mark.skipif(sys.platform != "linux", reason="file names of any bytes are a Linux file system's")
def test_invalid_utf8_in_a_file_name_is_shown_as_escapes(tmp_path, tiny_weights):
    folder = tmp_path / "in"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"caf\xe9\xff.jpg"), "wb") as handle:
        handle.write(b"not a JPEG")
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", tiny_weights)
    assert result.exit_code == 1
    assert "caf\\xe9\\xff.jpg" in result.stderr and "\udce9" not in result.stderr


def test_escaping_keeps_printable_text_as_it_is():
    assert display_path("photos/été 1931.jpg") == "photos/été 1931.jpg"
    assert display_path("a\nb\x00c") == "a\\nb\\x00c"


def weights_payload(**changes) -> dict:
    model = create_model("seed", 0.0625)
    payload = {
        "format": FORMAT_VERSION,
        "arch": "seed",
        "width": 0.0625,
        "heads": ["regression"],
        "network": NetworkConfig.of("seed", 0.0625).to_dict(),
        "state_dict": model.state_dict(),
    }
    for key, value in changes.items():
        if key == "network" and isinstance(value, dict):
            payload["network"] = {**payload["network"], **value}
        else:
            payload[key] = value
    return payload


def with_entry(key: str, value) -> dict:
    state = create_model("seed", 0.0625).state_dict()
    first = next(iter(state))
    state[first if key == "first" else key] = value
    return state


MALFORMED = {
    "non-tensor entry": {"state_dict": with_entry("first", 3)},
    "string entry": {"state_dict": with_entry("first", "weights")},
    "empty state dict": {"state_dict": {}},
    "state dict a list": {"state_dict": [1, 2]},
    "complex tensor": {"state_dict": with_entry("first", torch.zeros(2, dtype=torch.complex64))},
    "integer tensor for a float": {"state_dict": with_entry("first", torch.zeros(16, 1, 3, 3).int())},
    "negative render size": {"render_size": -5},
    "absurd render size": {"render_size": 10**12},
    "render size text": {"render_size": "160"},
    "render size float": {"render_size": 160.5},
    "width nan": {"network": {"width": float("nan")}},
    "width text": {"network": {"width": "1"}},
    "unknown head": {"network": {"heads": ["colours"]}},
    "heads a string": {"network": {"heads": "regression"}},
    "network a list": {"network": [1]},
    "takes_hints text": {"network": {"takes_hints": "yes"}},
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_weights_malformed_in_their_values_are_refused_with_exit_2(folder, tmp_path, case):
    payload = weights_payload(**MALFORMED[case])
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", path)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("colorplug: error: ") and result.stderr.count("\n") == 1
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_well_formed_weights_still_load(folder, tmp_path):
    path = tmp_path / "good.pt"
    torch.save(weights_payload(render_size=64), path)
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", path)
    assert result.exit_code == 0, result.output


def other_run_finishing_first(monkeypatch) -> None:
    """Each output appears (another run's, 8x8 red) while this run writes its temporary file."""
    real = encode_module.atomic_path

    @contextlib.contextmanager
    def atomic_path(target, **options):
        with real(target, **options) as temp:
            yield temp
            Image.new("RGB", (8, 8), "red").save(target)

    monkeypatch.setattr(encode_module, "atomic_path", atomic_path)


def test_an_output_made_meanwhile_by_another_run_is_kept(folder, tmp_path, tiny_weights, monkeypatch):
    out = tmp_path / "out"
    other_run_finishing_first(monkeypatch)
    result = invoke("run", folder, "-o", out, "--weights", tiny_weights)
    assert result.exit_code == 1
    assert result.stderr.count("written meanwhile by another run: kept it") == 3
    assert len(list(out.iterdir())) == 3
    for path in out.iterdir():
        with Image.open(path) as image:
            assert image.size == (8, 8)  # theirs, not replaced


def test_overwrite_replaces_an_output_made_meanwhile(folder, tmp_path, tiny_weights, monkeypatch):
    out = tmp_path / "out"
    other_run_finishing_first(monkeypatch)
    result = invoke("run", folder, "-o", out, "--weights", tiny_weights, "--overwrite")
    assert result.exit_code == 0, result.output
    assert len(list(out.iterdir())) == 3
    for path in out.iterdir():
        with Image.open(path) as image:
            assert image.size == (96, 72)


@pytest.mark.parametrize("way", ["renameat2", "link", "plain"])
def test_rename_no_replace_refuses_in_every_fallback(tmp_path, monkeypatch, way):
    from colorplug.io import files

    if way != "renameat2":
        monkeypatch.setattr(files, "_renameat2_no_replace", lambda source, target: False)
    if way == "plain":
        monkeypatch.setattr(files.os, "link", lambda a, b: (_ for _ in ()).throw(OSError(1, "no links")))
    (tmp_path / "a").write_text("mine")
    (tmp_path / "b").write_text("theirs")
    with pytest.raises(FileExistsError):
        files.rename_no_replace(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b").read_text() == "theirs"
    files.rename_no_replace(tmp_path / "a", tmp_path / "c")
    assert (tmp_path / "c").read_text() == "mine" and not (tmp_path / "a").exists()


def hint_image(path: Path, size=(96, 72)) -> Path:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.putpixel((10, 10), (255, 0, 0, 255))
    image.save(path)
    return path


@pytest.mark.parametrize("shard", ["1/1", "1/3", "2/3", "3/3"])
def test_one_hint_image_for_a_folder_is_refused_in_every_shard(folder, tmp_path, lite_weights, shard):
    hints = hint_image(tmp_path / "hint.png")
    command = ["run", folder, "-o", tmp_path / "out", "--weights", lite_weights, "--hints", hints]
    result = invoke(*command, "--shard", shard)
    assert result.exit_code == 2, result.output
    assert "is one hint image but several photos were given" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


def test_one_hint_image_for_one_photo_still_applies(folder, tmp_path, lite_weights):
    hints = hint_image(tmp_path / "hint.png")
    out = tmp_path / "out"
    result = invoke("run", folder / "coffee.jpg", "-o", out, "--weights", lite_weights, "--hints", hints)
    assert result.exit_code == 0, result.output
    assert [path.name for path in out.iterdir()] == ["coffee.jpg"]


def test_hints_naming_the_input_folder_are_refused(folder, tmp_path, lite_weights):
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", lite_weights, "--hints", folder)
    assert result.exit_code == 2, result.output
    assert "holds the photos themselves" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", [["--vividness", "0.5"], ["--hints", "HINTS"], ["--decoder", "region"]])
def test_options_the_weights_cannot_honour_are_refused_even_when_every_output_exists(
    folder, tmp_path, tiny_weights, option
):
    (tmp_path / "hints").mkdir()
    option = [str(tmp_path / "hints") if value == "HINTS" else value for value in option]
    fresh = invoke("run", folder, "-o", tmp_path / "fresh", "--weights", tiny_weights, *option)
    assert fresh.exit_code == 2, fresh.output
    assert not (tmp_path / "fresh").exists()  # a refused run leaves no empty output folder
    out = tmp_path / "out"
    assert invoke("run", folder, "-o", out, "--weights", tiny_weights).exit_code == 0
    rerun = invoke("run", folder, "-o", out, "--weights", tiny_weights, *option)
    assert rerun.exit_code == 2, rerun.output
    assert rerun.stderr.startswith("colorplug: error: ") and rerun.stderr.count("\n") == 1


def test_foreign_messages_holding_control_characters_stay_one_printable_line():
    from colorplug.errors import one_line

    message = one_line(OSError("cannot identify image file 'a\x1b[2J\tb\udcff.jpg'\nsecond line"))
    assert message == "cannot identify image file 'a\\x1b[2J\\tb\\xff.jpg'"
    assert one_line(KeyError("k\x07"), with_type=True) == "KeyError: 'k\\x07'"


def test_plan_refusals_escape_the_names_they_give(tmp_path, tiny_weights):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("L", (16, 16)).save(folder / "x\x1b.jpg", format="JPEG")
    result = invoke("run", folder / "x\x1b.jpg", "-o", folder, "--weights", tiny_weights)
    assert result.exit_code == 1 and "is an input file" in result.stderr
    assert "\x1b" not in result.stderr and "x\\x1b.jpg" in result.stderr


def test_a_16_bit_photo_bound_for_jpeg_is_composed_at_8_bits_as_its_16_bit_result_rounded(
    tmp_path, photos, tiny_weights, monkeypatch
):
    import numpy as np
    import tifffile

    from colorplug.engine.colorizer import Colorizer

    folder = tmp_path / "in"
    folder.mkdir()
    gray = np.asarray(Image.fromarray(photos["coffee"]).convert("L").resize((96, 72)), np.uint16) * 257
    tifffile.imwrite(folder / "scan.tif", gray, photometric="minisblack")
    finished, finish = [], Colorizer.finish

    def spy(self, prepared, ab, dtype=None, padded=False):
        finished.append((finish(self, prepared, ab, dtype, padded), finish(self, prepared, ab)))
        return finished[-1][0]

    monkeypatch.setattr(Colorizer, "finish", spy)
    result = invoke("run", folder, "-o", tmp_path / "out", "--weights", tiny_weights, "--format", "jpg")
    assert result.exit_code == 0, result.output
    ((eight, sixteen),) = finished
    assert eight.color.dtype == np.uint8 and sixteen.color.dtype == np.uint16
    rounded = (sixteen.color.astype(np.uint32) * 255 + 32767) // 65535
    assert np.abs(eight.color.astype(int) - rounded.astype(int)).max() <= 1
