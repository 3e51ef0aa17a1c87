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


@dataclass(slots=True, repr=False)
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
    suppressed_by: int | None = field(default=None, compare=False)
    fingerprint: str = field(default="", compare=False)

    def sort_key(self) -> tuple[str, int, str, int, str]:
        return (self.path, self.line, self.rule, self.column, self.message)

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message
            + (f" (suppressed: {self.justification})" if self.suppressed else ""),
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


def assign_fingerprints(findings: list[Finding]) -> None:
    """A fingerprint that survives unrelated edits: from the rule, the path, the object and
    the container, never the line; the n-th finding with the same key gets ':n'."""
    import hashlib

    seen: dict[str, int] = {}
    for finding in findings:
        obj = f"{finding.kind or ''}/{finding.namespace or ''}/{finding.name or ''}"
        key = "|".join((finding.rule, finding.path, obj, finding.container or ""))
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        finding.fingerprint = f"{digest}:{seen[digest]}"
