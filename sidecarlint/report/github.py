"""GitHub Actions workflow commands (`::warning file=...,line=...::message`), for pull-request
annotations without code scanning."""

from __future__ import annotations

from typing import TextIO

from sidecarlint.findings import visible
from sidecarlint.report import Report, plural

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def _data(text: str) -> str:
    """GitHub's escaping of a workflow command's data (%, CR, LF), then every other control
    character shown visibly: an annotation is exactly one line."""
    return visible(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def write(report: Report, out: TextIO) -> None:
    for finding in report.findings:
        if finding.suppressed:
            continue
        command = COMMANDS.get(finding.severity, "warning")
        props = (
            f"file={_property(finding.path)},line={finding.line},col={finding.column},"
            f"title={_property('sidecarlint ' + finding.rule)}"
        )
        out.write(f"::{command} {props}::{_data(finding.message)}\n")
    counts = report.counts()
    out.write(
        f"sidecarlint: {plural(sum(counts.values()), 'finding')} "
        f"({plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, "
        f"{plural(counts['info'], 'info')}) in {plural(report.files, 'file')}\n"
    )
