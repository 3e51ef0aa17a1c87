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
from sidecarlint.workloads import (
    UNKNOWN_KIND_RULE,
    Workload,
    as_text,
    describe,
    find_workloads,
)

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
ONCE_TAG = "once-per-kind"  # a rule that says something about a kind: once per run


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
    context["runsToCompletion"] = workload.job_rules_apply
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


def lint_file(
    loaded: LoadedFile,
    path: str,
    ruleset: Ruleset,
    partial: bool = False,
    namespace: str | None = None,
) -> Linted:
    """All findings for one loaded file: its reading problems, then every workload's.
    `partial`: the file is a patch (a kustomization names it), whose pods hold only what
    they change. `namespace`: where its objects that name none go (a chart's release
    namespace from config)."""
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
        facts.where = (path, document.line)
        for gather in ruleset.gatherers:
            gather(document.data, facts)
        unknown: dict[int, list[Workload]] = {}  # objects of unknown kinds → their pods
        for workload in find_workloads(document.data, ruleset.kinds):
            workload.partial = partial
            if workload.namespace is None:
                workload.namespace = namespace
            findings.extend(_lint_workload(workload, document, loaded, path, ruleset, suppressions))
            if not workload.known:
                unknown.setdefault(id(workload.obj), []).append(workload)
        for pods in unknown.values():
            finding = _unknown_workload(pods, document, loaded, path, ruleset)
            if finding is not None:
                declaration = suppressions.comment_for(finding.rule, finding.line)
                findings.append(suppressed(finding, declaration))
    facts.where = None
    return Linted(findings + suppressions.invalid, facts, suppressions.declared)


def _unknown_workload(
    pods: list[Workload], document: Document, loaded: LoadedFile, path: str, ruleset: Ruleset
) -> Finding | None:
    """The object of an unknown kind whose pod specs were linted, and how to declare it; a
    kind that is known under another API group is a mistake in `apiVersion`."""
    obj = pods[0].obj
    kind = pods[0].kind
    shown = [pod.pod_path or "?" for pod in pods[:5]]
    more = f" and {len(pods) - 5} more" if len(pods) > 5 else ""
    fields = {
        "kind": kind,
        "api_version": obj.get("apiVersion"),
        "paths": ", ".join(shown) + more,
        "s": "" if len(pods) == 1 else "s",
    }
    groups = ruleset.kinds.groups_of(kind)
    message = "wrong-group" if groups else "default"
    fields["expected"] = " or ".join("v1" if group == "" else group for group in groups)
    key = "apiVersion" if groups else "kind"
    position = loaded.positions.of_key(obj, key) or (document.line, 1)
    finding = ruleset.finding(UNKNOWN_KIND_RULE, message, fields, path, *position)
    if finding is None:
        return None
    return finding._replace(
        kind=pods[0].kind, name=pods[0].name, namespace=pods[0].namespace, source=document.source
    )


def once_per_kind(findings: list[Finding], ruleset: Ruleset) -> list[Finding]:
    """Keep the first finding of each kind of object for the rules tagged `once-per-kind`
    (findings are in input order, so the first is the same with any --jobs)."""
    once = {rule_id for rule_id, active in ruleset.active.items() if ONCE_TAG in active.rule.tags}
    if not once:
        return findings
    seen: set[tuple[str, str | None]] = set()
    kept = []
    for finding in findings:
        if finding.rule in once:
            key = (finding.rule, finding.kind)
            if key in seen:
                continue
            seen.add(key)
        kept.append(finding)
    return kept


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
            if active.rule.fix is not None:  # Helm output's: moved to its template, or advice
                finding = _with_fix(
                    finding, active, hit, workload, container_of(hit, workload), loaded
                )
            declaration = annotations.get(active.id) or suppressions.comment_for(
                active.id, finding.line
            )
            findings.append(suppressed(finding, declaration))
    return findings


def container_of(hit: Hit, workload: Workload) -> dict | None:
    """The container a hit is about, or None for the pod."""
    if hit.container is NO_CONTAINER or hit.node is workload.pod:
        return None
    if isinstance(hit.container, dict):
        return hit.container
    return owner_container(workload, hit.node)


