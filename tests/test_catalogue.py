"""Every rule is well formed, documented, has fixtures, flags its example, passes its fix."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from conftest import ROOT, lint_json, run_cli, run_with_args

from sidecarlint.rules import DOC_KEYS, builtin_rules

RULES = builtin_rules()
# Rules whose bad case is not one manifest: an unreadable path, a chart that fails to render,
# a chart with no helm on PATH.
NOT_ONE_MANIFEST = {"unreadable-file", "render-failed", "render-unavailable"}
IDS = [r.id for r in RULES]


def test_rule_ids_are_kebab_case_and_match_files():
    for rule in RULES:
        assert rule.id == rule.id.lower() and " " not in rule.id and "_" not in rule.id
        assert (ROOT / "rules" / f"{rule.id}.yaml").is_file()


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_rule_is_documented(rule):
    for key in DOC_KEYS:
        assert rule.docs.get(key), f"{rule.id}: docs.{key} is missing"
    assert all(ref.startswith("https://") for ref in rule.docs["references"])


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_rule_has_fixtures(rule):
    folder = ROOT / "tests" / "rules" / rule.id
    names = [p.name for p in folder.iterdir() if p.suffix == ".yaml" or p.is_dir()]
    assert any(n.startswith("ok-") for n in names), f"{rule.id}: no ok-*.yaml fixture"
    if rule.id not in NOT_ONE_MANIFEST:  # made on the fly below and in test_render.py
        assert any(n.startswith("bad-") for n in names), f"{rule.id}: no bad-*.yaml fixture"


def _lint_example(tmp_path, rule, text):
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    overlay = re.match(r"# ([\w./-]+)/kustomization\.yaml\b", text)
    if overlay:  # an example kustomization file, linted as an overlay in its folder
        (tmp_path / overlay.group(1)).mkdir(parents=True, exist_ok=True)
        (tmp_path / overlay.group(1) / "kustomization.yaml").write_text(text, encoding="utf-8")
        path.unlink()
        path = tmp_path
    select = [] if rule.family == "suppressions" else ["--select", rule.id]
    code, findings = lint_json(str(path), *select, "--fail-on", "never", *run_with_args(text))
    return code, [f for f in findings if f["rule"] == rule.id]


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_example_is_flagged_and_fix_is_clean(rule, tmp_path, monkeypatch):
    if rule.id == "unreadable-file":
        loop = tmp_path / "loop.yaml"
        os.symlink(loop, loop)
        _, findings = lint_json(str(loop), "--select", rule.id, "--fail-on", "never")
    elif rule.id in ("render-failed", "render-unavailable"):
        chart = tmp_path / "chart"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
        (chart / "templates" / "x.yaml").write_text('{{ fail "broken" }}\n')
        if rule.id == "render-unavailable":
            monkeypatch.setenv("PATH", str(tmp_path))
        elif shutil.which("helm") is None:
            pytest.skip("helm is not on PATH")
        _, findings = lint_json(str(chart), "--select", rule.id, "--fail-on", "never")
        monkeypatch.undo()
    else:
        _, findings = _lint_example(tmp_path, rule, rule.docs["example"])
    assert [f["rule"] for f in findings] and {f["rule"] for f in findings} == {rule.id}
    (tmp_path / "loop.yaml").unlink(missing_ok=True)
    _, findings = _lint_example(tmp_path, rule, rule.docs["use_instead"])
    assert findings == []


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_explain_prints_the_docs(rule):
    code, out, _ = run_cli("explain", rule.id)
    assert code == 0
    assert out.startswith(f"{rule.id} ({rule.severity}")
    assert "Why it matters:" in out and "Use instead:" in out
    assert rule.docs["references"][0] in out


def test_rules_lists_every_rule():
    code, out, _ = run_cli("rules")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines()]
    assert listed == sorted(IDS)
