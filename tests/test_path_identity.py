"""One path identity: every path a run reports (text, JSON, SARIF, GitHub annotations,
baselines) is the file's repository-relative POSIX path, however it was typed and
wherever the run starts."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from conftest import ROOT, run_cli

FILE = "k8s/payments-deployment.yaml"


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo / "k8s")
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
    else:
        (repo / ".git").mkdir()
    return repo


def _from(folder, *args):
    return run_cli(*args, cwd=folder)


def _typings(repo):
    """(where the run starts, the path typed): four ways to name the same folder."""
    return [
        (repo, "k8s"),
        (repo, "./k8s/"),
        (repo, str(repo / "k8s")),
        (repo / "k8s", "."),
        (repo / "k8s" / "..", "k8s"),
    ]


def test_findings_name_the_same_path_however_it_was_typed(repo):
    seen = set()
    for start, typed in _typings(repo):
        code, out, _ = _from(start, "check", "--format", "json", typed)
        assert code == 1
        seen.add(tuple(sorted({f["path"] for f in json.loads(out)["findings"]})))
    assert seen == {(FILE, "k8s/report-job.yaml")}


def test_one_baseline_matches_every_way_of_naming_the_files(repo, tmp_path):
    baseline = tmp_path / "baseline.json"
    _from(repo, "check", "k8s", "--write-baseline", str(baseline))
    assert len(json.loads(baseline.read_text())["sidecarlint-baseline"]["fingerprints"]) == 5
    for start, typed in _typings(repo):
        code, out, _ = _from(start, "check", typed, "--baseline", str(baseline))
        assert (code, out.splitlines()[-1]) == (0, "no findings in 3 files"), (start, typed)


def test_sarif_and_annotations_are_repository_relative_from_a_subfolder(repo):
    _, out, _ = _from(repo / "k8s", "check", ".", "--format", "sarif")
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in json.loads(out)["runs"][0]["results"]
        for location in result["locations"]
    }
    assert uris == {FILE, "k8s/report-job.yaml"}
    _, out, _ = _from(repo / "k8s", "check", ".", "--format", "github")
    assert all(
        f"file={FILE}," in line or "file=k8s/report-job.yaml," in line
        for line in out.splitlines()
        if line.startswith("::")
    )


def test_show_source_reads_the_file_from_a_subfolder(repo):
    _, out, _ = _from(
        repo / "k8s",
        "check",
        ".",
        "--show-source",
        "--select",
        "native-sidecar-without-startup-probe",
    )
    lines = out.splitlines()
    assert lines[0].startswith(f"{FILE}:29:11: warning")
    assert lines[1].strip() == "- name: cloud-sql-proxy"


def test_outside_a_repository_paths_stay_relative_to_where_the_run_starts(tmp_path):
    (tmp_path / "k8s").mkdir()
    shutil.copy(ROOT / "examples" / "report-job.yaml", tmp_path / "k8s" / "job.yaml")
    _, out, _ = _from(tmp_path, "check", "--format", "json", str(tmp_path / "k8s"))
    assert {f["path"] for f in json.loads(out)["findings"]} == {"k8s/job.yaml"}
