"""Helm and kubectl get paths that cannot be options, valid release names, no kubeconfig or
plugins, and no network: a chart or an overlay cannot turn the linter against its CI."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from typing import ClassVar

import pytest
from hostile import pod, sidecarlint

needs_helm = pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not on PATH")
needs_kustomize = pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None,
    reason="neither kubectl nor kustomize is on PATH",
)


def _chart(folder, name="demo"):
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    (folder / "templates" / "pod.yaml").write_text(pod())


@needs_helm
@pytest.mark.parametrize(
    "name",
    ["-x", "--output-dir=..", "--dry-run=server", "--post-renderer=touch", "My_Chart", "c" * 80],
)
def test_a_chart_folder_name_is_never_a_flag(tmp_path, name):
    repo = tmp_path / "repo"
    _chart(repo / "charts" / name)
    (repo / ".git").mkdir()
    result = sidecarlint("check", ".", "--format", "json", cwd=repo)
    findings = json.loads(result.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["native-sidecar-without-startup-probe"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]  # nothing written beside it
    assert sorted(p.name for p in repo.iterdir()) == [".git", "charts"]


@needs_helm
def test_helm_runs_without_the_users_kubeconfig_plugins_or_repositories(tmp_path):
    home = tmp_path / "home"
    plugin = home / "plugins" / "evil"
    plugin.mkdir(parents=True)
    (plugin / "plugin.yaml").write_text(
        "name: evil\nversion: 0.1.0\ncommand: touch $HELM_PLUGIN_DIR/ran\n"
        "hooks:\n  install: touch $HELM_PLUGIN_DIR/ran\n"
    )
    (home / "kubeconfig").write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    repo = tmp_path / "repo"
    _chart(repo / "chart")
    env = {
        "HOME": str(home),
        "KUBECONFIG": str(home / "kubeconfig"),
        "HELM_PLUGINS": str(home / "plugins"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    result = sidecarlint("check", "chart", "--format", "json", cwd=repo, env=env)
    assert len(json.loads(result.stdout)["findings"]) == 1
    assert sorted(p.name for p in home.iterdir()) == ["kubeconfig", "plugins"]  # nothing new
    assert not (plugin / "ran").exists()


@needs_helm
def test_helm_errors_that_are_not_utf8_are_one_clear_finding(tmp_path):
    folder = tmp_path / "chart"
    _chart(folder)
    (folder / "templates" / "bad.yaml").write_bytes(b'{{ fail "caf\xe9\\n::error::x" }}\n')
    result = sidecarlint("check", "chart", "--format", "json", cwd=tmp_path)
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "render-failed" and result.returncode == 2


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(pod().encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    server.shutdown()
    server.server_close()


@needs_kustomize
def test_kustomize_never_fetches_a_remote_resource(tmp_path, local_server):
    url, requests = local_server
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "pod.yaml").write_text(pod())
    (overlay / "kustomization.yaml").write_text(
        f"resources:\n  - pod.yaml\n  - {url}/remote.yaml\n"
        f"components:\n  - git::{url}/repo.git//c?ref=v1\n"
    )
    result = sidecarlint("check", ".", "--format", "json", cwd=tmp_path)
    findings = json.loads(result.stdout)["findings"]
    assert requests == []
    remote = [(f["path"], f["line"]) for f in findings if f["rule"] == "remote-resource"]
    assert remote == [("overlay/kustomization.yaml", 3), ("overlay/kustomization.yaml", 5)]
    # the overlay's own files are still linted, one by one
    assert ("native-sidecar-without-startup-probe", "overlay/pod.yaml") in [
        (f["rule"], f["path"]) for f in findings
    ]
    # a repository that allows it in config is overridden by --no-allow-remote
    (tmp_path / ".sidecarlint.yaml").write_text("allow_remote: true\n")
    sidecarlint("check", ".", "--no-allow-remote", cwd=tmp_path)
    assert requests == []
