"""Named weights: the shipped manifest, a verified cache in the user data directory, and safe loading.

A weights file is a plain dict saved with torch.save: {"format": 1, "arch": str, "width": float,
"heads": [str], "render_size": int, "network": NetworkConfig as a dict, "state_dict": {name: tensor}}.
Files written before "network" existed are read by deriving it from arch, width and heads (which new
files still hold, for the older readers). It is always read with torch.load(weights_only=True), so a
file can hold tensors and plain values only and loading never runs code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from colorplug.errors import ColorplugError
from colorplug.io.files import atomic_path, display_path
from colorplug.nets.registry import REGRESSION, NetworkConfig
from colorplug.nets.weights_checks import payload_problem

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


class WeightsError(ColorplugError):
    """A weights file is missing, damaged, untrusted or does not fit its architecture."""


@dataclass(frozen=True)
class WeightsEntry:
    """One named weights file as the manifest describes it."""

    name: str
    file: str
    sha256: str
    arch: str
    width: float
    default: bool = False
    render_size: int | None = None  # the size it was trained at and runs best at
    info: dict[str, Any] = field(default_factory=dict, compare=False)


def shipped_dir() -> Path:
    """The folder holding the shipped weights and their manifest (inside the installed package)."""
    import colorplug_weights

    return Path(colorplug_weights.__file__).parent


def data_home() -> Path:
    """colorplug's user data directory: $COLORPLUG_HOME, else the platform's user data dir."""
    override = os.environ.get("COLORPLUG_HOME")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("colorplug", appauthor=False))


def cache_dir() -> Path:
    """Where named weights are cached once verified."""
    return data_home() / "weights"


def read_manifest(folder: Path | None = None) -> dict[str, WeightsEntry]:
    """Entries of a manifest.json by name (the shipped one by default)."""
    path = (folder or shipped_dir()) / MANIFEST_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"weights manifest not found: {path}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"weights manifest {path} is unreadable: {exc}") from None
    entries = {}
    for name, item in raw.get("weights", {}).items():
        core = {key: item[key] for key in ("file", "sha256", "arch", "width")}
        extra = {k: v for k, v in item.items() if k not in core and k not in ("default", "render_size")}
        entries[name] = WeightsEntry(
            name=name,
            default=bool(item.get("default")),
            render_size=item.get("render_size"),
            info=extra,
            **core,
        )
    return entries


def default_weights_name(entries: dict[str, WeightsEntry] | None = None) -> str:
    """The name flagged as default in the manifest."""
    entries = read_manifest() if entries is None else entries
    for entry in entries.values():
        if entry.default:
            return entry.name
    if not entries:
        raise WeightsError("the weights manifest lists no weights")
    return next(iter(entries))


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_path(entry: WeightsEntry) -> Path:
    """The cache file of a named weight (its hash in the name, so versions never collide)."""
    return cache_dir() / f"{entry.name}-{entry.sha256[:16]}.pt"


def ensure_cached(entry: WeightsEntry, source_dir: Path | None = None) -> Path:
    """A verified copy of a named weight: the cached one, copied (or repaired) from the package first.

    The copy is written to a temporary file and renamed, so concurrent first uses never see a partial
    file. When the cache cannot be written (the data folder is a file, read-only or full), the verified
    file inside the package is used as it is.
    """
    target = cached_path(entry)
    if target.is_file() and sha256_of(target) == entry.sha256:
        return target
    source = (source_dir or shipped_dir()) / entry.file
    if not source.is_file():
        raise WeightsError(f"weights {entry.name!r}: shipped file {source} is missing")
    if sha256_of(source) != entry.sha256:
        raise WeightsError(
            f"weights {entry.name!r}: {source} does not match the manifest's sha256 (damaged install?)"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as temp:
            shutil.copyfile(source, temp)
            if sha256_of(temp) != entry.sha256:
                raise WeightsError(f"weights {entry.name!r}: copy to {target} was damaged in transit")
    except OSError:
        return source  # verified above; the cache is only a convenience
    return target


@dataclass(frozen=True)
class LoadedWeights:
    """What a weights file holds, ready to build its network."""

    network: NetworkConfig
    state_dict: dict[str, Any]
    name: str
    path: Path
    render_size: int | None = None  # the size it was trained at

    def float_state_dict(self) -> dict[str, Any]:
        """The parameters with floating-point tensors as float32 (files hold them as fp16)."""
        return {k: v.float() if v.is_floating_point() else v for k, v in self.state_dict.items()}


def read_weights_file(path: Path, name: str | None = None) -> LoadedWeights:
    """Load a weights file safely (weights_only=True: no code runs) and check its structure."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"weights file not found: {display_path(path)}") from None
    except Exception:  # untrusted bytes: any parse failure (torch's message would advise unsafe loading)
        raise WeightsError(
            f"{display_path(path)} is not a safe colorplug weights file (unreadable, or it holds code)"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise WeightsError(
            f"{display_path(path)} is not a colorplug weights file (format {FORMAT_VERSION} expected)"
        )
    problem = payload_problem(payload)
    if problem is not None:
        raise WeightsError(f"{display_path(path)} is not a usable colorplug weights file: {problem}")
    try:
        return LoadedWeights(
            network=_network_config(payload),
            state_dict=dict(payload["state_dict"]),
            name=name or path.stem,
            path=path,
            render_size=int(payload["render_size"]) if payload.get("render_size") else None,
        )
    except KeyError as exc:
        raise WeightsError(
            f"{display_path(path)} lacks the field {exc} of a colorplug weights file"
        ) from None
    except (TypeError, ValueError) as exc:
        raise WeightsError(
            f"{display_path(path)} has a malformed field (network, render size or heads): {exc}"
        ) from None


def _network_config(payload: dict[str, Any]) -> NetworkConfig:
    """The network a weights file holds: its "network" field, or for older files the config derived from
    its architecture, width and heads."""
    if "network" in payload:
        return NetworkConfig.from_dict(payload["network"])
    heads = tuple(str(head) for head in payload.get("heads", (REGRESSION,)))
    return NetworkConfig.of(str(payload["arch"]), float(payload["width"]), heads)


def save_weights_file(
    path: Path, network: NetworkConfig, state_dict: dict, *, half: bool = True, render_size: int | None = None
) -> str:
    """Write a weights file atomically (float tensors as fp16 when `half`) and return its sha256."""
    import torch

    tensors = {
        key: (value.detach().half() if half and value.is_floating_point() else value.detach()).cpu()
        for key, value in state_dict.items()
    }
    payload = {
        "format": FORMAT_VERSION,
        "arch": network.arch,
        "width": network.width,
        "heads": list(network.heads),
        "network": network.to_dict(),
        "state_dict": tensors,
    }
    if render_size:
        payload["render_size"] = int(render_size)
    buffer = io.BytesIO()  # saved from memory: the archive then holds no (random) temporary file name
    torch.save(payload, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        temp.write_bytes(buffer.getvalue())
    return sha256_of(path)


def resolve_weights(spec: str | os.PathLike | None) -> LoadedWeights:
    """Load weights by manifest name (verified through the cache) or by file path.

    None means the manifest's default. A path that exists is read directly (still weights_only).
    """
    entries = read_manifest()
    name = default_weights_name(entries) if spec is None else str(spec)
    if name in entries:
        entry = entries[name]
        loaded = read_weights_file(ensure_cached(entry), name=name)
        network = loaded.network
        if network.arch != entry.arch or abs(network.width - entry.width) > 1e-9:
            raise WeightsError(
                f"weights {name!r}: file says {network.arch}/{network.width}, manifest differs"
            )
        return replace(loaded, render_size=entry.render_size or loaded.render_size)
    path = Path(name).expanduser()
    if path.is_file():
        return read_weights_file(path)
    known = ", ".join(sorted(entries)) or "none"
    raise WeightsError(f"unknown weights {name!r}: not a file and not a shipped name (known: {known})")


def verify_all(source_dir: Path | None = None) -> dict[str, str]:
    """Check each manifest entry's shipped file and cache; name -> 'ok' or the problem found."""
    results = {}
    for name, entry in read_manifest(source_dir).items():
        try:
            ensure_cached(entry, source_dir)
            results[name] = "ok"
        except WeightsError as exc:
            results[name] = str(exc)
    return results


def add_to_manifest(
    weights_file: Path,
    name: str,
    entry_file: Path,
    eval_summaries: list[Path],
    folder: Path,
    make_default: bool = False,
) -> dict:
    """Copy a trained weights file into `folder` as NAME.pt and record it in folder/manifest.json.

    The entry is the one `colorplug train` wrote, plus the summaries of `colorplug eval --report`.
    """
    entry = json.loads(Path(entry_file).read_text(encoding="utf-8"))
    if sha256_of(weights_file) != entry.get("sha256"):
        raise WeightsError(f"{weights_file} does not match the sha256 in {entry_file}")
    read_weights_file(Path(weights_file))  # refuse anything that is not a safe weights file
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.pt"
    with atomic_path(target) as temp:
        shutil.copyfile(weights_file, temp)
    entry["file"] = target.name
    entry["eval"] = [json.loads(Path(p).read_text(encoding="utf-8")) for p in eval_summaries]
    manifest_path = folder / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    items = manifest.setdefault("weights", {})
    if make_default:
        for item in items.values():
            item.pop("default", None)
        entry["default"] = True
    elif name in items and items[name].get("default"):
        entry["default"] = True
    items[name] = entry
    with atomic_path(manifest_path) as temp:
        temp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return entry


def mismatch(error: RuntimeError) -> str:
    """load_state_dict's complaint in one line: the parameters missing, unexpected or of other shapes."""
    lines = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
    return " ".join(lines)[:300] or "parameters differ"
