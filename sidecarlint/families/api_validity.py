"""API validity: what the API server rejects, or silently changes, in a pod with sidecars.
(`init-container-forbidden-field` and `invalid-restart-policy` are `find:` rules.)"""

from __future__ import annotations

from collections.abc import Iterator

from sidecarlint.check import CheckContext, Hit, name_of
from sidecarlint.workloads import Workload, containers, dig, grace_period, is_native_sidecar


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def invalid_probe(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """Probe settings the API server rejects."""
    pod = workload.pod
    for container in [*containers(pod, "initContainers"), *containers(pod, "containers")]:
        for kind in ("startupProbe", "livenessProbe"):
            probe = container.get(kind)
            if not isinstance(probe, dict):
                continue
            threshold = probe.get("successThreshold")
            if threshold is not None and threshold != 1:
                fields = {"probe": kind, "name": name_of(container), "threshold": repr(threshold)}
                yield Hit(probe, "success-threshold", fields, "successThreshold", container)
        readiness = container.get("readinessProbe")
        if isinstance(readiness, dict) and "terminationGracePeriodSeconds" in readiness:
            fields = {"name": name_of(container)}
            yield Hit(
                readiness, "readiness-grace", fields, "terminationGracePeriodSeconds", container
            )


def prestop_sleep_exceeds_grace(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """`preStop.sleep.seconds` above terminationGracePeriodSeconds: the API server rejects it."""
    pod = workload.pod
    grace = grace_period(pod)
    if grace is None:
        return
    for container in [*containers(pod, "initContainers"), *containers(pod, "containers")]:
        sleep = dig(container, "lifecycle", "preStop", "sleep")
        seconds = sleep.get("seconds") if isinstance(sleep, dict) else None
        if _is_number(seconds) and seconds > grace:
            fields = {
                "name": name_of(container),
                "seconds": seconds,
                "grace": grace,
                "default": "" if "terminationGracePeriodSeconds" in pod else " (the default)",
            }
            yield Hit(sleep, "default", fields, "seconds", container)


def native_sidecar_unsupported(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """Native sidecars while the target Kubernetes version is older than 1.29."""
    if context.natives_apply:
        return
    version = f"{context.kube[0]}.{context.kube[1]}"
    for container in containers(workload.pod, "initContainers"):
        if is_native_sidecar(container):
            key = "alpha" if context.kube == (1, 28) else "default"
            fields = {"name": name_of(container), "version": version}
            yield Hit(container, key, fields, "restartPolicy")


CHECKS = {
    "invalid-probe": invalid_probe,
    "prestop-sleep-exceeds-grace": prestop_sleep_exceeds_grace,
    "native-sidecar-unsupported": native_sidecar_unsupported,
}
