"""One JSON object: {"version", "findings": [...], "summary": {...}}.

Written finding by finding, so a run with many findings never holds its whole report in
memory; the text is the same as `json.dumps(document, indent=2)`.
"""

from __future__ import annotations

import json
from typing import TextIO

from sidecarlint import __version__
from sidecarlint.report import Run


def write(run: Run, out: TextIO) -> None:
    counts = run.counts()
    summary = {
        "files": run.files,
        "findings": sum(counts.values()),
        "error": counts["error"],
        "warning": counts["warning"],
        "info": counts["info"],
        "suppressed": sum(1 for f in run.findings if f.suppressed),
    }
    out.write('{\n  "version": ' + json.dumps(__version__) + ',\n  "findings": [')
    for index, finding in enumerate(run.findings):
        text = json.dumps(finding.as_json(), indent=2, ensure_ascii=False)
        out.write(("," if index else "") + "\n    " + text.replace("\n", "\n    "))
    out.write("\n  ],\n" if run.findings else "],\n")
    body = json.dumps(summary, indent=2).replace("\n", "\n  ")
    out.write('  "summary": ' + body + "\n}\n")
