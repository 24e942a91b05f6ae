"""Interrupted runs, unreadable inputs, unwritable and full outputs: nothing lost, nothing half-written."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from colorplug_cli.main import main
from PIL import Image

from colorplug.io import encode as encode_module

COLORPLUG = [sys.executable, "-m", "colorplug_cli.main"]


def make_folder(folder: Path, photos, count: int, size: int = 256, mode: str = "L") -> list[Path]:
    """`count` different JPEGs made from the photos (gray by default; mode RGB for training data)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = list(photos.values())
    paths = []
    for index in range(count):
        array = np.roll(sources[index % len(sources)], index * 13, axis=1)
        path = folder / f"{index:03d}.jpg"
        Image.fromarray(array).convert(mode).resize((size, size)).save(path, quality=90)
        paths.append(path)
    return paths


def complete_image(path: Path) -> bool:
    try:
        with Image.open(path) as image:
            image.load()
        return True
    except OSError:
        return False


@pytest.mark.slow
def test_killed_run_never_leaves_partial_outputs_and_rerun_does_the_rest(tmp_path, photos, tiny_weights):
    source, out = tmp_path / "in", tmp_path / "out"
    make_folder(source, photos, 150, size=384)
    command = [*COLORPLUG, "run", str(source), "-o", str(out), "--weights", str(tiny_weights)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen_complete: set[str] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.is_dir():
            for path in out.iterdir():
                if path.name.startswith(".") or path.name in seen_complete:
                    continue
                assert complete_image(path), f"{path.name} visible before it was complete"
                seen_complete.add(path.name)
        if len(seen_complete) >= 30:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    finals = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert all(complete_image(p) for p in finals)
    done_before = len(finals)
    assert 30 <= done_before < 150
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{150 - done_before} colorized, {done_before} skipped (output exists)" in rerun.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in source.iterdir())  # no temp left
    assert all(complete_image(p) for p in out.iterdir())


def train_command(data: Path, out: Path, epochs: int) -> list[str]:
    # One thread: with two, the CPU kernels now and then round differently (seen here: epoch-1 loss
    # 0.318576 or 0.319610 for the same seed); single-threaded CPU training is bit-for-bit repeatable.
    options = [
        "--width",
        "0.0625",
        "--image-size",
        "32",
        "--batch-size",
        "4",
        "--workers",
        "0",
        "--seed",
        "3",
        "--threads",
        "1",
        "--precision",
        "fp32",  # `auto` times both and could choose differently in the two runs compared
        "-q",
    ]
    return [*COLORPLUG, "train", str(data), "--out", str(out), "--epochs", str(epochs), *options]


def losses(log: Path) -> dict[int, str]:
    rows = log.read_text().splitlines()[1:]
    return {int(row.split(",")[0]): row.split(",")[3] for row in rows}


@pytest.mark.slow
def test_killed_training_resumes_and_matches_an_uninterrupted_run(tmp_path, photos):
    data = tmp_path / "data"
    for index in range(4):
        make_folder(data / str(index), photos, 10, size=64, mode="RGB")  # 40 images, 10 steps an epoch
    epochs = 8
    whole = tmp_path / "whole"
    subprocess.run(train_command(data, whole, epochs), check=True, capture_output=True, timeout=300)
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        train_command(data, killed, epochs), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (killed / "log.csv").is_file() and len(losses(killed / "log.csv")) >= 2:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "training ended before it could be killed"
    kept = len(losses(killed / "log.csv"))
    assert kept < epochs
    subprocess.run(
        [*train_command(data, killed, epochs), "--resume"], check=True, capture_output=True, timeout=300
    )
    assert losses(killed / "log.csv") == losses(whole / "log.csv")  # every epoch, to the printed digit
    assert (killed / "custom.pt").read_bytes() == (whole / "custom.pt").read_bytes()


def test_full_disk_leaves_no_partial_file_and_a_clear_line(tmp_path, photos, tiny_weights, monkeypatch):
    source, out = tmp_path / "in", tmp_path / "out"
    make_folder(source, photos, 3)
    real_save = encode_module._save_8bit

    def filling_save(picture, temp, fmt, quality, lossless):
        real_save(picture, temp, fmt, quality, lossless)
        with open(temp, "ab") as handle:
            handle.write(b"\0" * 10)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(temp))

    monkeypatch.setattr(encode_module, "_save_8bit", filling_save)
    result = CliRunner().invoke(main, ["run", str(source), "-o", str(out), "--weights", str(tiny_weights)])
    assert result.exit_code == 1
    assert result.stderr.count("No space left on device") == 3
    assert list(out.iterdir()) == []  # neither outputs nor temporary files


