"""Findings in Helm-rendered output → the chart template they came from.

A rendered document carries `# Source: chart/templates/x.yaml`. When that file exists under a
chart root (the current folder, or `--chart-root`), the finding moves to it, at the best line
that can be found: the line that names the offending container (in the template, or else in
the chart's `_*.tpl` helpers, where pod specs often live); for a pod-level finding, the line
holding the key it is about (`terminationGracePeriodSeconds:`); else line 1. The rendered
position is kept as a related location.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from sidecarlint.discover import inside
from sidecarlint.findings import Finding

MAX_TEMPLATE_BYTES = 8 * 1024 * 1024  # a template larger than this is not searched


@lru_cache(maxsize=256)
def _lines(path: str) -> tuple[str, ...]:
    try:
        if os.path.getsize(path) > MAX_TEMPLATE_BYTES:
            return ()
        with open(path, encoding="utf-8", errors="replace") as handle:
            return tuple(handle.read().splitlines())
    except OSError:
        return ()


def _candidates(source: str, roots: list[str]) -> list[str]:
    parts = source.replace("\\", "/").split("/")
    return [
        os.path.normpath(os.path.join(root, candidate))
        for root in roots
        for candidate in ("/".join(parts), "/".join(parts[1:]))
        if candidate
    ]


def find_template(source: str, roots: list[str], bounds: tuple[str, ...]) -> str | None:
    """The template file for a `# Source:` path, under one of the chart roots: a regular
    file that resolves inside `bounds` (a `# Source:` line is text a chart author wrote)."""
    for path in _candidates(source, roots):
        if os.path.isfile(path) and inside(path, bounds):
            return path
    return None


def outside(source: str, roots: list[str], bounds: tuple[str, ...]) -> bool:
    """Whether a `# Source:` path names a file that exists outside `bounds` (and is not
    read for it)."""
    if find_template(source, roots, bounds):
        return False
    return any(os.path.lexists(path) for path in _candidates(source, roots))


def _helpers(template: str) -> list[str]:
    folder = os.path.dirname(template)
    try:
        names = sorted(n for n in os.listdir(folder) if n.startswith("_") and n.endswith(".tpl"))
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names]


def _name_patterns(container: str) -> list[re.Pattern]:
    """The container's name as written in a template: whole, or its literal tail after a
    templated prefix (`{{ include "grafana.name" . }}-init-sc-dashboard`)."""
    segments = container.split("-")
    tails = ["-".join(segments[i:]) for i in range(len(segments))]
    tails = [t for t in tails if len(t) >= 6 or t == container]
    return [
        re.compile(rf"\bname:\s*['\"]?(?:.*[}}-])?{re.escape(tail)}['\"]?\s*$") for tail in tails
    ]


def _search(files: list[str], patterns: list[re.Pattern]) -> tuple[str, int, int] | None:
    for pattern in patterns:
        for path in files:
            for number, text in enumerate(_lines(path), start=1):
                match = pattern.search(text)
                if match:
                    return path, number, match.start() + 1
    return None


_KEY = re.compile(r"\s*(?:-\s*)?([A-Za-z][\w./-]*):")


def key_on_line(lines: list[str], line: int) -> str | None:
    """The mapping key a line of rendered output starts with (`  - name: x` → name)."""
    match = _KEY.match(lines[line - 1]) if 0 < line <= len(lines) else None
    return match.group(1) if match else None


def map_finding(
    finding: Finding, rendered_lines: list[str], roots: list[str], bounds: tuple[str, ...]
) -> Finding:
    """The finding at its template, when its `# Source:` is on disk; else unchanged."""
    if not finding.source:
        return finding
    template = find_template(finding.source, roots, bounds)
    if template is None:
        return finding
    files = [template, *_helpers(template)]
    found = None
    if finding.container:
        found = _search(files, _name_patterns(finding.container))
    else:
        key = key_on_line(rendered_lines, finding.line)
        if key:
            found = _search(files, [re.compile(rf"(?<![\w.-]){re.escape(key)}:")])
    path, line, column = found or (template, 1, 1)
    return finding._replace(
        path=path,
        line=line,
        column=column,
        rendered=(finding.path, finding.line, finding.column),
    )


def map_findings(
    findings: list[Finding], text: str, roots: list[str], bounds: tuple[str, ...]
) -> list[Finding]:
    rendered_lines = text.splitlines()
    return [map_finding(finding, rendered_lines, roots, bounds) for finding in findings]


def template_fix(finding: Finding, edit, rendered_lines: list[str]):
    """The fix of a finding in Helm output, made to its template: when the edit is on the
    finding's line or just after it, and those lines read the same in the template as in
    the output, holding no template expression. Else None (the edit is advice)."""
    from sidecarlint.fixes import Edit

    if not isinstance(edit, Edit) or finding.rendered is None or edit.end_line != edit.line:
        return None
    rendered_line, template_line = finding.rendered[1], finding.line
    offset = edit.line - rendered_line
    if offset not in (0, 1):
        return None
    template = _lines(finding.path)
    for step in range(offset + 1):
        row = rendered_line - 1 + step
        written = template_line - 1 + step
        if row >= len(rendered_lines) or written >= len(template):
            return None
        if rendered_lines[row] != template[written] or "{{" in template[written]:
            return None
    return edit._replace(line=template_line + offset, end_line=template_line + offset)
