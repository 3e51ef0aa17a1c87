"""Startup: does the app start only once the sidecars it needs are ready?"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sidecarlint.check import NO_CONTAINER, CheckContext, Hit, name_of
from sidecarlint.families.injection import planned_injections, signal
from sidecarlint.workloads import Workload, command_words, containers, dig, is_native_sidecar

# Catalogue categories of sidecars the app calls before its first request; the others (logs,
# telemetry) it never waits for.
NEEDED_AT_STARTUP = {"mesh-proxy", "database-proxy", "storage", "secrets", "proxy", "auth"}
ROLES = {"logs": "log shipper", "telemetry": "telemetry agent"}
_LOCAL_PORT = re.compile(r"(?:localhost|127\.0\.0\.1|\[::1\]|::1)\s*:\s*(\d{1,5})\b")
_LOCAL_HOST = re.compile(r"^(?:localhost|127\.0\.0\.1|::1)$")
_OWN_PORT = re.compile(
    r"(?:port|listen|address|addr)[^=\s]*[=\s:]+(?:[\w.\[\]:-]*:)?(\d{2,5})\b", re.I
)


def native_sidecar_without_startup_probe(
    workload: Workload, context: CheckContext
) -> Iterator[Hit]:
    """A native sidecar with no start signal: the containers after it start the moment its
    process exists. How much that matters depends on whether they call it at startup."""
    pod = workload.pod
    inits = containers(pod, "initContainers")
    reach: tuple[set[str], set[str], bool] | None = None
    for container in inits:
        if not is_native_sidecar(container):
            continue
        if container.get("startupProbe") is not None or dig(container, "lifecycle", "postStart"):
            continue
        sidecar = context.catalog.match(container)
        fields = {
            "name": name_of(container),
            "note": _note(container),
            "hint": f"{sidecar.title}: {sidecar.probe_hint}"
            if sidecar is not None and sidecar.probe_hint
            else "add a startupProbe that succeeds once it serves, or a postStart hook that "
            "waits for it",
            "reached": "",
        }
        if sidecar is not None:
            if sidecar.probe_serves(container):  # what `check --fix` adds
                fields["probe"] = sidecar.probe_flow
            if sidecar.category in NEEDED_AT_STARTUP:
                yield Hit(container, "default", fields)
            else:
                fields["title"] = sidecar.title
                fields["role"] = ROLES.get(sidecar.category, sidecar.category)
                yield Hit(container, "not-awaited", fields)
            continue
        if reach is None:  # what the app's containers name, read once per pod
            reach = _reached_ports([c for c in inits if not is_native_sidecar(c)], pod)
        ports = _own_ports(container)
        local, bare, local_host = reach
        found = sorted(ports & local) or (sorted(ports & bare) if local_host else [])
        if found:
            fields["reached"] = f" (the app reaches it on localhost:{found[0]})"
            yield Hit(container, "default", fields)
        else:
            yield Hit(container, "unreached", fields)
    if context.natives_apply and workload.pod_metadata.get("annotations"):
        yield from _injected_without_gate(workload, context)


def _injected_without_gate(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """A sidecar the pod asks its mesh to inject natively, which the injector adds without
    a startup gate (catalogue `native_shape.startup_gate: false`: Dapr's daprd)."""
    for planned in planned_injections(workload, context):
        shape = (planned.sidecar.inject or {}).get("native_shape") or {}
        if planned.forced != "native" or shape.get("startup_gate", True) or planned.why is None:
            continue
        labels = workload.pod_metadata.get("labels")
        switch = signal(
            planned.sidecar.inject["native"], labels, workload.pod_metadata.get("annotations")
        )
        why = f"{planned.why}, {switch[2]}" if switch else planned.why
        fields = {"title": planned.sidecar.title, "why": why, "hint": shape["startup_fix"]}
        yield Hit(planned.node, "injected", fields, planned.key, NO_CONTAINER)


def _note(container: dict) -> str:
    if container.get("readinessProbe") is not None or container.get("livenessProbe") is not None:
        return " (its readiness and liveness probes do not delay the containers after it)"
    return ""


def _own_ports(container: dict) -> set[str]:
    """The ports a sidecar listens on: its containerPorts, and ports its args or env name."""
    ports = {
        str(item.get("containerPort"))
        for item in container.get("ports") or ()
        if isinstance(item, dict) and item.get("containerPort") is not None
    }
    texts = command_words(container) + _env_texts(container)
    for text in texts:
        ports.update(_OWN_PORT.findall(text))
    return ports


def _env_texts(container: dict) -> list[str]:
    return [
        f"{item.get('name')}={item.get('value')}"
        for item in container.get("env") or ()
        if isinstance(item, dict) and item.get("value") is not None
    ]


def _reached_ports(others: list[dict], pod: dict) -> tuple[set[str], set[str], bool]:
    """What the app's containers (regular, and init containers that are not sidecars) name:
    ports on localhost, bare port numbers (env values, probe ports), and whether any of them
    names localhost as a host."""
    local: set[str] = set()
    bare: set[str] = set()
    local_host = False
    for container in [*others, *containers(pod, "containers")]:
        for text in command_words(container):
            local.update(_LOCAL_PORT.findall(text))
        for item in container.get("env") or ():
            value = item.get("value") if isinstance(item, dict) else None
            if value is None or isinstance(value, bool):
                continue
            text = str(value).strip()
            local.update(_LOCAL_PORT.findall(text))
            if text.isdigit():
                bare.add(text)
            elif _LOCAL_HOST.match(text):
                local_host = True
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            for action in ("httpGet", "tcpSocket", "grpc"):
                port = dig(container, probe, action, "port")
                if isinstance(port, int) and not isinstance(port, bool):
                    bare.add(str(port))
    return local, bare, local_host


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


CHECKS = {
    "native-sidecar-without-startup-probe": native_sidecar_without_startup_probe,
    "init-container-before-sidecar": init_container_before_sidecar,
}
