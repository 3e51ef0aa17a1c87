"""The GitHub Action (action.yml): every input and output documented, and every step that
runs a command run locally, as the runner would, on a fixture repository (the upload to
code scanning is GitHub's own action and is skipped)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def test_inputs_and_outputs_are_documented():
    assert ACTION["runs"]["using"] == "composite"
    for name, spec in {**ACTION["inputs"], **ACTION["outputs"]}.items():
        assert spec.get("description"), name
    for step in ACTION["runs"]["steps"]:
        if "run" in step:  # inputs reach scripts through env, never as script text
            assert "${{" not in step["run"], step["name"]


def _evaluate(text: str, inputs: dict, outputs: dict) -> str:
    def value(match: re.Match) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return inputs[expression[len("inputs.") :]]
        if expression.startswith("steps.lint.outputs."):
            return outputs.get(expression.rsplit(".", 1)[1], "")
        raise AssertionError(f"unexpected expression {expression}")

    return EXPRESSION.sub(value, text)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not on PATH")
def test_every_step_runs_on_a_fixture_repository(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo / "k8s")
    runner = tmp_path / "runner"
    runner.mkdir()
    summary, output = runner / "summary.md", runner / "output"
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs.update({"paths": "k8s", "kube-version": "1.30", "args": "--select job-legacy-sidecar"})
    outputs: dict[str, str] = {}
    codes = []
    for step in ACTION["runs"]["steps"]:
        if "uses" in step:
            assert "upload-sarif" in step["uses"] and "always()" in step["if"]
            continue
        env = {
            **os.environ,
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_TEMP": str(runner),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        env.update({k: _evaluate(str(v), inputs, outputs) for k, v in step.get("env", {}).items()})
        done = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, timeout=600
        )
        codes.append(done.returncode)
        if output.exists():
            outputs.update(
                line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
            )
    assert codes == [0, 0, 1], codes  # installed, linted, failed on the finding
    assert outputs["exit-code"] == "1"
    sarif = json.loads((repo / "sidecarlint.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["job-legacy-sidecar"]
    assert sarif["runs"][0]["automationDetails"]["id"] == "sidecarlint/"
    text = summary.read_text()
    assert text.startswith("### sidecarlint: 1 finding (1 error) in 3 files")
    assert "| error | job-legacy-sidecar | k8s/report-job.yaml:14 |" in text
