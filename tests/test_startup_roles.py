"""native-sidecar-without-startup-probe by role: what the app needs at startup is a warning,
what it never waits for is info; an unknown sidecar is needed when the app reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, lint_json

RULE = "native-sidecar-without-startup-probe"


def test_severity_follows_the_sidecars_role():
    fixture = ROOT / "tests/rules" / RULE / "bad-roles.yaml"
    _, findings = lint_json(str(fixture), "--select", RULE, "--fail-on", "never")
    by_container = {f["container"]: f for f in findings}
    assert {name: f["severity"] for name, f in by_container.items()} == {
        "cloud-sql-proxy": "warning",  # a database proxy: the app's first query goes through it
        "fluent-bit": "info",  # a log shipper: the app never calls it
        "cache": "warning",  # unknown, and the app's env names localhost:11211, its port
        "secrets": "warning",  # unknown, the app names host 127.0.0.1 and port 8200, its --listen
        "tailer": "info",  # unknown, and nothing reaches it
    }
    assert "(the app reaches it on localhost:11211)" in by_container["cache"]["message"]
    assert "the app does not call a log shipper at startup" in by_container["fluent-bit"]["message"]
    assert "nothing in the pod shows them calling it" in by_container["tailer"]["message"]


@pytest.mark.parametrize(
    "example",
    ["application/deployment-sidecar.yaml", "application/job/job-sidecar.yaml"],
)
def test_the_kubernetes_io_log_shipper_examples_are_info(corpus: Path, example):
    """kubernetes.io's own sidecar examples run `tail -F` next to the app: nothing waits for
    them, so a missing startup probe is info, not a warning."""
    path = corpus / "wild/kubernetes__website/content/en/examples" / example
    _, findings = lint_json(str(path), "--select", RULE, "--fail-on", "never")
    assert [(f["container"], f["severity"]) for f in findings] == [("logshipper", "info")]
