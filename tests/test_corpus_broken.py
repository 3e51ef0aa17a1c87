"""Every file of shared/corpus/broken/ handled as its README says: no traceback, one clear
message with the path and line for what cannot be read, and lintable files still linted."""

from __future__ import annotations

import pytest
from conftest import CORPUS, lint_json

# file → (reading findings as (rule, line), sidecar findings as (rule, line), exit code)
EXPECTED = {
    "argo-placeholder__argo-rollouts__rollout-linkerd.yaml": (
        [("unrendered-template", 101)],
        [],
        0,
    ),
    "bom__checkov__busybox_utf8_bom.yaml": ([], [], 0),
    "derived-binary__linkerd-partials-chart-tgz.yaml": ([("invalid-yaml", 1)], [], 2),
    "derived-bom-crlf__cloud-sql-proxy__job_with_shutdown_hook.yaml": ([], [], None),
    "derived-crlf__cloud-sql-proxy__job_with_sidecar.yaml": (
        [],
        [("native-sidecar-without-startup-probe", 57)],
        1,
    ),
    "derived-duplicate-keys__website__job-sidecar-legacy.yaml": ([("duplicate-key", 21)], [], 1),
    "derived-mixed-valid-invalid-docs.yaml": (
        [("invalid-yaml", 28)],
        [("native-sidecar-without-startup-probe", 47)],
        2,
    ),
    "derived-nul-byte__website__job-sidecar-legacy.yaml": ([("invalid-yaml", 4)], [], 2),
    "derived-tabs__website__job-sidecar-legacy.yaml": ([("invalid-yaml", 7)], [], 2),
    "envsubst-placeholders__kube-score__invalid-yaml.yaml": ([], [], 0),
    "helm-template__argo-rollouts__rollout.yaml": ([("unrendered-template", 4)], [], 0),
    "helm-template__checkov__bitnami-redis-secret.yaml": ([("unrendered-template", 1)], [], 0),
    "helm-template__grafana___pod.tpl.yaml": ([("unrendered-template", 1)], [], 0),
    "helm-template__ingress-nginx__controller-deployment.yaml": (
        [("unrendered-template", 1)],
        [],
        0,
    ),
    "helm-template__linkerd-control-plane__heartbeat-cronjob.yaml": (
        [("unrendered-template", 1)],
        [],
        0,
    ),
    "json-non-k8s__checkov__normal.json": ([], [], 0),
    "json__checkov__mongo-pod.json": ([], [], 0),
    "json__kubernetes-examples__meteor-controller.json": ([], [], 0),
    "non-k8s__checkov__jekyll-liquid-helm2.yaml": ([("unrendered-template", 4)], [], 0),
    "non-k8s__fluent-bit__helm-values.yaml": ([], [], 0),
    "non-k8s__kube-score__github-workflow-test.yaml": ([], [], 0),
    "non-k8s__oauth2-proxy__docker-compose.yaml": ([], [], 0),
    "non-k8s__polaris__check-pullPolicyNotAlways.yaml": ([], [], 0),
    "non-workload__microservices-demo__alloydb-kustomization.yaml": ([], [], 0),
    "sed-template__kubernetes-examples__vttablet-pod-template.yaml": ([], [], 0),
    "syntax-error__gke-samples__vllm-llama3-8b-instruct.yaml": ([("invalid-yaml", 17)], [], 2),
    "syntax-error__kube-linter__invalid.yaml": ([("invalid-yaml", 3)], [], 2),
    "syntax-error__polaris__bad.yaml": ([("invalid-yaml", 3)], [], 2),
    # an alias bomb: expansion is capped and reported (the corpus README asks for a cap)
    "synthetic__billion-laughs.yaml": ([("invalid-yaml", 11)], [], 2),
    "synthetic__empty-documents.yaml": ([], [], 0),
    "synthetic__empty-zero-bytes.yaml": ([], [], 0),
    "synthetic__only-comments.yaml": ([], [], 0),
    "synthetic__random-binary.yaml": ([("invalid-yaml", 1)], [], 2),
    "synthetic__recursive-alias.yaml": ([("invalid-yaml", 9)], [], 2),
    "valid-trap__checkov__not_helm_configmap.yaml": ([], [], 0),
}
READING = {"invalid-yaml", "unrendered-template", "unreadable-file", "duplicate-key"}


def test_every_broken_file_has_an_expectation(corpus):
    files = {p.name for p in (corpus / "broken").iterdir() if p.name != "README.md"}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file(name, corpus):
    reading, sidecar, exit_code = EXPECTED[name]
    path = corpus / "broken" / name
    code, findings = lint_json(
        str(path),
        "--select",
        ",".join(sorted(READING)),
        "--select",
        "native-sidecar-without-startup-probe",
    )
    got_reading = [(f["rule"], f["line"]) for f in findings if f["rule"] in READING]
    got_sidecar = [(f["rule"], f["line"]) for f in findings if f["rule"] not in READING]
    assert got_reading == reading
    assert got_sidecar == sidecar
    for finding in findings:
        assert finding["path"].endswith(name)
    if exit_code is not None:
        assert code == exit_code


def test_whole_folder_in_one_run_lints_the_good_files(corpus):
    """One bad file never stops the others: the CRLF native-sidecar Job is still found."""
    code, findings = lint_json(str(corpus / "broken"))
    assert code == 2
    assert any(
        f["path"].endswith("derived-crlf__cloud-sql-proxy__job_with_sidecar.yaml")
        and f["rule"] == "native-sidecar-without-startup-probe"
        for f in findings
    )
    assert not any(
        "grafana___pod.tpl" in f["path"] and f["rule"].startswith("native") for f in findings
    )


assert CORPUS  # the folder is resolved in conftest; tests skip when it is absent


def test_bom_crlf_job_keeps_its_legacy_sidecar_finding(corpus):
    name = "derived-bom-crlf__cloud-sql-proxy__job_with_shutdown_hook.yaml"
    _, findings = lint_json(str(corpus / "broken" / name), "--select", "job-legacy-sidecar")
    clean = corpus / "semantics/cloud-sql-proxy/job_with_shutdown_hook.yaml"
    _, expected = lint_json(str(clean), "--select", "job-legacy-sidecar")
    assert (
        [(f["line"], f["severity"], f["container"]) for f in findings]
        == [(f["line"], f["severity"], f["container"]) for f in expected]
        == [(65, "warning", "cloud-sql-proxy")]
    )
