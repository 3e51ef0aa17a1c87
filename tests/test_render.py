"""Helm charts and Kustomize overlays as inputs, rendered with the real tools.

CI installs helm with ../shared/tools/install-helm and kubectl with .ci/install-kubectl.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap

import pytest
from conftest import ROOT, lint_json, run_cli

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not on PATH (CI installs it with ../shared/tools/install-helm)",
)
needs_kustomize = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None,
    reason="neither kubectl nor kustomize is on PATH (CI installs kubectl)",
)
NATIVE_VALUES = """\
sidecar:
  dashboards: {enabled: true, initDashboards: true, restartPolicy: Always}
  datasources:
    enabled: true
    initDatasources: true
    restartPolicy: Always
    startupProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 2
      failureThreshold: 30
"""
LINKERD_SETS = [
    "--set",
    "identityTrustAnchorsPEM=dummy-ca",
    "--set",
    "identity.issuer.tls.crtPEM=dummy-crt",
    "--set",
    "identity.issuer.tls.keyPEM=dummy-key",
]


def _summary(findings):
    return sorted((f["rule"], f["kind"], f["name"], f["container"]) for f in findings)


@pytest.fixture
def corpus_cwd(corpus, monkeypatch):
    monkeypatch.chdir(corpus)
    return corpus


@needs_helm
def test_grafana_native_sidecar_reported_at_the_template(corpus_cwd, tmp_path):
    values = tmp_path / "native.yaml"
    values.write_text(NATIVE_VALUES)
    code, findings = lint_json("--chart", "helm-src/grafana", "--values", str(values))
    rule = "native-sidecar-without-startup-probe"
    [finding] = [f for f in findings if f["rule"] == rule]
    assert finding["container"] == "grafana-init-sc-dashboard"
    assert finding["path"] == "helm-src/grafana/templates/_pod.tpl"
    assert finding["source"] == "grafana/templates/deployment.yaml"
    template = (corpus_cwd / finding["path"]).read_text().splitlines()
    assert template[finding["line"] - 1].strip().endswith("-init-sc-dashboard")
    # the same findings as the pre-rendered output in shared/corpus/helm/
    _, expected = lint_json("helm/grafana-native-sidecars.yaml")
    assert _summary(findings) == _summary(expected)
    # grafana never calls the dashboard watcher at startup: info, not a failure
    assert finding["severity"] == "info" and code == 0


@needs_helm
@pytest.mark.parametrize(
    ("chart", "args", "prerendered"),
    [
        ("helm-src/ingress-nginx", [], "helm/ingress-nginx.yaml"),
        ("helm-src/linkerd-control-plane", LINKERD_SETS, "helm/linkerd-control-plane.yaml"),
    ],
)
def test_chart_folders_found_by_check_match_the_prerendered_output(
    corpus_cwd, chart, args, prerendered
):
    _, findings = lint_json(chart, *args, "--fail-on", "never")
    _, expected = lint_json(prerendered, "--fail-on", "never")
    assert _summary(findings) == _summary(expected)
    for finding in findings:
        assert finding["path"].startswith(chart)  # pointed at the chart's own files


@needs_helm
def test_a_chart_that_fails_to_render_is_one_finding_and_the_run_goes_on(corpus_cwd):
    example = str(ROOT / "examples/payments-deployment.yaml")
    code, findings = lint_json("helm-src/linkerd-control-plane", example)
    [failed] = [f for f in findings if f["rule"] == "render-failed"]
    assert failed["path"] == "helm-src/linkerd-control-plane"
    assert "helm template failed for chart helm-src/linkerd-control-plane" in failed["message"]
    assert "identity" in failed["message"]
    assert any(f["path"] == "examples/payments-deployment.yaml" for f in findings)
    assert code == 2


def test_without_helm_a_chart_is_reported_once_with_the_command(corpus_cwd, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm here
    code, findings = lint_json(
        "helm-src/grafana",
        "helm-src/grafana/templates/deployment.yaml",
        "--chart",
        "helm-src/grafana",
    )
    assert [(f["rule"], f["severity"], f["path"]) for f in findings] == [
        ("render-unavailable", "info", "helm-src/grafana")
    ]
    assert (
        "helm template -- grafana helm-src/grafana | sidecarlint check -" in findings[0]["message"]
    )
    assert code == 0


@needs_helm
def test_chart_rendered_once_even_when_its_files_are_named_too(corpus_cwd, tmp_path):
    values = tmp_path / "native.yaml"
    values.write_text(NATIVE_VALUES)
    _, once = lint_json("--chart", "helm-src/grafana", "--values", str(values))
    _, again = lint_json(
        "helm-src/grafana",
        "helm-src/grafana/templates/_pod.tpl",
        "--chart",
        "helm-src/grafana",
        "--values",
        str(values),
    )
    assert _summary(once) == _summary(again)


def _capability_chart(folder):
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text("apiVersion: v2\nname: cap\nversion: 0.1.0\n")
    (folder / "templates" / "job.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: {{ .Release.Name }}
        spec:
          template:
            spec:
              restartPolicy: Never
              {{- if semverCompare ">=1.29-0" .Capabilities.KubeVersion.Version }}
              initContainers:
                - name: fluent-bit
                  image: fluent/fluent-bit:3.1
                  restartPolicy: Always
              {{- end }}
              containers:
                - name: work
                  image: example.com/work:1
              {{- if semverCompare "<1.29-0" .Capabilities.KubeVersion.Version }}
                - name: fluent-bit
                  image: fluent/fluent-bit:3.1
              {{- end }}
        """)
    )


