"""A one-line progress display on stderr that never garbles the messages printed between updates."""

from __future__ import annotations

import sys
import time


class ProgressLine:
    """Redraws one status line on a terminal; prints nothing when stderr is not a terminal."""

    def __init__(self, total: int, label: str, enabled: bool | None = None) -> None:
        self.total = total
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.perf_counter()
        self._last_draw = 0.0
        self._shown = False

    def update(self, done: int, extra: str = "", force: bool = False) -> None:
        """Show `done` of `total` (at most ten redraws a second unless forced)."""
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last_draw < 0.1):
            return
        self._last_draw = now
        width = 24
        filled = int(width * done / self.total) if self.total else width
        rate = done / max(now - self.started, 1e-9)
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(f"\r\033[K{self.label} [{bar}] {done}/{self.total} {rate:.1f}/s {extra}")
        sys.stderr.flush()
        self._shown = True

    def message(self, text: str) -> None:
        """Print a whole line above the progress line."""
        self.clear()
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def clear(self) -> None:
        """Remove the progress line (before the summary)."""
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self._shown = False
