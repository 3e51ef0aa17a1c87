"""SARIF for code scanning: valid three ways, complete rule metadata, stable fingerprints,
Helm findings pointing at the chart template."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from conftest import CORPUS, ROOT, run_cli

from sidecarlint.rules import builtin_rules

VALIDATOR = CORPUS.parent / "tools" / "validate-sarif"
BAD = ROOT / "tests/rules/native-sidecar-without-startup-probe/bad-known-and-unknown.yaml"


def sarif(*args: str) -> dict:
    _code, out, err = run_cli("check", "--format", "sarif", *args)
    assert "Traceback" not in out + err
    return json.loads(out)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_rule_is_described_for_github(in_tmp):
    (in_tmp / "app.yaml").write_bytes(BAD.read_bytes())
    log = sarif("app.yaml")
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    driver = log["runs"][0]["tool"]["driver"]
    assert [r["id"] for r in driver["rules"]] == sorted(r.id for r in builtin_rules())
    for rule in driver["rules"]:
        assert rule["name"] and rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"] and rule["help"]["text"]
        assert "### Why it matters" in rule["help"]["markdown"]
        assert rule["helpUri"].startswith("https://")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        props = rule["properties"]
        assert props["tags"] and props["precision"] and props["problem.severity"]
    [probe] = [r for r in driver["rules"] if r["id"] == "native-sidecar-without-startup-probe"]
    assert probe["defaultConfiguration"]["level"] == "warning"  # a default value, still written


def test_results_locations_and_fingerprints(in_tmp):
    (in_tmp / "k8s").mkdir()
    (in_tmp / "k8s" / "app.yaml").write_bytes(BAD.read_bytes())
    run = sarif("k8s")["runs"][0]
    first = run["results"][0]
    assert first["ruleId"] == "native-sidecar-without-startup-probe"
    assert first["level"] == "warning"
    location = first["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {
        "uri": "k8s/app.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["physicalLocation"]["region"] == {"startLine": 16, "startColumn": 11}
    assert [(x["fullyQualifiedName"], x["kind"]) for x in location["logicalLocations"]] == [
        ("Deployment/shop/payments", "object"),
        ("Deployment/shop/payments/istio-proxy", "member"),
    ]
    assert run["automationDetails"]["id"] == "sidecarlint/"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == in_tmp.as_uri() + "/"
    # inserting lines above the finding moves it, but its fingerprint stays
    before = [r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"]]
    text = BAD.read_text()
    (in_tmp / "k8s" / "app.yaml").write_text("# a new comment\n# and another\n" + text)
    after_run = sarif("k8s")["runs"][0]
    assert after_run["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 18
    after = [r["partialFingerprints"]["primaryLocationLineHash"] for r in after_run["results"]]
    assert before == after and len(set(before)) == len(before)


def test_empty_results_and_category(in_tmp):
    (in_tmp / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    run = sarif("ok.yaml", "--sarif-category", "charts/grafana")["runs"][0]
    assert run["results"] == []
    assert run["automationDetails"]["id"] == "charts/grafana/"


def test_helm_findings_point_at_the_template(corpus, monkeypatch):
    monkeypatch.chdir(corpus)
    run = sarif(
        "helm/grafana-native-sidecars.yaml",
        "--chart-root",
        "helm-src",
        "--select",
        "native-sidecar-without-startup-probe",
    )["runs"][0]
    [result] = run["results"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "helm-src/grafana/templates/_pod.tpl"
    line = physical["region"]["startLine"]
    assert (
        "-init-sc-dashboard"
        in (corpus / "helm-src/grafana/templates/_pod.tpl").read_text().splitlines()[line - 1]
    )
    related = result["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == "helm/grafana-native-sidecars.yaml"
    assert related["region"]["startLine"] == 235
    # text and JSON use the template too; without the sources, the rendered file is kept
    _, out, _ = run_cli(
        "check",
        "helm/grafana-native-sidecars.yaml",
        "--chart-root",
        "helm-src",
        "--select",
        "native-sidecar-without-startup-probe",
    )
    assert out.startswith(f"helm-src/grafana/templates/_pod.tpl:{line}:")
    _, out, _ = run_cli(
        "check",
        "helm/grafana-native-sidecars.yaml",
        "--select",
        "native-sidecar-without-startup-probe",
    )
    assert out.startswith("helm/grafana-native-sidecars.yaml:235:11:")


def test_pod_level_helm_finding_points_at_the_key(tmp_path, monkeypatch):
    chart = tmp_path / "mychart" / "templates"
    chart.mkdir(parents=True)
    (chart / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n"
        "  template:\n    spec:\n      terminationGracePeriodSeconds: {{ .Values.grace }}\n"
    )
    rendered = (
        "---\n# Source: mychart/templates/job.yaml\napiVersion: batch/v1\nkind: Job\n"
        "metadata:\n  name: rel\nspec:\n  template:\n    spec:\n"
        "      terminationGracePeriodSeconds: 3\n      restartPolicy: Never\n      containers:\n"
        "        - name: app\n          image: x\n          lifecycle:\n"
        "            preStop: {sleep: {seconds: 4}}\n"
        "        - name: istio-proxy\n          image: docker.io/istio/proxyv2:1.22\n"
    )
    monkeypatch.chdir(tmp_path)
    _code, out, _ = run_cli(
        "check",
        "-",
        "--stdin-filename",
        "rendered.yaml",
        "--select",
        "grace-period-too-short",
        input=rendered,
    )
    assert out.startswith("mychart/templates/job.yaml:8:7: warning grace-period-too-short")


def test_github_annotations(in_tmp):
    (in_tmp / "app.yaml").write_bytes(BAD.read_bytes())
    code, out, _ = run_cli("check", "--format", "github", "app.yaml")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(
        "::warning file=app.yaml,line=16,col=11,title=sidecarlint native-sidecar-without-"
        "startup-probe::native sidecar 'istio-proxy'"
    )
    assert lines[-1].startswith("sidecarlint: 2 findings")


@pytest.mark.skipif(not VALIDATOR.exists(), reason=f"{VALIDATOR} is not present")
def test_sarif_passes_schema_github_and_multitool(tmp_path, monkeypatch):
    if shutil.which("npm") is None:
        pytest.skip("npm is needed to fetch the SARIF Multitool")
    monkeypatch.chdir(CORPUS)
    outputs = []
    for name, args in (
        ("corpus.sarif", [".", "--chart-root", "helm-src", "--show-suppressed"]),
        ("empty.sarif", ["semantics/istio/job.yaml", "--select", "invalid-yaml"]),
        (
            "suppressed.sarif",
            [str(ROOT / "tests/rules/unused-suppression/ok-used.yaml"), "--show-suppressed"],
        ),
    ):
        target = tmp_path / name
        run_cli("check", "--format", "sarif", "-o", str(target), *args)
        outputs.append(str(target))
    suppressed = json.loads((tmp_path / "suppressed.sarif").read_text())["runs"][0]["results"]
    assert {s["justification"] for r in suppressed for s in r.get("suppressions", [])} == {
        "tail has no readiness to wait for",
        "a shared snippet we do not own",
    }
    result = subprocess.run(
        [str(VALIDATOR), "--install", *outputs], capture_output=True, text=True, timeout=900
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    for path in outputs:
        for check in ("jsonschema", "github_sarif_checks", "sarif-multitool"):
            assert any(
                line.startswith(f"{path}: OK") and check in line for line in report.splitlines()
            ), report


def test_a_namespace_conflict_names_the_earlier_declaration_as_related(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
        "  labels: {istio-injection: enabled}\n"
    )
    (tmp_path / "b.yaml").write_text(
        "# the overlay's copy\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
        "  labels: {istio-injection: disabled}\n"
    )
    [result] = sarif(".")["runs"][0]["results"]
    assert result["ruleId"] == "namespace-conflict"
    physical = result["locations"][0]["physicalLocation"]
    assert (physical["artifactLocation"]["uri"], physical["region"]["startLine"]) == ("b.yaml", 2)
    [related] = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "a.yaml"
    assert related["message"]["text"] == "Namespace 'shop' declared here first"


def test_a_sidecar_injected_by_its_namespace_points_at_the_namespace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "namespace.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: batch\n"
        "  labels: {istio-injection: enabled}\n"
    )
    (tmp_path / "job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  namespace: batch\n"
        "spec:\n  template:\n    metadata:\n      labels: {app: migrate}\n    spec:\n"
        "      restartPolicy: Never\n"
        "      containers:\n        - {name: migrate, image: example.com/migrate:1}\n"
    )
    [result] = sarif(".", "--select", "job-injected-legacy-sidecar")["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "job.yaml"
    [related] = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "namespace.yaml"
    assert related["message"]["text"] == "Namespace 'batch' is labelled for injection here"
