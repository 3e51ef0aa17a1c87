"""SARIF 2.1.0, built with sarif-om objects and serialised by a small walker of our own.

sarif-om has no serialiser, and `jschema_to_python` drops values equal to their schema
default (such as `level: "warning"`), which GitHub then reads differently. The walker writes
every attribute that is set, under its SARIF name, except the `-1` that sarif-om puts in
unused index fields (`index`, `parentIndex`, ...): -1 means "absent" in SARIF, and writing it
only bloats the file (the Multitool flags it as SARIF2004).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

import attr
import sarif_om as om

from sidecarlint import __version__
from sidecarlint.explain import render_markdown, render_rule
from sidecarlint.findings import Finding, printable
from sidecarlint.report import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "info": "recommendation"}
INFORMATION_URI = "https://pypi.org/project/sidecarlint/"


def to_json(value: object) -> object:
    """sarif-om objects → plain JSON values, keeping every attribute that is set."""
    if attr.has(type(value)):
        out = {}
        for field in attr.fields(type(value)):
            item = getattr(value, field.name)
            if item is None or (item == -1 and field.default == -1):
                continue
            name = field.metadata.get("schema_property_name", field.name)
            out[name] = to_json(item)
        return out
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def _pascal(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.split("-"))


def _descriptor(rule) -> om.ReportingDescriptor:
    docs = rule.docs
    what = " ".join(str(docs.get("what") or rule.summary).split())
    refs = docs.get("references") or []
    return om.ReportingDescriptor(
        id=rule.id,
        name=_pascal(rule.id),
        short_description=om.MultiformatMessageString(text=rule.summary[:1024]),
        full_description=om.MultiformatMessageString(text=what[:1024]),
        help=om.MultiformatMessageString(text=render_rule(rule), markdown=render_markdown(rule)),
        help_uri=_help_uri(rule, refs),
        default_configuration=om.ReportingConfiguration(level=LEVELS[rule.severity]),
        properties={
            "tags": [*rule.tags[:19], "sidecars"] if "sidecars" not in rule.tags else rule.tags,
            "precision": rule.precision,
            "problem.severity": PROBLEM_SEVERITY[rule.severity],
        },
    )


def _help_uri(rule, refs: list) -> str:
    """The rule's page under docs/rules/ in the repository named by the package's
    `Repository` URL (pyproject.toml [project.urls]), for a built-in rule; else its first
    reference."""
    repository = _repository_url()
    if repository and rule.origin.endswith(".yaml") and os.sep not in rule.origin:
        return f"{repository.rstrip('/')}/blob/HEAD/docs/rules/{rule.id}.md"
    return refs[0] if refs else INFORMATION_URI


_REPOSITORY: list[str | None] = []


def _repository_url() -> str | None:
    if not _REPOSITORY:
        from importlib import metadata

        found = None
        try:
            for entry in metadata.metadata("sidecarlint").get_all("Project-URL") or ():
                label, _, url = entry.partition(",")
                if label.strip().lower() in ("repository", "source") and url.strip():
                    found = url.strip()
        except metadata.PackageNotFoundError:
            pass
        _REPOSITORY.append(found if found and found.startswith("https://") else None)
    return _REPOSITORY[0]


def _uri(path: str, root: Path, read_as: dict[str, str] | None = None) -> str:
    """The path relative to the root, percent-encoded from the file name's own bytes; a
    finding's path is its identity, resolved through `read_as` to the file read."""
    if path == "-":
        return "stdin"
    absolute = Path(os.path.abspath((read_as or {}).get(path, path)))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        relative = Path(os.path.relpath(absolute, root))
    return quote(os.fsencode(relative.as_posix()))


def _location(uri: str, line: int, column: int, message: str | None = None) -> om.Location:
    return om.Location(
        physical_location=om.PhysicalLocation(
            artifact_location=om.ArtifactLocation(uri=uri, uri_base_id="%SRCROOT%"),
            region=om.Region(
                start_line=max(line, 1),
                start_column=max(column, 1),
                byte_offset=None,
                char_offset=None,
            ),
        ),
        message=om.Message(text=message) if message else None,
    )


