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
    # A finding is a flat mapping of scalars: one call of the C encoder with the separators
    # that indent=2 would give (json's indenting encoder is slow Python).
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",\n      ", ": ")).encode
    for index, finding in enumerate(run.findings):
        fields = encode(finding.as_json())[1:-1]
        out.write(("," if index else "") + "\n    {\n      " + fields + "\n    }")
    out.write("\n  ],\n" if run.findings else "],\n")
    body = json.dumps(summary, indent=2).replace("\n", "\n  ")
    out.write('  "summary": ' + body + "\n}\n")
