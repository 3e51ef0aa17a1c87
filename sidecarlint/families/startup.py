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
    later: list[str] = []  # the access-giving native sidecars after the current one
    hits = []
    for container in reversed(inits):  # one pass from the end: linear in the containers
        if is_native_sidecar(container):
            sidecar = catalog.match(container)
            if sidecar is not None and sidecar.provides_access:
                later.append(f"'{name_of(container)}' ({sidecar.title})")
            continue
        if later and not catalog.is_mesh_init(container):
            named = later[::-1][:MAX_NAMED]
            if len(later) > MAX_NAMED:
                named.append(f"{len(later) - MAX_NAMED} more")
            fields = {
                "name": name_of(container),
                "s": "s" if len(later) > 1 else "",
                "sidecars": " and ".join(named),
            }
            hits.append(Hit(container, "default", fields))
    yield from reversed(hits)


MAX_NAMED = 5  # sidecars named in one message; the rest are counted


CHECKS = {"init-container-before-sidecar": init_container_before_sidecar}
