"""Each rule over its fixtures: the reported lines must equal the `# expect:` markers."""

from __future__ import annotations

import pytest
from conftest import ROOT, expected_lines, lint_json, run_with_args

from sidecarlint.rules import builtin_rules

# Suppression rules judge the findings of the other rules, so those stay enabled.
WHOLE_RUN = {r.id for r in builtin_rules() if r.family == "suppressions"}
# A fixture is a manifest, or a folder (an overlay, a chart) whose files carry the markers.
FIXTURES = sorted(
    p
    for p in (ROOT / "tests" / "rules").glob("*/*")
    if p.suffix == ".yaml" or (p.is_dir() and p.name.startswith(("bad-", "ok-")))
)


def _expected(fixture, rule_id) -> list[tuple[str, int]]:
    files = sorted(fixture.rglob("*.yaml")) if fixture.is_dir() else [fixture]
    return sorted(
        (path.relative_to(ROOT).as_posix(), line)  # a path's identity: repository-relative
        for path in files
        for line in expected_lines(path, rule_id)
    )


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f"{p.parent.name}/{p.name}" for p in FIXTURES])
def test_fixture(fixture, monkeypatch):
    rule_id = fixture.parent.name
    first = next(iter(sorted(fixture.rglob("*.yaml")))) if fixture.is_dir() else fixture
    extra = run_with_args(first.read_text(encoding="utf-8"))
    select = [] if rule_id in WHOLE_RUN else ["--select", rule_id]
    monkeypatch.chdir(fixture.parent)
    _, findings = lint_json(fixture.name, *select, "--fail-on", "never", *extra)
    findings = [f for f in findings if f["rule"] == rule_id]
    reported = sorted((f["path"], f["line"]) for f in findings)
    expected = _expected(fixture, rule_id)
    assert reported == expected, "\n".join(f"{f['line']}: {f['message']}" for f in findings)
    if fixture.name.startswith("ok-"):
        assert expected == [], "an ok- fixture must not expect findings"
    else:
        assert expected, "a bad- fixture must expect at least one finding"
