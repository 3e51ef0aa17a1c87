"""Reporters: a `Report` (findings, the rules that ran, what the run covered) → the text a
user or a tool reads. Each format is one module with `write(report, out)`."""

from __future__ import annotations

from collections.abc import Callable

from sidecarlint.findings import Finding


class Report:
    """What every reporter may print besides the findings."""

    def __init__(
        self,
        findings: list[Finding],
        files: int,
        rules: list | None = None,
        color: bool = False,
        sarif: dict | None = None,
    ) -> None:
        self.findings = findings
        self.files = files
        self.rules = [] if rules is None else rules  # the enabled Rule objects
        self.color = color
        # what only the SARIF reporter reads: srcroot, category
        self.sarif = {} if sarif is None else sarif
        # what only the text reporter reads
        self.quiet = False  # no summary line
        self.statistics = False  # a count per rule instead of each finding
        self.source_line: Callable[[str, int], str | None] | None = None  # --show-source
        self.show_timeline = False  # the pod's timeline under a shutdown finding

    def summary(self) -> str:
        """'5 findings (2 errors, 2 warnings, 1 info) in 3 files', or 'no findings in ...'."""
        counts = self.counts()
        total = sum(counts.values())
        files = plural(self.files, "file")
        if total == 0:
            return f"no findings in {files}"
        parts = ", ".join(plural(counts[s], s) for s in ("error", "warning", "info") if counts[s])
        return f"{plural(total, 'finding')} ({parts}) in {files}"

    def counts(self) -> dict[str, int]:
        counts = {"error": 0, "warning": 0, "info": 0}
        for finding in self.findings:
            if not finding.suppressed:
                counts[finding.severity] = counts.get(finding.severity, 0) + 1
        return counts


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
