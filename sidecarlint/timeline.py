"""The pod timeline: what happens to a pod when it starts and when it stops, drawn from the
same models the rules use (startup gates from the pod spec, shutdown times from
`termination.py` and the shutdown family, injected sidecars from the injection family).

`families/shutdown.timeline_of` turns one workload into a `Timeline` (plain data), with
the same members its rules compute with; `text` and `svg` draw it here. The
shutdown part has a time axis in seconds: SIGTERM at 0, each container's preStop and stop,
native sidecars stopped one at a time in reverse order after the app containers, the grace
period, and the SIGKILL that falls inside a container's stop. Startup has no durations a
manifest can tell, so it is the order in which containers start and what gates each.
"""

from __future__ import annotations

import math
import os
import re
from typing import TYPE_CHECKING, NamedTuple
from xml.sax.saxutils import escape, quoteattr

from sidecarlint.check import CheckContext
from sidecarlint.facts import Facts

if TYPE_CHECKING:
    from sidecarlint.api import LintOptions
from sidecarlint.findings import visible
from sidecarlint.termination import Timeline

WIDTH = 50  # columns of the time axis in text


def _scale(timeline: Timeline) -> float:
    """Seconds per column: a round step that fits the longest bar and the grace period."""
    longest = max([timeline.grace, *(bar.end for bar in timeline.bars)])
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if longest / step <= WIDTH - 4:
            return step
    return math.ceil(longest / (WIDTH - 4))


def _seconds(value: float) -> str:
    return f"{value:g}s"


def text(timeline: Timeline) -> str:
    """The timeline as a small text chart (ASCII only: it goes to logs and comments)."""
    names = [visible(bar.name) for bar in timeline.bars]
    names += [visible(", ".join(step.names)) for step in timeline.startup]
    width = min(max([len(n) for n in names] + [10]), 32)
    where = f"  ({visible(timeline.where)})" if timeline.where else ""
    lines = [f"{visible(timeline.title)}{where}", "startup"]
    for number, step in enumerate(timeline.startup, start=1):
        shown = visible(", ".join(step.names))[:width].ljust(width)
        lines.append(f"  {number:>2}  {shown}  {step.role}: {step.gate}")
    if not timeline.startup:
        lines.append("  (no containers)")
    grace_note = "" if timeline.grace_set else ", the default"
    lines.append(
        f"shutdown  (SIGTERM at 0s; terminationGracePeriodSeconds {timeline.grace:g}{grace_note})"
    )
    step = _scale(timeline)
    columns = WIDTH
    grace_column = min(round(timeline.grace / step), columns - 1)
    axis = [" "] * columns
    ticks = [" "] * columns
    for column in range(0, columns, 10):
        label = _seconds(round(column * step, 3))
        ticks[column : column + len(label)] = list(label)
        axis[column] = "|"
    lines.append("  " + " " * width + "  " + "".join(ticks)[:columns].rstrip())
    lines.append("  " + " " * width + "  " + "".join(axis).rstrip())
    killed = []
    for bar in timeline.bars:
        row = [" "] * columns
        for column in range(columns):
            middle = (column + 0.5) * step
            if middle > timeline.grace and middle < bar.end:
                row[column] = "-"  # what SIGKILL cuts off
            elif middle < bar.prestop:
                row[column] = "="
            elif middle < bar.sigterm:
                row[column] = "."
            elif middle < bar.end:
                row[column] = "#"
        if bar.end > timeline.grace:
            killed.append(bar)
            row[grace_column] = "X"
        elif row[grace_column] == " ":
            row[grace_column] = "|"
        label = visible(bar.name)[:width].ljust(width)
        bound = "" if bar.exact else ">="
        detail = f"{bar.role}, stopped at {bound}{_seconds(bar.end)}"
        if bar.parts:
            detail += ": " + visible(", ".join(bar.parts))
        lines.append(f"  {label}  {''.join(row)}  {detail}")
    pointer = [" "] * columns
    pointer[grace_column] = "^"
    lines.append(
        "  " + " " * width + "  " + "".join(pointer) + f"  grace period {timeline.grace:g}s"
    )
    if killed:
        who = ", ".join(f"{visible(b.name)} (needs {_seconds(b.end)})" for b in killed)
        lines.append(f"  SIGKILL at {timeline.grace:g}s: {who}")
    else:
        lines.append("  every container stops within the grace period")
    lines.append(
        "  = preStop hook   . waiting for SIGTERM   # stopping   X SIGKILL   - cut off"
        + (
            "   >= a time the manifest does not give counts as 0s"
            if not all(bar.exact for bar in timeline.bars)
            else ""
        )
    )
    return "\n".join(lines) + "\n"


# SVG: one <g class="bar"> per container, in the order of the text chart.
_ROW = 22
_LABEL = 220
_PLOT = 500
_COLORS = {"prestop": "#f2b134", "waiting": "#d9d9d9", "stopping": "#3b7dd8"}


