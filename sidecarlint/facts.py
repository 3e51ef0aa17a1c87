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
        self.native: dict[str, bool] = {}  # mesh → injects native sidecars (an explicit switch)
        self.versions: dict[str, str] = {}  # mesh → its version, from its control plane

    def add_namespace(self, name: str, labels: dict) -> None:
        self.namespaces.setdefault(name, {}).update(labels)

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
    for name, labels in config_namespaces.items():
        merged.add_namespace(name, dict(labels))
    native: dict[str, bool] = {}
    versions: dict[str, str] = {}
    for part in parts:
        for name, labels in part.namespaces.items():
            merged.add_namespace(name, labels)
        for mesh, value in part.native.items():
            native.setdefault(mesh, value)
        for mesh, version in part.versions.items():
            versions.setdefault(mesh, version)
    merged.native = {**native, **config_native}
    merged.versions = {**versions, **(config_versions or {})}
    return merged
