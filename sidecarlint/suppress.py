"""Suppressions: `ignore.sidecarlint.io/<rule-id>: "<reason>"` annotations on an object or its
pod template, and `# sidecarlint: ignore[rule-id, ...] reason` comments on the reported line
or the line above. Each declaration is remembered, so one that matches nothing is reported.
(Config-level switches, disabled rules and excluded paths, never produce findings at all.)
"""

from __future__ import annotations

from sidecarlint.findings import Finding
from sidecarlint.loader import LoadedFile, Positions
from sidecarlint.workloads import Workload

ANNOTATION_PREFIX = "ignore.sidecarlint.io/"


class Declaration:
    """One suppression as written: where, for which rules, and why."""

    def __init__(
        self,
        path: str,
        line: int,
        column: int,
        rules: list[str],
        reason: str,
        form: str,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.rules = rules
        self.reason = reason
        self.form = form  # "annotation" or "comment"


class Suppressions:
    """Every declaration of the run; findings refer to one by index (`suppressed_by`)."""

    def __init__(self, known_rules: set[str]) -> None:
        self.known = known_rules
        self.declared: list[Declaration] = []
        self.problems: list[Finding] = []

    def _declare(self, declaration: Declaration) -> int | None:
        unknown = [r for r in declaration.rules if r not in self.known]
        problem = None
        if not declaration.rules:
            problem = "names no rule; write ignore[rule-id] reason"
        elif unknown:
            problem = f"names unknown rule {unknown[0]!r}"
        elif not declaration.reason:
            problem = "has no reason; a suppression must say why"
        if problem:
            self.problems.append(
                Finding(
                    "invalid-suppression",
                    "warning",
                    f"this {declaration.form} suppression {problem}; it suppresses nothing",
                    declaration.path,
                    declaration.line,
                    declaration.column,
                )
            )
            return None
        self.declared.append(declaration)
        return len(self.declared) - 1

    def apply_annotations(
        self, workload: Workload, positions: Positions, path: str, findings: list[Finding]
    ) -> None:
        """Annotations on the object and on its pod template cover its findings."""
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
                index = self._declare(Declaration(path, line, column, [rule], reason, "annotation"))
                if index is None:
                    continue
                for finding in findings:
                    if finding.rule == rule and not finding.suppressed:
                        _suppress(finding, index, reason)

    def apply_comments(self, loaded: LoadedFile, path: str, findings: list[Finding]) -> None:
        """A comment on the reported line, or alone on the line above it."""
        if not loaded.ignores:
            return
        ids: dict[int, int | None] = {}
        for line, (rules, reason, column) in loaded.ignores.items():
            ids[line] = self._declare(Declaration(path, line, column, rules, reason, "comment"))
        for finding in findings:
            if finding.suppressed:
                continue
            for line in (finding.line, finding.line - 1):
                index = ids.get(line)
                if index is not None and finding.rule in self.declared[index].rules:
                    _suppress(finding, index, self.declared[index].reason)
                    break

    def unused(self, findings: list[Finding], enabled: set[str]) -> list[Finding]:
        """`unused-suppression` findings for declarations that no surviving finding used."""
        used: dict[int, set[str]] = {}
        for finding in findings:
            if finding.suppressed_by is not None:
                used.setdefault(finding.suppressed_by, set()).add(finding.rule)
        result = []
        for index, declaration in enumerate(self.declared):
            for rule in declaration.rules:
                if rule in enabled and rule not in used.get(index, set()):
                    result.append(
                        Finding(
                            "unused-suppression",
                            "info",
                            f"this {declaration.form} suppresses '{rule}', but no such finding "
                            "is reported here any more; remove it",
                            declaration.path,
                            declaration.line,
                            declaration.column,
                        )
                    )
        return result


def _suppress(finding: Finding, index: int, reason: str) -> None:
    finding.suppressed = True
    finding.suppressed_by = index
    finding.justification = reason
