"""Rule documentation everywhere: docs/rules/ generated from the rule files (and kept
current by this test), `sidecarlint rules --format json|markdown`, and SARIF helpUri."""

from __future__ import annotations

import json

from conftest import ROOT, run_cli

from sidecarlint.explain import pages
from sidecarlint.report import sarif as sarif_report
from sidecarlint.rules import builtin_rules

DOCS = ROOT / "docs" / "rules"


def test_the_rule_pages_are_current():
    """Fails when a rule file changed and docs/rules/ was not rewritten: run
    `python -m sidecarlint.explain docs/rules`."""
    wanted = pages(builtin_rules())
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in DOCS.glob("*.md")}
    assert sorted(on_disk) == sorted(wanted)
    stale = [name for name, text in wanted.items() if on_disk[name] != text]
    assert stale == [], f"stale: {stale}; run python -m sidecarlint.explain docs/rules"


def test_each_page_has_what_why_example_use_instead_and_references():
    for rule in builtin_rules():
        text = (DOCS / f"{rule.id}.md").read_text(encoding="utf-8")
        assert text.startswith(f"# {rule.id}\n")
        for heading in ("### What it flags", "### Why it matters", "### References"):
            assert heading in text, (rule.id, heading)
        if rule.docs.get("example"):
            assert "### Example (flagged)\n\n```yaml" in text, rule.id


def test_rules_as_json_and_markdown():
    code, out, _ = run_cli("rules", "--format", "json")
    listed = json.loads(out)
    assert code == 0
    assert [r["id"] for r in listed] == [r.id for r in builtin_rules()]
    grace = next(r for r in listed if r["id"] == "grace-period-too-short")
    assert grace["params"]["margin_seconds"] == {
        "type": "int",
        "default": 5,
        "description": "seconds added to the computed need in the suggested value",
    }
    assert grace["docs"]["references"] and grace["origin"] == "built-in"
    code, out, _ = run_cli("rules", "--format", "markdown")
    assert code == 0 and out == (DOCS / "README.md").read_text(encoding="utf-8")


def test_sarif_help_uri_points_at_the_rule_page_of_the_repository(monkeypatch, tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: []\n")
    monkeypatch.setattr(sarif_report, "_REPOSITORY", ["https://github.com/example/sidecarlint"])
    _, out, _ = run_cli("check", "--format", "sarif", str(manifest))
    rules = {r["id"]: r for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["job-legacy-sidecar"]["helpUri"] == (
        "https://github.com/example/sidecarlint/blob/HEAD/docs/rules/job-legacy-sidecar.md"
    )
    monkeypatch.setattr(sarif_report, "_REPOSITORY", [None])  # no URL in the metadata
    _, out, _ = run_cli("check", "--format", "sarif", str(manifest))
    rules = {r["id"]: r for r in json.loads(out)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["job-legacy-sidecar"]["helpUri"].startswith("https://kubernetes.io/")
