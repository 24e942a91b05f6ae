"""Running a real GIMP 3 headless for the plug-in's end-to-end test (../shared/notes/gimp3.md).

GIMP 3 runs natively on Debian 13, or inside a Debian 13 chroot built once by tools/gimp3_root.sh.
The test's own paths (profile, images, the Python environment with colorplug and torch) are
bind-mounted at the same paths inside the chroot, so the plug-in can start the engine as it would on a
user's machine. Each run is wrapped in `unshare --mount` so its mounts vanish when it exits.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT_SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "gimp3_root.sh"


def gimp_root() -> tuple[Path | None, str]:
    """The file system root where gimp-console-3.0 runs, or None and the reason it cannot be set up."""
    try:
        result = subprocess.run(["bash", str(ROOT_SCRIPT)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"GIMP 3 setup failed: {exc}"
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-3:]
        return None, f"GIMP 3 cannot be set up here (exit {result.returncode}): {' | '.join(tail)}"
    return Path(result.stdout.strip().splitlines()[-1]), ""


def run_batch(root: Path, code: str, profile: Path, shared: list[Path], timeout: int = 300):
    """Run Python batch code in gimp-console-3.0 (inside `root` when it is not '/')."""
    gimp = [
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        f"HOME={profile}",
        "LANG=C.UTF-8",
        f"GIMP3_DIRECTORY={profile}",
        f"COLORPLUG_HOME={os.environ.get('COLORPLUG_HOME', '')}",
        "timeout",
        str(timeout),
        "gimp-console-3.0",
        "-i",
        "-d",
        "-f",
        "--batch-interpreter=python-fu-eval",
        "-b",
        "-",
        "--quit",
    ]
    if root == Path("/"):
        return subprocess.run(gimp, input=code, capture_output=True, text=True, timeout=timeout + 30)
    binds = sorted({str(p) for p in shared})
    mounts = [
        f"mount -t proc proc {shlex.quote(str(root / 'proc'))}",
        f"mount --rbind /dev {shlex.quote(str(root / 'dev'))}",
    ]
    for path in binds:
        inside = shlex.quote(str(root) + path)
        mounts.append(f"mkdir -p {inside} && mount --bind {shlex.quote(path)} {inside}")
    script = " && ".join([*mounts, "exec chroot " + shlex.quote(str(root)) + " " + shlex.join(gimp)])
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
        input=code,
        capture_output=True,
        text=True,
        timeout=timeout + 60,
    )


def engine_paths() -> list[Path]:
    """The folders the engine's Python needs: its environment, its base interpreter, the source tree."""
    import colorplug_weights

    import colorplug

    paths = {
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(colorplug.__file__).parents[1],
        Path(colorplug_weights.__file__).parents[1],
    }
    return [p.resolve() for p in paths if p != Path("/") and p != Path("/usr")]
