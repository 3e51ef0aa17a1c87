"""The pre-commit hook, run for real with `pre-commit try-repo` in a scratch repository."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

BAD = ROOT / "tests/rules/native-sidecar-without-startup-probe/bad-known-and-unknown.yaml"
GOOD = ROOT / "examples/clean-pod.yaml"
POD_TEMPLATE = """\
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}
spec:
  initContainers:
    - name: istio-proxy
      image: docker.io/istio/proxyv2:{{ .Values.tag }}
      restartPolicy: Always
  containers:
    - name: app
      image: example.com/app:1
"""
JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: job-{index}
  namespace: batch
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: work
          image: example.com/work:1
"""

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed"
    ),
    pytest.mark.skipif(
        not (ROOT / ".git").exists(), reason="try-repo needs this checkout's git repo"
    ),
]


def _git(*args: str, cwd) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def try_repo(tmp_path):
    """`pre-commit try-repo` of this checkout's hook in a scratch git repository."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")

    def run(*files: str) -> subprocess.CompletedProcess:
        _git("init", "-q", cwd=scratch)
        _git("add", ".", cwd=scratch)
        files = ("--verbose", "--files", *files)
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "sidecarlint", *files],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    return scratch, run


def test_hook_fails_on_a_bad_manifest_and_passes_a_clean_one(try_repo):
    scratch, run = try_repo
    (scratch / "k8s").mkdir()
    (scratch / "k8s" / "bad.yaml").write_bytes(BAD.read_bytes())
    (scratch / "k8s" / "good.yaml").write_bytes(GOOD.read_bytes())
    bad = run("k8s/bad.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "k8s/bad.yaml:16:11: warning native-sidecar-without-startup-probe" in bad.stdout
    good = run("k8s/good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout


@pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not on PATH")
@pytest.mark.parametrize(
    "changed",
    [
        "chart/templates/pod.yaml",
        "chart/templates/_helpers.tpl",
        "chart/values.yaml",
        "chart/Chart.yaml",
    ],
)
def test_a_changed_template_helper_or_values_file_renders_its_chart(try_repo, changed):
    scratch, run = try_repo
    chart = scratch / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("tag: 1.24.0\n")
    (chart / "templates" / "_helpers.tpl").write_text('{{- define "demo.name" -}}demo{{- end }}\n')
    (chart / "templates" / "pod.yaml").write_text(POD_TEMPLATE)
    result = run(changed)
    assert result.returncode == 1, result.stdout + result.stderr
    # reported at the template line that names the container, not in the rendered output
    assert "chart/templates/pod.yaml:7:" in result.stdout, result.stdout
    assert "native-sidecar-without-startup-probe" in result.stdout


def test_every_injected_job_is_reported_across_batches(try_repo):
    """pre-commit splits a long list of files into batches (2**17 bytes of arguments at
    most); the Namespace that injects them is in no batch, and every Job is still reported."""
    scratch, run = try_repo
    (scratch / "namespace.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: batch\n"
        "  labels: {istio-injection: enabled}\n"
    )
    deep = scratch
    for _ in range(17):
        deep = deep / ("d" * 200)
    try:
        deep.mkdir(parents=True)
    except OSError:
        pytest.skip("this file system refuses 3 KiB paths")
    files = []
    for index in range(40):
        path = deep / f"job-{index:02}.yaml"
        path.write_text(JOB.format(index=index))
        files.append(str(path.relative_to(scratch)))
    assert sum(len(f) + 1 for f in files) > 2**17  # more than one batch
    result = run(*files)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr
    reported = [
        line for line in result.stdout.splitlines() if "job-injected-legacy-sidecar" in line
    ]
    assert len(reported) == 40


@pytest.mark.skipif(
    shutil.which("kubectl") is None and shutil.which("kustomize") is None,
    reason="neither kubectl nor kustomize is on PATH",
)
def test_a_changed_base_file_renders_the_overlays_built_on_it(try_repo):
    scratch, run = try_repo
    base, prod = scratch / "base", scratch / "overlays" / "prod"
    base.mkdir()
    prod.mkdir(parents=True)
    (scratch / "unrelated").mkdir()
    (base / "pod.yaml").write_text(
        POD_TEMPLATE.replace("{{ .Release.Name }}", "web").replace("{{ .Values.tag }}", "1.24.0")
    )
    (base / "kustomization.yaml").write_text("resources: [pod.yaml]\n")
    # the overlay changes the sidecar (its image tag), so its finding is the overlay's own
    (prod / "kustomization.yaml").write_text(
        "resources: [../../base]\nnamePrefix: prod-\n"
        "images: [{name: docker.io/istio/proxyv2, newTag: 1.25.0}]\n"
    )
    (scratch / "unrelated" / "kustomization.yaml").write_text("resources: []\n")
    result = run("base/pod.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "overlays/prod/kustomization.yaml" in result.stdout  # the overlay was rendered
    assert "Pod/prod-web" in result.stdout
    assert "unrelated" not in result.stdout
