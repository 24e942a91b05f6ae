"""Choose the decoder and the default vividness on validation photos, by a rule fixed before any test run:

    the lowest Fréchet distance (realism, colorplug/evaluation/realism.py) among the settings whose mean
    PSNR gain over the gray baseline is at least +1.0 dB on the pooled validation photos.

    python tools/choose_decoder.py data/general/val ../shared/data/scenes/val --per-folder 250 \
        --weights general --out reports/choose-decoder.json

Every setting is measured on the same photos (paper protocol: 256x256) in one run, beside the gray
baseline; the table and the choice are printed and written as JSON. Test splits are never read here.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch

from colorplug.color.metrics import colorfulness, psnr
from colorplug.defaults import DECODER_NAMES
from colorplug.engine.colorizer import Colorizer
from colorplug.evaluation.realism import frechet_distance, load_feature_net, pooled_features
from colorplug.evaluation.truth import gray_baseline, ground_truth
from colorplug.jobs.inputs import find_images

MIN_GAIN_DB = 1.0


def truths(folders: list[str], per_folder: int) -> list[np.ndarray]:
    """The first `per_folder` photos of each folder as 256x256 uint8 RGB ground truths."""
    photos = []
    for folder in folders:
        found, _ = find_images([folder])
        photos += [ground_truth(item.path, "paper", None).color for item in found[:per_folder]]
    return photos


def measure(outputs: list[np.ndarray], photos: list[np.ndarray], truth_features: np.ndarray, net) -> dict:
    """Mean PSNR, colourfulness ratio and Fréchet distance of outputs against their ground truths."""
    truth_cf = np.mean([colorfulness(p) for p in photos])
    return {
        "psnr": float(np.mean([psnr(o, p) for o, p in zip(outputs, photos, strict=True)])),
        "colorfulness_ratio": float(np.mean([colorfulness(o) for o in outputs]) / truth_cf),
        "frechet_distance": frechet_distance(features(net, outputs), truth_features),
    }


def features(net, photos: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([pooled_features(net, photos[i : i + 32]) for i in range(0, len(photos), 32)])


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--per-folder", type=int, default=250)
    parser.add_argument("--weights", default="general")
    parser.add_argument("--vividness", type=float, nargs="+", default=[0.2, 0.4, 0.6, 0.8])
    parser.add_argument("--decoders", nargs="+", default=list(DECODER_NAMES))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    photos, net = truths(args.folders, args.per_folder), load_feature_net()
    truth_features = features(net, photos)
    gray = measure([gray_baseline(p) for p in photos], photos, truth_features, net)
    print(f"{len(photos)} photos; gray baseline: {gray}", flush=True)
    rows = []
    for decoder, vividness in itertools.product(args.decoders, args.vividness):
        colorizer = Colorizer(args.weights, device="cpu", vividness=vividness, decoder=decoder)
        outputs = [colorizer.colorize(p) for p in photos]
        row = {"decoder": decoder, "vividness": vividness, **measure(outputs, photos, truth_features, net)}
        row["psnr_gain"] = row["psnr"] - gray["psnr"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    allowed = [row for row in rows if row["psnr_gain"] >= MIN_GAIN_DB]
    chosen = min(allowed, key=lambda row: row["frechet_distance"]) if allowed else None
    print("chosen:", chosen)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"rule": __doc__.split("\n\n")[1].strip(), "folders": args.folders, "photos": len(photos)}
        record.update({"weights": args.weights, "gray_baseline": gray, "rows": rows, "chosen": chosen})
        args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
