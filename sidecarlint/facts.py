"""Facts about the cluster a run's manifests go to, read from the manifests themselves:
Namespace labels and annotations, and which meshes inject native sidecars.

Each input gathers its own `Facts` (the rule families that need a fact read it from every
document, see `families.GATHER`); the run merges them once, with the config's, and from then
on they are only read.

A Namespace object is a fact only for the manifests written beside it (`scope`): those in
the folder that holds its file and below, or, when that folder is a folder of namespaces
(`namespaces/`), in its parent; a Namespace a chart or overlay renders, for that chart or
overlay's folder. So a fixture that labels `default` for injection, or another repository
linted in the same run, does not make every Job in `default` a finding. The config's
`mesh.namespaces` apply to the whole run; so do mesh versions and switches (one cluster's
control plane).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

# Folders that hold only Namespace objects: their Namespaces are for their parent folder.
NAMESPACE_FOLDERS = frozenset({"namespaces", "namespace", "ns"})


def scope(where: tuple[str, int] | None) -> str | None:
    """The folder a Namespace declared at `where` applies in (absolute), "" for standard
    input, None for anywhere (a declaration with no place)."""
    if where is None:
        return None
    path = where[0]
    if path in ("-", "<stdin>"):
        return ""
    path = os.path.abspath(path)
    if os.path.isdir(path):  # a chart
        return path
    folder = os.path.dirname(path)
    if os.path.basename(folder).lower() in NAMESPACE_FOLDERS:
        folder = os.path.dirname(folder)
    return folder


def in_scope(folder: str | None, path: str) -> bool:
    """Whether a manifest at `path` sees a Namespace of scope `folder`."""
    if folder is None:
        return True
    if folder == "":
        return path in ("-", "<stdin>")
    if path in ("-", "<stdin>"):
        return False
    path = os.path.abspath(path)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class Facts:
    def __init__(self) -> None:
        self.namespaces: dict[str, dict] = {}  # name → labels and annotations
        # Where each Namespace was declared, with its labels: name → [(labels, (path, line))]
        # (where is None for a declaration with no place, seen everywhere)
        self.declared: dict[str, list[tuple[dict, tuple[str, int] | None]]] = {}
        self.where: tuple[str, int] | None = None  # the document being gathered (the engine's)
        self.native: dict[str, bool] = {}  # mesh → injects native sidecars (an explicit switch)
        self.versions: dict[str, str] = {}  # mesh → its version, from its control plane

        self.config_namespaces: dict[str, dict] = {}  # from config: seen everywhere
        # Objects that select workloads for an operator to inject into (the Cloud SQL Proxy
        # operator's AuthProxyWorkload): (kind of selector, its name, namespace, workload
        # kind, workload name or None, labels to match or None, where)
        self.selections: list[tuple] = []
        self._views: dict[tuple, Facts] = {}  # seen_from's, by what is visible
        self._seen: dict[str, Facts] = {}  # seen_from's, by path

    def add_namespace(self, name: str, labels: dict) -> None:
        """A Namespace object: a later declaration of the same name replaces the earlier
        (what applying both in this order leaves)."""
        self.namespaces[name] = dict(labels)
        self.declared.setdefault(name, []).append((dict(labels), self.where))

    def conflicts(self, keys: set[str]) -> list[tuple]:
        """Namespaces declared more than once with different values for any of `keys` (the
        labels injection reads): (name, key, value, where, earlier value, earlier where),
        one for each later declaration that disagrees with an earlier one that some manifest
        sees with it (their scopes nest)."""
        found = []
        for name, declarations in self.declared.items():
            for index, (labels, where) in enumerate(declarations[1:], start=1):
                for earlier, first in declarations[:index]:
                    if where is None or first is None or not _nested(where, first):
                        continue
                    differing = sorted(
                        key
                        for key in keys
                        if (key in labels or key in earlier) and labels.get(key) != earlier.get(key)
                    )
                    if differing:
                        key = differing[0]
                        found.append((name, key, labels.get(key), where, earlier.get(key), first))
                        break
        return found

    def relocate(self, path: str) -> None:
        """Rendered output has no lines of its own on disk: its Namespaces are placed at the
        chart or kustomization that rendered them."""
        for declarations in self.declared.values():
            declarations[:] = [(labels, (path, 1)) for labels, _ in declarations]

    def seen_from(self, path: str) -> Facts:
        """The facts a manifest at `path` sees: the Namespaces in scope there (the last
        declaration of each name over the config's), and the run's mesh facts."""
        visible = {
            name: tuple(i for i, (_, where) in enumerate(found) if in_scope(scope(where), path))
            for name, found in self.declared.items()
        }
        key = tuple(sorted(visible.items()))
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = Facts()
            view.native, view.versions = self.native, self.versions
            view.selections = [
                s for s in self.selections if s[6] is None or in_scope(scope(s[6]), path)
            ]
            view.config_namespaces = self.config_namespaces
            view.declared = {
                name: [self.declared[name][i] for i in indexes]
                for name, indexes in visible.items()
                if indexes
            }
            view.namespaces = {
                name: dict(labels) for name, labels in self.config_namespaces.items()
            }
            for name, found in view.declared.items():
                view.namespaces[name] = {**self.config_namespaces.get(name, {}), **found[-1][0]}
        return view

    def namespace_place(self, name: str) -> tuple[str, int] | None:
        """Where the Namespace the run uses (its last declaration) is written, if known."""
        declarations = self.declared.get(name)
        return declarations[-1][1] if declarations else None

    def add_selection(
        self,
        selector: str,
        name: str,
        namespace: str | None,
        kind: str,
        target: str | None,
        labels: dict | None,
    ) -> None:
        self.selections.append((selector, name, namespace, kind, target, labels, self.where))

    def selecting(self, namespace: str | None, target: tuple) -> tuple | None:
        """The first selection in `namespace` that picks the workload `target` = (kind,
        name, labels as pairs): its (kind of selector, name, where)."""
        kind, name, labels = target
        for found, own, where_ns, wanted, wanted_name, match, where in self.selections:
            if where_ns != namespace or wanted != kind:
                continue
            if wanted_name is not None and wanted_name != name:
                continue
            if match is not None and not set(match.items()) <= set(labels):
                continue
            if wanted_name is None and match is None:
                continue
            return found, own, where
        return None

    def add_native(self, mesh: str, native: bool) -> None:
        self.native.setdefault(mesh, native)  # the first installation seen counts

    def add_version(self, mesh: str, version: str) -> None:
        self.versions.setdefault(mesh, version)  # the first control plane seen counts

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.native or self.versions or self.selections)

    def summary(self) -> dict:
        return {"namespaces": self.namespaces, "native": self.native, "versions": self.versions}


def merge(
    parts: Iterable[Facts],
    config_namespaces: dict,
    config_native: dict,
    config_versions: dict | None = None,
) -> Facts:
    """The run's facts: the inputs' in input order over the config's namespaces (a label
    read from the manifests wins, where they are in scope: `Facts.seen_from`), and the
    config's mesh settings (native, version) over the manifests'."""
    merged = Facts()
    merged.config_namespaces = {name: dict(labels) for name, labels in config_namespaces.items()}
    native: dict[str, bool] = {}
    versions: dict[str, str] = {}
    for part in parts:
        for mesh, value in part.native.items():
            native.setdefault(mesh, value)
        for mesh, version in part.versions.items():
            versions.setdefault(mesh, version)
        for name, declarations in part.declared.items():
            merged.declared.setdefault(name, []).extend(declarations)
        merged.selections.extend(part.selections)
    merged.namespaces = {name: dict(labels) for name, labels in config_namespaces.items()}
    for name, declarations in merged.declared.items():
        merged.namespaces[name] = {**config_namespaces.get(name, {}), **declarations[-1][0]}
    merged.native = {**native, **config_native}
    merged.versions = {**versions, **(config_versions or {})}
    return merged


def _nested(one: tuple[str, int], other: tuple[str, int]) -> bool:
    """Whether two declarations' scopes nest (some manifest sees both)."""
    first, second = scope(one), scope(other)
    return in_scope(first, second or "-") or in_scope(second, first or "-")


