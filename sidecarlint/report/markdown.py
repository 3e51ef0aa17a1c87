"""A Markdown summary (a GitHub job summary, a pull-request comment): a heading with the
counts, then a table of the findings, the first MAX_ROWS of them."""

from __future__ import annotations

from typing import TextIO

from sidecarlint.findings import visible
from sidecarlint.report import Report

MAX_ROWS = 200


def escaped(text: str) -> str:
    """Text that stays on its line (or in its table cell) and renders as written: no line
    breaks, no pipes, no HTML, no Markdown markup from a manifest."""
    text = visible(text).replace("\\", "\\\\")
    for char in "|`*_[]<>#!~":
        text = text.replace(char, "\\" + char)
    return text


_cell = escaped


def write(report: Report, out: TextIO) -> None:
    out.write(f"### sidecarlint: {report.summary()}\n")
    if not sum(report.counts().values()):
        return
    out.write("\n")
    out.write("| severity | rule | where | message |\n|---|---|---|---|\n")
    shown = [f for f in report.findings if not f.suppressed]
    for finding in shown[:MAX_ROWS]:
        where = _cell(f"{finding.path}:{finding.line}")
        out.write(
            f"| {finding.severity} | {_cell(finding.rule)} | {where} | {_cell(finding.message)} |\n"
        )
    if len(shown) > MAX_ROWS:
        out.write(f"\nand {len(shown) - MAX_ROWS} more; the full list is in the SARIF report.\n")