def can_mount() -> str:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare to mount a tiny file system"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return "" if probe.returncode == 0 else "unshare --mount is not permitted here"


def test_a_really_full_file_system(tmp_path, photos, tiny_weights):
    reason = can_mount()
    if reason:
        pytest.skip(reason)
    source, small, copy = tmp_path / "in", tmp_path / "small", tmp_path / "copy"
    make_folder(source, photos, 12, size=512)
    small.mkdir()
    script = (
        f"mount -t tmpfs -o size=400k tmpfs {small} && "
        f"{' '.join(COLORPLUG)} run {source} -o {small} --weights {tiny_weights} --format png; "
        f"echo rc=$?; cp -a {small} {copy}"
    )
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "rc=1" in result.stdout, result.stderr
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    written = list(copy.iterdir())
    assert 0 < len(written) < 12
    assert all(not p.name.startswith(".") and complete_image(p) for p in written)


def as_nobody() -> list[str] | None:
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_unreadable_inputs_and_unwritable_output_folder(photos, tiny_weights):
    prefix = as_nobody()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    base = Path(tempfile.mkdtemp(prefix="colorplug-perm-"))
    try:
        base.chmod(0o755)
        source, locked, out = base / "in", base / "locked", base / "out"
        make_folder(source, photos, 3)
        (source / "001.jpg").chmod(0o000)
        home = base / "home"
        for folder, mode in ((locked, 0o555), (out, 0o777), (home, 0o777)):
            folder.mkdir()
            folder.chmod(mode)  # mkdir's mode is filtered by the umask
        weights = base / "tiny.pt"
        shutil.copy(tiny_weights, weights)
        weights.chmod(0o644)
        for path in [source, *source.iterdir()]:
            if path.name != "001.jpg":
                path.chmod(0o755 if path.is_dir() else 0o644)
        env = {**os.environ, "COLORPLUG_HOME": str(home)}
        common = ["--weights", str(weights)]
        readable = subprocess.run(
            [*prefix, *COLORPLUG, "run", str(source), "-o", str(out), *common],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert readable.returncode == 1, readable.stderr
        assert "001.jpg: permission denied" in readable.stderr
        assert sorted(p.name for p in out.iterdir()) == ["000.jpg", "002.jpg"]
        unwritable = subprocess.run(
            [*prefix, *COLORPLUG, "run", str(source / "000.jpg"), "-o", str(locked), *common],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert unwritable.returncode == 2  # a usage error, found before any work
        assert "permission denied" in unwritable.stderr and "Traceback" not in unwritable.stderr
        assert list(locked.iterdir()) == []
    finally:
        for path in base.rglob("*"):
            path.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_outputs_never_escape_the_output_folder(tmp_path, photos, tiny_weights):
    source, out, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    make_folder(source / "sub", photos, 2)
    elsewhere.mkdir()
    out.mkdir()
    os.symlink(elsewhere, out / "sub")  # a link inside the output tree pointing outside it
    outside = tmp_path / "outside-photos"
    make_folder(outside, photos, 1)
    os.symlink(outside, source / "linked")  # a link inside the input tree: mirrored inside OUT
    result = CliRunner().invoke(main, ["run", str(source), "-o", str(out), "--weights", str(tiny_weights)])
    assert result.exit_code == 1
    assert result.stderr.count("would leave the output folder") == 2
    assert list(elsewhere.iterdir()) == []
    assert (out / "linked" / "000.jpg").is_file()


def test_inputs_are_unchanged_after_overwrite_runs(tmp_path, photos, tiny_weights):
    source = tmp_path / "in"
    make_folder(source, photos, 3)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in source.iterdir()}
    for extra in ([], ["--overwrite"], ["--overwrite", "--format", "jpg"]):
        CliRunner().invoke(
            main, ["run", str(source), "-o", str(source), "--weights", str(tiny_weights), *extra]
        )
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in source.iterdir()}
