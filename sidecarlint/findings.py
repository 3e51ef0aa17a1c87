"""The shared vocabulary: severities and findings."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("info", "warning", "error")
FAIL_ON = ("error", "warning", "info", "never")


def severity_rank(severity: str) -> int:
    """info < warning < error; an unknown severity ranks lowest."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def at_or_above(severity: str, threshold: str) -> bool:
    """Whether a finding of `severity` trips `--fail-on threshold`."""
    if threshold == "never":
        return False
    return severity_rank(severity) >= severity_rank(threshold)


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    path: str
    line: int
    column: int
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    container: str | None = None
    source: str | None = None
    suppressed: bool = False
    # Not part of the JSON contract: why a finding is suppressed, and the
    # rendered position when `path` was mapped to a Helm template.
    justification: str | None = None
    rendered: tuple[str, int, int] | None = field(default=None, compare=False)
    requires: tuple = field(default=(), compare=False)

    def sort_key(self) -> tuple[str, int, str, int, str]:
        return (self.path, self.line, self.rule, self.column, self.message)

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "container": self.container,
            "source": self.source,
            "suppressed": self.suppressed,
        }
