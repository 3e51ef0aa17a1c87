"""API validity: what the API server rejects, or silently changes, in a pod with sidecars.
(`init-container-forbidden-field` is a `find:` rule.)"""

from __future__ import annotations

from collections.abc import Iterator

from sidecarlint.check import NO_CONTAINER, CheckContext, Hit, name_of
from sidecarlint.termination import (
    DURATION_ANNOTATIONS,
    MAX_DURATION_SECONDS,
    in_range,
    parse_duration,
)
from sidecarlint.workloads import (
    Workload,
    as_text,
    command_words,
    containers,
    dig,
    grace_period,
    group_of,
    is_native_sidecar,
)

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _kube_text(kube: tuple[int, int]) -> str:
    return f"{kube[0]}.{kube[1]}"


def _complete(workload: Workload) -> bool:
    """A whole pod, not a patch (a kustomization names the file as one) nor a test assertion
    (a container without an image): those leave out what they do not change."""
    return not workload.partial and all(
        "image" in container
        for key in ("initContainers", "containers")
        for container in containers(workload.pod, key)
    )


def invalid_restart_policy(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """restartPolicy values the API server rejects: on a Job's pod (only Never and OnFailure,
    and none is not a default it accepts), on init containers (Always; from 1.35 also Never
    and OnFailure) and on regular containers (none before 1.35)."""
    pod = workload.pod
    kube = _kube_text(context.kube)
    if workload.kind in ("Job", "CronJob") and group_of(workload.obj["apiVersion"]) == "batch":
        policy = pod.get("restartPolicy")
        fields = {"kind": workload.kind, "kube": kube}
        if policy is None:
            if _complete(workload):
                yield Hit(pod, "job-default", fields, None, NO_CONTAINER)
        elif policy not in ("Never", "OnFailure"):
            fields["restartPolicy"] = as_text(policy)
            yield Hit(pod, "job", fields, "restartPolicy", NO_CONTAINER)
    rules = context.kube >= (1, 35)  # ContainerRestartRules, beta and on by default
    for key, accepted in (
        ("initContainers", ("Always", "Never", "OnFailure") if rules else ("Always",)),
        ("containers", ("Always", "Never", "OnFailure") if rules else ()),
    ):
        for container in containers(pod, key):
            policy = container.get("restartPolicy")
            if policy is not None and policy not in accepted:
                fields = {
                    "name": name_of(container),
                    "restartPolicy": as_text(policy),
                    "kube": kube,
                }
                yield Hit(container, "default", fields, "restartPolicy", container)


def duplicate_container_name(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """Two containers of a pod with one name: names are unique across init, regular and
    ephemeral containers. A partial pod (a patch, a test assertion) is left alone."""
    if not _complete(workload):
        return
    seen: dict[str, str] = {}
    for key in CONTAINER_LISTS:
        for container in containers(workload.pod, key):
            name = as_text(container.get("name"))
            if name is None:
                continue
            if name in seen:
                fields = {"name": name, "first": seen[name], "list": key}
                yield Hit(container, "default", fields, "name", container)
            else:
                seen[name] = key


def sidecar_blocks_init(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """A known long-running sidecar in initContainers without restartPolicy: Always: init
    containers run one at a time to completion, so it never exits and the pod never leaves
    Init. The mesh's own init containers and one-shot modes (`one_shot_args`) are exempt."""
    one_shot = tuple(context.params["one_shot_args"])
    for container in containers(workload.pod, "initContainers"):
        if container.get("restartPolicy") is not None or "image" not in container:
            continue  # a restartPolicy is invalid-restart-policy's; no image: a partial pod
        sidecar = context.catalog.match(container)
        if sidecar is None or name_of(container) in sidecar.mesh_init:
            continue
        words = command_words(container)
        if any(flag in word for word in words for flag in one_shot):
            continue
        fields = {"title": sidecar.title, "name": name_of(container)}
        if context.natives_apply:
            yield Hit(container, "default", fields, None, container)
        else:
            yield Hit(container, "before-1.29", fields, None, container)


def removed_api_version(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """An apiVersion the target Kubernetes version no longer serves (the pod is linted all
    the same); the table is the rule's `removed` param."""
    api_version = workload.obj.get("apiVersion")
    for entry in context.params["removed"]:
        if api_version == entry["apiVersion"] and workload.kind in entry["kinds"]:
            removed = tuple(int(part) for part in str(entry["removed_in"]).split("."))
            if context.kube >= removed:
                fields = {
                    "api_version": api_version,
                    "kind": workload.kind,
                    "removed_in": entry["removed_in"],
                    "use": entry["use"],
                    "kube": _kube_text(context.kube),
                }
                yield Hit(workload.obj, "default", fields, "apiVersion", NO_CONTAINER)


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
    "invalid-restart-policy": invalid_restart_policy,
    "duplicate-container-name": duplicate_container_name,
    "sidecar-blocks-init": sidecar_blocks_init,
    "removed-api-version": removed_api_version,
    "invalid-probe": invalid_probe,
    "prestop-sleep-exceeds-grace": prestop_sleep_exceeds_grace,
    "native-sidecar-unsupported": native_sidecar_unsupported,
    "invalid-number": invalid_number,
}