@needs_helm
def test_kube_version_reaches_helm_capabilities(tmp_path, monkeypatch):
    _capability_chart(tmp_path / "cap")
    monkeypatch.chdir(tmp_path)
    _, old = lint_json("cap", "--kube-version", "1.28", "--fail-on", "never")
    _, new = lint_json("cap", "--kube-version", "1.30", "--fail-on", "never")
    assert ("job-legacy-sidecar", "fluent-bit") in {(f["rule"], f["container"]) for f in old}
    assert {(f["rule"], f["container"]) for f in new} == {
        ("native-sidecar-without-startup-probe", "fluent-bit")
    }
    assert {f["path"] for f in new} == {"cap/templates/job.yaml"}


@needs_helm
def test_packaged_chart_archive(tmp_path, monkeypatch):
    _capability_chart(tmp_path / "src" / "cap")
    packages = tmp_path / "packages"
    subprocess.run(
        ["helm", "package", str(tmp_path / "src" / "cap"), "-d", str(packages)],
        check=True,
        capture_output=True,
    )
    monkeypatch.chdir(tmp_path)
    _, findings = lint_json("packages", "--fail-on", "never")
    assert [(f["rule"], f["path"]) for f in findings] == [
        ("native-sidecar-without-startup-probe", "packages/cap-0.1.0.tgz")
    ]


def test_piped_helm_output_keeps_the_source_mapping(corpus_cwd):
    rendered = (corpus_cwd / "helm/grafana-native-sidecars.yaml").read_bytes()
    _, findings = lint_json(
        "-",
        "--stdin-filename",
        "grafana.yaml",
        "--chart-root",
        "helm-src",
        "--select",
        "native-sidecar-without-startup-probe",
        input=rendered,
    )
    assert [(f["path"], f["source"]) for f in findings] == [
        ("helm-src/grafana/templates/_pod.tpl", "grafana/templates/deployment.yaml")
    ]


def _overlay(root):
    base = root / "base"
    overlay = root / "overlays" / "prod"
    base.mkdir(parents=True)
    overlay.mkdir(parents=True)
    (base / "job.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: report
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
                - name: report
                  image: example.com/report:1
        """)
    )
    (base / "kustomization.yaml").write_text("resources: [job.yaml]\n")
    (overlay / "kustomization.yaml").write_text(
        textwrap.dedent("""\
        resources: [../../base]
        namePrefix: prod-
        patches:
          - path: proxy.yaml
        """)
    )
    (overlay / "proxy.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: report
        spec:
          template:
            spec:
              containers:
                - name: cloud-sql-proxy
                  image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3
        """)
    )


