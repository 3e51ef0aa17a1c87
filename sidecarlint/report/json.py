"""One JSON object: {"version", "findings": [...], "summary": {...}}."""

from __future__ import annotations

import json

from sidecarlint import __version__
from sidecarlint.report import Run


def render(run: Run) -> str:
    counts = run.counts()
    document = {
        "version": __version__,
        "findings": [f.as_json() for f in run.findings],
        "summary": {
            "files": run.files,
            "findings": sum(counts.values()),
            "error": counts["error"],
            "warning": counts["warning"],
            "info": counts["info"],
            "suppressed": sum(1 for f in run.findings if f.suppressed),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
