"""Injection: sidecars a mesh adds at admission, read from labels and annotations on the pod
and on its Namespace.

Besides its check, this family gathers the run-wide facts it needs (`gather`: Namespace
labels, meshes installed with native sidecars switched on) and settles its pending findings
once every input has been read (`settle`): a Job whose namespace is labelled in another file
is only known to be injected then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sidecarlint.catalog import Sidecar
from sidecarlint.check import NO_CONTAINER, CheckContext, Hit
from sidecarlint.facts import Facts
from sidecarlint.functions import parse_version
from sidecarlint.workloads import Workload, containers, dig, env_value

NATIVE = "ENABLE_NATIVE_SIDECARS"  # istiod's switch for injecting native sidecars


def signal(
    signals: list[dict], labels: object, annotations: object = None
) -> tuple[dict, str, str] | None:
    """The first signal found on the object: (map, key, 'key: value'). A signal with
    `from: labels` (or `annotations`) is read there only; one read in both is decided by the
    labels when they have the key (Istio: the label wins over the annotation)."""
    for found in signals:
        key = found["key"]
        wanted = found.get("value")
        where = found.get("from")
        maps = (
            (labels,) if where == "labels" else (annotations,) if where else (labels, annotations)
        )
        for mapping in maps:
            if isinstance(mapping, dict) and key in mapping:
                value = mapping[key]
                text = str(value).lower() if isinstance(value, bool) else str(value)
                if wanted is None or text == str(wanted):
                    return mapping, key, f"{key}: {text}"
                break  # the first place that has the key decides
    return None


def gated_out(inject: dict, labels: dict) -> str | None:
    """A namespace label that keeps the mesh's webhook from ever seeing its pods, whatever
    they say (Istio: `istio-injection` set to anything but `enabled`, semantics.md §9.2)."""
    gate = inject.get("namespace_gate")
    if gate and gate["key"] in labels and str(labels[gate["key"]]) != str(gate["value"]):
        return f"{gate['key']}: {labels[gate['key']]}"
    return None


_SHARED: dict[tuple, tuple] = {}


def shared(value: tuple) -> tuple:
    """One copy of each pending condition: every Job of a namespace carries the same one."""
    if len(_SHARED) > 4096:
        _SHARED.clear()
    return _SHARED.setdefault(value, value)


def _fields(sidecar, kind: str, why: str, context: CheckContext, forced: str | None = None) -> dict:
    inject = sidecar.inject or {}
    fixes = []
    if context.natives_apply and inject.get("native_fix"):
        fixes.append(inject["native_fix"])
    fixes += [inject[k] for k in ("disable_fix", "quit_fix") if inject.get(k)]
    fields = {"title": sidecar.title, "kind": kind, "why": why, "fixes": "; or ".join(fixes)}
    switch = inject.get("native_switch")
    if switch and context.natives_apply and forced != "legacy":  # the fix `check --fix` makes
        fields["switch_key"], fields["switch_value"] = switch["key"], switch["value"]
    return fields


class Planned(NamedTuple):
    """A sidecar a mesh will add to the pod, if the condition holds: the pod's own signal
    (`why`, on `node` at `key`), or its namespace's labels, read once the run's Namespace
    objects are known. It is a legacy sidecar when the pod forces legacy mode or the mesh
    does not inject natively in this run, a native one when the pod forces native mode or
    the mesh does (`injection_mode`)."""

    sidecar: Sidecar
    node: object  # the labels or annotations holding the signal; None: the namespace's
    key: str | None
    why: str | None  # "key: value" on the pod; None: only the namespace can say
    namespace: str | None
    forced: str | None  # "legacy" or "native": the pod's own switch; None: the mesh decides
    # For an operator that injects into the workloads an object selects (the Cloud SQL
    # Proxy operator's AuthProxyWorkload): the workload's (kind, name, labels as pairs)
    target: tuple | None = None

    @property
    def condition(self) -> tuple:
        """What `injection_mode` decides on, as a hashable value."""
        return (self.sidecar.id, self.why, self.namespace, self.forced, self.target)


def planned_injections(workload: Workload, context: CheckContext) -> list[Planned]:
    """The sidecars meshes may add to this pod at admission in legacy mode, as the webhooks
    decide from its labels and annotations (and, later, its namespace's); made once per pod
    for the rules that ask (the Job rule, the shutdown rules)."""
    planned = workload.memo.get("planned injections")
    if planned is None:
        planned = workload.memo["planned injections"] = _planned(workload, context)
    return planned


def _planned(workload: Workload, context: CheckContext) -> list[Planned]:
    pod = workload.pod
    labels = workload.pod_metadata.get("labels")
    annotations = workload.pod_metadata.get("annotations")
    present = set()
    for key in ("initContainers", "containers"):
        for container in containers(pod, key):
            sidecar = context.catalog.match(container)
            if sidecar is not None:
                present.add(sidecar.id)
    # An object that names no namespace goes wherever it is applied: only the config's
    # default_namespace says where (kustomize's `namespace:` is already in its output).
    namespace = workload.namespace or context.default_namespace
    keys = {
        *(labels if isinstance(labels, dict) else ()),
        *(annotations if isinstance(annotations, dict) else ()),
    }
    planned = _selected(workload, context, namespace, present)
    catalog = context.catalog
    if keys.isdisjoint(catalog.pod_signal_keys) and pod.get("hostNetwork") is not True:
        # nothing on the pod speaks to a webhook: only its namespace can (the usual pod)
        if namespace is None:
            return planned
        return planned + [
            Planned(sidecar, None, None, None, namespace, None)
            for sidecar in catalog.injectors()
            if sidecar.id not in present and (sidecar.inject or {}).get("namespace")
        ]
    for sidecar in catalog.injectors():
        inject = sidecar.inject or {}
        if sidecar.id in present:
            continue  # already in the manifest: the rules see it as it is written
        if inject["mesh"] == "istio" and pod.get("hostNetwork") is True:
            continue  # Istio never injects into host-network pods
        if context.catalog.is_workload(sidecar, {}, pod, workload.pod_metadata):
            continue  # it injects the pod's workload (a gateway), not a sidecar
        forced = None
        if not keys.isdisjoint(sidecar.signal_keys):  # the pod has keys this mesh reads
            if signal(inject.get("disable", []), labels, annotations):
                continue
            if signal(inject.get("native", []), labels, annotations):
                forced = "native"
            elif signal(inject.get("legacy", []), labels, annotations):
                forced = "legacy"
            found = signal(inject.get("enable", []), labels, annotations)
            if found:
                node, key, why = found
                planned.append(Planned(sidecar, node, key, why, namespace, forced))
                continue
        if inject.get("namespace") and namespace is not None:
            planned.append(Planned(sidecar, None, None, None, namespace, forced))
    return planned


def _selected(workload: Workload, context: CheckContext, namespace, present: set) -> list:
    """Sidecars an operator injects into the workloads an object of the run selects, if one
    does (decided once the run's objects are known): the workload's kind, name and labels."""
    selectors = context.catalog.selector_injectors
    if not selectors or workload.label is not None or not workload.name:
        return []  # one of several pods of a custom resource is not what a selector names
    labels = (
        workload.obj.get("metadata", {}).get("labels")
        if isinstance(workload.obj.get("metadata"), dict)
        else None
    )
    pairs = (
        tuple(sorted((str(k), str(v)) for k, v in labels.items()))
        if isinstance(labels, dict)
        else ()
    )
    target = (workload.kind, workload.name, pairs)
    return [
        Planned(sidecar, None, None, None, namespace, None, target)
        for sidecar in selectors
        if sidecar.id not in present
    ]


def injected_as_legacy(condition: tuple, facts: Facts, context: CheckContext) -> str | None:
    """Why the sidecar of a `Planned.condition` is injected as a legacy sidecar under the
    run's facts ("sidecar.istio.io/inject: true", "namespace 'x' has istio-injection:
    enabled"), or None when it is not."""
    found = injection_mode(condition, facts, context)
    return found[1] if found is not None and found[0] == "legacy" else None


def injection_mode(condition: tuple, facts: Facts, context: CheckContext) -> tuple | None:
    """("legacy" or "native", why) for the sidecar of a `Planned.condition` under the run's
    facts, or None when it is not injected."""
    sidecar_id, why, namespace, forced, target = condition
    sidecar = context.catalog.by_id(sidecar_id)
    inject = sidecar.inject or {}
    labels = facts.namespaces.get(namespace, {}) if namespace is not None else {}
    if target is not None:
        found = facts.selecting(namespace, target)
        if found is None:
            return None
        why = f"{found[0]} '{found[1]}' selects this {target[0]}"
    elif gated_out(inject, labels):
        return None  # the webhook never sees the namespace's pods
    if why is None:
        found = signal(inject.get("namespace", []), labels)
        if not found or signal(inject.get("disable", []), labels):
            return None
        why = f"namespace '{namespace}' has {found[2]}"
    if forced == "native":
        return ("native", why)
    if forced is None and injects_natively(sidecar, facts, context):
        return ("native", why)
    return ("legacy", _legacy_why(why, inject, forced, facts, context))


def _legacy_why(why: str, inject: dict, forced, facts: Facts, context: CheckContext) -> str:
    version = facts.versions.get(inject["mesh"])
    if forced == "legacy":
        return why
    if version is not None:
        kube = f"{context.kube[0]}.{context.kube[1]}"
        return f"{why}; {inject['mesh']} {version} injects legacy ones on Kubernetes {kube}"
    if inject.get("native_default"):
        return (
            f"{why}; its version is unknown, so it is taken to inject legacy ones: "
            f"{inject['native_default']}, so set mesh.{inject['mesh']}.version if yours is"
        )
    return why


def signal_place(condition: tuple, facts: Facts) -> tuple | None:
    """The related location of a sidecar injected because of its namespace: the Namespace
    object's place, when a manifest of the run declares it."""
    _, why, namespace, _, target = condition
    if target is not None:  # the object that selects the workload
        found = facts.selecting(namespace, target)
        if found is None or found[2] is None:
            return None
        selector, name, (path, line) = found
        return (path, line, 1, f"{selector} '{name}' selects the {target[0]} here")
    if why is not None or namespace is None:
        return None
    place = facts.namespace_place(namespace)
    if place is None:
        return None
    return (place[0], place[1], 1, f"Namespace '{namespace}' is labelled for injection here")


def injects_natively(sidecar: Sidecar, facts: Facts, context: CheckContext) -> bool:
    """Whether the mesh injects this sidecar natively in this run: an explicit switch (its
    control plane's setting, or config `mesh.<name>.native`) wins; else the mesh's version
    (config `mesh.<name>.version`, or its control plane's image in the run) against the
    catalogue's `native_since`; an unknown version is never taken for native."""
    inject = sidecar.inject or {}
    mesh = inject["mesh"]
    explicit = facts.native.get(mesh)
    if explicit is not None:
        return explicit
    since = inject.get("native_since")
    version = parse_version(facts.versions.get(mesh))
    if since is None or version is None:
        return False
    return version >= parse_version(since["version"]) and context.kube >= parse_version(
        since["kube"]
    )


def job_injected_legacy_sidecar(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """A signal on the pod is a finding once the run shows the mesh does not inject natively;
    a signal that can only come from the namespace is one compact pending hit, settled once
    every Namespace object of the run is known."""
    if not workload.job_rules_apply:
        return
    by_namespace: list[tuple[str, str | None]] = []
    namespace = None
    quitting = None
    for planned in planned_injections(workload, context):
        if planned.forced == "native":
            continue  # the pod switches it to a native sidecar, stopped after the job's work
        if planned.target is not None:  # an operator's, if an object of the run selects it
            if quitting is None:
                quitting = _app_text(workload)
            if any(q in quitting for q in planned.sidecar.quit):
                continue  # the job stops it itself ($CSQL_PROXY_QUIT_URLS)
            pod = workload.pod_metadata or workload.pod
            yield Hit(pod, "default", None, None, NO_CONTAINER, (("legacy", planned.condition),))
            continue
        if planned.why is None:
            namespace = planned.namespace
            by_namespace.append((planned.sidecar.id, planned.forced))
        elif planned.forced == "legacy" and planned.namespace is None:
            fields = _fields(planned.sidecar, workload.description, planned.why, context, "legacy")
            yield Hit(planned.node, "default", fields, planned.key, NO_CONTAINER)
        else:
            pending = (("legacy", planned.condition),)
            yield Hit(planned.node, "default", None, planned.key, NO_CONTAINER, pending)
    if by_namespace:
        pending = shared((("namespace", namespace, tuple(by_namespace)),))
        pod = workload.pod_metadata or workload.pod
        yield Hit(pod, "default", None, None, NO_CONTAINER, pending)


def _app_text(workload: Workload) -> str:
    """The commands and args of the pod's containers, as one text (what stops a sidecar)."""
    words = []
    for container in containers(workload.pod, "containers"):
        for key in ("command", "args"):
            value = container.get(key)
            if isinstance(value, list):
                words += [str(v) for v in value]
    return " ".join(words)


def settle(pending: tuple, kind: str, facts: Facts, context: CheckContext) -> list[Hit]:
    """The hits a pending condition turns into, now that the run's facts are known."""
    condition = pending[0]
    if condition[0] == "legacy":
        why = injected_as_legacy(condition[1], facts, context)
        if why is None:
            return []
        sidecar = context.catalog.by_id(condition[1][0])
        related = signal_place(condition[1], facts)
        fields = _fields(sidecar, kind, why, context, condition[1][3])
        return [Hit(None, "default", fields, related=related)]
    _, namespace, sidecars = condition
    hits = []
    for sidecar_id, forced in sidecars:
        condition = (sidecar_id, None, namespace, forced, None)
        why = injected_as_legacy(condition, facts, context)
        if why is not None:
            sidecar = context.catalog.by_id(sidecar_id)
            fields = _fields(sidecar, kind, why, context, forced)
            hits.append(Hit(None, "default", fields, related=signal_place(condition, facts)))
    return hits


def gather(data: object, facts: Facts) -> None:
    """Remember what other objects in the run say: Namespaces (their injection labels), a
    mesh installation with native sidecars switched on (istiod, IstioOperator, values), and
    the version of a mesh's control plane (istiod, IstioOperator spec.tag, Linkerd's
    controllers, kuma-cp, the OpenTelemetry operator)."""
    if not isinstance(data, dict):
        return
    kind = data.get("kind")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    if kind == "AuthProxyWorkload" and isinstance(metadata.get("name"), str):
        _auth_proxy_workload(data, metadata, facts)
        return
    if kind == "Namespace" and isinstance(metadata.get("name"), str):
        merged: dict = {}
        for key in ("labels", "annotations"):
            if isinstance(metadata.get(key), dict):
                merged.update(metadata[key])
        facts.add_namespace(metadata["name"], merged)
        return
    value = None
    if kind == "IstioOperator":
        value = env_value(dig(data, "spec", "components", "pilot", "k8s", "env"), NATIVE)
        if value is None:
            value = dig(data, "spec", "values", "pilot", "env", NATIVE)
        tag = mesh_version(dig(data, "spec", "tag"))
        if tag:
            facts.add_version("istio", tag)
    elif kind == "Deployment":
        _control_plane_versions(data, facts)
    if kind == "Deployment" and str(metadata.get("name", "")).startswith("istiod"):
        items = dig(data, "spec", "template", "spec", "containers")
        for container in items if isinstance(items, list) else ():
            found = env_value(container.get("env"), NATIVE) if isinstance(container, dict) else None
            value = found if found is not None else value
    elif "apiVersion" not in data and isinstance(data.get("pilot"), dict):  # Helm values
        value = dig(data, "pilot", "env", NATIVE)
    if value is not None:
        facts.add_native("istio", str(value).lower() == "true")


# The control-plane images whose tag is the version of the mesh or operator that injects.
CONTROL_PLANES = {
    "pilot": "istio",  # in a Deployment named istiod*
    "linkerd/controller": "linkerd",
    "kumahq/kuma-cp": "kuma",
    "opentelemetry-operator/opentelemetry-operator": "opentelemetry",
    "cloud-sql-connectors/cloud-sql-proxy-operator": "cloudsql-operator",
}


def _auth_proxy_workload(data: dict, metadata: dict, facts: Facts) -> None:
    """The Cloud SQL Proxy operator's AuthProxyWorkload: the workloads of its namespace it
    selects, by kind and name or by labels (`spec.workloadSelector`; GoogleCloudPlatform/
    cloud-sql-proxy-operator docs/examples/job-mysql.yaml, internal/api/v1)."""
    if str(data.get("apiVersion", "")).split("/")[0] != "cloudsql.cloud.google.com":
        return
    selector = dig(data, "spec", "workloadSelector")
    if not isinstance(selector, dict) or not isinstance(selector.get("kind"), str):
        return
    name = selector.get("name") if isinstance(selector.get("name"), str) else None
    match = dig(selector, "selector", "matchLabels")
    labels = (
        {str(k): str(v) for k, v in match.items()} if isinstance(match, dict) and match else None
    )
    namespace = metadata.get("namespace") if isinstance(metadata.get("namespace"), str) else None
    facts.add_selection(
        "AuthProxyWorkload", metadata["name"], namespace, selector["kind"], name, labels
    )


def mesh_version(tag: object) -> str | None:
    """An image tag or a version as a release number: `1.26.2`, `stable-2.14.10` and
    `enterprise-2.20.0` → the number; `edge-25.10.2`, `latest` or a digest → None (an edge
    release does not say which stable release it matches)."""
    if isinstance(tag, (int, float)) and not isinstance(tag, bool):
        tag = str(tag)
    if not isinstance(tag, str):
        return None
    text = tag.strip().lower()
    for prefix in ("stable-", "enterprise-", "v"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.split("-", 1)[0]  # 1.26.2-distroless
    return text if parse_version(text) is not None else None


def _control_plane_versions(data: dict, facts: Facts) -> None:
    """The version of a mesh control plane or injecting operator, from its image's tag."""
    name = dig(data, "metadata", "name")
    istiod = isinstance(name, str) and name.startswith("istiod")
    items = dig(data, "spec", "template", "spec", "containers")
    for container in items if isinstance(items, list) else ():
        image = container.get("image") if isinstance(container, dict) else None
        if not isinstance(image, str) or ":" not in image.rsplit("/", 1)[-1]:
            continue
        repository, _, tag = image.split("@", 1)[0].rpartition(":")
        for suffix, mesh in CONTROL_PLANES.items():
            if mesh == "istio" and not istiod:
                continue
            if repository == suffix or repository.endswith("/" + suffix):
                version = mesh_version(tag)
                if version:
                    facts.add_version(mesh, version)


# A file holds a fact for `gather` only if it contains one of these (a cheap test before
# parsing the files of a whole repository for its facts: LintOptions.repository).
gather.markers = (  # type: ignore[attr-defined]
    b"Namespace",
    NATIVE.encode(),
    b"IstioOperator",
    b"AuthProxyWorkload",
    *(suffix.encode() for suffix in CONTROL_PLANES),
)

CHECKS = {"job-injected-legacy-sidecar": job_injected_legacy_sidecar}
SETTLE = {"job-injected-legacy-sidecar": settle}
# namespace-conflict is reported by the run (api.py) from the Namespaces gathered here.
GATHER = {"job-injected-legacy-sidecar": gather, "namespace-conflict": gather}
