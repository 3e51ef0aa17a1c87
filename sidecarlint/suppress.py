"""Suppressions: `ignore.sidecarlint.io/<rule-id>: "<reason>"` annotations on an object or its
pod template, and `# sidecarlint: ignore[rule-id, ...] reason` comments on the reported line
or the line above. The engine asks `FileSuppressions` which declaration, if any, covers each
finding as it makes it; every declaration is kept, so one that matches nothing is reported
(`unused`). Config-level switches, disabled rules and excluded paths, never produce findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from sidecarlint.findings import Finding
from sidecarlint.loader import LoadedFile, Positions
from sidecarlint.rules import Ruleset
from sidecarlint.workloads import Workload

ANNOTATION_PREFIX = "ignore.sidecarlint.io/"


class Declaration(NamedTuple):
    """One suppression as written: where, for which rules, and why."""

    path: str
    line: int
    column: int
    rules: tuple[str, ...]
    reason: str
    form: str  # "annotation" or "comment"

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.path, self.line, self.column)


class FileSuppressions:
    """The suppressions declared in one linted file, and the findings that report the
    invalid ones."""

    def __init__(self, loaded: LoadedFile, path: str, ruleset: Ruleset) -> None:
        self.path = path
        self.ruleset = ruleset
        self.declared: list[Declaration] = []
        self.invalid: list[Finding] = []
        self.comments: dict[int, Declaration] = {}
        for line, (rules, reason, column) in loaded.ignores.items():
            declaration = self._declare(path, line, column, rules, reason, "comment")
            if declaration is not None:
                self.comments[line] = declaration

    def _declare(
        self, path: str, line: int, column: int, rules: list[str], reason: str, form: str
    ) -> Declaration | None:
        unknown = [r for r in rules if r not in self.ruleset.known]
        problem = None
        if not rules:
            problem, fields = "no-rule", {"form": form}
        elif unknown:
            problem, fields = "unknown-rule", {"form": form, "rule": repr(unknown[0])}
        elif not reason:
            problem, fields = "no-reason", {"form": form}
        if problem:
            finding = self.ruleset.finding(
                "invalid-suppression", problem, fields, path, line, column
            )
            if finding is not None:
                self.invalid.append(finding)
            return None
        declaration = Declaration(path, line, column, tuple(rules), reason, form)
        self.declared.append(declaration)
        return declaration

    def annotations(self, workload: Workload, positions: Positions) -> dict[str, Declaration]:
        """The object's and its pod template's annotations, declared: rule id → declaration
        (the object's first)."""
        found: dict[str, Declaration] = {}
        sources = [workload.obj.get("metadata"), workload.pod_metadata]
        for metadata in sources if sources[0] is not sources[1] else sources[:1]:
            annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
            if not isinstance(annotations, dict):
                continue
            for key, value in annotations.items():
                if not isinstance(key, str) or not key.startswith(ANNOTATION_PREFIX):
                    continue
                rule = key[len(ANNOTATION_PREFIX) :]
                line, column = positions.of_key(annotations, key) or (1, 1)
                reason = "" if value is None else str(value).strip()
                declaration = self._declare(self.path, line, column, [rule], reason, "annotation")
                if declaration is not None:
                    found.setdefault(rule, declaration)
        return found

    def comment_for(self, rule: str, line: int) -> Declaration | None:
        """A comment on the reported line, or alone on the line above it."""
        for number in (line, line - 1):
            declaration = self.comments.get(number)
            if declaration is not None and rule in declaration.rules:
                return declaration
        return None


def suppressed(finding: Finding, declaration: Declaration | None) -> Finding:
    if declaration is None:
        return finding
    return finding._replace(
        suppressed=True, justification=declaration.reason, suppressed_by=declaration.key
    )


def unused(
    declarations: Iterable[Declaration],
    findings: list[Finding],
    ruleset: Ruleset,
    whole_repository: bool = True,
) -> list[Finding]:
    """`unused-suppression` findings for declarations that no surviving finding used. A rule
    whose findings depend on facts from other files (it gathers them) is judged only when
    the run saw the whole repository: linting one file alone, its Namespace is not there."""
    used = {(f.suppressed_by, f.rule) for f in findings if f.suppressed_by is not None}
    result = []
    seen: set[tuple] = set()
    for declaration in declarations:
        if declaration.key in seen:  # one annotation read for each pod of its object
            continue
        seen.add(declaration.key)
        for rule in declaration.rules:
            active = ruleset.active.get(rule)
            if active is None or (declaration.key, rule) in used:
                continue
            if active.rule.gather is not None and not whole_repository:
                continue  # the fact that would make it fire may be in a file not linted
            finding = ruleset.finding(
                "unused-suppression",
                "default",
                {"form": declaration.form, "rule": rule},
                declaration.path,
                declaration.line,
                declaration.column,
            )
            if finding is not None:
                result.append(finding)
    return result
