"""Static and behavioural security checks: no shell, no unpickling, private temporary folders."""

from __future__ import annotations

import ast
import stat
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CODE = [p for folder in ("colorplug", "cli", "gimp_plugin") for p in (ROOT / folder).rglob("*.py")]


def calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield node


def name_of(call: ast.Call) -> str:
    return ast.unparse(call.func)


def test_no_shell_and_no_os_system_anywhere():
    for path in SHIPPED_CODE:
        for call in calls(path):
            assert name_of(call) not in ("os.system", "os.popen", "subprocess.getoutput"), path
            for keyword in call.keywords:
                assert not (keyword.arg == "shell" and ast.unparse(keyword.value) != "False"), path


def test_every_torch_load_is_weights_only_and_nothing_unpickles():
    loads = 0
    for path in SHIPPED_CODE:
        for call in calls(path):
            name = name_of(call)
            assert name not in ("pickle.load", "pickle.loads", "numpy.load", "np.load"), path
            if name == "torch.load":
                loads += 1
                options = {k.arg: ast.unparse(k.value) for k in call.keywords}
                assert options.get("weights_only") == "True", path
    assert loads >= 2  # weights files and training checkpoints


def test_gimp_pixels_travel_through_a_private_folder():
    sys.path.insert(0, str(ROOT / "gimp_plugin" / "colorplug_gimp"))
    try:
        import colorplug_marshal
    finally:
        sys.path.pop(0)
    folder = Path(colorplug_marshal.private_folder())
    try:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        folder.rmdir()
    env = colorplug_marshal.engine_environment({"GI_TYPELIB_PATH": "x", "PYTHONPATH": "y", "PATH": "/bin"})
    assert env == {"PATH": "/bin"}
    assert colorplug_marshal.engine_command({"python": "/p y/python"}, "/tmp/f") == [
        "/p y/python",
        "-m",
        "colorplug.gimp_bridge",
        "/tmp/f",
    ]
