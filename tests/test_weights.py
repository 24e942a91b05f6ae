"""Named weights: cache fill, hash verification, repair of damaged copies and safe loading."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from colorplug.engine.network import load_network
from colorplug.nets import weights as weights_module
from colorplug.nets.registry import NetworkConfig
from colorplug.nets.weights import (
    WeightsError,
    cached_path,
    ensure_cached,
    read_manifest,
    read_weights_file,
    resolve_weights,
    save_weights_file,
    sha256_of,
)


@pytest.fixture()
def shipped(tmp_path, tiny_weights, monkeypatch) -> Path:
    """A stand-in for the package's weights folder holding one entry, `tiny`."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    target = folder / "tiny.pt"
    target.write_bytes(tiny_weights.read_bytes())
    manifest = {
        "weights": {
            "tiny": {
                "file": "tiny.pt",
                "sha256": sha256_of(target),
                "arch": "seed",
                "width": 0.0625,
                "default": True,
            }
        }
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(weights_module, "shipped_dir", lambda: folder)
    return folder


def test_first_use_copies_into_the_user_data_dir_and_verifies(shipped, private_home):
    entry = read_manifest()["tiny"]
    path = ensure_cached(entry)
    assert path.parent == private_home / "weights"
    assert sha256_of(path) == entry.sha256
    assert resolve_weights(None).name == "tiny"  # the default


def test_damaged_cached_copy_is_detected_and_replaced(shipped):
    entry = read_manifest()["tiny"]
    path = ensure_cached(entry)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    assert ensure_cached(entry) == path
    assert sha256_of(path) == entry.sha256
    data = bytearray(path.read_bytes())
    data[5000] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    ensure_cached(entry)
    assert sha256_of(path) == entry.sha256


def test_shipped_file_not_matching_the_manifest_is_refused(shipped):
    data = bytearray((shipped / "tiny.pt").read_bytes())
    data[-100] ^= 0xFF
    (shipped / "tiny.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match the manifest's sha256"):
        resolve_weights("tiny")
    assert not cached_path(read_manifest()["tiny"]).exists()


def test_unknown_name_lists_the_known_ones(shipped):
    with pytest.raises(WeightsError, match=r"unknown weights 'nope'.*known: tiny"):
        resolve_weights("nope")


def test_a_weights_file_path_loads_directly(tiny_weights):
    network = load_network(tiny_weights)
    assert network.config.arch == "seed" and network.config.width == 0.0625
    assert not network.module.training


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {Exploit.marker}",))


def test_malicious_pickle_is_refused_without_running_code(tmp_path):
    Exploit.marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    with open(path, "wb") as handle:
        pickle.dump({"format": 1, "arch": "seed", "width": 1.0, "state_dict": Exploit()}, handle)
    with pytest.raises(WeightsError, match="not a safe colorplug weights file"):
        read_weights_file(path)
    assert not Exploit.marker.exists()


def test_files_that_are_not_weights_are_refused(tmp_path):
    plain = tmp_path / "plain.pt"
    torch.save({"weight": torch.zeros(2)}, plain)
    with pytest.raises(WeightsError, match="not a colorplug weights file"):
        read_weights_file(plain)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(WeightsError):
        read_weights_file(text)


def test_weights_for_another_architecture_are_refused(tmp_path, tiny_weights):
    state = read_weights_file(tiny_weights).state_dict
    wrong = tmp_path / "wrong.pt"
    save_weights_file(wrong, NetworkConfig.of("unet", 0.0625), state)
    with pytest.raises(WeightsError, match="do not fit architecture unet"):
        load_network(wrong)


CACHE_FILLER = """
import json, sys, time
from pathlib import Path
from colorplug.nets.weights import ensure_cached, read_manifest, sha256_of
folder, start_at = Path(sys.argv[1]), float(sys.argv[2])
entry = read_manifest(folder)["big"]
time.sleep(max(0.0, start_at - time.monotonic()))  # every process starts filling at the same moment
began = time.monotonic()
path = ensure_cached(entry, folder)
ended = time.monotonic()
assert sha256_of(path) == entry.sha256
print(json.dumps({"path": str(path), "began": began, "ended": ended}))
"""


@pytest.mark.slow
def test_two_processes_filling_the_cache_at_once_both_succeed(tmp_path, monkeypatch, private_home):
    big = tmp_path / "big"
    big.mkdir()
    state = {"w": torch.randn(24_000_000)}  # 48 MB in fp16: hashing and copying take a moment
    sha = save_weights_file(big / "big.pt", NetworkConfig.of("seed", 1.0), state)
    (big / "manifest.json").write_text(
        json.dumps({"weights": {"big": {"file": "big.pt", "sha256": sha, "arch": "seed", "width": 1.0}}})
    )
    env = {**os.environ, "COLORPLUG_HOME": str(private_home)}
    start_at = time.monotonic() + 5  # after every process has started and imported what it needs
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CACHE_FILLER, str(big), str(start_at)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    reports = [json.loads(stdout) for stdout, _ in outputs]
    assert max(r["began"] for r in reports) < min(r["ended"] for r in reports), "they never overlapped"
    cached = Path(reports[0]["path"])
    assert sha256_of(cached) == sha
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temporary files left


def test_weights_run_at_the_size_they_were_trained_at(shipped, tiny_weights):
    from colorplug import Colorizer

    manifest = json.loads((shipped / "manifest.json").read_text())
    manifest["weights"]["tiny"]["render_size"] = 96
    (shipped / "manifest.json").write_text(json.dumps(manifest))
    assert Colorizer("tiny", device="cpu").render_size == 96
    assert Colorizer("tiny", device="cpu", render_size=200).render_size == 200
    assert Colorizer(tiny_weights, device="cpu").render_size == 256  # a file without the field


def test_weights_files_say_what_network_they_hold(tmp_path, tiny_weights):
    network = NetworkConfig.of("lite0-unet", 0.25, ("regression", "classes"))
    assert network.takes_hints and network.predicts_distribution and network.memory_format == "contiguous"
    path = tmp_path / "new.pt"
    save_weights_file(path, network, {"w": torch.zeros(2)})
    assert torch.load(path, weights_only=True)["network"] == network.to_dict()
    assert read_weights_file(path).network == network
    old = read_weights_file(tiny_weights)  # written without the config: derived from arch, width, heads
    payload = torch.load(tiny_weights, weights_only=True)
    del payload["network"]
    torch.save(payload, tmp_path / "old.pt")
    assert read_weights_file(tmp_path / "old.pt").network == old.network == NetworkConfig.of("seed", 0.0625)


def test_shipped_weights_with_and_without_their_network_config_load():
    from colorplug.nets.weights import shipped_dir

    carried = []
    for entry in read_manifest().values():
        payload = torch.load(shipped_dir() / entry.file, weights_only=True)
        carried.append("network" in payload)  # older files predate it: their config is derived
        config = read_weights_file(shipped_dir() / entry.file).network
        assert (config.arch, config.width) == (entry.arch, entry.width)
    assert True in carried and False in carried  # general carries it; faces and fruits predate it
