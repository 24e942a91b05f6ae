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


def _gimp_environment(profile: Path) -> list[str]:
    return [
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        f"HOME={profile}",
        "LANG=C.UTF-8",
        f"GIMP3_DIRECTORY={profile}",
        f"COLORPLUG_HOME={os.environ.get('COLORPLUG_HOME', '')}",
    ]


def run_in_root(root: Path, command: list[str], shared: list[Path], timeout: int, stdin: str = ""):
    """Run `command` inside `root` (natively when it is '/'), with `shared` bind-mounted at their paths."""
    if root == Path("/"):
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout + 30)
    binds = sorted({str(p) for p in shared})
    mounts = [
        f"mount -t proc proc {shlex.quote(str(root / 'proc'))}",
        f"mount --rbind /dev {shlex.quote(str(root / 'dev'))}",
    ]
    for path in binds:
        inside = shlex.quote(str(root) + path)
        mounts.append(f"mkdir -p {inside} && mount --bind {shlex.quote(path)} {inside}")
    script = " && ".join([*mounts, "exec chroot " + shlex.quote(str(root)) + " " + shlex.join(command)])
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout + 60,
    )


def run_batch(root: Path, code: str, profile: Path, shared: list[Path], timeout: int = 300):
    """Run Python batch code in gimp-console-3.0 (inside `root` when it is not '/')."""
    gimp = [
        *_gimp_environment(profile),
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
    return run_in_root(root, gimp, shared, timeout, stdin=code)


# Runs inside the root: a virtual display, the GIMP 3 GUI running $WORK/code.py as batch code, and, when
# a window named like the plug-in's dialog shows, a screenshot of it ($WORK/dialog.png) and Return (OK).
DIALOG_DRIVER = r"""
set -u
Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$WORK/display" 2>"$WORK/xvfb.log" &
xvfb=$!
trap 'kill $xvfb 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$WORK/display")"
started=$(date +%s)
batch="--batch-interpreter=python-fu-eval -b - --quit"
timeout "$GIMP_TIMEOUT" gimp-3.0 --no-splash -d -f $batch < "$WORK/code.py" > "$WORK/gimp.log" 2>&1 &
gimp=$!
window=$(timeout "$DIALOG_TIMEOUT" xdotool search --sync --onlyvisible --name "$DIALOG_TITLE" | head -1)
if [ -n "$window" ]; then
  echo "dialog after $(( $(date +%s) - started )) s"
  sleep 1
  import -window "$window" "$WORK/dialog.png"
  xdotool windowfocus --sync "$window" key Return
fi
wait $gimp
status=$?
echo "GIMP exit $status after $(( $(date +%s) - started )) s"
exit $status
"""


def run_dialog(
    root: Path, code: str, profile: Path, work: Path, shared: list[Path], title: str, timeout: int = 180
):
    """Run batch `code` in the GIMP GUI on a virtual display; screenshot the dialog titled `title` into
    work/dialog.png and press OK. Needs Xvfb, xdotool and ImageMagick in `root` (tools/gimp3_root.sh)."""
    (work / "code.py").write_text(code, encoding="utf-8")
    (work / "driver.sh").write_text(DIALOG_DRIVER, encoding="utf-8")
    command = [
        *_gimp_environment(profile),
        f"WORK={work}",
        f"GIMP_TIMEOUT={timeout}",
        f"DIALOG_TIMEOUT={timeout // 2}",
        f"DIALOG_TITLE={title}",
        "bash",
        str(work / "driver.sh"),
    ]
    return run_in_root(root, command, [work, *shared], timeout + 30)


def engine_paths() -> list[Path]:
    """The folders the engine's Python needs: its environment, its base interpreter, the source tree (and
    the folder of links that names the tree's packages, see the root conftest.py)."""
    import colorplug_weights

    import colorplug

    paths = {
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(colorplug.__file__).parents[1],
        Path(colorplug_weights.__file__).parents[1],
    }
    return [p.resolve() for p in paths if p != Path("/") and p != Path("/usr")]
