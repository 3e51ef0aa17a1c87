"""The real manifests of shared/corpus: no tracebacks, the known findings, no false alarms."""

from __future__ import annotations

from conftest import lint_json, run_cli

RULE = "native-sidecar-without-startup-probe"


def _by_file(findings, suffix, rule=RULE):
    return [f for f in findings if f["path"].endswith(suffix) and f["rule"] == rule]


def test_whole_corpus_without_a_traceback(corpus):
    code, out, err = run_cli("check", "--format", "json", str(corpus))
    assert "Traceback" not in out + err
    assert code == 2  # broken/ holds files that cannot be parsed


def test_native_sidecars_without_a_startup_signal_are_found(corpus):
    _, findings = lint_json(str(corpus / "plain"), "--select", RULE)
    [job] = _by_file(findings, "cloud-sql-proxy/examples__k8s-sidecar__job_with_sidecar.yaml")
    assert (job["line"], job["container"], job["kind"], job["name"]) == (
        57,
        "cloud-sql-proxy",
        "Job",
        "job",
    )
    assert "/startup" in job["message"] and "--health-check" in job["message"]
    [deploy] = _by_file(
        findings, "kubernetes__website/content__en__examples__application__deployment-sidecar.yaml"
    )
    assert (deploy["line"], deploy["container"]) == (25, "logshipper")
    [istio] = _by_file(
        findings, "istio__istio/pkg__kube__inject__testdata__inject__native-sidecar.yaml"
    )
    assert istio["container"] == "other-sidecar"


def test_injected_native_mesh_proxies_are_not_flagged(corpus):
    plain = corpus / "plain"
    linkerd = plain / "linkerd__linkerd2"
    files = [
        plain / "istio__istio/pkg__kube__inject__testdata__inject__native-sidecar.yaml.injected",
        plain
        / "istio__istio/pkg__kube__inject__testdata__inject__native-sidecar-opt-in.yaml.injected",
        linkerd / "cli__cmd__testdata__inject_emojivoto_deployment_native_sidecar.golden.yml",
        linkerd / "cli__cmd__testdata__inject_emojivoto_pod_nativesidecar.golden.yml",
        corpus / "helm" / "linkerd-control-plane.yaml",
    ]
    _, findings = lint_json(*map(str, files), "--select", RULE, "--fail-on", "never")
    assert not [f for f in findings if f["container"] in ("istio-proxy", "linkerd-proxy")]
    # the injected Istio file still carries the user's own sidecar without a probe
    assert {f["container"] for f in findings} == {"other-sidecar"}


def test_helm_rendered_output_records_the_template(corpus):
    _, findings = lint_json(str(corpus / "helm" / "grafana-native-sidecars.yaml"), "--select", RULE)
    assert [(f["container"], f["source"]) for f in findings] == [
        ("grafana-init-sc-dashboard", "grafana/templates/deployment.yaml")
    ]


def test_configmap_holding_injection_templates_is_not_a_pod(corpus):
    _, findings = lint_json(str(corpus / "helm" / "istiod.yaml"), "--fail-on", "never")
    assert not [f for f in findings if f["kind"] == "ConfigMap"]


SHUTDOWN = "grace-period-too-short,proxy-exits-before-app,sidecar-prestop-stops-sidecar"


def test_injected_native_proxies_fit_their_budgets(corpus):
    plain = corpus / "plain"
    files = [
        *plain.glob("istio__istio/*.injected"),
        *plain.glob("linkerd__linkerd2/*.yml"),
        *(corpus / "semantics").rglob("*.injected"),
        corpus / "helm" / "linkerd-control-plane.yaml",
    ]
    _, findings = lint_json(*map(str, files), "--select", SHUTDOWN, "--fail-on", "never")
    assert findings == []


def test_cloud_sql_native_sidecar_that_shuts_itself_down(corpus):
    path = corpus / "semantics/cloud-sql-proxy/proxy_with_http_health_check.yaml"
    _, findings = lint_json(str(path), "--select", SHUTDOWN)
    assert [(f["rule"], f["line"], f["container"]) for f in findings] == [
        ("sidecar-prestop-stops-sidecar", 119, "cloud-sql-proxy")
    ]
    assert "cloud-sql-proxy shutdown" in findings[0]["message"]
