"""Facts about the cluster a run's manifests go to, read from the manifests themselves:
Namespace labels and annotations, and which meshes inject native sidecars.

Each input gathers its own `Facts` (the rule families that need a fact read it from every
document, see `families.GATHER`); the run merges them once, with the config's, and from then
on they are only read.
"""

from __future__ import annotations

from collections.abc import Iterable


class Facts:
    def __init__(self) -> None:
        self.namespaces: dict[str, dict] = {}  # name → labels and annotations
        # Where each Namespace was declared, with its labels: name → [(labels, (path, line))]
        self.declared: dict[str, list[tuple[dict, tuple[str, int]]]] = {}
        self.where: tuple[str, int] | None = None  # the document being gathered (the engine's)
        self.native: dict[str, bool] = {}  # mesh → injects native sidecars (an explicit switch)
        self.versions: dict[str, str] = {}  # mesh → its version, from its control plane

    def add_namespace(self, name: str, labels: dict) -> None:
        """A Namespace object: a later declaration of the same name replaces the earlier
        (what applying both in this order leaves)."""
        self.namespaces[name] = dict(labels)
        if self.where is not None:
            self.declared.setdefault(name, []).append((dict(labels), self.where))

    def conflicts(self, keys: set[str]) -> list[tuple]:
        """Namespaces declared more than once with different values for any of `keys` (the
        labels injection reads): (name, key, value, where, earlier value, earlier where),
        one for each later declaration that disagrees with an earlier one."""
        found = []
        for name, declarations in self.declared.items():
            for index, (labels, where) in enumerate(declarations[1:], start=1):
                for earlier, first in declarations[:index]:
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

    def namespace_place(self, name: str) -> tuple[str, int] | None:
        """Where the Namespace the run uses (its last declaration) is written, if known."""
        declarations = self.declared.get(name)
        return declarations[-1][1] if declarations else None

    def add_native(self, mesh: str, native: bool) -> None:
        self.native.setdefault(mesh, native)  # the first installation seen counts

    def add_version(self, mesh: str, version: str) -> None:
        self.versions.setdefault(mesh, version)  # the first control plane seen counts

    def __bool__(self) -> bool:
        return bool(self.namespaces or self.native or self.versions)

    def summary(self) -> dict:
        return {"namespaces": self.namespaces, "native": self.native, "versions": self.versions}


def merge(
    parts: Iterable[Facts],
    config_namespaces: dict,
    config_native: dict,
    config_versions: dict | None = None,
) -> Facts:
    """The run's facts: the inputs' in input order over the config's namespaces (a label
    read from the manifests wins), and the config's mesh settings (native, version) over the
    manifests'."""
    merged = Facts()
    declared: dict[str, dict] = {}  # the last declaration of each Namespace in the run
    native: dict[str, bool] = {}
    versions: dict[str, str] = {}
    for part in parts:
        for name, labels in part.namespaces.items():
            declared[name] = labels
        for mesh, value in part.native.items():
            native.setdefault(mesh, value)
        for mesh, version in part.versions.items():
            versions.setdefault(mesh, version)
        for name, declarations in part.declared.items():
            merged.declared.setdefault(name, []).extend(declarations)
    for name in {**config_namespaces, **declared}:
        merged.namespaces[name] = {**config_namespaces.get(name, {}), **declared.get(name, {})}
    merged.native = {**native, **config_native}
    merged.versions = {**versions, **(config_versions or {})}
    return merged
