"""The shared vocabulary: severities and findings."""

from __future__ import annotations

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


class Finding:
    """One problem at one place. Only the first twelve fields are the JSON contract."""

    __slots__ = (
        "column",
        "container",
        "fingerprint",
        "justification",
        "kind",
        "line",
        "message",
        "name",
        "namespace",
        "path",
        "rendered",
        "requires",
        "rule",
        "severity",
        "source",
        "suppressed",
        "suppressed_by",
    )

    def __init__(
        self,
        rule: str,
        severity: str,
        message: str,
        path: str,
        line: int,
        column: int,
        kind: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        container: str | None = None,
        source: str | None = None,
        suppressed: bool = False,
        justification: str | None = None,
        rendered: tuple[str, int, int] | None = None,
        requires: tuple = (),
        suppressed_by: int | None = None,
        fingerprint: str = "",
    ) -> None:
        self.rule = rule
        self.severity = severity
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.container = container
        self.source = source
        self.suppressed = suppressed
        # Not part of the JSON contract: why a finding is suppressed, and the
        # rendered position when `path` was mapped to a Helm template.
        self.justification = justification
        self.rendered = rendered
        self.requires = requires
        self.suppressed_by = suppressed_by
        self.fingerprint = fingerprint

    def replace(self, **changes: object) -> Finding:
        """A copy with some fields changed."""
        copy = Finding.__new__(Finding)
        for name in Finding.__slots__:
            setattr(copy, name, changes.get(name, getattr(self, name)))
        return copy

    def sort_key(self) -> tuple[str, int, str, int, str]:
        return (self.path, self.line, self.rule, self.column, self.message)

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message
            + (f" (suppressed: {self.justification})" if self.suppressed else ""),
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "container": self.container,
            "source": self.source,
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


def make_paths_printable(findings: list[Finding]) -> None:
    """Paths come from the file system and from the command line, which may hold any
    bytes; a finding's message may quote its path."""
    for finding in findings:
        if finding.path.isascii():
            continue
        finding.path = printable(finding.path)
        finding.message = printable(finding.message)
        if finding.rendered:
            finding.rendered = (printable(finding.rendered[0]), *finding.rendered[1:])


def assign_fingerprints(findings: list[Finding]) -> None:
    """A fingerprint that survives unrelated edits: from the rule, the path, the object and
    the container, never the line; the n-th finding with the same key gets ':n'."""
    import hashlib

    seen: dict[str, int] = {}
    for finding in findings:
        obj = f"{finding.kind or ''}/{finding.namespace or ''}/{finding.name or ''}"
        key = "|".join((finding.rule, finding.path, obj, finding.container or ""))
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        seen[digest] = seen.get(digest, 0) + 1
        finding.fingerprint = f"{digest}:{seen[digest]}"