@needs_kustomize
def test_kustomize_overlay_is_rendered_and_attributed_to_it(tmp_path, monkeypatch):
    _overlay(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, findings = lint_json("overlays/prod")
    # the container the overlay's patch adds: reported in the patch, where it is written
    assert [(f["rule"], f["path"], f["line"], f["name"], f["container"]) for f in findings] == [
        ("job-legacy-sidecar", "overlays/prod/proxy.yaml", 9, "prod-report", "cloud-sql-proxy")
    ]
    assert code == 1


@needs_kustomize
def test_a_finding_the_patch_does_not_explain_stays_at_the_overlay(tmp_path, monkeypatch):
    """A JSON 6902 patch names no container: the finding stays the overlay's, at its
    kustomization file, saying where in the build output it is."""
    _overlay(tmp_path)
    overlay = tmp_path / "overlays" / "prod"
    (overlay / "kustomization.yaml").write_text(
        textwrap.dedent("""\
        resources: [../../base]
        namePrefix: prod-
        patches:
          - target: {kind: Job, name: report}
            patch: |
              - op: add
                path: /spec/template/spec/containers/-
                value: {name: cloud-sql-proxy, image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2}
        """)
    )
    monkeypatch.chdir(tmp_path)
    _, findings = lint_json("overlays/prod")
    assert [(f["path"], f["line"]) for f in findings] == [("overlays/prod/kustomization.yaml", 1)]
    assert "kustomize build output" in findings[0]["message"]


def test_without_kustomize_the_files_are_linted_one_by_one(tmp_path, monkeypatch):
    _overlay(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    _, findings = lint_json("overlays/prod", "--fail-on", "never")
    assert [(f["rule"], f["path"]) for f in findings] == [
        ("render-unavailable", "overlays/prod/kustomization.yaml")
    ]


def test_render_failure_exit_code_and_text(tmp_path, monkeypatch):
    if shutil.which("helm") is None:
        pytest.skip("helm is not on PATH")
    chart = tmp_path / "broken"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (chart / "templates" / "x.yaml").write_text('{{ fail "this chart is broken" }}\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli("check", "broken")
    assert code == 2
    assert out.startswith("broken:1:1: error render-failed helm template failed for chart broken")
    assert "this chart is broken" in out


def test_the_files_a_kustomization_names_as_patches_are_partial(tmp_path):
    """A patch leaves out what it does not change: a Job patch without restartPolicy is not
    a Job without one, however the kustomization names it."""
    from sidecarlint.kustomize import is_patch

    overlay = tmp_path / "overlays" / "prod"
    (overlay / "patches").mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(
        textwrap.dedent("""\
        resources: [../../base]
        patches:
          - path: patches/sidecar.yaml
          - patch: |-
              - op: add
                path: /metadata/labels/x
                value: y
            target: {kind: Job}
        patchesStrategicMerge: [merge.yaml]
        patchesJson6902:
          - target: {kind: Job, name: report}
            path: patches/json.yaml
        """)
    )
    for name in ("patches/sidecar.yaml", "merge.yaml", "patches/json.yaml", "job.yaml"):
        (overlay / name).write_text("apiVersion: batch/v1\nkind: Job\n")
    assert [is_patch(str(overlay / n)) for n in ("patches/sidecar.yaml", "merge.yaml")] == [
        True,
        True,
    ]
    assert is_patch(str(overlay / "patches/json.yaml"))
    assert not is_patch(str(overlay / "job.yaml"))
    assert not is_patch(str(tmp_path / "elsewhere.yaml"))


@needs_helm
def test_charts_in_config_give_each_chart_its_values_set_namespace_and_kube_version(
    tmp_path, monkeypatch
):
    """`charts:` renders a chart as it is deployed: its values files and --set, its release
    namespace (objects that name none go there, so its Namespace's labels apply), and the
    Kubernetes version Helm renders for; `check`, the hook and CI read the same config."""
    chart = tmp_path / "charts" / "jobs"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: jobs\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("proxy: false\n")
    (chart / "templates" / "job.yaml").write_text(
        textwrap.dedent("""\
        {{- if ne (toString .Values.tier) "backend" }}{{ fail "tier is not set" }}{{ end }}
        {{- if ne .Capabilities.KubeVersion.Minor "31" }}{{ fail "not 1.31" }}{{ end }}
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
                - name: migrate
                  image: example.com/migrate:1
        {{- if .Values.proxy }}
                - name: cloud-sql-proxy
                  image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3
        {{- end }}
        """)
    )
    (tmp_path / "prod.yaml").write_text("proxy: true\n")
    (tmp_path / "namespace.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: batch\n"
        "  labels: {istio-injection: enabled}\n"
    )
    (tmp_path / ".sidecarlint.yaml").write_text(
        textwrap.dedent("""\
        charts:
          charts/jobs:
            values: [prod.yaml]
            set: [tier=backend]
            namespace: batch
            kube_version: "1.31"
        """)
    )
    monkeypatch.chdir(tmp_path)
    _, findings = lint_json(".", "--fail-on", "never")
    rules = sorted((f["rule"], f["namespace"], f["container"]) for f in findings)
    assert rules == [
        ("job-injected-legacy-sidecar", "batch", None),  # the release namespace is injected
        ("job-legacy-sidecar", "batch", "cloud-sql-proxy"),  # prod.yaml turns the proxy on
    ]
    # without the config, the chart renders with none of it: --set tier is missing
    (tmp_path / ".sidecarlint.yaml").unlink()
    _, findings = lint_json(".", "--fail-on", "never")
    assert [f["rule"] for f in findings] == ["render-failed"]
    assert "tier is not set" in findings[0]["message"]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ("{values: [../../etc/passwd]}", "charts.c.values: ../../etc/passwd is outside"),
        ("{set: ['--post-renderer=x']}", "charts.c.set: '--post-renderer=x' must be key=value"),
        ("{namespace: 'a b'}", "charts.c.namespace: must be a namespace name"),
        ("{kube_version: 1.30}", "charts.c.kube_version: write it in quotes"),
        ("{colour: red}", "charts.c: must be a mapping of kube_version, namespace, set, values"),
    ],
)
def test_charts_settings_are_validated(tmp_path, settings, error):
    config = tmp_path / ".sidecarlint.yaml"
    config.write_text(f"charts:\n  c: {settings}\n")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    code, _, err = run_cli("check", "--config", str(config), str(tmp_path / "a.yaml"))
    assert code == 2 and f"{config}: {error}" in err, err


def _job_base(root, *sidecar: str) -> None:
    """base/: a Job `migrate`, with a second container (name, image) when given."""
    (root / "base").mkdir(parents=True)
    extra = f"        - name: {sidecar[0]}\n          image: {sidecar[1]}\n" if sidecar else ""
    (root / "base" / "job.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
                - name: migrate
                  image: example.com/migrate:1
        """)
        + extra
    )
    (root / "base" / "kustomization.yaml").write_text("resources: [job.yaml]\n")


@needs_kustomize
def test_kustomize_findings_point_where_the_object_was_written(tmp_path, monkeypatch):
    """Built with kustomize's origin annotations (on a kustomization of our own in a
    temporary folder): a base shared by two overlays that leave its sidecar alone is
    reported once, at the base's line; an overlay that changes the sidecar is reported for
    that overlay. The user's files are never touched."""
    _job_base(tmp_path, "cloud-sql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3")
    one, two, three = (tmp_path / p for p in ("one", "two", "three"))
    for folder in (one, two, three):
        folder.mkdir()
    (one / "kustomization.yaml").write_text("resources: [../base]\nnamePrefix: one-\n")
    (two / "kustomization.yaml").write_text("resources: [../base]\nnamePrefix: two-\n")
    (three / "kustomization.yaml").write_text(
        "resources: [../base]\nnamePrefix: three-\n"
        "images: [{name: gcr.io/cloud-sql-connectors/cloud-sql-proxy, newTag: 2.15.0}]\n"
    )
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    monkeypatch.chdir(tmp_path)
    _, findings = lint_json("one", "two", "three", "--select", "job-legacy-sidecar")
    assert [(f["path"], f["line"], f["name"]) for f in findings] == [
        ("base/job.yaml", 12, "one-migrate"),  # one and two: once, at the base's line
        ("three/kustomization.yaml", 3, "three-migrate"),  # three's images: entry changed it
    ]
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@needs_kustomize
def test_an_injection_signal_a_patch_adds_is_reported_at_the_patch(tmp_path, monkeypatch):
    """The base Job is clean; the overlay's patch annotates it for Consul: the finding is
    the overlay's, at the annotation in its patch (hashicorp/consul-k8s acceptance layout)."""
    _job_base(tmp_path)
    overlay = tmp_path / "inject"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\npatches:\n  - path: patch.yaml\n"
    )
    (overlay / "patch.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: batch/v1
        kind: Job
        metadata:
          name: migrate
        spec:
          template:
            metadata:
              annotations:
                "consul.hashicorp.com/connect-inject": "true"
        """)
    )
    monkeypatch.chdir(tmp_path)
    _, findings = lint_json("inject", "--select", "job-injected-legacy-sidecar")
    assert [(f["path"], f["line"], f["column"]) for f in findings] == [("inject/patch.yaml", 9, 9)]


@needs_kustomize
def test_an_unchanged_base_job_sees_the_namespace_its_overlay_declares(tmp_path, monkeypatch):
    """The overlay puts the base Job in its own Namespace, labelled for Istio: the finding
    is at the base's line (the overlay changed nothing in the pod), and the Namespace that
    decides it is the overlay's, though the base's folder is not below the overlay's."""
    _job_base(tmp_path)
    overlay = tmp_path / "overlays" / "team"
    overlay.mkdir(parents=True)
    (overlay / "namespace.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n"
        "  labels: {istio-injection: enabled}\n"
    )
    (overlay / "kustomization.yaml").write_text(
        "namespace: team\nresources: [../../base, namespace.yaml]\n"
    )
    monkeypatch.chdir(tmp_path)
    _, findings = lint_json("overlays/team", "--select", "job-injected-legacy-sidecar")
    assert [(f["path"], f["line"]) for f in findings] == [("base/job.yaml", 8)]  # its pod
    assert "namespace 'team' has istio-injection: enabled" in findings[0]["message"]
