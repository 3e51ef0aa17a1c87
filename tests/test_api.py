"""Linting from Python: `sidecarlint.api.lint` gives what the CLI prints, without the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, lint_json

from sidecarlint.api import LintOptions, UsageError, lint

EXAMPLES = str(ROOT / "examples")


def test_lints_the_examples_as_the_cli_does():
    result = lint([EXAMPLES])
    found = [(f.rule, f.path.rsplit("/", 1)[1], f.line, f.container) for f in result.findings]
    assert found == [
        ("grace-period-too-short", "payments-deployment.yaml", 17, None),
        ("init-container-before-sidecar", "payments-deployment.yaml", 19, "migrate"),
        ("native-sidecar-without-startup-probe", "payments-deployment.yaml", 29, "cloud-sql-proxy"),
        ("job-legacy-sidecar", "report-job.yaml", 14, "fluent-bit"),
        ("invalid-restart-policy", "report-job.yaml", 16, "fluent-bit"),
    ]
    assert result.inputs == 3
    code, from_cli = lint_json(EXAMPLES)
    assert code == 1
    assert [f.as_json() for f in result.findings] == from_cli
    assert "35s" in result.findings[0].message  # the arithmetic, as the CLI says it
    assert {rule.id for rule in result.rules} >= {"grace-period-too-short", "invalid-yaml"}


def test_options_are_the_cli_options():
    result = lint([EXAMPLES], LintOptions(select=("job-legacy-sidecar",), kube_version="1.28"))
    assert [(f.rule, f.severity) for f in result.findings] == [("job-legacy-sidecar", "error")]
    assert "native sidecars need Kubernetes 1.29+" in result.findings[0].message
    assert [rule.id for rule in result.rules] == ["job-legacy-sidecar"]


def test_standard_input_and_the_facts_of_the_run():
    text = b"""\
apiVersion: v1
kind: Namespace
metadata:
  name: batch
  labels: {istio-injection: enabled}
---
apiVersion: batch/v1
kind: Job
metadata: {name: export, namespace: batch}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - {name: export, image: example.com/export:1}
"""
    result = lint(["-"], LintOptions(stdin=text, stdin_filename="jobs/export.yaml"))
    assert result.facts.summary()["namespaces"] == {"batch": {"istio-injection": "enabled"}}
    [finding] = result.findings
    assert (finding.rule, finding.path, finding.name) == (
        "job-injected-legacy-sidecar",
        "jobs/export.yaml",
        "export",
    )
    assert "namespace 'batch' has istio-injection: enabled" in finding.message


def test_bad_input_is_a_finding_and_a_flag_on_the_result(tmp_path):
    (tmp_path / "bad.yaml").write_text("kind: Pod\nspec: [\n")
    result = lint([str(tmp_path)])
    assert [(f.rule, f.line) for f in result.findings] == [("invalid-yaml", 3)]
    assert result.unreadable
    assert not lint([EXAMPLES]).unreadable


def test_usage_problems_raise_usage_error(tmp_path):
    with pytest.raises(UsageError, match="unknown rule 'no-such-rule'"):
        lint([EXAMPLES], LintOptions(select=("no-such-rule",)))
    config = tmp_path / ".sidecarlint.yaml"
    config.write_text("kube_version: banana\n")
    with pytest.raises(UsageError, match="kube_version"):
        lint([EXAMPLES], LintOptions(config=str(config)))


def test_findings_cannot_be_changed_after_the_fact():
    finding = lint([EXAMPLES]).findings[0]
    with pytest.raises(AttributeError):
        finding.line = 1  # type: ignore[misc]
    json.dumps(finding.as_json())


def test_default_namespace_in_config_places_objects_that_name_none(tmp_path):
    job = ROOT / "tests" / "rules" / "job-injected-legacy-sidecar" / "ok-no-namespace.yaml"
    assert lint([str(job)]).findings == []  # where it is applied is unknown
    config = tmp_path / ".sidecarlint.yaml"
    config.write_text("default_namespace: default\n")
    [finding] = lint([str(job)], LintOptions(config=str(config))).findings
    assert finding.rule == "job-injected-legacy-sidecar" and finding.name == "migrate"
    assert "namespace 'default' has istio-injection: enabled" in finding.message
