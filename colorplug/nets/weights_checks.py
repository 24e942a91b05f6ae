"""The values of a weights file checked before anything is built from them, so a malformed file is one
line (WeightsError) rather than an internal error, a silent cast or an allocation of exabytes.

torch.load(weights_only=True) already guarantees that no code runs; these checks guarantee that what it
returns has the types and ranges a colorplug weights file holds: a state dict of named tensors of real
dtypes, a render size that a network can run at, and a network description of plain values.
"""

from __future__ import annotations

import math
from typing import Any

from colorplug.defaults import MAX_RENDER_SIZE, MIN_RENDER_SIZE
from colorplug.nets.registry import CLASSES, REGRESSION

KNOWN_HEADS = (REGRESSION, CLASSES)
NETWORK_FIELDS = {
    "arch": str,
    "width": (int, float),
    "heads": list,
    "takes_hints": bool,
    "memory_format": str,
}


def state_dict_problem(state_dict: Any) -> str | None:
    """Why a state dict is unusable (not a dict of named real tensors, or holding NaN), else None.

    >>> import torch
    >>> state_dict_problem({"w": torch.zeros(2)}) is None, state_dict_problem({"w": 3})
    (True, "its entry 'w' is of type int, not a tensor")
    """
    if not isinstance(state_dict, dict) or not state_dict:
        return "its state_dict is not a table of named tensors"
    problems = (_entry_problem(key, value) for key, value in state_dict.items())
    return next((problem for problem in problems if problem is not None), None)


def _entry_problem(key: Any, value: Any) -> str | None:
    import torch

    if not isinstance(key, str):
        return f"its state_dict has a key that is not a name ({type(key).__name__})"
    if not isinstance(value, torch.Tensor):
        return f"its entry {key!r} is of type {type(value).__name__}, not a tensor"
    if value.is_complex() or value.dtype == torch.bool or value.is_quantized:
        return f"its entry {key!r} has dtype {value.dtype}, not a real number type"
    if value.is_floating_point() and not bool(value.isfinite().all()):
        return f"it holds non-finite values (NaN or infinity) in {key}: damaged weights"
    return None


def render_size_problem(value: Any) -> str | None:
    """Why a stored render size is unusable (not a whole number in the allowed range), else None.

    >>> render_size_problem(160) is None, render_size_problem(-5)
    (True, 'its render size -5 is outside 8..4096')
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return f"its render size {value!r} is not a whole number"
    if not MIN_RENDER_SIZE <= value <= MAX_RENDER_SIZE:
        return f"its render size {value} is outside {MIN_RENDER_SIZE}..{MAX_RENDER_SIZE}"
    return None


def network_problem(network: Any) -> str | None:
    """Why a stored network description is malformed (fields of the wrong type, unknown heads, a width
    that is not finite), else None; the architecture's name is checked when it is built.

    >>> network_problem({"arch": "seed", "width": 1.0, "heads": ["regression"], "takes_hints": False,
    ...                  "memory_format": "contiguous"}) is None
    True
    """
    if not isinstance(network, dict):
        return "its network description is not a table"
    for name, kind in NETWORK_FIELDS.items():
        value = network.get(name)
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            return f"its network field {name!r} is {value!r}, not a {_kind_name(kind)}"
    if not math.isfinite(network["width"]):
        return f"its network width {network['width']!r} is not finite"
    return _heads_problem(network["heads"])


def _heads_problem(heads: Any) -> str | None:
    if not isinstance(heads, list) or not heads or any(head not in KNOWN_HEADS for head in heads):
        return f"its network heads {heads!r} are not a list among {', '.join(KNOWN_HEADS)}"
    return None


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return "number" if isinstance(kind, tuple) else {str: "text", list: "list", bool: "yes/no"}[kind]


def payload_problem(payload: dict[str, Any]) -> str | None:
    """The first problem of a weights file's values (see the checks above), else None."""
    checks = [
        lambda: state_dict_problem(payload.get("state_dict")),
        lambda: render_size_problem(payload.get("render_size")),
    ]
    if "network" in payload:
        checks.append(lambda: network_problem(payload["network"]))
    else:  # files older than the network description: heads, when given, as a list of known heads
        checks.append(lambda: _heads_problem(payload.get("heads", [REGRESSION])))
    return next((problem for check in checks if (problem := check()) is not None), None)


def dtype_problem(expected: dict[str, Any], given: dict[str, Any]) -> str | None:
    """Why the tensors of a state dict cannot stand for a module's (a float where an integer counter is
    expected, or the reverse: load_state_dict would cast them silently), else None.

    >>> import torch
    >>> dtype_problem({"w": torch.zeros(1)}, {"w": torch.zeros(1, dtype=torch.int32)})
    "its entry 'w' has dtype torch.int32 where a floating-point tensor belongs"
    """
    for key, tensor in expected.items():
        value = given.get(key)
        if value is not None and value.is_floating_point() != tensor.is_floating_point():
            kind = "a floating-point" if tensor.is_floating_point() else "an integer"
            return f"its entry {key!r} has dtype {value.dtype} where {kind} tensor belongs"
    return None
