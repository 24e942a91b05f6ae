"""Hold out a seeded validation part of a training folder, as two folders of links (nothing is copied).

    python tools/split_validation.py ../shared/data/general/train data/general --count 500

makes data/general/train (the rest) and data/general/val (`count` images picked by a seeded shuffle).
Everything chosen on validation figures (the default vividness, the render size) is chosen on val,
never on a test split.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

from colorplug.jobs.inputs import find_images


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    found, problems = find_images([str(args.source)])
    if problems or not found:
        raise SystemExit(f"cannot list {args.source}: {problems or 'no images'}")
    paths = sorted(item.path for item in found)
    held_out = set(random.Random(args.seed).sample(range(len(paths)), args.count))
    for index, path in enumerate(paths):
        link = args.out / ("val" if index in held_out else "train") / path.relative_to(args.source)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(os.path.abspath(path))
    print(f"{len(paths) - args.count} train and {args.count} val links under {args.out}")


if __name__ == "__main__":
    main()
