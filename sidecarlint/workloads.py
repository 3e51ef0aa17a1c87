"""Documents → workloads: where the pod spec lives for each kind of object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# kind → path from the object to the pod template (a dict with metadata and spec)
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
}
# Core kinds that never carry a pod, however their fields look.
NOT_WORKLOADS = {"ConfigMap", "Secret", "Service", "CustomResourceDefinition"}
JOB_KINDS = {"Job", "CronJob"}
INT64 = 2**63


class Workload:
    """One pod spec and the object around it."""

    def __init__(
        self,
        obj: dict,
        kind: str,
        name: str | None,
        namespace: str | None,
        pod: dict,
        pod_metadata: dict,
        runs_to_completion: bool,
        memo: dict | None = None,
    ) -> None:
        self.obj = obj
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.pod = pod
        self.pod_metadata = pod_metadata
        self.runs_to_completion = runs_to_completion
        # What several checks derive from the same container (its shutdown model), kept once.
        self.memo = {} if memo is None else memo


def dig(node: object, *path: str) -> Any:
    """node[path[0]][path[1]]..., or None where a step is missing or not a mapping."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _dict(node: object) -> dict:
    return node if isinstance(node, dict) else {}


def as_text(value: object) -> str | None:
    """A scalar from the manifest as text (a name may be written as a number); None stays."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def is_kubernetes_object(data: object) -> bool:
    """A mapping with string `apiVersion` and `kind` (Helm values and compose files are not)."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("apiVersion"), str)
        and isinstance(data.get("kind"), str)
    )


def _is_pod_spec(spec: object) -> bool:
    return isinstance(spec, dict) and isinstance(spec.get("containers"), list)


def find_workloads(data: object, _depth: int = 0) -> Iterator[Workload]:
    """Yield every pod spec in one document (a List's items included)."""
    if not is_kubernetes_object(data):
        return
    assert isinstance(data, dict)
    kind = data["kind"]
    api_version = data["apiVersion"]
    if kind == "List" or (kind.endswith("List") and isinstance(data.get("items"), list)):
        if _depth < 4:
            for item in data.get("items") or ():
                yield from find_workloads(item, _depth + 1)
        return
    metadata = _dict(data.get("metadata"))
    name = as_text(metadata.get("name"))
    namespace = as_text(metadata.get("namespace"))
    if kind == "Pod":
        spec = data.get("spec")
        if _is_pod_spec(spec):
            policy = dig(spec, "restartPolicy")
            yield Workload(
                data, kind, name, namespace, spec, metadata, policy in ("Never", "OnFailure")
            )
        return
    if kind in NOT_WORKLOADS and api_version in ("v1", "apiextensions.k8s.io/v1"):
        return
    path = TEMPLATE_PATHS.get(kind, ("spec", "template"))
    template = dig(data, *path)
    spec = dig(template, "spec")
    if _is_pod_spec(spec):
        assert isinstance(spec, dict)
        yield Workload(
            data,
            kind,
            name,
            namespace,
            spec,
            _dict(dig(template, "metadata")),
            kind in JOB_KINDS,
        )
    if kind == "AnalysisTemplate" or kind == "ClusterAnalysisTemplate":
        yield from _analysis_jobs(data, name, namespace)


def _analysis_jobs(data: dict, name: str | None, namespace: str | None) -> Iterator[Workload]:
    """Argo Rollouts analysis metrics that run a Job: spec.metrics[].provider.job."""
    for metric in dig(data, "spec", "metrics") or ():
        job = dig(metric, "provider", "job")
        template = dig(job, "spec", "template")
        spec = dig(template, "spec")
        if _is_pod_spec(spec):
            assert isinstance(spec, dict)
            label = as_text(dig(metric, "name")) or "?"
            yield Workload(
                data,
                data["kind"],
                f"{name or '?'}/{label}",
                namespace,
                spec,
                _dict(dig(template, "metadata")),
                True,
            )


def containers(pod: dict, key: str = "containers") -> list[dict]:
    """The well-formed entries of `pod[key]`; anything that is not a mapping is ignored."""
    items = pod.get(key)
    if not isinstance(items, list):
        return []
    return [c for c in items if isinstance(c, dict)]


def command_words(container: dict) -> list[str]:
    """The words of a container's `command` then `args`, as strings."""
    words: list[str] = []
    for key in ("command", "args"):
        value = container.get(key)
        if isinstance(value, list):
            words.extend(str(word) for word in value)
    return words


def env_value(items: object, name: str) -> object:
    """The value of `name` in an env list (`[{name, value}, ...]`), None when it is absent;
    the last entry wins, as in the container."""
    found = None
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("name") == name:
                found = item.get("value")
    return found


def is_native_sidecar(container: dict) -> bool:
    return container.get("restartPolicy") == "Always"


def grace_period(pod: dict) -> int | None:
    """`terminationGracePeriodSeconds`, 30 when absent; None when it is not a number."""
    value = pod.get("terminationGracePeriodSeconds", 30)
    if value is None:
        return 30
    if isinstance(value, bool) or not isinstance(value, int) or not -INT64 <= value < INT64:
        return None  # not a number the API accepts: invalid-number reports it
    return value
