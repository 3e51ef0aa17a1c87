"""Suppressions (annotations, comments, config), --show-suppressed, and baselines."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import lint_json, run_cli

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations: {}
spec:
  initContainers:
    - name: tailer
      image: busybox:1.36
      restartPolicy: Always
      ports: [{containerPort: 8080}]
  containers:
    - name: web
      image: nginx:1.27
      env: [{name: UPSTREAM, value: "http://localhost:8080"}]
"""
RULE = "native-sidecar-without-startup-probe"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _write(tmp_path, text, name="pod.yaml"):
    (tmp_path / name).write_text(text)
    return name


def test_unsuppressed_baseline(tmp_path):
    code, findings = lint_json(_write(tmp_path, POD))
    assert code == 1 and [f["rule"] for f in findings] == [RULE]


@pytest.mark.parametrize(
    "text",
    [
        POD.replace(
            "annotations: {}",
            f'annotations:\n    ignore.sidecarlint.io/{RULE}: "tail -F has no readiness"',
        ),
        POD.replace(
            "    - name: tailer",
            f"    # sidecarlint: ignore[{RULE}] tail -F has no readiness\n    - name: tailer",
        ),
        POD.replace(
            "    - name: tailer",
            f"    - name: tailer  # sidecarlint: ignore[{RULE}] tail -F has no readiness",
        ),
    ],
    ids=["annotation", "comment-above", "comment-on-line"],
)
def test_each_form_suppresses_and_keeps_its_reason(tmp_path, text):
    name = _write(tmp_path, text)
    code, findings = lint_json(name)
    assert code == 0 and findings == []
    code, findings = lint_json(name, "--show-suppressed")
    assert code == 0
    [finding] = [f for f in findings if f["rule"] == RULE]
    assert finding["suppressed"] is True
    assert finding["message"].endswith("(suppressed: tail -F has no readiness)")
    _, out, _ = run_cli("check", name, "--show-suppressed")
    assert "suppressed: tail -F has no readiness" in out


def test_annotation_on_the_pod_template_of_a_deployment(tmp_path):
    deployment = textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web}}
        spec:
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata:
              labels: {{app: web}}
              annotations:
                ignore.sidecarlint.io/{RULE}: "reviewed in PLAT-12"
            spec:
        """) + textwrap.indent(POD.split("spec:\n", 1)[1], "      ")
    code, findings = lint_json(_write(tmp_path, deployment))
    assert code == 0 and findings == []


def test_unused_and_invalid_suppressions_are_reported(tmp_path):
    text = POD.replace(
        "annotations: {}",
        'annotations:\n    ignore.sidecarlint.io/invalid-probe: "old"\n'
        '    ignore.sidecarlint.io/native-sidecar-without-startup-probe: ""',
    )
    _code, findings = lint_json(_write(tmp_path, text))
    assert sorted((f["rule"], f["line"]) for f in findings) == [
        ("invalid-suppression", 7),
        (RULE, 10),
        ("unused-suppression", 6),
    ]


def test_unused_is_not_reported_for_rules_not_run(tmp_path):
    text = POD.replace(
        "annotations: {}", 'annotations:\n    ignore.sidecarlint.io/invalid-probe: "old"'
    )
    _, findings = lint_json(_write(tmp_path, text), "--select", RULE)
    assert [f["rule"] for f in findings] == [RULE]


def test_baseline_hides_old_findings_and_shows_new_ones(tmp_path):
    name = _write(tmp_path, POD)
    code, _out, _ = run_cli("check", name, "--write-baseline", "baseline.json")
    assert code == 0
    recorded = json.loads((tmp_path / "baseline.json").read_text())["sidecarlint-baseline"]
    assert len(recorded["fingerprints"]) == 1
    # unrelated edits above the finding do not bring it back
    _write(tmp_path, "# moved down\n" + POD)
    code, findings = lint_json(name, "--baseline", "baseline.json")
    assert code == 0 and findings == []
    # a new problem is reported
    _write(
        tmp_path,
        "# moved down\n"
        + POD.replace(
            "  containers:",
            "    - name: vault-agent\n      image: hashicorp/vault:1.17.2\n"
            "      restartPolicy: Always\n  containers:",
        ),
    )
    code, findings = lint_json(name, "--baseline", "baseline.json")
    assert code == 1 and [f["container"] for f in findings] == ["vault-agent"]


@pytest.mark.parametrize("content", ["[]", "[" * 100_000 + "]" * 100_000, "\udcff"])
def test_bad_baseline_is_a_usage_error(tmp_path, content):
    (tmp_path / "baseline.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    code, _, err = run_cli("check", _write(tmp_path, POD), "--baseline", "baseline.json")
    assert code == 2 and "not a sidecarlint baseline" in err


JOB_SUPPRESSED = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: batch
  annotations:
    ignore.sidecarlint.io/job-injected-legacy-sidecar: "the job calls /quitquitquit"
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - {name: migrate, image: example.com/migrate:1}
"""


@pytest.mark.parametrize("labels", ["{istio-injection: enabled}", "{}"])
def test_a_suppression_that_depends_on_another_file_is_judged_on_the_whole_repository(
    tmp_path, labels
):
    """Linting the Job alone cannot tell whether its Namespace (in another file) injects a
    sidecar, so its suppression is never called unused then; linting the repository can."""
    (tmp_path / "job.yaml").write_text(JOB_SUPPRESSED)
    (tmp_path / "namespace.yaml").write_text(
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: batch\n  labels: {labels}\n"
    )
    _, alone = lint_json("job.yaml", "--fail-on", "never")
    assert [f["rule"] for f in alone] == []
    _, whole = lint_json(".", "--fail-on", "never")
    unused = [f for f in whole if f["rule"] == "unused-suppression"]
    assert len(unused) == (0 if "enabled" in labels else 1)
