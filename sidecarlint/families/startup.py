"""Startup: does the app start only once the sidecars it needs are ready?
(`native-sidecar-without-startup-probe` is a `find:` rule and lives in its YAML file alone.)"""

from __future__ import annotations

from collections.abc import Iterator

from sidecarlint.check import CheckContext, Hit, name_of
from sidecarlint.workloads import Workload, containers, is_native_sidecar


def init_container_before_sidecar(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """A regular init container declared before native sidecars that give network/data access."""
    catalog = context.catalog
    inits = containers(workload.pod, "initContainers")
    for index, container in enumerate(inits):
        if is_native_sidecar(container) or catalog.is_mesh_init(container):
            continue
        later = []
        for sidecar_container in inits[index + 1 :]:
            sidecar = (
                catalog.match(sidecar_container) if is_native_sidecar(sidecar_container) else None
            )
            if sidecar is not None and sidecar.provides_access:
                later.append(f"'{name_of(sidecar_container)}' ({sidecar.title})")
        if later:
            fields = {
                "name": name_of(container),
                "s": "s" if len(later) > 1 else "",
                "sidecars": " and ".join(later),
            }
            yield Hit(container, "default", fields)


CHECKS = {"init-container-before-sidecar": init_container_before_sidecar}
