"""lint(loaded file, rules, settings) → findings, each with its file, line and object."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from sidecarlint.catalog import Catalog
from sidecarlint.checks import CHECKS, Env, injected_message, signal
from sidecarlint.findings import Finding
from sidecarlint.loader import Document, LoadedFile, Positions
from sidecarlint.rules import NO_CONTAINER, BoundRule, Hit, evaluate_find
from sidecarlint.suppress import Suppressions
from sidecarlint.workloads import Workload, as_text, dig, env_value, find_workloads

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
NATIVE = "ENABLE_NATIVE_SIDECARS"  # istiod's switch for injecting native sidecars


class Settings:
    """Everything a run decided before linting: rules with their options, the target."""

    def __init__(self, rules: list[BoundRule], kube: tuple[int, int], catalog: Catalog) -> None:
        self.kube = kube
        self.catalog = catalog
        self.enabled = {b.id for b in rules}
        self.severities = {b.id: b for b in rules}
        # The rules run on each workload: (rule, pod keys it needs, its check function and
        # environment, or None for a `find:` rule), looked up once here rather than per pod.
        self.workload_rules = [
            (
                b,
                tuple(b.rule.needs or ()),
                None if b.rule.find is not None else CHECKS[b.rule.check],  # type: ignore[index]
                Env(b.params, kube, catalog, self),
            )
            for b in rules
            if b.rule.reported_by is None
        ]
        # Facts about the whole run, from the objects read so far: namespace labels and
        # annotations, and which meshes inject native sidecars.
        self.namespaces: dict[str, dict] = {}
        self.native: dict[str, bool] = {}
        # What the config says; it wins over what the run's objects say.
        self.config_namespaces: dict[str, dict] = {}
        self.config_native: dict[str, bool] = {}
        self.known_rules: set[str] = set()
        self.suppressions: Suppressions | None = None


def workload_context(workload: Workload) -> dict:
    """What a `find:` expression sees: the object, plus `pod` and `podMetadata`."""
    context = dict(workload.obj)
    context["pod"] = workload.pod
    context["podMetadata"] = workload.pod_metadata
    context["runsToCompletion"] = workload.runs_to_completion
    return context


def owner_container(pod: dict, node: object) -> dict | None:
    """The container that is `node` or holds it (searched only when a finding needs it)."""
    lists = [pod.get(key) for key in CONTAINER_LISTS]
    for items in lists:
        if isinstance(items, list):
            for container in items:
                if container is node:
                    return container
    for items in lists:
        if not isinstance(items, list):
            continue
        for container in items:
            if isinstance(container, dict) and _contains(container, node):
                return container
    return None


def _contains(root: object, node: object, limit: int = 10_000) -> bool:
    seen: set[int] = set()
    stack = [root]
    while stack and limit > 0:
        limit -= 1
        current = stack.pop()
        if current is node:
            return True
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, dict):
            stack.extend(v for v in current.values() if isinstance(v, (dict, list)))
        elif isinstance(current, list):
            stack.extend(v for v in current if isinstance(v, (dict, list)))
    return False


def locate(positions: Positions, hit: Hit, fallbacks: Iterable[object]) -> tuple[int, int] | None:
    """The line and column of a hit: the key it names, else its node, else a fallback."""
    if hit.key:
        target: object = hit.node
        parent: object = None
        key: object = None
        parts = (
            [hit.key] if isinstance(hit.node, dict) and hit.key in hit.node else hit.key.split(".")
        )
        for part in parts:
            if isinstance(target, dict) and part in target:
                parent, key, target = target, part, target[part]
            else:
                break
        if parent is not None:
            position = positions.of_key(parent, key)
            if position:
                return position
    position = positions.of(hit.node)
    if position:
        return position
    for node in fallbacks:
        position = positions.of(node)
        if position:
            return position
    return None


def collect_facts(data: object, settings: Settings) -> None:
    """Remember what other objects in the run say: Namespaces (their injection labels) and
    a mesh installation with native sidecars switched on (istiod, IstioOperator, values)."""
    if not isinstance(data, dict):
        return
    kind = data.get("kind")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    if kind == "Namespace" and isinstance(metadata.get("name"), str):
        merged: dict = {}
        for key in ("labels", "annotations"):
            if isinstance(metadata.get(key), dict):
                merged.update(metadata[key])
        settings.namespaces.setdefault(metadata["name"], {}).update(merged)
        return
    value = None
    if kind == "IstioOperator":
        value = env_value(dig(data, "spec", "components", "pilot", "k8s", "env"), NATIVE)
        if value is None:
            value = dig(data, "spec", "values", "pilot", "env", NATIVE)
    elif kind == "Deployment" and str(metadata.get("name", "")).startswith("istiod"):
        for container in dig(data, "spec", "template", "spec", "containers") or ():
            found = env_value(container.get("env"), NATIVE) if isinstance(container, dict) else None
            value = found if found is not None else value
    elif "apiVersion" not in data and isinstance(data.get("pilot"), dict):  # Helm values
        value = dig(data, "pilot", "env", NATIVE)
    if value is not None:
        settings.native.setdefault("istio", str(value).lower() == "true")


def settle(findings: list[Finding], settings: Settings) -> list[Finding]:
    """Keep the findings whose run-wide conditions hold, now that every file was read, and
    write out the pending namespace findings of job-injected-legacy-sidecar."""
    by_id = {sidecar.id: sidecar for sidecar in settings.catalog.sidecars}
    native = {**settings.native, **settings.config_native}
    namespaces = {name: dict(labels) for name, labels in settings.config_namespaces.items()}
    for name, labels in settings.namespaces.items():
        namespaces.setdefault(name, {}).update(labels)
    decided: dict[tuple, list[str]] = {}  # (condition, kind) → its messages: Jobs repeat them
    kept = []
    for finding in findings:
        if not finding.requires:
            kept.append(finding)
            continue
        condition = finding.requires[0]
        if condition[0] == "legacy":
            if not native.get(condition[1], False):
                kept.append(finding)
            continue
        key = (condition, finding.kind)
        messages = decided.get(key)
        if messages is None:
            messages = decided[key] = _namespace_messages(
                condition, finding.kind or "pod", namespaces, native, by_id, settings.kube
            )
        kept.extend(finding.replace(message=message, requires=()) for message in messages)
    return kept


def _namespace_messages(
    condition: tuple, kind: str, namespaces: dict, native: dict, by_id: dict, kube: tuple
) -> list[str]:
    """The messages of a pending ("namespace", name, ((sidecar id, forced legacy), ...))
    condition: one per sidecar that the namespace's labels inject as a legacy sidecar."""
    labels = namespaces.get(condition[1], {})
    messages = []
    for sidecar_id, forced_legacy in condition[2]:
        sidecar = by_id[sidecar_id]
        inject = sidecar.inject or {}
        found = signal(inject.get("namespace", []), labels)
        if not found or signal(inject.get("disable", []), labels):
            continue
        if not forced_legacy and native.get(inject["mesh"], False):
            continue
        why = f"namespace '{condition[1]}' has {found[2]}"
        messages.append(injected_message(sidecar, kind, why, kube))
    return messages