def _result(finding, index: int, root: Path, read_as: dict[str, str], newlines: dict) -> om.Result:
    uri = _uri(finding.path, root, read_as)
    location = _location(uri, finding.line, finding.column)
    if finding.kind:
        name = "/".join(p for p in (finding.kind, finding.namespace, finding.name) if p)
        logical = [om.LogicalLocation(fully_qualified_name=name, kind="object")]
        if finding.pod_path:  # the pod of an object that holds several, or off the usual path
            name = f"{name}/{finding.pod_path}"
            logical.append(
                om.LogicalLocation(
                    name=printable(finding.pod or finding.pod_path),
                    fully_qualified_name=printable(name),
                    kind="element",
                )
            )
        if finding.container:
            logical.append(
                om.LogicalLocation(
                    name=finding.container,
                    fully_qualified_name=f"{name}/{finding.container}",
                    kind="member",
                )
            )
        location.logical_locations = logical
    related = None
    if finding.rendered:
        path, line, column = finding.rendered
        related = [_location(_uri(path, root), line, column, "rendered by Helm here")]
    if finding.related:
        path, line, column, text = finding.related
        uri = _uri(path, root, read_as)
        related = [*(related or []), _location(uri, line, column, printable(text))]
    for number, place in enumerate(related or ()):
        place.id = number
    suppressions = None
    if finding.suppressed:
        suppressions = [
            om.Suppression(
                kind="inSource" if finding.suppressed_by is not None else "external",
                justification=finding.justification or "suppressed",
            )
        ]
    return om.Result(
        rule_id=finding.rule,
        rule_index=index,
        level=LEVELS.get(finding.severity, "warning"),
        kind="fail",
        rank=None,
        message=_message(finding),
        locations=[location],
        related_locations=related,
        partial_fingerprints={"primaryLocationLineHash": finding.fingerprint},
        suppressions=suppressions,
        properties={"podPath": printable(finding.pod_path)} if finding.pod_path else None,
        fixes=_fixes(finding, uri, read_as, newlines),
    )


def _fixes(finding: Finding, uri: str, read_as: dict[str, str], newlines: dict) -> list | None:
    """The edits `check --fix` would make, as a SARIF fix: one replacement each, in the
    file's own newline (code scanning shows it as the suggested change); `newlines` keeps
    each file's, read once."""
    from sidecarlint.fixes import edits_of

    edits = edits_of(finding.fix)
    if not edits or finding.suppressed:
        return None
    if finding.path not in newlines:
        try:
            with open(read_as.get(finding.path, finding.path), "rb") as handle:
                newlines[finding.path] = "\r\n" if b"\r\n" in handle.read(1 << 16) else "\n"
        except OSError:
            newlines[finding.path] = None
    newline = newlines[finding.path]
    if newline is None:
        return None
    replacements = [
        om.Replacement(
            deleted_region=om.Region(
                start_line=edit.line,
                start_column=edit.column,
                end_line=edit.end_line,
                end_column=edit.end_column,
                byte_offset=None,
                char_offset=None,
            ),
            inserted_content=om.ArtifactContent(text=edit.text.replace("\n", newline)),
        )
        for edit in edits
    ]
    change = om.ArtifactChange(
        artifact_location=om.ArtifactLocation(uri=uri, uri_base_id="%SRCROOT%"),
        replacements=replacements,
    )
    if len(edits) > 1:
        what = "move it, as the finding says"
    elif (edits[0].line, edits[0].column) == (edits[0].end_line, edits[0].end_column):
        what = f"add {edits[0].text.strip()}"
    else:
        what = f"set it to {edits[0].text}"
    description = om.Message(text=printable(f"sidecarlint check --fix: {what}"))
    return [om.Fix(artifact_changes=[change], description=description)]


def _message(finding: Finding) -> om.Message:
    """The finding's message; a shutdown finding's also as Markdown with its pod's timeline
    (`sidecarlint timeline`) under it."""
    text = printable(finding.message)
    if finding.timeline is None:
        return om.Message(text=text)
    from sidecarlint import timeline

    return om.Message(text=text, markdown=timeline.markdown(finding.message, finding.timeline))


def build(report: Report) -> om.SarifLog:
    # paths relative to the repository the run starts in, unless --srcroot says otherwise
    from sidecarlint.discover import PathIdentity

    here = os.path.abspath(os.getcwd())
    root = Path(
        os.path.abspath(report.sarif.get("srcroot") or PathIdentity().git_top(here) or here)
    )
    read_as = report.sarif.get("read_as") or {}
    newlines: dict[str, str | None] = {}  # each fixed file's newline, read once
    rules = sorted(report.rules, key=lambda r: r.id)
    index = {rule.id: i for i, rule in enumerate(rules)}
    category = report.sarif.get("category") or "sidecarlint"
    sarif_run = om.Run(
        tool=om.Tool(
            driver=om.ToolComponent(
                name="sidecarlint",
                version=__version__,
                semantic_version=__version__,
                information_uri=INFORMATION_URI,
                rules=[_descriptor(rule) for rule in rules],
            )
        ),
        automation_details=om.RunAutomationDetails(id=f"{category.strip('/')}/"),
        original_uri_base_ids={
            "%SRCROOT%": om.ArtifactLocation(uri=root.as_uri().rstrip("/") + "/")
        },
        column_kind="unicodeCodePoints",
        results=[
            _result(f, index[f.rule], root, read_as, newlines)
            for f in report.findings
            if f.rule in index
        ],
        language=None,
        newline_sequences=None,
    )
    return om.SarifLog(version="2.1.0", schema_uri=SCHEMA, runs=[sarif_run])


def write(report: Report, out: TextIO) -> None:
    out.write(json.dumps(to_json(build(report)), indent=2, ensure_ascii=False) + "\n")
