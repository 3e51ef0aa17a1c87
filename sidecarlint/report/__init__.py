"""Reporters: (findings, rules, run facts) → the text a user or a tool reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from sidecarlint.findings import Finding


@dataclass(eq=False, repr=False)
class Run:
    """What every reporter may print besides the findings."""

    findings: list[Finding]
    files: int
    rules: list = field(default_factory=list)  # the enabled Rule objects
    color: bool = False
    options: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for finding in self.findings:
            if not finding.suppressed:
                counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts


def render(module, run: Run) -> str:
    """A reporter's output as one string (for tests and small runs)."""
    import io

    out = io.StringIO()
    module.write(run, out)
    return out.getvalue()
