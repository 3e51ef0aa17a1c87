"""The repository is the boundary: content can make sidecarlint read nothing outside it, and
nothing from outside ever reaches an output."""

from __future__ import annotations

import os
import shutil

import pytest
from hostile import every_format, pod, sidecarlint

MARKER = "MARKER-3f9c1d-OUTSIDE"


@pytest.fixture
def layout(tmp_path):
    """A secret outside the repository whose text must never be read or printed."""
    secret = tmp_path / "secret"
    (secret / "templates").mkdir(parents=True)
    text = (  # the marker on line 1 too: a finding about a link is reported at line 1
        f"# {MARKER}\napiVersion: v1\nkind: Pod\nmetadata: {{name: {MARKER}}}\n"
        "spec: {containers: []}\n"
    )
    (secret / "secret.yaml").write_text(text)
    (secret / "templates" / "pod.yaml").write_text(f"# {MARKER}\n" + pod())
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    return repo, secret


def _assert_clean(outputs: dict[str, str]) -> None:
    for name, text in outputs.items():
        assert MARKER not in text, name


def test_a_link_out_of_the_repository_is_not_read(layout):
    repo, secret = layout
    (repo / "k8s").mkdir()
    os.symlink(secret / "secret.yaml", repo / "k8s" / "pod.yaml")
    outputs = every_format(".", repo)
    _assert_clean(outputs)
    assert "outside-repository" in outputs["json"]
    shown = sidecarlint("check", ".", "--show-source", cwd=repo)  # prints the lines it names
    assert MARKER.encode() not in shown.stdout + shown.stderr


def test_a_chart_with_a_link_out_of_the_repository_is_not_rendered(layout):
    repo, secret = layout
    chart = repo / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    os.symlink(secret / "secret.yaml", chart / "templates" / "secret.yaml")
    outputs = every_format(".", repo)
    _assert_clean(outputs)
    assert "outside-repository" in outputs["json"]


def test_a_source_comment_climbing_out_is_not_opened(layout):
    repo, _ = layout
    rendered = f"---\n# Source: ../secret/templates/pod.yaml\n{pod()}"
    (repo / "rendered.yaml").write_text(rendered)
    outputs = every_format("rendered.yaml", repo, "--chart-root", ".")
    _assert_clean(outputs)
    assert '"path": "rendered.yaml"' in outputs["json"]  # the finding stays where it was
    assert "outside-repository" in outputs["json"]


def test_rule_dirs_outside_the_repository_are_refused(layout):
    repo, secret = layout
    (repo / ".sidecarlint.yaml").write_text(f"rule_dirs: [{secret}]\n")
    result = sidecarlint("check", ".", cwd=repo)
    assert result.returncode == 2 and MARKER.encode() not in result.stdout + result.stderr


@pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None,
    reason="neither kubectl nor kustomize is on PATH",
)
def test_a_kustomize_base_outside_the_repository_is_not_loaded(layout):
    repo, secret = layout
    (secret / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    (repo / "overlay").mkdir()
    (repo / "overlay" / "kustomization.yaml").write_text(
        f"resources:\n  - {os.path.relpath(secret, repo / 'overlay')}\n"
    )
    outputs = every_format(".", repo)
    _assert_clean(outputs)
    assert "outside-repository" in outputs["json"]


def test_a_fifo_or_device_never_hangs_the_run(tmp_path):
    (tmp_path / ".git").mkdir()
    os.mkfifo(tmp_path / "pipe.yaml")
    os.symlink("/dev/zero", tmp_path / "zero.yaml")
    result = sidecarlint("check", ".", "pipe.yaml", "--format", "json", cwd=tmp_path, timeout=60)
    assert result.returncode == 2  # each is an unreadable-file or outside-repository finding
