"""The README stays true: its snippets, extracted and run where they can run offline (the
shell commands, the configuration and rule examples, the library example, the sidecarlint
steps of the workflows), and the rest checked against what they name."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"(?ms)^```(\w*)\n(.*?)^```", README)


def _blocks(language: str, marker: str = "") -> list[str]:
    return [text for lang, text in BLOCKS if lang == language and marker in text]


@pytest.fixture
def repo(tmp_path):
    """A repository with the names the snippets use: k8s/, app.yaml, chart/."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo / "k8s")
    shutil.copy(ROOT / "examples" / "payments-deployment.yaml", repo / "app.yaml")
    (repo / "chart" / "templates").mkdir(parents=True)
    (repo / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    shutil.copy(ROOT / "examples" / "report-job.yaml", repo / "chart" / "templates" / "job.yaml")
    (repo / ".git").mkdir()
    return repo


def _run(command: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=cwd, capture_output=True, text=True
    )


def test_the_shell_commands_run(repo):
    commands = [
        line.split("  #")[0].strip()
        for block in _blocks("sh")
        for line in block.splitlines()
        if "sidecarlint " in line and not line.startswith("pip ")
    ]
    assert len(commands) >= 5
    for command in commands:
        if command.startswith("helm ") and shutil.which("helm") is None:
            continue
        done = _run(command, repo)
        assert done.returncode in (0, 1), (command, done.stderr)
        assert "Traceback" not in done.stderr


def test_the_quick_start_lints_the_examples():
    [block] = [b for b in _blocks("sh") if "sidecarlint check examples/" in b]
    done = _run(block.split("&&", 1)[1].strip(), ROOT)
    assert done.returncode == 1 and "5 findings" in done.stdout


def test_the_configuration_and_rule_examples_are_valid(repo):
    [config] = _blocks("yaml", "kube_version:")
    [rule] = _blocks("yaml", "# policy/sidecarlint/memory-limit.yaml")
    [mesh] = _blocks("yaml", "namespaces:\n    payments:")
    (repo / "policy" / "sidecarlint").mkdir(parents=True)
    (repo / "policy" / "sidecarlint" / "memory-limit.yaml").write_text(rule)
    for text in (config, mesh):
        (repo / ".sidecarlint.yaml").write_text(text)
        done = _run("sidecarlint check k8s --format json", repo)
        assert done.returncode in (0, 1), done.stderr  # 2 would be a config error
    (repo / ".sidecarlint.yaml").write_text(config)
    findings = json.loads(_run("sidecarlint check k8s --format json", repo).stdout)["findings"]
    rules = {f["rule"] for f in findings}
    assert "memory-limit" in rules  # the user rule ran
    assert "init-container-before-sidecar" not in rules  # disable: applied


def test_the_library_example_runs(repo):
    [block] = _blocks("python", "from sidecarlint.api import")
    done = subprocess.run([sys.executable, "-c", block], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "k8s/report-job.yaml 14 job-legacy-sidecar" in done.stdout


def test_the_workflows_run_their_sidecarlint_steps(repo):
    workflows = [yaml.safe_load(text) for text in _blocks("yaml", "runs-on:")]
    assert len(workflows) == 2
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    for workflow in workflows:
        steps = workflow["jobs"]["sidecarlint"]["steps"]
        for step in steps:
            if step.get("uses", "").startswith("YOUR-ORG/sidecarlint"):  # the action
                assert set(step["with"]) <= set(action["inputs"])
            if str(step.get("run", "")).startswith("sidecarlint "):
                done = _run(step["run"], repo)
                assert done.returncode in (0, 1), done.stderr
                json.loads((repo / "sidecarlint.sarif").read_text())
            if "upload-sarif" in step.get("uses", ""):
                assert step.get("if") == "always()"
    [pre_commit] = [yaml.safe_load(t) for t in _blocks("yaml", "repos:")]
    assert pre_commit["repos"][0]["hooks"][0]["id"] in {hook["id"] for hook in hooks}
    assert re.fullmatch(r"[0-9a-f]{40}", pre_commit["repos"][0]["rev"])


def test_the_timeline_shown_is_the_one_drawn():
    """The README's timeline is `sidecarlint timeline` on the example, run from the root."""
    [block] = [text for lang, text in BLOCKS if lang == "text" and "$ sidecarlint timeline" in text]
    command, _, shown = block.partition("\n")
    result = _run(command.removeprefix("$ "), ROOT)  # the installed command, as a user runs it
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown


def test_the_diff_shown_is_the_one_made():
    """The README's `--diff` is the command's output on the example, run from the root."""
    [block] = [text for lang, text in BLOCKS if lang == "text" and "$ sidecarlint check" in text]
    command, _, shown = block.partition("\n")
    result = _run(command.removeprefix("$ ") + " 2>/dev/null || test $? = 1", ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown
    assert shown.startswith("--- a/examples/payments-deployment.yaml\n")
