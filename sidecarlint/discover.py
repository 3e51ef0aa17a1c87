"""Paths → the files to lint, the Helm charts found, and paths that could not be walked."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

EXTENSIONS = (".yaml", ".yml", ".json")
STDIN = "-"


@dataclass
class Discovery:
    files: list[str] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, message)


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")


def is_excluded(path: str, patterns: list[str]) -> bool:
    """A glob matches the path, or one of its parent folders (`vendor` excludes vendor/**)."""
    if not patterns:
        return False
    text = _posix(os.path.normpath(path))
    if text.startswith("./"):
        text = text[2:]
    candidates = [text]
    parts = text.split("/")
    candidates.extend("/".join(parts[:i]) for i in range(1, len(parts)))
    candidates.append(parts[-1])
    return any(fnmatchcase(c, p.rstrip("/")) for p in patterns for c in candidates)


def is_chart(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "Chart.yaml"))


def discover(paths: list[str], exclude: list[str]) -> Discovery:
    """Files named on the command line are linted whatever their extension; folders are
    walked for *.yaml, *.yml and *.json, skipping hidden folders, excluded paths and Helm
    chart folders (a chart's templates are not YAML until rendered). Links to folders are
    not followed, so link loops cannot trap the walk."""
    found = Discovery()
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.normpath(path)
        if key not in seen:
            seen.add(key)
            found.files.append(path)

    for path in paths:
        if path == STDIN:
            add(path)
            continue
        if not os.path.lexists(path):
            found.problems.append((path, "path does not exist"))
            continue
        if is_excluded(path, exclude):
            continue
        if not os.path.isdir(path):
            add(path)  # an unreadable file or a broken link is reported when it is read
            continue
        if is_chart(path):
            found.charts.append(path)
            continue
        _walk(path, exclude, found, add)
    return found


def _walk(top: str, exclude: list[str], found: Discovery, add) -> None:
    def on_error(error: OSError) -> None:
        found.problems.append((error.filename or top, f"cannot list folder: {error.strerror}"))

    for directory, folders, files in os.walk(top, onerror=on_error, followlinks=False):
        kept = []
        for name in sorted(folders):
            child = os.path.join(directory, name)
            if name.startswith(".") or is_excluded(child, exclude):
                continue
            if is_chart(child):
                found.charts.append(child)
                continue
            kept.append(name)
        folders[:] = kept
        for name in sorted(files):
            if not name.endswith(EXTENSIONS) or name.startswith("."):
                continue
            path = os.path.join(directory, name)
            if not is_excluded(path, exclude):
                add(path)
