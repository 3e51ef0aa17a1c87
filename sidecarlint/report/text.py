"""Compiler-style text: `path:line:col: severity rule-id message [Kind/name container=c]`."""

from __future__ import annotations

from typing import TextIO

from sidecarlint.findings import visible
from sidecarlint.report import Report

COLORS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
RESET = "\033[0m"


def format_finding(finding, color: bool = False) -> str:
    """One line: every string from a manifest or a file name is shown with its control
    characters escaped, so no manifest can start a line of its own or colour the terminal."""
    severity = finding.severity
    if color:
        severity = f"{COLORS.get(severity, '')}{severity}{RESET}"
    context = []
    if finding.kind:
        pod = f" {finding.pod}" if finding.pod else ""
        context.append(f"{finding.kind}/{finding.name or '?'}{pod}")
    if finding.container:
        context.append(f"container={finding.container}")
    if finding.source:
        context.append(f"source={finding.source}")
    if finding.suppressed:
        context.append(f"suppressed: {finding.justification or 'yes'}")
    tail = f" [{' '.join(context)}]" if context else ""
    return visible(f"{finding.path}:{finding.line}:{finding.column}: ") + (
        f"{severity} {finding.rule} {visible(finding.message + tail)}"
    )


def write(report: Report, out: TextIO) -> None:
    if report.statistics:
        counts: dict[str, int] = {}
        for finding in report.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        width = max((len(str(n)) for n in counts.values()), default=1)
        for rule, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            out.write(f"{count:>{width}}  {rule}\n")
    else:
        for finding in report.findings:
            out.write(format_finding(finding, report.color) + "\n")
            if report.source_line is not None:
                out.write(_source(finding, report.source_line))
            if report.show_timeline and finding.timeline is not None:
                from sidecarlint import timeline

                chart = timeline.text(finding.timeline)
                out.write("".join(f"    {line}\n" for line in chart.splitlines()))
    if not report.quiet:
        out.write(report.summary() + "\n")


def _source(finding, source_line) -> str:
    """The reported line and a caret under its column, as compilers print them."""
    text = source_line(finding.path, finding.line)
    if text is None:
        return ""
    shown = visible(text.expandtabs(8))
    column = max(finding.column - 1, 0)
    return f"    {shown}\n    {' ' * min(column, len(shown))}^\n"
