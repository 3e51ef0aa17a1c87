"""Mesh versions: a mesh injects native sidecars by default from the version and Kubernetes
version in the catalogue's `native_since` (rules/sidecars.yaml, each row cited); the version
comes from config or from the control plane in the run; unknown is never taken for native."""

from __future__ import annotations

import textwrap

import pytest
from conftest import lint_json, run_cli

RULE = "job-injected-legacy-sidecar"
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: batch
spec:
  template:
    metadata:
      annotations: {annotations}
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: example.com/migrate:1
"""
NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: batch
  labels: {labels}
"""
CONTROL_PLANE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: mesh-system
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: main
          image: {image}
"""
# mesh → (the Namespace labels or pod annotations that inject it, control plane name, image)
MESHES = {
    "istio": ("{istio-injection: enabled}", "{}", "istiod", "docker.io/istio/pilot:{v}"),
    "linkerd": (
        "{}",
        "{linkerd.io/inject: enabled}",
        "linkerd-destination",
        "cr.l5d.io/linkerd/controller:enterprise-{v}",
    ),
    "kuma": (
        "{kuma.io/sidecar-injection: enabled}",
        "{}",
        "kuma-control-plane",
        "kumahq/kuma-cp:{v}",
    ),
    "opentelemetry": (
        "{}",
        '{sidecar.opentelemetry.io/inject: "true"}',
        "opentelemetry-operator",
        "ghcr.io/open-telemetry/opentelemetry-operator/opentelemetry-operator:{v}",
    ),
}


def _run(tmp_path, mesh: str, version: str | None, kube: str) -> list[dict]:
    labels, annotations, name, image = MESHES[mesh]
    docs = [NAMESPACE.format(labels=labels), JOB.format(annotations=annotations)]
    if version is not None:
        docs.append(CONTROL_PLANE.format(name=name, image=image.format(v=version)))
    path = tmp_path / "run.yaml"
    path.write_text("---\n".join(docs), encoding="utf-8")
    _, findings = lint_json(str(path), "--kube-version", kube, "--select", RULE)
    return findings


@pytest.mark.parametrize(
    ("mesh", "version", "kube", "legacy"),
    [
        # Istio 1.27+ injects native sidecars when every node runs 1.33+ (semantics.md §9.1)
        ("istio", "1.26.4", "1.33", True),
        ("istio", "1.27.0", "1.33", False),
        ("istio", "1.27.0", "1.32", True),
        ("istio", "1.28.1", "1.32", True),
        ("istio", None, "1.33", True),  # unknown: never taken for native
        # Linkerd 2.20 runs its proxy natively by default; edge tags say no stable version
        ("linkerd", "2.19.3", "1.33", True),
        ("linkerd", "2.20.0", "1.33", False),
        ("linkerd", None, "1.33", True),
        # Kuma 2.14.0 and the OpenTelemetry operator 0.132.0, on Kubernetes 1.29+
        ("kuma", "2.13.2", "1.33", True),
        ("kuma", "2.14.0", "1.33", False),
        ("kuma", "2.14.0", "1.28", True),
        ("opentelemetry", "0.131.0", "1.33", True),
        ("opentelemetry", "0.132.0", "1.33", False),
    ],
)
def test_native_defaults_by_mesh_version_and_kubernetes_version(
    tmp_path, mesh, version, kube, legacy
):
    findings = _run(tmp_path, mesh, version, kube)
    assert bool(findings) is legacy, findings
    if legacy and version is not None:
        assert (
            f"{mesh} {version} injects legacy ones on Kubernetes {kube}" in findings[0]["message"]
        )
    if legacy and version is None:
        assert (
            "its version is unknown, so it is taken to inject legacy ones"
            in (findings[0]["message"])
        )


def test_a_linkerd_edge_release_is_not_taken_for_a_stable_version(tmp_path):
    labels, annotations, name, _ = MESHES["linkerd"]
    docs = [
        NAMESPACE.format(labels=labels),
        JOB.format(annotations=annotations),
        CONTROL_PLANE.format(name=name, image="cr.l5d.io/linkerd/controller:edge-25.10.2"),
    ]
    (tmp_path / "run.yaml").write_text("---\n".join(docs), encoding="utf-8")
    _, findings = lint_json(str(tmp_path / "run.yaml"), "--select", RULE)
    assert len(findings) == 1 and "its version is unknown" in findings[0]["message"]


@pytest.mark.parametrize(
    ("setting", "legacy"),
    [('{version: "1.28"}', False), ('{version: "1.26"}', True), ("{native: false}", True)],
)
def test_the_config_says_the_mesh_version(tmp_path, setting, legacy):
    (tmp_path / ".sidecarlint.yaml").write_text(f"mesh:\n  istio: {setting}\n")
    labels, annotations, _, _ = MESHES["istio"]
    docs = [NAMESPACE.format(labels=labels), JOB.format(annotations=annotations)]
    (tmp_path / "run.yaml").write_text("---\n".join(docs), encoding="utf-8")
    _, findings = lint_json(
        "--config", str(tmp_path / ".sidecarlint.yaml"), str(tmp_path / "run.yaml")
    )
    assert bool([f for f in findings if f["rule"] == RULE]) is legacy


def test_an_explicit_switch_wins_over_the_version(tmp_path):
    """istiod 1.28 with ENABLE_NATIVE_SIDECARS=false injects legacy sidecars."""
    labels, annotations, _, _ = MESHES["istio"]
    istiod = CONTROL_PLANE.format(name="istiod", image="docker.io/istio/pilot:1.28.1") + (
        textwrap.indent("env: [{name: ENABLE_NATIVE_SIDECARS, value: 'false'}]\n", " " * 10)
    )
    docs = [NAMESPACE.format(labels=labels), JOB.format(annotations=annotations), istiod]
    (tmp_path / "run.yaml").write_text("---\n".join(docs), encoding="utf-8")
    _, findings = lint_json(str(tmp_path / "run.yaml"), "--select", RULE)
    assert len(findings) == 1


def test_an_unquoted_mesh_version_is_rejected_with_the_fix(tmp_path):
    config = tmp_path / ".sidecarlint.yaml"
    config.write_text("mesh:\n  istio: {version: 1.30}\n")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    code, _, err = run_cli("check", "--config", str(config), str(tmp_path / "a.yaml"))
    assert code == 2
    assert f'{config}: mesh.istio.version: must be a version in quotes, such as "1.28"' in err


@pytest.mark.parametrize(
    ("pinned", "legacy"),
    [("1.26.3", True), ("1.28.0", False), ("~1.28.0", True), ("v1.27.0", False)],
)
def test_a_chart_dependency_on_istiod_says_the_istio_version(tmp_path, pinned, legacy):
    """An umbrella chart that depends on istio-release's istiod chart installs that Istio
    version (chart versions are Istio's): a range says nothing. The chart is read even
    though its dependency was never fetched (render-failed, or render-unavailable)."""
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: platform\nversion: 0.1.0\ndependencies:\n"
        f'  - name: istiod\n    version: "{pinned}"\n'
        "    repository: https://istio-release.storage.googleapis.com/charts\n",
        encoding="utf-8",
    )
    (tmp_path / "k8s").mkdir()
    text = NAMESPACE.format(labels="{istio-injection: enabled}") + "---\n"
    text += JOB.format(annotations="{}")
    (tmp_path / "k8s" / "job.yaml").write_text(text, encoding="utf-8")
    _, findings = lint_json(str(tmp_path), "--select", RULE, "--kube-version", "1.33")
    jobs = [f for f in findings if f["rule"] == RULE]
    assert bool(jobs) is legacy
    if legacy and not pinned.startswith("~"):
        assert f"istio {pinned} injects legacy ones on Kubernetes 1.33" in jobs[0]["message"]
