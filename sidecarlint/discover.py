"""Paths → the files to lint, the Helm charts and Kustomize overlays found, and what could
not be walked or lies outside the repository."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import NamedTuple

EXTENSIONS = (".yaml", ".yml", ".json")
STDIN = "-"


class Noted(NamedTuple):
    """A finding discovery makes: a rule, where, and which of its messages with what."""

    rule: str
    path: str
    message: str
    fields: dict
    line: int = 1
    column: int = 1


class Discovery:
    def __init__(self) -> None:
        # Filled as the walk goes: iterate `files` first; the other lists are complete after.
        self.files: Iterator[str] = iter(())
        self.charts: list[str] = []
        self.kustomizations: list[str] = []  # overlays to render
        self.noted: list[Noted] = []


def repository_root(start: str, config_path: str | None = None) -> str:
    """The boundary of what content may make sidecarlint read: the git top level above
    `start`, else the config file's folder, else `start` (all resolved)."""
    directory = os.path.realpath(start)
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    if config_path:
        return os.path.dirname(os.path.realpath(config_path))
    return os.path.realpath(start)


class PathIdentity:
    """One name for each file, whatever the user typed and wherever the run starts: its
    path relative to the git top level above it, in POSIX form (`k8s/job.yaml` for `k8s`,
    `./k8s/`, an absolute path, or `.` inside `k8s/`). Outside any git repository, relative
    to the config file's folder or the folder the run starts in (`home`), when the file is
    below it, else absolute. A name that is not a file or folder on disk (standard input,
    a --stdin-filename) stays as given."""

    def __init__(self, config_path: str | None = None, home: str | None = None) -> None:
        self.config_folder = os.path.dirname(os.path.abspath(config_path)) if config_path else None
        self.home = os.path.abspath(home or os.getcwd())
        self._roots: dict[str, str | None] = {}
        self.read_as: dict[str, str] = {}  # identity → the path as it was read

    def git_top(self, directory: str) -> str | None:
        """The git top level at or above `directory` (looked up once per folder)."""
        walked = []
        root = None
        while directory not in self._roots:
            walked.append(directory)
            if os.path.exists(os.path.join(directory, ".git")):
                root = directory
                break
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        else:
            root = self._roots[directory]
        for folder in walked:
            self._roots[folder] = root
        return root

    def __call__(self, path: str) -> str:
        if path == STDIN or not os.path.exists(path):
            return path
        absolute = os.path.abspath(path)
        folder = absolute if os.path.isdir(absolute) else os.path.dirname(absolute)
        root = self.git_top(folder)
        for folder in (self.config_folder, self.home):
            if (
                root is None
                and folder
                and (absolute + os.sep).startswith(folder.rstrip(os.sep) + os.sep)
            ):
                root = folder
        shown = _posix(os.path.relpath(absolute, root) if root else absolute)
        self.read_as.setdefault(shown, path)
        return shown


def inside(path: str, bounds: list[str] | tuple[str, ...]) -> bool:
    """Whether `path` resolves (links followed) into one of `bounds` (resolved folders)."""
    real = os.path.realpath(path)
    return any(real == bound or real.startswith(bound.rstrip(os.sep) + os.sep) for bound in bounds)


def links_leaving(folder: str, bounds: tuple[str, ...], limit: int = 20_000) -> list[str]:
    """Links under `folder` that resolve outside `bounds` (a chart's files are read by
    Helm, which follows links)."""
    found = []
    for count, (directory, folders, files) in enumerate(walk_tree(folder, lambda error: None)):
        if count > limit:
            break
        for name in [*folders, *files]:
            path = os.path.join(directory, name)
            if os.path.islink(path) and not inside(path, bounds):
                found.append(path)
    return found


def _posix(path: str) -> str:
    return path.replace(os.sep, "/")


def is_excluded(path: str, patterns: list[str], base: str | None = None) -> bool:
    """A glob matches the path, or one of its parent folders (`vendor` excludes vendor/**).
    The path is taken as typed and, when `base` (the config file's folder) holds it,
    relative to `base`: patterns in config mean the same wherever the run starts."""
    if not patterns:
        return False
    texts = [_posix(os.path.normpath(path))]
    if base is not None:
        absolute = os.path.abspath(path)
        if absolute.startswith(base.rstrip(os.sep) + os.sep):
            texts.append(_posix(os.path.relpath(absolute, base)))
    candidates = []
    for text in texts:
        text = text.removeprefix("./")
        parts = text.split("/")
        candidates += [text, *("/".join(parts[:i]) for i in range(1, len(parts))), parts[-1]]
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
    render_kustomize: Callable[[str], bool] = lambda directory: False,
    bounds: tuple[str, ...] = (),
    exclude_base: str | None = None,
) -> Discovery:
    """Files named on the command line are linted whatever their extension; folders are
    walked for *.yaml, *.yml and *.json, skipping hidden folders and excluded paths. Helm
    charts (a folder with Chart.yaml, or a packaged .tgz) are collected to be rendered, never
    read as YAML, and a file inside a chart stands for its chart. Kustomize folders are
    collected to be rendered when `render_kustomize(folder)` says so, and walked otherwise.
    Links to folders are not followed, so link loops cannot trap the walk, and a linked
    file is read only when it resolves inside `bounds` (or inside the folder named)."""
    found = Discovery()

    def excluded(path: str) -> bool:
        return is_excluded(path, exclude, exclude_base)

    found.files = _files(paths, excluded, charts or [], render_kustomize, found, bounds)
    return found


def _files(
    paths: list[str],
    excluded: Callable[[str], bool],
    charts: list[str],
    render_kustomize: Callable[[str], bool],
    found: Discovery,
    bounds: tuple[str, ...],
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
        if render_kustomize(path):
            found.kustomizations.append(path)
            return True
        return False

    for chart in charts:
        add_chart(chart)

    for path in paths:
        if path == STDIN:
            add(path)
            yield from pending
            pending.clear()
            continue
        if not os.path.lexists(path):
            found.noted.append(Noted("unreadable-file", path, "missing", {}))
            continue
        if excluded(path):
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
        within = (os.path.realpath(path), *bounds)
        for _ in _walk(path, excluded, found, add, add_chart, add_kustomization, within):
            yield from pending
            pending.clear()


def _walk(
    top: str,
    excluded: Callable[[str], bool],
    found: Discovery,
    add,
    add_chart,
    add_kustomization,
    bounds: tuple[str, ...],
):
    """Walk one folder; yields after each file it adds (a folder of 50,000 files is linted
    as it is gone through, not once it is all collected), and after each folder."""
    from sidecarlint.render import is_chart_archive, kustomization_file

    if kustomization_file(top) and add_kustomization(top):
        return

    def on_error(error: OSError) -> None:
        found.noted.append(
            Noted(
                "unreadable-file", error.filename or top, "cannot-list", {"reason": error.strerror}
            )
        )

    for directory, folders, files in walk_tree(top, on_error):
        kept = []
        for name in sorted(folders):
            child = os.path.join(directory, name)
            if name.startswith(".") or excluded(child):
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
            if name.endswith(".tgz") and not excluded(path) and is_chart_archive(path):
                add_chart(path)
                continue
            if not name.endswith(EXTENSIONS) or name.startswith("."):
                continue
            if os.path.islink(path) and not inside(path, bounds):
                fields = {"path": os.path.normpath(path)}
                found.noted.append(Noted("outside-repository", path, "link", fields))
                continue
            if not excluded(path):
                add(path)
                yield directory
        yield directory


def walk_tree(top: str, on_error: Callable[[OSError], None]) -> Iterator[tuple[str, list, list]]:
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
