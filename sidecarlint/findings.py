"""The shared vocabulary: severities and findings.

A path is kept as the file system gave it (a file name that is not UTF-8 holds lone
surrogates); each output shows it in its own way: text and JSON with \\xNN escapes
(`printable`), SARIF percent-encoded from the real bytes.

A `Finding` is complete when it is made and never changed afterwards: the stages after the
engine (Helm template mapping, kustomize attribution, settling, fingerprints) return new
findings with `_replace`.
"""

from __future__ import annotations

from typing import NamedTuple

SEVERITIES = ("info", "warning", "error")
FAIL_ON = ("error", "warning", "info", "never")


def severity_rank(severity: str) -> int:
    """info < warning < error; an unknown severity ranks lowest."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def at_or_above(severity: str, threshold: str) -> bool:
    """Whether a finding of `severity` trips `--fail-on threshold`."""
    if threshold == "never":
        return False
    return severity_rank(severity) >= severity_rank(threshold)


class Finding(NamedTuple):
    """One problem at one place. The fields up to `suppressed` are the JSON contract."""

    rule: str
    severity: str
    message: str
    path: str
    line: int
    column: int
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    container: str | None = None
    source: str | None = None  # the Helm template named by `# Source:`
    # Which pod of the object, when it holds several or keeps it off the usual path: its label
    # ("submitter", a replica's name) and where its pod spec is in the object.
    pod: str | None = None
    pod_path: str | None = None
    suppressed: bool = False
    # Why it is suppressed, and by which declaration: (path, line, column) of the
    # annotation or comment (see suppress.py).
    justification: str | None = None
    suppressed_by: tuple | None = None
    # Where it was in the rendered output, when `path` now names a Helm template.
    rendered: tuple[str, int, int] | None = None
    # Another place the finding is about: (path, line, column, what it is) — SARIF shows it
    # as a related location.
    related: tuple[str, int, int, str] | None = None
    # A condition on the whole run that its rule's family settles (see engine.settle).
    pending: tuple = ()
    # The file whose folder decides which Namespace objects the finding sees, when it is
    # reported elsewhere (a kustomize finding moved to its base: the overlay's).
    seen_from: str | None = None
    fingerprint: str = ""
    # The edit that fixes it (`fixes.Edit`), from its rule's `fix:`; None when there is none
    # or it cannot be made keeping the text as written.
    fix: object = None
    # The pod's timeline (`timeline.Timeline`) for a shutdown finding: drawn by the text
    # output with --show-timeline and in SARIF's message.markdown.
    timeline: object = None

    def sort_key(self) -> tuple[str, int, str, int, str]:
        return (self.path, self.line, self.rule, self.column, self.message)

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": printable(self.message)
            + (f" (suppressed: {self.justification})" if self.suppressed else ""),
            "path": printable(self.path),
            "line": self.line,
            "column": self.column,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "container": self.container,
            "source": self.source,
            "pod": None if self.pod is None else printable(self.pod),
            "pod_path": None if self.pod_path is None else printable(self.pod_path),
            "suppressed": self.suppressed,
        }


def printable(text: str) -> str:
    """`text` as every output can write it. Python keeps the bytes of a file name that is
    not UTF-8 as lone surrogates, which no UTF-8 output accepts: they show as \\xNN."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            data = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that stands for no byte
            data = text.encode("utf-8", "surrogatepass")
        return data.decode("utf-8", "backslashreplace")
    return text


_CONTROLS = {
    **{c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]},
    0x09: "\\t",
    0x0A: "\\n",
    0x0D: "\\r",
    0x2028: "\\u2028",  # line and paragraph separators end a line in some viewers
    0x2029: "\\u2029",
    # bidirectional overrides and isolates reorder what a reader sees ("trojan source")
    **{c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]},
}


def visible(text: str) -> str:
    """`text` on one line, with nothing a terminal or a log reader acts on: control
    characters (newline, ESC, ...) are shown as escapes such as \\n and \\x1b, and the bytes
    of an undecodable file name as \\xNN. Every string from a manifest passes through this
    before it reaches a terminal, a log or an annotation."""
    text = printable(text)
    if text.isprintable():
        return text
    return text.translate(_CONTROLS)


def with_fingerprints(findings: list[Finding]) -> list[Finding]:
    """A fingerprint that survives unrelated edits: from the rule, the path, the object, the
    pod's label (a replica's name, never its position) and the container, never the line;
    the n-th finding with the same key gets ':n'."""
    import hashlib  # only runs that need fingerprints pay for importing it

    seen: dict[str, int] = {}
    result = []
    for finding in findings:
        obj = f"{finding.kind or ''}/{finding.namespace or ''}/{finding.name or ''}"
        if finding.pod is not None:  # absent for the pods of core kinds: their keys unchanged
            obj += f"/{finding.pod}"
        key = "|".join((finding.rule, printable(finding.path), obj, finding.container or ""))
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        result.append(finding._replace(fingerprint=f"{digest}:{seen[digest]}"))
    return result
