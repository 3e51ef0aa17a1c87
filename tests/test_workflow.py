"""Config and versions as a team uses them: the config of the folder being linted wherever
the run starts, exclude patterns relative to the config file, and a version that names the
commit it was installed from."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli

PAYMENTS = ROOT / "examples" / "payments-deployment.yaml"


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "k8s" / "vendor").mkdir(parents=True)
    (repo / ".git").mkdir()
    shutil.copy(PAYMENTS, repo / "k8s" / "app.yaml")
    shutil.copy(PAYMENTS, repo / "k8s" / "vendor" / "theirs.yaml")
    (repo / ".sidecarlint.yaml").write_text(
        "disable: [init-container-before-sidecar]\nexclude: [k8s/vendor]\n"
    )
    return repo


def _rules(out: str) -> set[str]:
    return {f["rule"] for f in json.loads(out)["findings"]}


@pytest.mark.parametrize("where", ["repo", "k8s", "elsewhere"])
def test_the_linted_folders_config_applies_wherever_the_run_starts(
    repo, tmp_path, monkeypatch, where
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    start = {"repo": repo, "k8s": repo / "k8s", "elsewhere": elsewhere}[where]
    monkeypatch.chdir(start)
    target = {"repo": "k8s", "k8s": ".", "elsewhere": str(repo / "k8s")}[where]
    code, out, _ = run_cli("check", target, "--format", "json")
    findings = json.loads(out)["findings"]
    assert "init-container-before-sidecar" not in _rules(out)  # the config was found
    assert [f for f in findings if "vendor" in f["path"]] == []  # its exclude applies
    assert findings and code == 1


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not on PATH")
def test_version_names_the_commit_when_installed_from_git(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("this checkout is not a git repository")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    installed = subprocess.run(
        [*pip, f"git+file://{ROOT}@{head}"], capture_output=True, text=True, timeout=600
    )
    assert installed.returncode == 0, installed.stderr
    shown = subprocess.run(
        [str(venv / "bin" / "sidecarlint"), "--version"], capture_output=True, text=True
    )
    assert shown.stdout.strip() == f"sidecarlint, version 0.1.0 (commit {head[:12]})"


def test_version_without_git_is_the_version():
    code, out, _ = run_cli("--version")
    assert code == 0 and out.startswith("sidecarlint, version 0.1.0")


def test_a_repository_linted_from_inside_another_keeps_its_rule_folders(repo, monkeypatch):
    (repo / "policy").mkdir()
    (repo / ".sidecarlint.yaml").write_text("rule_dirs: [policy]\n")
    monkeypatch.chdir(ROOT)  # this checkout: another git repository
    code, _, err = run_cli("check", str(repo / "k8s"))
    assert code == 1, err
