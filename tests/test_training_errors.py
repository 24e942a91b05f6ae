"""`colorplug train` on damaged data and checkpoints: one clear line naming the file, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

COLORPLUG = [sys.executable, "-m", "colorplug_cli.main"]


def colour_folder(folder: Path, photos, count: int = 8) -> None:
    folder.mkdir(parents=True)
    sources = list(photos.values())
    for index in range(count):
        array = np.roll(sources[index % len(sources)], index * 11, axis=1)
        Image.fromarray(array).resize((48, 48)).save(folder / f"{index:02d}.jpg", quality=90)


def train(data: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [*COLORPLUG, "train", str(data), "--out", str(out), "--width", "0.0625", "--image-size", "32"]
    command += ["--batch-size", "4", "--epochs", "1", "--threads", "1", "-q", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_a_truncated_image_is_named_and_training_goes_on(tmp_path, photos):
    data = tmp_path / "data"
    colour_folder(data, photos)
    whole = (data / "03.jpg").read_bytes()
    (data / "03.jpg").write_bytes(whole[: len(whole) // 3])
    for workers in ("0", "2"):
        for preload in ("yes", "no"):
            result = train(
                data, tmp_path / f"run-{workers}-{preload}", "--workers", workers, "--preload", preload
            )
            assert result.returncode == 0, result.stderr
            assert "skipping unreadable training image" in result.stderr and "03.jpg" in result.stderr
            assert "Traceback" not in result.stderr


def test_a_damaged_checkpoint_is_one_line(tmp_path, photos):
    data, out = tmp_path / "data", tmp_path / "run"
    colour_folder(data, photos)
    assert train(data, out).returncode == 0
    checkpoint = out / "checkpoint.pt"
    whole = checkpoint.read_bytes()
    for damage in (whole[: len(whole) // 2], b"garbage", whole[:100] + b"\0" * 100 + whole[200:]):
        checkpoint.write_bytes(damage)
        result = train(data, out, "--resume", "--epochs", "2")
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and "checkpoint" in result.stderr
        assert "weights_only" not in result.stderr


def test_resuming_a_finished_run_says_so_and_writes_no_nan(tmp_path, photos):
    data, out = tmp_path / "data", tmp_path / "run"
    colour_folder(data, photos)
    assert train(data, out).returncode == 0
    entry = (out / "manifest_entry.json").read_text()
    result = train(data, out, "--resume")
    assert result.returncode == 2 and "has done its 1 epochs" in result.stderr
    assert (out / "manifest_entry.json").read_text() == entry
    assert "NaN" not in entry and json.loads(entry)["recipe"]["epochs_done"] == 1
    resumed = train(data, out, "--resume", "--epochs", "2")
    assert resumed.returncode == 0 and "trained 2 epochs" in resumed.stdout


def test_tiny_crops_with_a_bad_photo_in_a_batch_do_not_stop_training(tmp_path, photos):
    data = tmp_path / "data"
    colour_folder(data, photos, count=6)
    whole = (data / "00.jpg").read_bytes()
    (data / "00.jpg").write_bytes(whole[: len(whole) // 3])
    command = [*COLORPLUG, "train", str(data), "--out", str(tmp_path / "run"), "--width", "0.0625"]
    command += [
        "--image-size",
        "32",
        "--batch-size",
        "2",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--workers",
        "0",
        "-q",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "skipping unreadable training image" in result.stderr and "Traceback" not in result.stderr


def test_a_named_pipe_among_training_photos_is_named_and_left_out(tmp_path, photos):
    import os

    data = tmp_path / "data"
    colour_folder(data, photos)
    os.mkfifo(data / "pipe.jpg")
    result = train(data, tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "skipping" in result.stderr and "pipe.jpg" in result.stderr
