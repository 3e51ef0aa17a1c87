"""Injection exactly as the webhooks decide, per mesh: namespace and pod selectors and their
precedence (shared/docs/semantics.md §9.2; Istio from istio/istio 1.30.3
mutatingwebhook.yaml and pkg/kube/inject/inject.go)."""

from __future__ import annotations

import pytest
from conftest import lint_json

RULE = "job-injected-legacy-sidecar"


def _job(namespace: str | None, labels: dict, annotations: dict, host_network: bool = False):
    ns = f"  namespace: {namespace}\n" if namespace else ""
    host = "      hostNetwork: true\n" if host_network else ""
    return (
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: work\n"
        + ns
        + "spec:\n  template:\n    metadata:\n"
        + f"      labels: {_flow(labels)}\n      annotations: {_flow(annotations)}\n"
        + "    spec:\n"
        + host
        + "      restartPolicy: Never\n"
        + "      containers:\n        - {name: work, image: example.com/work:1}\n"
    )


def _flow(mapping: dict) -> str:
    return "{" + ", ".join(f'{k}: "{v}"' for k, v in mapping.items()) + "}"


def _namespace(labels: dict, annotations: dict | None = None) -> str:
    return (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n"
        f"  labels: {_flow(labels)}\n  annotations: {_flow(annotations or {})}\n"
    )