def _with_fix(
    finding: Finding, active: ActiveRule, hit: Hit, workload: Workload, container, loaded
) -> Finding:
    """The finding with the edit its rule's `fix:` makes (fixes.py), its key and value
    filled from the hit's fields; a pending finding's are filled when it is settled."""
    from sidecarlint import fixes

    spec = active.rule.fix
    if "move" in spec:
        keys = {k: fixes.filled(v, hit.fields) for k, v in spec["keys"].items()}
        if hit.pending or not isinstance(container, dict) or None in keys.values():
            return finding
        after = frozenset(filter(None, str((hit.fields or {}).get("mesh_init", "")).split(",")))
        edits, why = fixes.move_edits(
            workload.pod, container, keys, loaded.positions, loaded.lines, after
        )
        if edits is None:
            note = f"{finding.message} (check --fix leaves this one: {why})"
            return finding._replace(message=sys.intern(note))
        return finding._replace(fix=edits)
    key = spec["key"] if hit.pending else fixes.filled(spec["key"], hit.fields)
    value = spec["value"] if hit.pending else fixes.filled(spec["value"], hit.fields)
    if key is None or value is None:
        return finding
    mapping, nest = fixes.target(spec["in"], workload, container)
    if not isinstance(mapping, dict) or not mapping:
        return finding  # nowhere to write it (a pod template without metadata)
    if nest is not None:
        key, value = nest, "{" + f"{key}: {value}" + "}"
    edit, why = fixes.edit_for(mapping, key, value, loaded.positions, loaded.lines)
    if edit is None:  # said in the message: the user fixes it by hand
        note = f" (check --fix leaves this one: {why})"
        return finding._replace(message=sys.intern(finding.message + note))
    return finding._replace(fix=edit._replace(text=sys.intern(edit.text)))


def make_finding(
    active: ActiveRule,
    hit: Hit,
    workload: Workload,
    document: Document,
    positions: Positions,
    path: str,
) -> Finding:
    fallbacks = (workload.pod, workload.anchor, workload.obj)
    position = locate(positions, hit, fallbacks) or (document.line, 1)
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
        pod=workload.label,
        pod_path=workload.shown_path,
        pending=hit.pending,
        timeline=hit.timeline,
    )


def _drawn(finding: Finding, facts: Facts, ruleset: Ruleset) -> Finding:
    """A finding's timeline, drawn before the run's facts were known, with the injected
    sidecars they confirm."""
    if finding.timeline is None:
        return finding
    from sidecarlint import termination

    context = ruleset.active[finding.rule].context
    seen = facts.seen_from(finding.seen_from or finding.path)
    drawn = termination.under(finding.timeline, seen, context)
    return finding._replace(timeline=drawn)


def _filled_fix(edit, fields: dict | None):
    """A pending finding's edit, its placeholders filled from the settled hit's fields."""
    if edit is None:
        return None
    from sidecarlint.fixes import filled

    text = filled(edit.text, fields)
    return None if text is None else edit._replace(text=text)


def settle(findings: list[Finding], facts: Facts, ruleset: Ruleset) -> list[Finding]:
    """Decide the pending findings, now that every input was read: each one's rule family
    says which hits its condition turns into under the run's facts (none drops it)."""
    decided: dict[tuple, list[Hit]] = {}  # Jobs of one namespace share their condition
    kept = []
    for finding in findings:
        if not finding.pending:
            kept.append(_drawn(finding, facts, ruleset))
            continue
        active = ruleset.active[finding.rule]
        # the Namespaces written beside the finding (or the overlay it was built in)
        seen = facts.seen_from(finding.seen_from or finding.path)
        key = (
            finding.rule,
            finding.pending,
            describe(finding.kind or "pod", finding.pod, finding.pod_path),
            id(seen),
        )
        hits = decided.get(key)
        if hits is None:
            settle_rule = active.rule.settle
            assert settle_rule is not None, f"{finding.rule} has pending findings to settle"
            hits = decided[key] = settle_rule(finding.pending, key[2], seen, active.context)
        kept.extend(
            _drawn(finding, facts, ruleset)._replace(
                # a pending finding's message is empty until now: what the steps after the
                # engine added to it meanwhile (a kustomize note) follows the rule's words
                message=active.text(hit.message, hit.fields) + finding.message,
                severity=active.severity_of(hit.message),
                pending=(),
                related=hit.related or finding.related,
                fix=_filled_fix(finding.fix, hit.fields),
            )
            for hit in hits
        )
    return kept
