"""What a Kustomize overlay would read: the remote resources it would fetch and the local
folders outside the repository it would load, before anything is rendered.

`kubectl kustomize` downloads `resources:`, `bases:` and `components:` given as URLs or git
references, and follows local bases wherever they are (its load restrictor only keeps plain
files inside the overlay). sidecarlint renders an overlay only when neither happens, unless
the user allows remote resources for a repository they trust.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from sidecarlint.discover import inside
from sidecarlint.render import kustomization_file

FIELDS = ("resources", "bases", "components")
MAX_OVERLAYS = 200  # kustomization files followed from one overlay
_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git@|git::)|\?(?:ref|version)=|^[^/.][^/]*\.[^/]+/.+"
)


class Reference(NamedTuple):
    path: str  # the kustomization file that names it
    line: int
    column: int
    text: str  # as written
    kind: str  # "remote" or "outside"


def _position(lines: list[str], item: str, after: int) -> tuple[int, int] | None:
    """Line and column of the first occurrence of `item` after line `after` (the entries
    of a list are found in order, each past the one before: linear in the file)."""
    for number in range(after + 1, len(lines) + 1):
        column = lines[number - 1].find(item)
        if column >= 0:
            return number, column + 1
    return None


def is_remote(reference: str, directory: str) -> bool:
    """A URL, a git reference, or `host.tld/path` that is not a local path."""
    if os.path.exists(os.path.join(directory, reference)):
        return False
    return bool(_REMOTE.search(reference))


def _kustomization(folder: str):
    """The folder's kustomization file, loaded, and its content when it is a mapping."""
    from sidecarlint.loader import read_file

    path = kustomization_file(folder)
    if path is None:
        return None, None
    loaded = read_file(path)
    data = loaded.documents[0].data if loaded.documents else None
    return loaded, data if isinstance(data, dict) else None


def patch_files(directory: str) -> frozenset[str]:
    """The files (real paths) that the kustomization in `directory` names as patches:
    `patches[].path`, `patchesStrategicMerge[]` and `patchesJson6902[].path`. A patch holds
    only what it changes, so a field it leaves out is not missing."""
    data = _kustomization(directory)[1]
    if data is None:
        return frozenset()
    named = []
    for field in ("patches", "patchesJson6902"):
        entries = data.get(field)
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                named.append(entry["path"])
    merge = data.get("patchesStrategicMerge")
    if isinstance(merge, list):
        named += [item for item in merge if isinstance(item, str) and "\n" not in item]
    return frozenset(os.path.realpath(os.path.join(directory, item)) for item in named)


def is_patch(path: str) -> bool:
    """Whether a kustomization in the file's folder, or in the two folders above it, names
    the file as a patch (the usual layouts: beside it, or `overlays/x/patches/`). Folders
    without a kustomization, the usual case, cost one cached lookup each."""
    folder = os.path.dirname(os.path.abspath(path))
    real = None
    for _ in range(3):
        patches = _patches_of(folder)
        if patches:
            real = real or os.path.realpath(path)
            if real in patches:
                return True
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return False


_PATCHES: dict[str, frozenset[str]] = {}


def _patches_of(folder: str) -> frozenset[str]:
    """patch_files, once per folder and process (a folder of many files reads its
    kustomization once)."""
    found = _PATCHES.get(folder)
    if found is None:
        if len(_PATCHES) > 4096:
            _PATCHES.clear()
        found = _PATCHES[folder] = patch_files(folder)
    return found


def references(directory: str, bounds: tuple[str, ...]) -> list[Reference]:
    """The remote references and the local folders outside `bounds` that the overlay in
    `directory`, and the local bases and components it names, would load."""
    return _follow(directory, bounds)[0]


def overlay_folders(directory: str, bounds: tuple[str, ...]) -> set[str]:
    """The folders (resolved) whose files the overlay in `directory` loads: its own and
    those of the local bases and components it names, at any depth."""
    return _follow(directory, bounds)[1]


def _follow(directory: str, bounds: tuple[str, ...]) -> tuple[list[Reference], set[str]]:
    found: list[Reference] = []
    stack = [directory]
    seen: set[str] = set()
    while stack and len(seen) < MAX_OVERLAYS:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen:
            continue
        seen.add(real)
        loaded, data = _kustomization(folder)
        if data is None:
            continue
        path = loaded.path
        lines = loaded.text.splitlines()
        for field in FIELDS:
            items = data.get(field)
            if not isinstance(items, list):
                continue
            key_line = (loaded.positions.of_key(data, field) or (1, 1))[0]
            last = key_line - 1  # the key's own line may hold a flow list
            for item in items:
                if not isinstance(item, str) or not item.strip():
                    continue
                found_at = _position(lines, item, last)
                line, column = found_at or (key_line, 1)
                last = line if found_at else last
                if is_remote(item, folder):
                    found.append(Reference(path, line, column, item, "remote"))
                    continue
                target = os.path.join(folder, item)
                if not inside(target, bounds):
                    found.append(Reference(path, line, column, item, "outside"))
                elif os.path.isdir(target):
                    stack.append(target)
    return found, seen
