"""Start-up cache: the parsed YAML of the built-in rule files and sidecar catalogue.

Parsing those YAML files is most of what a one-file run spends beyond its imports, so their
parsed data is kept with `marshal` (plain dicts and lists) in the user's cache folder, keyed
by sidecarlint's version and every file's name, size and modification time. Any problem
with the cache (unwritable folder, stale or corrupt file) falls back to parsing.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib

import yaml

from sidecarlint import __version__


def builtin_folder() -> str:
    import sidecarlint.builtin_rules as package

    return os.path.dirname(os.path.abspath(package.__file__))


def _cache_dir() -> str | None:
    if os.environ.get("SIDECARLINT_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sidecarlint")


_memo: dict[str, object] | None = None


def builtin_yaml() -> dict[str, object]:
    """file name → parsed content, for every *.yaml file of the built-in rules folder."""
    global _memo
    if _memo is None:
        _memo = _read_builtin_yaml()
    return _memo


def _read_builtin_yaml() -> dict[str, object]:
    folder = builtin_folder()
    entries = sorted(
        (e for e in os.scandir(folder) if e.name.endswith(".yaml")), key=lambda e: e.name
    )
    stamp = ";".join(f"{e.name}:{e.stat().st_size}:{e.stat().st_mtime_ns}" for e in entries)
    key = zlib.crc32(f"{__version__};{folder};{stamp}".encode())
    directory = _cache_dir()
    path = os.path.join(directory, f"builtin-{key:08x}.marshal") if directory else None
    if path:
        try:
            with open(path, "rb") as handle:
                data = marshal.loads(handle.read())  # marshal.load reads in tiny pieces
            if isinstance(data, dict) and data.get("__stamp__") == stamp:
                return data["files"]
        except (OSError, EOFError, ValueError, TypeError):
            pass
    from sidecarlint.loader import YAML_LOADER

    files = {}
    for entry in entries:
        with open(entry.path, encoding="utf-8") as handle:
            files[entry.name] = yaml.load(handle.read(), Loader=YAML_LOADER)
    if path:
        try:
            os.makedirs(directory, exist_ok=True)  # type: ignore[arg-type]
            temporary = f"{path}.{os.getpid()}.tmp"
            with open(temporary, "wb") as handle:
                marshal.dump({"__stamp__": stamp, "files": files}, handle)
            os.replace(temporary, path)
            _prune(directory)  # type: ignore[arg-type]
        except (OSError, ValueError):
            pass
    return files


KEEP = 8  # cache files kept: one per installed version or copy, the most recent ones


def _prune(directory: str) -> None:
    """Remove all but the KEEP newest cache files: each upgrade or reinstall writes a new
    one, and the cache folder must not grow for ever."""
    entries = [e for e in os.scandir(directory) if e.name.startswith("builtin-") and e.is_file()]
    entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
    for entry in entries[KEEP:]:
        with contextlib.suppress(OSError):
            os.remove(entry.path)
