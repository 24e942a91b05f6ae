"""One `colorplug run` as an object a front end hands off to: the inputs found and their outputs
planned (nothing read yet), the output folder made ready, then every job colorized.

A front end reports `problems` (one line each, the others are still done), calls `prepare_output`, and
iterates `colorize`, which yields one JobResult per job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from colorplug.errors import ColorplugError, SettingError, one_line
from colorplug.io.files import display_path, remove_stale_temporaries
from colorplug.jobs.inputs import find_images
from colorplug.jobs.plan import plan_jobs

if TYPE_CHECKING:
    from colorplug.engine.colorizer import Colorizer
    from colorplug.jobs.batch import JobResult


class RunJob:
    """Colorize files, folders (recursively, mirrored under `out_dir`) and glob patterns into `out_dir`;
    the keyword arguments are plan_jobs' (output type, name suffix, overwrite, shard, hints, a reference
    photo for all or a folder of them)."""

    def __init__(
        self,
        inputs: Sequence[str],
        out_dir: Path,
        *,
        hints: Path | None = None,
        fmt: str | None = None,
        name_suffix: str = "",
        overwrite: bool = False,
        shard: tuple[int, int] = (1, 1),
        reference: Path | None = None,
        reference_folder: Path | None = None,
        confidence: bool = False,
    ) -> None:
        self.out_dir, self.hints, self.confidence = out_dir, hints, confidence
        self.reference = reference
        self.takes_reference = reference is not None or reference_folder is not None
        found, self.input_problems = find_images(list(inputs))
        self.found_nothing = not found and bool(self.input_problems)
        self.plan = plan_jobs(
            found,
            out_dir,
            fmt=fmt,
            name_suffix=name_suffix,
            overwrite=overwrite,
            shard=shard,
            hints=hints,
            reference=reference,
            reference_folder=reference_folder,
            confidence=confidence,
        )

    @property
    def problems(self) -> list[tuple[str, str]]:
        """What cannot be done, as (what, why) lines: arguments that name nothing usable, then inputs
        whose outputs cannot be planned."""
        arguments = [(display_path(what) or '""', why) for what, why in self.input_problems]
        return arguments + [(display_path(path), why) for path, why in self.plan.problems]

    def prepare_output(self) -> None:
        """Make the output folder (when there is work) and check it can be written, before any pixel is
        read; remove the temporary files that killed runs left in it (never those of a running one)."""
        if self.plan.jobs:
            try:
                self.out_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ColorplugError(
                    f"cannot create the output folder {display_path(self.out_dir)}: {one_line(exc)}"
                ) from None
            if not os.access(self.out_dir, os.W_OK | os.X_OK):
                raise ColorplugError(
                    f"cannot write into the output folder {display_path(self.out_dir)}: permission denied"
                )
        remove_stale_temporaries(self.out_dir)

    def check_colorizer(self, colorizer: Colorizer) -> None:
        """Refuse (SettingError) a colorizer that cannot do what this run asks: hints, a reference or
        a confidence map for weights that cannot give them; and (ReferencePhotoError) one reference for
        all photos that is unusable. A front end calls it before prepare_output, so a refused run leaves
        no output folder."""
        if self.hints is not None and not colorizer.takes_hints:
            raise SettingError(
                "{hints}: weights {name!r} take no colour hints", ["hints"], name=colorizer.weights_name
            )
        if self.takes_reference and not colorizer.takes_reference:
            setting = "reference" if self.reference is not None else "reference_folder"
            raise SettingError(
                f"{{{setting}}}: weights {{name!r}} take no reference photo",
                [setting],
                name=colorizer.weights_name,
            )
        if self.confidence and not colorizer.config.predicts_distribution:
            raise SettingError(
                "{confidence}: weights {name!r} predict no colour distribution to be confident of",
                ["confidence"],
                name=colorizer.weights_name,
            )
        if self.reference is not None:  # one reference for all: unusable is one refusal, not one a photo
            colorizer.reference(self.reference)  # prepared once here, and kept for the photos

    def colorize(self, colorizer: Colorizer, workers: int | None = None) -> Iterator[JobResult]:
        """Colorize every planned job (see run_jobs), after checking the network takes the hints given."""
        from colorplug.jobs.batch import run_jobs  # torch: loaded only once there is work to do

        self.check_colorizer(colorizer)
        return run_jobs(colorizer, self.plan.jobs, workers)
