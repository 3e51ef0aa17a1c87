"""The hook's cache of whole-repository facts (`.git/sidecarlint/facts.json`): a commit
reads again only the files that changed, and a cache that is stale, broken or not ours
changes nothing but speed."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import run_cli

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: batch\n  labels: {{{label}}}\n"
JOB = (
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: work\n  namespace: batch\nspec:\n"
    "  template:\n    spec:\n      restartPolicy: Never\n"
    "      containers:\n        - {name: work, image: example.com/work:1}\n"
)


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    (repo / "k8s").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "k8s" / "namespace.yaml").write_text(NAMESPACE.format(label="istio-injection: enabled"))
    (repo / "k8s" / "job.yaml").write_text(JOB)
    return repo


def _hook(repo) -> list[str]:
    """The hook as pre-commit runs it: the changed file, facts from the whole repository."""
    _, out, err = run_cli(
        "check",
        "--repository",
        ".",
        "--format",
        "json",
        "--fail-on",
        "never",
        "k8s/job.yaml",
        cwd=repo,
    )
    assert "Traceback" not in err
    return [f["rule"] for f in json.loads(out)["findings"]]


def test_the_cache_is_written_used_and_refreshed(repo):
    cache = repo / ".git" / "sidecarlint" / "facts.json"
    assert _hook(repo) == ["job-injected-legacy-sidecar"]
    assert cache.is_file()
    files = json.loads(cache.read_text())["files"]
    assert set(files) == {os.path.join("k8s", "namespace.yaml")}  # the linted file is not
    assert _hook(repo) == ["job-injected-legacy-sidecar"]  # from the cache
    # the Namespace changes (new size and time): read again, and the finding goes
    (repo / "k8s" / "namespace.yaml").write_text(NAMESPACE.format(label="team: x"))
    os.utime(repo / "k8s" / "namespace.yaml", ns=(1, 1))
    assert _hook(repo) == []


@pytest.mark.parametrize(
    "content",
    ["not json", '{"key": "other", "files": {}}', '{"key": 1}', "[]", '{"files": {"x": [1]}}'],
)
def test_a_broken_or_foreign_cache_is_ignored(repo, content):
    cache = repo / ".git" / "sidecarlint" / "facts.json"
    cache.parent.mkdir()
    cache.write_text(content)
    assert _hook(repo) == ["job-injected-legacy-sidecar"]


def test_a_forged_entry_with_the_right_stamp_is_checked(repo):
    """An entry whose data is not a well-formed fragment is read from the file instead."""
    _hook(repo)
    cache = repo / ".git" / "sidecarlint" / "facts.json"
    data = json.loads(cache.read_text())
    key = os.path.join("k8s", "namespace.yaml")
    data["files"][key][1] = {"declared": {"batch": [["not labels", "x"]]}}
    cache.write_text(json.dumps(data))
    assert _hook(repo) == ["job-injected-legacy-sidecar"]


def test_no_cache_outside_a_git_folder(tmp_path):
    """A worktree's `.git` is a file: nothing is written there, or anywhere else."""
    repo = tmp_path / "worktree"
    (repo / "k8s").mkdir(parents=True)
    (repo / ".git").write_text("gitdir: /elsewhere\n")
    (repo / "k8s" / "namespace.yaml").write_text(NAMESPACE.format(label="istio-injection: enabled"))
    (repo / "k8s" / "job.yaml").write_text(JOB)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert _hook(repo) == ["job-injected-legacy-sidecar"]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