def svg(timelines: list[Timeline]) -> str:
    """The shutdown charts as one standalone SVG document."""
    rows = sum(len(t.bars) + 4 for t in timelines)
    height = rows * _ROW + 20
    width = _LABEL + _PLOT + 40
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
    ]
    y = 10
    for timeline in timelines:
        longest = max([timeline.grace, *(bar.end for bar in timeline.bars)]) or 1.0
        per_second = _PLOT / (longest * 1.05)
        out.append(
            f'<g class="pod" data-pod={quoteattr(visible(timeline.title))} '
            f"data-where={quoteattr(visible(timeline.where))}>"
        )
        title = visible(f"{timeline.title} ({timeline.where}): shutdown")
        out.append(f'<text x="4" y="{y + 14}" font-weight="bold">{escape(title)}</text>')
        y += _ROW
        top = y
        for bar in timeline.bars:
            out.append(f'<g class="bar" data-container={quoteattr(visible(bar.name))}>')
            out.append(f'<text x="4" y="{y + 14}">{escape(visible(bar.name))}</text>')
            for kind, start, stop in (
                ("prestop", 0.0, bar.prestop),
                ("waiting", bar.prestop, bar.sigterm),
                ("stopping", bar.sigterm, bar.end),
            ):
                if stop > start:
                    x = _LABEL + start * per_second
                    w = max((stop - start) * per_second, 1.0)
                    tip = escape(visible(f"{bar.name}: {kind} {start:g}s to {stop:g}s"))
                    out.append(
                        f'<rect class="{kind}" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" '
                        f'height="{_ROW - 8}" fill="{_COLORS[kind]}">'
                        f"<title>{tip}</title>"
                        "</rect>"
                    )
            out.append("</g>")
            y += _ROW
        grace_x = _LABEL + timeline.grace * per_second
        out.append(
            f'<line class="grace" x1="{grace_x:.1f}" y1="{top}" x2="{grace_x:.1f}" y2="{y}" '
            'stroke="#c0392b" stroke-width="2" stroke-dasharray="4 2"/>'
        )
        label = f"grace period {timeline.grace:g}s: SIGKILL"
        out.append(
            f'<text x="{grace_x + 4:.1f}" y="{y + 14}" fill="#c0392b">{escape(label)}</text>'
        )
        y += _ROW
        for second in range(0, int(longest * 1.05) + 1, max(1, math.ceil(longest / 10))):
            x = _LABEL + second * per_second
            out.append(f'<text x="{x:.1f}" y="{y + 12}" font-size="10">{second}s</text>')
        out.append("</g>")
        y += 2 * _ROW
    out.append("</svg>")
    return "\n".join(out) + "\n"


def markdown(message: str, timeline: Timeline) -> str:
    """A finding's message with its pod's timeline under it, as Markdown (SARIF
    `message.markdown`): the message's markup escaped, the chart in a fence longer than any
    run of backticks it holds."""
    from sidecarlint.report.markdown import escaped

    chart = text(timeline)
    longest = max((len(run) for run in re.findall(r"`+", chart)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{escaped(message)}\n\n{fence}text\n{chart}{fence}"


class Timelines(NamedTuple):
    """What `of_paths` returns: the charts, and what could not be drawn (one line each)."""

    timelines: list[Timeline]
    notes: list[str]


def of_paths(paths: list[str], options: LintOptions, wanted: str | None = None) -> Timelines:
    """The pod timelines (`families.shutdown.timeline_of`) of the workloads in plain
    manifest files, under the facts those files and the config give; `wanted`
    ("Kind/name" or "name") keeps those objects only. Charts and overlays are not
    rendered here: each is a note."""
    from sidecarlint.api import bounds_of, prepare, run_facts
    from sidecarlint.discover import discover
    from sidecarlint.families.shutdown import timeline_of
    from sidecarlint.loader import DEFAULT_MAX_FILE_BYTES, read_file
    from sidecarlint.workloads import find_workloads

    config, ruleset = prepare(options, tuple(paths))
    paths = list(paths) or ["."]
    named = [p for p in paths if os.path.exists(p)]
    config_folder = os.path.dirname(os.path.abspath(config.path)) if config.path else None
    found = discover(
        paths, config.exclude, [], lambda d: False, bounds_of(named, options, config), config_folder
    )
    notes = []
    pods = []
    parts = []
    limit = config.max_file_bytes or DEFAULT_MAX_FILE_BYTES
    for path in found.files:
        loaded = read_file(path, limit)
        for problem in loaded.problems[:1]:
            notes.append(f"{path}:{problem.line}: not read ({problem.rule})")
        facts = Facts()
        for document in loaded.documents:
            facts.where = (path, document.line)
            for gather in ruleset.gatherers:
                gather(document.data, facts)
            for workload in find_workloads(document.data, ruleset.kinds):
                if _is_wanted(workload, wanted):
                    pods.append((path, document.line, workload))
        facts.where = None
        parts.append(facts)
    for chart in found.charts:
        notes.append(f"{chart}: a chart is not drawn; pipe `helm template` output to a file")
    for note in found.noted:
        notes.append(f"{note.path}:{note.line}: not read ({note.rule})")
    facts = run_facts(parts, config)
    shutdown = ruleset.active.get("grace-period-too-short")
    context = (
        shutdown.context
        if shutdown is not None
        else CheckContext({}, ruleset.kube, ruleset.catalog, config.default_namespace)
    )
    drawn = [
        timeline_of(workload, context, facts.seen_from(path), f"{path}:{line}")
        for path, line, workload in pods
    ]
    return Timelines(drawn, notes)


def _is_wanted(workload, wanted: str | None) -> bool:
    if not wanted:
        return True
    kind, _, name = wanted.rpartition("/")
    if kind and kind.lower() != str(workload.kind).lower():
        return False
    return name == workload.name