def lint_document(
    document: Document, positions: Positions, path: str, settings: Settings
) -> list[Finding]:
    findings: list[Finding] = []
    collect_facts(document.data, settings)
    for workload in find_workloads(document.data):
        context = workload_context(workload)
        first = len(findings)
        pod = workload.pod
        for bound, needs, check, env in settings.workload_rules:
            if needs:
                for key in needs:
                    if key in pod:
                        break
                else:
                    continue  # the rule cannot apply: skip it without evaluating anything
            hits = evaluate_find(bound, context) if check is None else check(workload, env)
            for hit in hits:
                findings.append(make_finding(bound, hit, workload, document, positions, path))
        if settings.suppressions is not None:
            settings.suppressions.apply_annotations(workload, positions, path, findings[first:])
    return findings


def make_finding(
    bound: BoundRule,
    hit: Hit,
    workload: Workload,
    document: Document,
    positions: Positions,
    path: str,
) -> Finding:
    position = locate(positions, hit, (workload.pod, workload.obj)) or (document.line, 1)
    if hit.owner is NO_CONTAINER or hit.node is workload.pod:
        container = None
    elif isinstance(hit.owner, dict):
        container = hit.owner
    else:
        container = owner_container(workload.pod, hit.node)
    severity = bound.severity
    if hit.severity and not bound.severity_overridden:
        severity = hit.severity
    return Finding(
        rule=bound.id,
        severity=severity,
        message=sys.intern(hit.message),  # the same advice repeats across files: keep one copy
        path=path,
        line=position[0],
        column=position[1],
        kind=workload.kind,
        name=workload.name,
        namespace=workload.namespace,
        container=as_text(container.get("name")) if container else None,
        source=document.source,
        requires=hit.requires,
    )


def lint_file(loaded: LoadedFile, path: str, settings: Settings) -> list[Finding]:
    """All findings for one loaded file: its reading problems, then every workload's."""
    findings = []
    for problem in loaded.problems:
        bound = settings.severities.get(problem.rule)
        if bound is None:
            continue
        findings.append(
            Finding(
                rule=problem.rule,
                severity=bound.severity,
                message=problem.message,
                path=path,
                line=problem.line,
                column=problem.column,
            )
        )
    for document in loaded.documents:
        findings.extend(lint_document(document, loaded.positions, path, settings))
    if settings.suppressions is not None:
        settings.suppressions.apply_comments(loaded, path, findings)
    return findings
