"""API validity: what the API server rejects, or silently changes, in a pod with sidecars.
(`init-container-forbidden-field` and `invalid-restart-policy` are `find:` rules.)"""

from __future__ import annotations

from collections.abc import Iterator

from sidecarlint.check import NO_CONTAINER, CheckContext, Hit, name_of
from sidecarlint.termination import (
    DURATION_ANNOTATIONS,
    MAX_DURATION_SECONDS,
    in_range,
    parse_duration,
)
from sidecarlint.workloads import Workload, containers, dig, grace_period, is_native_sidecar


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
        if in_range(seconds) and seconds > grace:
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


# ---------------------------------------------------------------------------------------
# Numbers the API server (or the mesh) would refuse


PROBE_INT32 = ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "failureThreshold")


def _out_of_range(value: object, bits: int) -> bool:
    """A number no `bits`-bit integer field holds: infinite, NaN, fractional, or past the
    type's bounds (JSON decoding into the API's Go struct fails). Other types are the API's
    own type error, not a range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, float) and not value.is_integer():  # also NaN and infinities
        return True
    return not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


def _number_text(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def invalid_number(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """Seconds and counts the API server rejects, and duration annotations past what a Go
    duration holds: each is a finding naming its field, and counts as unknown elsewhere."""
    pod = workload.pod
    grace = pod.get("terminationGracePeriodSeconds")
    if _out_of_range(grace, 64):
        fields = {
            "field": "terminationGracePeriodSeconds",
            "value": _number_text(grace),
            "bits": 64,
        }
        yield Hit(pod, "default", fields, "terminationGracePeriodSeconds")
    for container in [*containers(pod, "initContainers"), *containers(pod, "containers")]:
        name = name_of(container)
        for hook in ("preStop", "postStart"):
            sleep = dig(container, "lifecycle", hook, "sleep")
            seconds = sleep.get("seconds") if isinstance(sleep, dict) else None
            if _out_of_range(seconds, 64):
                fields = {
                    "field": f"lifecycle.{hook}.sleep.seconds of '{name}'",
                    "value": _number_text(seconds),
                    "bits": 64,
                }
                yield Hit(sleep, "default", fields, "seconds", container)
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            probe = container.get(kind)
            if not isinstance(probe, dict):
                continue
            for key, bits in [
                *((k, 32) for k in PROBE_INT32),
                ("terminationGracePeriodSeconds", 64),
            ]:
                if _out_of_range(probe.get(key), bits):
                    fields = {
                        "field": f"{kind}.{key} of '{name}'",
                        "value": _number_text(probe[key]),
                        "bits": bits,
                    }
                    yield Hit(probe, "default", fields, key, container)
    annotations = workload.pod_metadata.get("annotations")
    if not isinstance(annotations, dict):
        return
    for key in DURATION_ANNOTATIONS:
        raw = annotations.get(key)
        if raw is None:
            continue
        items = str(raw).split(",") if "=" in str(raw) else [str(raw)]
        for item in items:
            text = item.partition("=")[2] if "=" in item else item
            number = text.strip().rstrip("hmsun").strip()  # a bare number, or a duration
            try:
                big = float(number) > MAX_DURATION_SECONDS
            except ValueError:
                big = False
            if big and parse_duration(text.strip()) is None:
                fields = {"key": key, "value": text.strip()[:40]}
                yield Hit(annotations, "annotation", fields, key, NO_CONTAINER)


CHECKS = {
    "invalid-probe": invalid_probe,
    "prestop-sleep-exceeds-grace": prestop_sleep_exceeds_grace,
    "native-sidecar-unsupported": native_sidecar_unsupported,
    "invalid-number": invalid_number,
}
