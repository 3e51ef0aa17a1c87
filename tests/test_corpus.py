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


JOBS = "job-legacy-sidecar,job-injected-legacy-sidecar"


def test_jobs_with_legacy_sidecars_are_flagged(corpus):
    sem = corpus / "semantics"
    website = corpus / "plain/kubernetes__website"
    files = {  # cronjob first: "job-old-version..." is a suffix of its name
        "cronjob-old-version.yaml.injected": ("error", "istio-proxy"),
        "job-old-version.yaml.injected": ("error", "istio-proxy"),
        "job-sidecar-legacy.yaml": ("error", "logshipper"),
        "job_with_shutdown_hook.yaml": ("warning", "cloud-sql-proxy"),
    }
    paths = [
        sem / "istio/job-old-version.yaml.injected",
        sem / "istio/cronjob-old-version.yaml.injected",
        website / "content__en__examples__application__job__job-sidecar-legacy.yaml",
        sem / "cloud-sql-proxy/job_with_shutdown_hook.yaml",
    ]
    _, findings = lint_json(*map(str, paths), "--select", JOBS)
    got = {}
    for f in findings:
        name = next(n for n in files if f["path"].endswith(n))
        got[name] = (f["severity"], f["container"])
    assert got == files
    [hook] = [f for f in findings if f["path"].endswith("job_with_shutdown_hook.yaml")]
    assert "saw '/quitquitquit'" in hook["message"]


def test_natively_injected_jobs_are_not_flagged(corpus):
    plain = corpus / "plain"
    paths = [
        plain / "istio__istio/pkg__kube__inject__testdata__inject__job.yaml.injected",
        plain / "istio__istio/pkg__kube__inject__testdata__inject__cronjob.yaml.injected",
        corpus / "semantics/linkerd/inject_emojivoto_pod_nativesidecar.golden.yml",
        corpus / "helm/linkerd-control-plane.yaml",
    ]
    _, findings = lint_json(*map(str, paths), "--select", JOBS, "--fail-on", "never")
    assert findings == []


def test_linkerd_cronjob_annotated_for_injection_and_config_silencer(corpus, tmp_path):
    path = corpus / "semantics/linkerd/inject_emojivoto_cronjob.golden.yml"
    _, findings = lint_json(str(path), "--select", JOBS)
    assert [(f["rule"], f["kind"]) for f in findings] == [
        ("job-injected-legacy-sidecar", "CronJob")
    ]
    config = tmp_path / "native.yaml"
    config.write_text("mesh:\n  linkerd: {native: true}\n")
    _, findings = lint_json(str(path), "--select", JOBS, "--config", str(config))
    assert findings == []


def test_one_run_over_the_whole_corpus_keeps_each_folder_to_its_own_namespaces(corpus):
    """istio's analyzer fixtures label `default` for injection and kubeflow/manifests
    labels `kubeflow`: in one run over every repository, neither makes the Jobs of kueue,
    consul-k8s, training-operator or the GKE samples in those namespaces findings."""
    _, findings = lint_json(str(corpus), "--select", "job-injected-legacy-sidecar")
    by_namespace = [f for f in findings if "namespace '" in f["message"]]
    assert by_namespace == []
    # the rest are signals on the pods themselves, in the repositories that wrote them
    assert {f["path"].split("/corpus/")[1].split("/")[1] for f in findings} == {
        "argoproj__argo-rollouts",
        "dapr__dapr",
        "hashicorp__consul-k8s",
        "kyverno__policies",
        "linkerd",  # semantics/linkerd
        "linkerd__linkerd2",
        "open-telemetry__opentelemetry-operator",
    }
