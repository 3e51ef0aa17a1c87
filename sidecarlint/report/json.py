"""One JSON object: {"version", "findings": [...], "summary": {...}}.

Written finding by finding, so a run with many findings never holds its whole report in
memory; the text is the same as `json.dumps(document, indent=2)`.
"""

from __future__ import annotations

import json
from typing import TextIO

from sidecarlint import __version__
from sidecarlint.report import Report

BATCH = 64  # findings encoded at a time: as fast as more, and memory stays flat


def write(report: Report, out: TextIO) -> None:
    counts = report.counts()
    summary = {
        "files": report.files,
        "findings": sum(counts.values()),
        "error": counts["error"],
        "warning": counts["warning"],
        "info": counts["info"],
        "suppressed": sum(1 for f in report.findings if f.suppressed),
    }
    out.write('{\n  "version": ' + json.dumps(__version__) + ',\n  "findings": [')
    # A finding is a flat mapping of scalars, so the C encoder with these separators lays a
    # batch of them out as indent=2 would (json's indenting encoder is slow Python), once the
    # seams between findings are widened: `},\n      {` can only be a seam, because a
    # newline inside a string is escaped.
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",\n      ", ": ")).encode
    findings = report.findings
    for start in range(0, len(findings), BATCH):
        text = encode([finding.as_json() for finding in findings[start : start + BATCH]])
        body = text[2:-2].replace("},\n      {", "\n    },\n    {\n      ")
        out.write(("," if start else "") + "\n    {\n      " + body + "\n    }")
    out.write("\n  ],\n" if report.findings else "],\n")
    body = json.dumps(summary, indent=2).replace("\n", "\n  ")
    out.write('  "summary": ' + body + "\n}\n")
