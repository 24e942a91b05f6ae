"""The training log: one CSV row per epoch (loss, validation losses, throughput, the share of step time
spent waiting for data), kept consistent with the checkpoint when a run is resumed."""

from __future__ import annotations

import csv
from pathlib import Path

from colorplug.io.files import atomic_path

LOG = "log.csv"
LOG_FIELDS = [
    "epoch",
    "step",
    "images",
    "loss",
    "val_loss",
    "val_loss_hints",
    "images_per_s",
    "data_wait_fraction",
    "lr",
    "elapsed_s",
]


def truncate_log(path: Path, epochs_kept: int) -> None:
    """Keep the header and the rows of the epochs a resumed run does not redo."""
    rows = []
    if path.is_file() and epochs_kept > 0:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.DictReader(handle) if int(row["epoch"]) <= epochs_kept]
    with atomic_path(path) as temp, open(temp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def append_log(path: Path, row: dict) -> None:
    """Add one epoch's row (fields it lacks stay empty)."""
    with open(path, "a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, LOG_FIELDS, restval="").writerow(row)
