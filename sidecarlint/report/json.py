"""One JSON object: {"version", "findings": [...], "summary": {...}}.

Written finding by finding, so a run with many findings never holds its whole report in
memory; the text is the same as `json.dumps(document, indent=2)`.
"""

from __future__ import annotations

import json
from json import dumps
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
        # A finding is a flat mapping of scalars: laid out by hand, as indent=2 would, with
        # the C encoder for the values (json's indenting encoder is slow Python).
        fields = ",\n      ".join(
            f"{dumps(key)}: {dumps(value, ensure_ascii=False)}"
            for key, value in finding.as_json().items()
        )
        out.write(("," if index else "") + "\n    {\n      " + fields + "\n    }")
    out.write("\n  ],\n" if run.findings else "],\n")
    body = json.dumps(summary, indent=2).replace("\n", "\n  ")
    out.write('  "summary": ' + body + "\n}\n")
