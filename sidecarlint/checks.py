"""Named Python checks, for rules that JMESPath cannot express readably.

A check is `check(workload, env) -> Iterator[Hit]`; rule files name it with `check:`. The
engine, suppressions and reporters treat its hits exactly like those of a `find:` rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sidecarlint.catalog import Catalog
from sidecarlint.rules import Hit
from sidecarlint.workloads import Workload, containers, grace_period, is_native_sidecar


@dataclass
class Env:
    """What a check may read besides the workload: its params and the run's settings."""

    params: dict[str, Any]
    kube: tuple[int, int]
    catalog: Catalog
    settings: Any = None


def _name(container: dict) -> str:
    name = container.get("name")
    return name if isinstance(name, str) else "?"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def init_container_before_sidecar(workload: Workload, env: Env) -> Iterator[Hit]:
    """A regular init container declared before native sidecars that give network/data access."""
    inits = containers(workload.pod, "initContainers")
    for index, container in enumerate(inits):
        if is_native_sidecar(container) or env.catalog.is_mesh_init(container):
            continue
        later = []
        for sidecar_container in inits[index + 1 :]:
            sidecar = (
                env.catalog.match(sidecar_container)
                if is_native_sidecar(sidecar_container)
                else None
            )
            if sidecar is not None and sidecar.provides_access:
                later.append(f"'{_name(sidecar_container)}' ({sidecar.title})")
        if later:
            yield Hit(
                container,
                f"init container '{_name(container)}' runs before the native sidecar"
                f"{'s' if len(later) > 1 else ''} {' and '.join(later)} start, so it has no "
                "mesh, database or storage access through them; declare it after them if it "
                "needs them",
            )


def invalid_probe(workload: Workload, env: Env) -> Iterator[Hit]:
    """Probe settings the API server rejects."""
    pod = workload.pod
    for container in [*containers(pod, "initContainers"), *containers(pod, "containers")]:
        for kind in ("startupProbe", "livenessProbe"):
            probe = container.get(kind)
            if not isinstance(probe, dict):
                continue
            threshold = probe.get("successThreshold")
            if threshold is not None and threshold != 1:
                yield Hit(
                    probe,
                    f"{kind} of '{_name(container)}' has successThreshold {threshold!r}; the API "
                    f"server requires 1 for startup and liveness probes (omit it)",
                    "successThreshold",
                )
        readiness = container.get("readinessProbe")
        if isinstance(readiness, dict) and "terminationGracePeriodSeconds" in readiness:
            yield Hit(
                readiness,
                f"readinessProbe of '{_name(container)}' sets terminationGracePeriodSeconds, "
                "which the API server rejects for readiness probes (it only applies to "
                "liveness and startup probes)",
                "terminationGracePeriodSeconds",
            )


def prestop_sleep_exceeds_grace(workload: Workload, env: Env) -> Iterator[Hit]:
    """`preStop.sleep.seconds` above terminationGracePeriodSeconds: the API server rejects it."""
    pod = workload.pod
    grace = grace_period(pod)
    if grace is None:
        return
    for container in [*containers(pod, "initContainers"), *containers(pod, "containers")]:
        lifecycle = container.get("lifecycle")
        pre_stop = lifecycle.get("preStop") if isinstance(lifecycle, dict) else None
        sleep = pre_stop.get("sleep") if isinstance(pre_stop, dict) else None
        seconds = sleep.get("seconds") if isinstance(sleep, dict) else None
        if _is_number(seconds) and seconds > grace:
            where = "" if "terminationGracePeriodSeconds" in pod else " (the default)"
            yield Hit(
                sleep,
                f"preStop sleep of '{_name(container)}' is {seconds}s, longer than "
                f"terminationGracePeriodSeconds {grace}s{where}: the API server rejects it; "
                f"set terminationGracePeriodSeconds to at least {seconds} plus the time the "
                "container needs to stop",
                "seconds",
            )


def native_sidecar_unsupported(workload: Workload, env: Env) -> Iterator[Hit]:
    """Native sidecars while the target Kubernetes version is older than 1.29."""
    if env.kube >= (1, 29):
        return
    version = f"{env.kube[0]}.{env.kube[1]}"
    for container in containers(workload.pod, "initContainers"):
        if not is_native_sidecar(container):
            continue
        if env.kube == (1, 28):
            yield Hit(
                container,
                f"native sidecar '{_name(container)}' on Kubernetes 1.28: the SidecarContainers "
                "feature is alpha and off by default, and even when enabled sidecars are not "
                "stopped after the app; target 1.29 or later, or keep the sidecar in containers",
                "restartPolicy",
                "warning",
            )
        else:
            yield Hit(
                container,
                f"native sidecar '{_name(container)}' needs Kubernetes 1.29 or later: on "
                f"{version} restartPolicy on an init container is dropped or rejected, so it "
                "runs as a regular init container that never completes and the pod stays in Init",
                "restartPolicy",
            )


CHECKS: dict[str, Callable[[Workload, Env], Iterator[Hit]]] = {
    "init_container_before_sidecar": init_container_before_sidecar,
    "invalid_probe": invalid_probe,
    "prestop_sleep_exceeds_grace": prestop_sleep_exceeds_grace,
    "native_sidecar_unsupported": native_sidecar_unsupported,
}
