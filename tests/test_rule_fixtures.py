"""Each rule over its fixtures: the reported lines must equal the `# expect:` markers."""

from __future__ import annotations

import pytest
from conftest import ROOT, expected_lines, lint_json, run_with_args

from sidecarlint.rules import builtin_rules

# Suppression rules judge the findings of the other rules, so those stay enabled.
WHOLE_RUN = {r.id for r in builtin_rules() if r.family == "suppressions"}
FIXTURES = sorted((ROOT / "tests" / "rules").glob("*/*.yaml"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f"{p.parent.name}/{p.name}" for p in FIXTURES])
def test_fixture(fixture):
    rule_id = fixture.parent.name
    extra = run_with_args(fixture.read_text(encoding="utf-8"))
    select = [] if rule_id in WHOLE_RUN else ["--select", rule_id]
    _, findings = lint_json(str(fixture), *select, "--fail-on", "never", *extra)
    findings = [f for f in findings if f["rule"] == rule_id]
    reported = sorted(f["line"] for f in findings)
    expected = expected_lines(fixture, rule_id)
    assert reported == expected, "\n".join(f"{f['line']}: {f['message']}" for f in findings)
    if fixture.name.startswith("ok-"):
        assert expected == [], "an ok- fixture must not expect findings"
    else:
        assert expected, "a bad- fixture must expect at least one finding"