CASES = {
    # Istio
    "istio: namespace disabled beats a pod label true": (
        {"istio-injection": "disabled"},
        {},
        {"sidecar.istio.io/inject": "true"},
        {},
        False,
    ),
    "istio: any other namespace value is not selected either": (
        {"istio-injection": "yes"},
        {},
        {"sidecar.istio.io/inject": "true"},
        {},
        False,
    ),
    "istio: namespace enabled injects": ({"istio-injection": "enabled"}, {}, {}, {}, True),
    "istio: pod label false opts out": (
        {"istio-injection": "enabled"},
        {},
        {"sidecar.istio.io/inject": "false"},
        {},
        False,
    ),
    "istio: the injector honours a pod annotation false": (
        {"istio-injection": "enabled"},
        {},
        {},
        {"sidecar.istio.io/inject": "false"},
        False,
    ),
    "istio: the label wins over the annotation": (
        {"istio-injection": "enabled"},
        {},
        {"sidecar.istio.io/inject": "true"},
        {"sidecar.istio.io/inject": "false"},
        True,
    ),
    "istio: an annotation true never selects the webhook": (
        {},
        {},
        {},
        {"sidecar.istio.io/inject": "true"},
        False,
    ),
    "istio: a pod label true selects it": ({}, {}, {"sidecar.istio.io/inject": "true"}, {}, True),
    "istio: a pod revision label selects it": ({}, {}, {"istio.io/rev": "canary"}, {}, True),
    "istio: a namespace revision label selects it": ({"istio.io/rev": "canary"}, {}, {}, {}, True),
    # Linkerd (annotations)
    "linkerd: namespace enabled injects": ({}, {"linkerd.io/inject": "enabled"}, {}, {}, True),
    "linkerd: pod disabled beats namespace enabled": (
        {},
        {"linkerd.io/inject": "enabled"},
        {},
        {"linkerd.io/inject": "disabled"},
        False,
    ),
    "linkerd: pod enabled beats namespace disabled": (
        {},
        {"linkerd.io/inject": "disabled"},
        {},
        {"linkerd.io/inject": "enabled"},
        True,
    ),
    # Kuma (labels)
    "kuma: namespace enabled injects": ({"kuma.io/sidecar-injection": "enabled"}, {}, {}, {}, True),
    "kuma: pod disabled opts out": (
        {"kuma.io/sidecar-injection": "enabled"},
        {},
        {"kuma.io/sidecar-injection": "disabled"},
        {},
        False,
    ),
    # OpenTelemetry operator (annotations; pkg/sidecar/annotation.go annotationValue)
    "otel: a namespace annotation injects": (
        {},
        {"sidecar.opentelemetry.io/inject": "true"},
        {},
        {},
        True,
    ),
    "otel: a namespace instance name injects": (
        {},
        {"sidecar.opentelemetry.io/inject": "my-collector"},
        {},
        {},
        True,
    ),
    "otel: pod false beats namespace true": (
        {},
        {"sidecar.opentelemetry.io/inject": "true"},
        {},
        {"sidecar.opentelemetry.io/inject": "false"},
        False,
    ),
    "otel: pod true beats namespace false": (
        {},
        {"sidecar.opentelemetry.io/inject": "false"},
        {},
        {"sidecar.opentelemetry.io/inject": "true"},
        True,
    ),
    "otel: namespace false alone": (
        {},
        {"sidecar.opentelemetry.io/inject": "false"},
        {},
        {},
        False,
    ),
    # Dapr, Consul, Vault: pod annotations only; a namespace label does nothing
    "dapr: pod enabled injects": ({}, {}, {}, {"dapr.io/enabled": "true"}, True),
    "dapr: the native switch": (
        {},
        {},
        {},
        {"dapr.io/enabled": "true", "dapr.io/enable-native-sidecar": "true"},
        False,
    ),
    "dapr: a namespace annotation is not a signal": (
        {},
        {"dapr.io/enabled": "true"},
        {},
        {},
        False,
    ),
    "consul: pod connect-inject injects": (
        {},
        {},
        {},
        {"consul.hashicorp.com/connect-inject": "true"},
        True,
    ),
    "consul: the dataplane as a native sidecar": (
        {},
        {},
        {},
        {
            "consul.hashicorp.com/connect-inject": "true",
            "consul.hashicorp.com/enable-consul-dataplane-as-sidecar": "true",
        },
        False,
    ),
    "consul: connect-inject false": (
        {},
        {},
        {},
        {"consul.hashicorp.com/connect-inject": "false"},
        False,
    ),
    "vault: agent-inject injects": ({}, {}, {}, {"vault.hashicorp.com/agent-inject": "true"}, True),
    "vault: pre-populate only is an init container": (
        {},
        {},
        {},
        {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/agent-pre-populate-only": "true",
        },
        False,
    ),
    # App Mesh (namespace label, pod annotation)
    "appmesh: namespace enabled injects": (
        {"appmesh.k8s.aws/sidecarInjectorWebhook": "enabled"},
        {},
        {},
        {},
        True,
    ),
    "appmesh: pod disabled opts out": (
        {"appmesh.k8s.aws/sidecarInjectorWebhook": "enabled"},
        {},
        {},
        {"appmesh.k8s.aws/sidecarInjectorWebhook": "disabled"},
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_selector_precedence(tmp_path, case):
    ns_labels, ns_annotations, pod_labels, pod_annotations, injected = CASES[case]
    text = (
        _namespace(ns_labels, ns_annotations) + "---\n" + _job("team", pod_labels, pod_annotations)
    )
    (tmp_path / "run.yaml").write_text(text, encoding="utf-8")
    _, findings = lint_json(str(tmp_path / "run.yaml"), "--select", RULE)
    assert bool(findings) is injected, [f["message"] for f in findings]


def test_istio_never_injects_a_host_network_pod(tmp_path):
    text = _namespace({"istio-injection": "enabled"}) + "---\n" + _job("team", {}, {}, True)
    (tmp_path / "run.yaml").write_text(text, encoding="utf-8")
    assert lint_json(str(tmp_path / "run.yaml"), "--select", RULE)[1] == []


def test_a_pod_signal_without_a_namespace_is_enough(tmp_path):
    """An object without a namespace goes wherever it is applied: no Namespace object
    applies, and a pod label that selects the webhook is enough."""
    text = _namespace({"istio-injection": "disabled"}) + "---\n"
    text += _job(None, {"sidecar.istio.io/inject": "true"}, {})
    (tmp_path / "run.yaml").write_text(text, encoding="utf-8")
    _, findings = lint_json(str(tmp_path / "run.yaml"), "--select", RULE)
    assert len(findings) == 1


def _tree(tmp_path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")


def test_a_namespace_is_seen_by_the_manifests_beside_and_below_it(tmp_path):
    """A Namespace in k8s/ applies to k8s/ and its subfolders; one in namespaces/ applies to
    the folder above; one in an unrelated folder (a test fixture, another repository linted
    in the same run) does not."""
    enabled = _namespace({"istio-injection": "enabled"})
    _tree(
        tmp_path,
        {
            "k8s/namespace.yaml": enabled,
            "k8s/jobs/work.yaml": _job("team", {}, {}),
            "platform/namespaces/team.yaml": enabled,
            "platform/apps/work.yaml": _job("team", {}, {}),
            "fixtures/case-a/namespace.yaml": enabled,
            "other-repo/work.yaml": _job("team", {}, {}),
        },
    )
    _, findings = lint_json(str(tmp_path), "--select", RULE)
    flagged = sorted(f["path"].removeprefix(str(tmp_path) + "/") for f in findings)
    assert flagged == ["k8s/jobs/work.yaml", "platform/apps/work.yaml"]
    [near] = [f for f in findings if f["path"].endswith("k8s/jobs/work.yaml")]
    assert "namespace 'team' has istio-injection: enabled" in near["message"]


def test_the_namespace_in_scope_decides_not_the_last_in_the_run(tmp_path):
    _tree(
        tmp_path,
        {
            "a/namespace.yaml": _namespace({"istio-injection": "disabled"}),
            "a/work.yaml": _job("team", {}, {}),
            "b/namespace.yaml": _namespace({"istio-injection": "enabled"}),
            "b/work.yaml": _job("team", {}, {}),
        },
    )
    code, findings = lint_json(str(tmp_path))
    assert [(f["rule"], f["path"]) for f in findings] == [(RULE, str(tmp_path / "b/work.yaml"))]
    assert code == 1  # and no namespace-conflict: no manifest sees both declarations


def test_config_namespaces_apply_everywhere(tmp_path):
    _tree(
        tmp_path,
        {
            ".sidecarlint.yaml": "mesh: {namespaces: {team: {istio-injection: enabled}}}\n",
            "deep/down/work.yaml": _job("team", {}, {}),
        },
    )
    _, findings = lint_json(str(tmp_path), "--select", RULE)
    assert len(findings) == 1
