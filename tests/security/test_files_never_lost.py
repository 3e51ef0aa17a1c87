"""No output overwrites an input; reports and baselines are written whole; reading and
writing the same baseline keeps every entry; closed streams are a clear error."""

from __future__ import annotations

import json
import subprocess
import sys

from hostile import pod, sidecarlint


def _repo(tmp_path, count=3):
    k8s = tmp_path / "k8s"
    k8s.mkdir()
    for index in range(count):
        (k8s / f"pod-{index}.yaml").write_text(pod(f"p{index}"))
    return k8s


def test_an_output_that_is_an_input_is_refused(tmp_path):
    k8s = _repo(tmp_path)
    before = (k8s / "pod-0.yaml").read_bytes()
    for option in ("--write-baseline", "--output"):
        result = sidecarlint("check", "k8s", option, "k8s/pod-0.yaml", cwd=tmp_path)
        assert result.returncode == 2
        assert (k8s / "pod-0.yaml").read_bytes() == before
    result = sidecarlint(
        "check", "k8s/pod-1.yaml", "--output", "./k8s/../k8s/pod-1.yaml", cwd=tmp_path
    )
    assert result.returncode == 2


def test_the_same_baseline_read_and_written_keeps_every_entry(tmp_path):
    _repo(tmp_path)
    sidecarlint("check", "k8s", "--write-baseline", "base.json", cwd=tmp_path)
    first = json.loads((tmp_path / "base.json").read_text())
    result = sidecarlint(
        "check", "k8s", "--baseline", "base.json", "--write-baseline", "base.json", cwd=tmp_path
    )
    assert result.returncode == 0
    assert json.loads((tmp_path / "base.json").read_text()) == first
    assert len(first["sidecarlint-baseline"]["fingerprints"]) == 3


def test_concurrent_runs_leave_a_whole_report(tmp_path):
    _repo(tmp_path, count=200)
    command = [sys.executable, "-m", "sidecarlint", "check", "k8s", "--format", "json"]
    runs = [subprocess.Popen([*command, "-o", "report.json"], cwd=tmp_path) for _ in range(4)]
    for run in runs:
        assert run.wait(timeout=120) == 1
    assert len(json.loads((tmp_path / "report.json").read_text())["findings"]) == 200
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".sidecarlint-")] == []


def test_closed_streams_are_a_clear_error(tmp_path):
    _repo(tmp_path)
    base = [sys.executable, "-m", "sidecarlint", "check"]
    closed_out = subprocess.run(
        [*base, "k8s"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        pass_fds=(),
        close_fds=True,
        preexec_fn=lambda: __import__("os").close(1),
    )
    assert closed_out.returncode == 2 and b"Traceback" not in closed_out.stderr
    closed_in = subprocess.run(
        [*base, "-"],
        cwd=tmp_path,
        capture_output=True,
        preexec_fn=lambda: __import__("os").close(0),
    )
    assert closed_in.returncode == 2 and b"Traceback" not in closed_in.stderr
    assert b"standard input is closed" in closed_in.stderr