def fragment(facts: Facts) -> dict:
    """One file's facts as JSON data (the hook's cache): its Namespace declarations with
    their lines, and the mesh switches and versions it shows."""
    return {
        "declared": {
            name: [[labels, where[1] if where else 0] for labels, where in found]
            for name, found in facts.declared.items()
        },
        "native": dict(facts.native),
        "versions": dict(facts.versions),
        "selections": [[*s[:6], s[6][1] if s[6] else 0] for s in facts.selections],
    }


def add_fragment(facts: Facts, path: str, data: object) -> bool:
    """Add one file's cached facts (`fragment`) to `facts`, as gathering it again would;
    False, adding nothing, when the data is not a well-formed fragment."""
    if not isinstance(data, dict):
        return False
    declared, native, versions = data.get("declared"), data.get("native"), data.get("versions")
    selections = data.get("selections")
    if not (isinstance(declared, dict) and isinstance(native, dict) and isinstance(versions, dict)):
        return False
    if not isinstance(selections, list) or not all(_selection(s) for s in selections):
        return False
    entries = []
    for name, found in declared.items():
        if not isinstance(found, list):
            return False
        for item in found:
            if not (
                isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in item[0].items())
                and isinstance(item[1], int)
            ):
                return False
            entries.append((name, item[0], item[1]))
    if not all(isinstance(k, str) and isinstance(v, bool) for k, v in native.items()):
        return False
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items()):
        return False
    for name, labels, line in entries:
        facts.where = (path, line)
        facts.add_namespace(name, labels)
    facts.where = None
    for selector, name, namespace, kind, target, labels, line in selections:
        facts.where = (path, line)
        facts.add_selection(selector, name, namespace, kind, target, labels)
    facts.where = None
    for mesh, value in native.items():
        facts.add_native(mesh, value)
    for mesh, version in versions.items():
        facts.add_version(mesh, version)
    return True


def _selection(item: object) -> bool:
    """Whether cached data is a selection as `fragment` writes it."""
    if not isinstance(item, list) or len(item) != 7:
        return False
    selector, name, namespace, kind, target, labels, line = item
    texts = all(isinstance(v, str) for v in (selector, name, kind))
    optional = all(v is None or isinstance(v, str) for v in (namespace, target))
    pairs = labels is None or (
        isinstance(labels, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    )
    return texts and optional and pairs and isinstance(line, int)
