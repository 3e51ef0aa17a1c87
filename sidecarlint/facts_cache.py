"""The pre-commit hook's cache of whole-repository facts: what each manifest of the
repository gave (`facts.fragment`), keyed by its path, size and modification time, kept in
the repository's own git folder (`.git/sidecarlint/facts.json`), so that a commit reads
again only the files that changed. Only a `.git` folder is written to (never a worktree's
`.git` file, or anywhere else); a cache that is missing, from another version or rule set,
too large or not well formed is ignored and written anew."""

from __future__ import annotations

import json
import os

from sidecarlint import __version__

MAX_BYTES = 64 * 1024 * 1024  # a larger cache is ignored, and rebuilt
MAX_ENTRIES = 200_000


def _path(folder: str) -> str | None:
    git = os.path.join(folder, ".git")
    if not os.path.isdir(git) or os.path.islink(git):
        return None
    return os.path.join(git, "sidecarlint", "facts.json")


def _key(ruleset) -> str:
    """What the cached facts depend on: this version and the gatherers that ran."""
    gatherers = ",".join(f"{g.__module__}.{g.__name__}" for g in ruleset.gatherers)
    return f"{__version__}|{gatherers}"


def load(folder: str, ruleset) -> dict:
    path = _path(folder)
    if path is None or os.path.islink(path):
        return {}
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return {}
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("key") != _key(ruleset):
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def save(folder: str, ruleset, files: dict) -> None:
    path = _path(folder)
    if path is None or len(files) > MAX_ENTRIES:
        return
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.islink(path) or os.path.islink(os.path.dirname(path)):
            return
        temporary = f"{path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"key": _key(ruleset), "files": files}, handle, separators=(",", ":"))
        os.replace(temporary, path)
    except OSError:
        pass  # a cache that cannot be written is only slower next time
