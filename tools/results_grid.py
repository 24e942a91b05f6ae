"""Make the README's result grids: gray input / colorplug / ground truth for four test photos.

    python tools/results_grid.py general ../shared/data/general/test docs/results-general.jpg

The photos are the first, the last and two evenly between, of the test folder's sorted files (always the
same four), under the `seed` protocol, with the weights' default settings.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from colorplug import Colorizer
from colorplug.evaluation.report import grid_image
from colorplug.evaluation.truth import gray_baseline, ground_truth
from colorplug.jobs.inputs import find_images

PHOTOS = 4


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("weights")
    parser.add_argument("folder")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    colorizer = Colorizer(args.weights, device="cpu")
    paths = [item.path for item in find_images([args.folder])[0]]
    rows = []
    for index in np.linspace(0, len(paths) - 1, PHOTOS).round().astype(int):
        truth = ground_truth(paths[index], "paper", None)
        rows.append((gray_baseline(truth.color), colorizer.colorize_pictures([truth])[0].color, truth.color))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid_image(rows).save(args.out, quality=90)


if __name__ == "__main__":
    main()
