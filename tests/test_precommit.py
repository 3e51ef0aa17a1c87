"""The pre-commit hook, run for real with `pre-commit try-repo` in a scratch repository."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import ROOT

BAD = ROOT / "tests/rules/native-sidecar-without-startup-probe/bad-known-and-unknown.yaml"
GOOD = ROOT / "examples/clean-pod.yaml"


def _git(*args: str, cwd) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed"
)
@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="try-repo needs this checkout's git repo")
def test_hook_fails_on_a_bad_manifest_and_passes_a_clean_one(tmp_path):
    scratch = tmp_path / "scratch"
    (scratch / "k8s").mkdir(parents=True)
    (scratch / "chart" / "templates").mkdir(parents=True)
    (scratch / "k8s" / "bad.yaml").write_bytes(BAD.read_bytes())
    (scratch / "k8s" / "good.yaml").write_bytes(GOOD.read_bytes())
    (scratch / "chart" / "templates" / "pod.yaml").write_text("name: {{ .x }}\n  bad: [\n")
    _git("init", "-q", cwd=scratch)
    _git("add", ".", cwd=scratch)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), NO_COLOR="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")

    def try_repo(*files: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(ROOT),
                "sidecarlint",
                "--files",
                *files,
            ],
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    bad = try_repo("k8s/bad.yaml", "chart/templates/pod.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "k8s/bad.yaml:16:11: warning native-sidecar-without-startup-probe" in bad.stdout
    assert "templates/pod.yaml" not in bad.stdout.split("sidecarlint", 1)[1]
    good = try_repo("k8s/good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout
