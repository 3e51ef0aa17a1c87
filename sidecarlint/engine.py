"""Rules × workloads → findings. The engine knows no rule by name: it runs what the
`Ruleset` holds (a `find:` expression or a family's check per workload, a family's `gather`
per document) and makes each hit a complete finding: position, container, wording and
severity from the rule file, and suppression."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import NamedTuple

from sidecarlint.check import NO_CONTAINER, Hit
from sidecarlint.facts import Facts
from sidecarlint.findings import Finding
from sidecarlint.loader import Document, LoadedFile, Positions
from sidecarlint.rules import ActiveRule, Ruleset
from sidecarlint.suppress import Declaration, FileSuppressions, suppressed
from sidecarlint.workloads import Workload, as_text, find_workloads

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


class Linted(NamedTuple):
    """What linting one input gives: its findings, the run-wide facts its documents state,
    and the suppressions it declares."""

    findings: list[Finding]
    facts: Facts
    declarations: list[Declaration]


def workload_context(workload: Workload) -> dict:
    """What a `find:` expression sees: the object, plus `pod` and `podMetadata`."""
    context = dict(workload.obj)
    context["pod"] = workload.pod
    context["podMetadata"] = workload.pod_metadata
    context["runsToCompletion"] = workload.runs_to_completion
    return context


def owner_container(workload: Workload, node: object) -> dict | None:
    """The container that is `node` or holds it (searched only when a finding needs it)."""
    pod = workload.pod
    lists = [pod.get(key) for key in CONTAINER_LISTS]
    by_id = workload.memo.get("containers by id")
    if by_id is None:  # made once per pod: a pod of many containers and findings stays linear
        by_id = workload.memo["containers by id"] = {
            id(container): container
            for items in lists
            if isinstance(items, list)
            for container in items
            if isinstance(container, dict)
        }
    if id(node) in by_id:
        return by_id[id(node)]
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
    if hit.at:
        target: object = hit.node
        parent: object = None
        key: object = None
        parts = [hit.at] if isinstance(hit.node, dict) and hit.at in hit.node else hit.at.split(".")
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


def lint_file(loaded: LoadedFile, path: str, ruleset: Ruleset) -> Linted:
    """All findings for one loaded file: its reading problems, then every workload's."""
    facts = Facts()
    suppressions = FileSuppressions(loaded, path, ruleset)
    findings = []
    for problem in loaded.problems:
        finding = ruleset.finding(
            problem.rule, problem.message, problem.fields, path, problem.line, problem.column
        )
        if finding is not None:
            declaration = suppressions.comment_for(finding.rule, finding.line)
            findings.append(suppressed(finding, declaration))
    for document in loaded.documents:
        for gather in ruleset.gatherers:
            gather(document.data, facts)
        for workload in find_workloads(document.data):
            findings.extend(_lint_workload(workload, document, loaded, path, ruleset, suppressions))
    return Linted(findings + suppressions.invalid, facts, suppressions.declared)


def _lint_workload(
    workload: Workload,
    document: Document,
    loaded: LoadedFile,
    path: str,
    ruleset: Ruleset,
    suppressions: FileSuppressions,
) -> list[Finding]:
    context = workload_context(workload)
    annotations = suppressions.annotations(workload, loaded.positions)
    pod = workload.pod
    findings = []
    for active in ruleset.workload_rules:
        needs = active.rule.needs
        if needs:
            for key in needs:
                if key in pod:
                    break
            else:
                continue  # the rule cannot apply: skip it without evaluating anything
        for hit in active.hits(workload, context):
            finding = make_finding(active, hit, workload, document, loaded.positions, path)
            declaration = annotations.get(active.id) or suppressions.comment_for(
                active.id, finding.line
            )
            findings.append(suppressed(finding, declaration))
    return findings


def make_finding(
    active: ActiveRule,
    hit: Hit,
    workload: Workload,
    document: Document,
    positions: Positions,
    path: str,
) -> Finding:
    position = locate(positions, hit, (workload.pod, workload.obj)) or (document.line, 1)
    if hit.container is NO_CONTAINER or hit.node is workload.pod:
        container = None
    elif isinstance(hit.container, dict):
        container = hit.container
    else:
        container = owner_container(workload, hit.node)
    if hit.pending:
        message = ""  # written when the run's facts settle it (settle below)
    elif active.rule.find is not None:
        message = active.find_text(hit.fields or {})
    else:
        message = active.text(hit.message, hit.fields)
    return Finding(
        rule=active.id,
        severity=active.severity_of(hit.message),
        message=sys.intern(message),  # the same advice repeats across files: keep one copy
        path=path,
        line=position[0],
        column=position[1],
        kind=workload.kind,
        name=workload.name,
        namespace=workload.namespace,
        container=as_text(container.get("name")) if container else None,
        source=document.source,
        pending=hit.pending,
    )


def settle(findings: list[Finding], facts: Facts, ruleset: Ruleset) -> list[Finding]:
    """Decide the pending findings, now that every input was read: each one's rule family
    says which hits its condition turns into under the run's facts (none drops it)."""
    decided: dict[tuple, list[Hit]] = {}  # Jobs of one namespace share their condition
    kept = []
    for finding in findings:
        if not finding.pending:
            kept.append(finding)
            continue
        active = ruleset.active[finding.rule]
        key = (finding.rule, finding.pending, finding.kind)
        hits = decided.get(key)
        if hits is None:
            settle_rule = active.rule.settle
            assert settle_rule is not None, f"{finding.rule} has pending findings to settle"
            hits = decided[key] = settle_rule(
                finding.pending, finding.kind or "pod", facts, active.context
            )
        kept.extend(
            finding._replace(
                # a pending finding's message is empty until now: what the steps after the
                # engine added to it meanwhile (a kustomize note) follows the rule's words
                message=active.text(hit.message, hit.fields) + finding.message,
                severity=active.severity_of(hit.message),
                pending=(),
            )
            for hit in hits
        )
    return kept
