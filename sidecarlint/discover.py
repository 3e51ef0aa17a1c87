"""Paths → the files to lint, the Helm charts found, and paths that could not be walked."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase

EXTENSIONS = (".yaml", ".yml", ".json")
STDIN = "-"


class Discovery:
    def __init__(
        self,
        files: Iterator[str] | None = None,
        charts: list[str] | None = None,
        kustomizations: list[str] | None = None,
        unreadable: list[tuple[str, str, dict]] | None = None,
    ) -> None:
        # Filled as the walk goes: iterate `files` first; the other lists are complete after.
        self.files = iter(()) if files is None else files
        self.charts = [] if charts is None else charts
        self.kustomizations = [] if kustomizations is None else kustomizations
        # (path, message key of unreadable-file, fields)
        self.unreadable = [] if unreadable is None else unreadable


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


def _chart_of(path: str) -> str | None:
    """The chart folder a file lies in, if any."""
    directory = os.path.dirname(os.path.abspath(path))
    while True:
        if is_chart(directory):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def discover(
    paths: list[str],
    exclude: list[str],
    charts: list[str] | None = None,
    render_kustomize: Callable[[], bool] = lambda: False,
) -> Discovery:
    """Files named on the command line are linted whatever their extension; folders are
    walked for *.yaml, *.yml and *.json, skipping hidden folders and excluded paths. Helm
    charts (a folder with Chart.yaml, or a packaged .tgz) are collected to be rendered, never
    read as YAML, and a file inside a chart stands for its chart. Kustomize folders are
    collected too, and not walked when they can be rendered. Links to folders are not
    followed, so link loops cannot trap the walk."""
    found = Discovery()
    found.files = _files(paths, exclude, charts or [], render_kustomize, found)
    return found


def _files(
    paths: list[str],
    exclude: list[str],
    charts: list[str],
    render_kustomize: Callable[[], bool],
    found,
) -> Iterator[str]:
    # Paths are only remembered (to lint a file once) when several were named, since one
    # folder's walk cannot meet a file twice: a huge tree costs no list of its paths.
    seen: set[str] | None = set() if len(paths) > 1 else None
    seen_charts: set[str] = set()
    pending: list[str] = []

    def add(path: str) -> None:
        if seen is not None:
            key = os.path.normpath(path)
            if key in seen:
                return
            seen.add(key)
        pending.append(path)

    def add_chart(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen_charts:
            seen_charts.add(key)
            found.charts.append(path)

    def add_kustomization(path: str) -> bool:
        found.kustomizations.append(path)
        return render_kustomize()

    for chart in charts:
        add_chart(chart)

    for path in paths:
        if path == STDIN:
            add(path)
            yield from pending
            pending.clear()
            continue
        if not os.path.lexists(path):
            found.unreadable.append((path, "missing", {}))
            continue
        if is_excluded(path, exclude):
            continue
        if not os.path.isdir(path):
            from sidecarlint.render import is_chart_archive

            chart = _chart_of(path)
            if chart is not None:
                add_chart(os.path.relpath(chart) if not os.path.isabs(path) else chart)
            elif is_chart_archive(path):
                add_chart(path)
            else:
                add(path)  # an unreadable file or a broken link is reported when it is read
            yield from pending
            pending.clear()
            continue
        if is_chart(path):
            add_chart(path)
            continue
        for _ in _walk(path, exclude, found, add, add_chart, add_kustomization):
            yield from pending
            pending.clear()


def _walk(top: str, exclude: list[str], found: Discovery, add, add_chart, add_kustomization):
    """Walk one folder; yields after each file it adds (a folder of 50,000 files is linted
    as it is gone through, not once it is all collected), and after each folder."""
    from sidecarlint.render import is_chart_archive, kustomization_file

    if kustomization_file(top) and add_kustomization(top):
        return

    def on_error(error: OSError) -> None:
        found.unreadable.append((error.filename or top, "cannot-list", {"reason": error.strerror}))

    for directory, folders, files in _tree(top, on_error):
        kept = []
        for name in sorted(folders):
            child = os.path.join(directory, name)
            if name.startswith(".") or is_excluded(child, exclude):
                continue
            if is_chart(child):
                add_chart(child)
                continue
            if kustomization_file(child) and add_kustomization(child):
                continue
            kept.append(name)
        folders[:] = kept
        for name in sorted(files):
            path = os.path.join(directory, name)
            if name.endswith(".tgz") and not is_excluded(path, exclude) and is_chart_archive(path):
                add_chart(path)
                continue
            if not name.endswith(EXTENSIONS) or name.startswith("."):
                continue
            if not is_excluded(path, exclude):
                add(path)
                yield directory
        yield directory


def _tree(top: str, on_error: Callable[[OSError], None]) -> Iterator[tuple[str, list, list]]:
    """`os.walk(top, onerror=on_error)`, top-down, without following links to folders, and
    without recursion: on Python before 3.12, os.walk recurses once per level, so a tree a
    thousand folders deep raised RecursionError. Folders the caller removes from the list
    it is given are not entered."""
    stack = [top]
    while stack:
        directory = stack.pop()
        folders: list[str] = []
        files: list[str] = []
        links: set[str] = set()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        is_folder = entry.is_dir()
                    except OSError:
                        is_folder = False
                    if is_folder:
                        folders.append(entry.name)
                        if entry.is_symlink():
                            links.add(entry.name)
                    else:
                        files.append(entry.name)
        except OSError as error:
            on_error(error)
            continue
        yield directory, folders, files
        stack.extend(
            os.path.join(directory, name) for name in reversed(folders) if name not in links
        )
