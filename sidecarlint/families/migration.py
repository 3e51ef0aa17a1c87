"""Migration: legacy sidecars in long-running pods that would work better as native ones."""

from __future__ import annotations

from collections.abc import Iterator

from sidecarlint.check import CheckContext, Hit, name_of
from sidecarlint.families.run_to_completion import probe_hint
from sidecarlint.workloads import Workload, containers


def sidecar_not_native(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    if workload.runs_to_completion or not workload.known or not context.natives_apply:
        return
    matched = [(c, context.catalog.match(c)) for c in containers(workload.pod, "containers")]
    if not any(s is None for _, s in matched):
        return  # the sidecar is the workload itself (a gateway, an agent DaemonSet)
    catalog = context.catalog
    for container, sidecar in matched:
        if sidecar is None:
            continue
        if catalog.is_workload(sidecar, container, workload.pod, workload.pod_metadata):
            continue  # a gateway's proxy, or one the mesh keeps legacy on purpose
        native_fix = (sidecar.inject or {}).get("native_fix")
        fields = {
            "title": sidecar.title,
            "name": name_of(container),
            "hint": probe_hint(sidecar),
            "injected": f"; if {sidecar.title} is injected, {native_fix}" if native_fix else "",
        }
        if sidecar.probe_serves(container):  # what `check --fix` adds, moving it
            fields["probe"] = sidecar.probe_flow
            fields["mesh_init"] = ",".join(sidecar.mesh_init)  # they stay first
        yield Hit(container, "default", fields)


CHECKS = {"sidecar-not-native": sidecar_not_native}
