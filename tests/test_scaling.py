"""Scale-out: `colorplug train` under torchrun (2 CPU ranks, gloo) and `colorplug run --shard I/N`."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from colorplug_cli.main import main

from colorplug.jobs.inputs import InputFile
from colorplug.jobs.plan import in_shard, plan_jobs
from colorplug.nets.weights import read_weights_file
from tests.test_reliability import make_folder

TRAIN = [
    "train",
    "--width",
    "0.0625",
    "--image-size",
    "32",
    "--batch-size",
    "8",
    "--workers",
    "0",
    "--seed",
    "5",
    "--precision",
    "fp32",
    "-q",
]


def train(data: Path, out: Path, epochs: int, ranks: int = 1, resume: bool = False):
    launcher = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}"]
        if ranks > 1
        else [sys.executable]
    )
    command = [
        *launcher,
        "-m",
        "colorplug_cli.main",
        *TRAIN[:1],
        str(data),
        "--out",
        str(out),
        *TRAIN[1:],
        "--epochs",
        str(epochs),
        *(["--resume"] if resume else []),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def log_losses(out: Path) -> list[float]:
    return [float(row.split(",")[3]) for row in (out / "log.csv").read_text().splitlines()[1:]]


@pytest.fixture(scope="module")
def data(tmp_path_factory, photos) -> Path:
    folder = tmp_path_factory.mktemp("ddp-data")
    for index in range(4):
        make_folder(folder / str(index), photos, 8, size=48, mode="RGB")  # 32 images: 4 batches an epoch
    return folder


@pytest.mark.slow
def test_two_gloo_ranks_train_like_one_process_and_resume(data, tmp_path):
    single = train(data, tmp_path / "single", 3)
    assert single.returncode == 0, single.stderr
    group = train(data, tmp_path / "group", 3, ranks=2)
    assert group.returncode == 0, group.stderr[-3000:]
    assert "rank 0/2: trained 3 epochs (12 steps)" in group.stdout
    assert "rank 1/2: trained 3 epochs (12 steps)" in group.stdout  # both ranks did every step
    ours, theirs = log_losses(tmp_path / "group"), log_losses(tmp_path / "single")
    assert len(ours) == len(theirs) == 3
    # Same samples, crops and averaged gradients; only BatchNorm sees 4 images per rank instead of 8
    # (SyncBatchNorm needs CUDA), so the curves agree closely rather than exactly.
    assert all(abs(a - b) / b < 0.1 for a, b in zip(ours, theirs, strict=True)), (ours, theirs)
    group_state = read_weights_file(tmp_path / "group" / "custom.pt").state_dict
    single_state = read_weights_file(tmp_path / "single" / "custom.pt").state_dict
    weight = "encoder.blocks.0.0.0.weight"
    cosine = torch.nn.functional.cosine_similarity(
        group_state[weight].float().flatten(), single_state[weight].float().flatten(), dim=0
    )
    assert cosine > 0.9
    resumed = train(data, tmp_path / "group", 4, ranks=2, resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "rank 1/2: trained 4 epochs" in resumed.stdout
    assert len(log_losses(tmp_path / "group")) == 4
    assert log_losses(tmp_path / "group")[:3] == ours  # the group's first epochs were kept, not redone


def test_shards_cover_every_file_exactly_once_whatever_the_order():
    files = [Path(f"album {i // 50}/photo_{i:04d}.jpg") for i in range(1000)]
    count = 7
    owners = [[s for s in range(1, count + 1) if in_shard(f, s, count)] for f in files]
    assert all(len(owner) == 1 for owner in owners)
    sizes = [sum(owner == [s] for owner in owners) for s in range(1, count + 1)]
    assert min(sizes) > 100  # balanced enough
    shuffled = random.Random(0).sample(files, len(files))  # the order another file system lists them in
    assert shuffled != files
    assert {f for f in shuffled if in_shard(f, 3, count)} == {f for f in files if in_shard(f, 3, count)}


def test_shard_runs_together_do_the_folder_once(tmp_path, photos, tiny_weights):
    source, out = tmp_path / "in", tmp_path / "out"
    make_folder(source, photos, 12, size=64)
    done = []
    for shard in ("1/3", "2/3", "3/3", "2/3"):  # the last one re-runs a shard: nothing left to do
        result = CliRunner().invoke(
            main, ["run", str(source), "-o", str(out), "--weights", str(tiny_weights), "--shard", shard]
        )
        assert result.exit_code == 0
        done.append(int(result.stderr.split("colorplug: ")[-1].split(" colorized")[0]))
    assert sum(done[:3]) == 12 and done[3] == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in source.iterdir())
    plan = plan_jobs([InputFile(p, Path(p.name)) for p in sorted(source.iterdir())], out, shard=(1, 3))
    assert len(plan.existing) == done[0]
