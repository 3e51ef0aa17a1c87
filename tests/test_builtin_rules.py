"""The built-in rule files ship with a parsed copy (builtin.json) that is only ever read
while it matches them."""

from __future__ import annotations

import json
import shutil

from sidecarlint import builtin_rules


def test_the_bundle_matches_the_yaml_files():
    with open(builtin_rules.BUNDLE, encoding="utf-8") as handle:
        bundle = json.load(handle)
    sources = builtin_rules._sources()
    # compared as text: key order is meaning (a probe is suggested as it is written)
    assert json.dumps(bundle["files"]) == json.dumps(builtin_rules.parse(sources)), (
        "rules/builtin.json is stale: run `python -m sidecarlint.builtin_rules`"
    )
    assert bundle["checksum"] == builtin_rules._checksum(sources)


def test_a_stale_bundle_is_never_read(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    shutil.copytree(builtin_rules.FOLDER, folder)
    rule = folder / "grace-period-too-short.yaml"
    text = rule.read_text(encoding="utf-8")
    rule.write_text(text.replace("summary: ", "summary: EDITED ", 1), encoding="utf-8")
    monkeypatch.setattr(builtin_rules, "FOLDER", str(folder))
    monkeypatch.setattr(builtin_rules, "BUNDLE", str(folder / "builtin.json"))
    monkeypatch.setattr(builtin_rules, "_data", None)
    loaded = builtin_rules.load()
    assert loaded["grace-period-too-short.yaml"]["summary"].startswith("EDITED ")


def test_a_missing_or_broken_bundle_falls_back_to_the_yaml(tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    shutil.copytree(builtin_rules.FOLDER, folder)
    (folder / "builtin.json").write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(builtin_rules, "FOLDER", str(folder))
    monkeypatch.setattr(builtin_rules, "BUNDLE", str(folder / "builtin.json"))
    monkeypatch.setattr(builtin_rules, "_data", None)
    assert builtin_rules.load() == builtin_rules.parse(builtin_rules._sources())
