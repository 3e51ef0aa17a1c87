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
