"""Parallel scanning: the work is shared between this process and forked workers, and the
findings come back in input order, exactly as one process gives them."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest
from conftest import run_cli

from sidecarlint import scan

real_loads = pickle.loads

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: app-{index}
  namespace: shop
spec:
  initContainers:
    - name: istio-proxy
      image: docker.io/istio/proxyv2:1.24.0
      restartPolicy: Always
  containers:
    - name: app
      image: example/app:1.0
"""


@pytest.fixture
def many_pods(tmp_path, monkeypatch):
    # 22 chunks: six workers holding three each at the start all get work
    for index in range(160):
        (tmp_path / f"app-{index:03}.yaml").write_text(POD.format(index=index))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_work_is_shared_and_output_is_identical(many_pods, monkeypatch):
    real = scan.scan_input

    def recording(item, settings, options):
        result = real(item, settings, options)
        for finding in result.findings:  # travels back from a worker with its result
            finding.message += f" [pid {os.getpid()}]"
        return result

    monkeypatch.setattr(scan, "scan_input", recording)
    findings = {}
    for jobs in ("1", "2", "3", "6"):
        code, out, _ = run_cli("check", ".", "--format", "json", "--jobs", jobs)
        assert code == 1
        findings[jobs] = json.loads(out)["findings"]
    pids = {
        jobs: {f["message"].rsplit("[pid ", 1)[1] for f in found}
        for jobs, found in findings.items()
    }
    assert len(pids["1"]) == 1 and len(pids["2"]) == 2 and len(pids["3"]) == 3
    here = f"{os.getpid()}]"
    assert pids["1"] == {here} and here in pids["2"] and here in pids["3"]
    # with more than four processes this one only hands out the work
    assert len(pids["6"]) == 6 and here not in pids["6"]

    def without_pids(found: list[dict]) -> list[dict]:
        return [{**f, "message": f["message"].split(" [pid ")[0]} for f in found]

    assert (
        without_pids(findings["1"])
        == without_pids(findings["2"])
        == without_pids(findings["3"])
        == without_pids(findings["6"])
    )
    paths = [f["path"] for f in findings["2"]]
    assert paths == sorted(paths) and len(set(paths)) == 160


def test_workers_are_told_to_stop_once_and_are_reaped(many_pods, monkeypatch):
    stops = []
    real = scan._message

    def recording(value):
        if value is None:
            stops.append(value)
        return real(value)

    monkeypatch.setattr(scan, "_message", recording)
    code, _, _ = run_cli("check", ".", "--jobs", "3")
    assert code == 1
    assert len(stops) == 2  # two workers, each told once
    with pytest.raises(ChildProcessError):  # none is left behind
        os.waitpid(-1, os.WNOHANG)


@pytest.fixture
def long_paths(tmp_path, monkeypatch):
    """130 files of 30 pods under a 3 KiB path: three chunks of such paths overfill a pipe,
    and a chunk's result does too."""
    deep = tmp_path
    for _ in range(14):
        deep = deep / ("d" * 200)
    try:
        deep.mkdir(parents=True)
    except OSError:
        pytest.skip("this file system refuses 3 KiB paths")
    pods = "---\n".join(POD.format(index=index) for index in range(30))
    for index in range(130):
        (deep / f"app-{index:03}-{'x' * 100}.yaml").write_text(pods)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_long_paths_and_large_results_do_not_hang(long_paths):
    """A worker blocked on sending a large result reads no chunk: the parent must go on
    reading results instead of waiting to write the next chunk."""
    command = [sys.executable, "-m", "sidecarlint", "check", ".", "--format", "json"]
    runs = [
        subprocess.run([*command, "--jobs", jobs], capture_output=True, timeout=30)
        for jobs in ("1", "2")
    ]
    assert [run.returncode for run in runs] == [1, 1]
    assert runs[0].stdout == runs[1].stdout
    assert len(json.loads(runs[1].stdout)["findings"]) == 3900


def fail_in_workers(monkeypatch) -> None:
    parent = os.getpid()
    real = scan.scan_input

    def failing_in_workers(item, settings, options):
        if os.getpid() != parent:
            raise ValueError("boom")
        return real(item, settings, options)

    monkeypatch.setattr(scan, "scan_input", failing_in_workers)


def test_a_failing_worker_is_reported_not_hung(many_pods, monkeypatch):
    fail_in_workers(monkeypatch)
    with pytest.raises(RuntimeError, match=r"(?s)worker process failed:.*ValueError: boom"):
        run_cli("check", ".", "--jobs", "2")


def test_a_worker_that_fails_before_reading_its_chunks_is_reported(long_paths, monkeypatch):
    fail_in_workers(monkeypatch)  # chunks for it still wait to be written: its pipe is closed
    with pytest.raises(RuntimeError, match=r"(?s)worker process failed:.*ValueError: boom"):
        run_cli("check", ".", "--jobs", "2")


def test_default_plan_keeps_a_pre_commit_run_in_one_process():
    inputs = [scan.Input("file", f"{i}.yaml") for i in range(scan.INPUTS_PER_PROCESS * 2 - 1)]
    assert scan._plan(inputs, None)[1] == 1
    assert scan._plan(inputs[:3], 4)[1] == 4  # an explicit --jobs is honoured


def test_a_value_marshal_refuses_still_travels(tmp_path, monkeypatch):
    """A plain `<<` as a label value is the loader's merge-key marker, which marshal cannot
    carry: such results go by pickle, and the output does not change."""
    namespace = (
        "---\napiVersion: v1\nkind: Namespace\n"
        "metadata: {{name: ns-{index}, labels: {{odd: <<}}}}\n"
    )
    for index in range(160):
        (tmp_path / f"app-{index:03}.yaml").write_text(
            POD.format(index=index) + namespace.format(index=index)
        )
    monkeypatch.chdir(tmp_path)
    unpickled = []
    monkeypatch.setattr(pickle, "loads", lambda data: unpickled.append(1) or real_loads(data))
    outputs = [run_cli("check", ".", "--format", "json", "--jobs", jobs) for jobs in ("1", "2")]
    assert unpickled  # results from the worker came by pickle
    assert outputs[0] == outputs[1]
    assert len(json.loads(outputs[0][1])["findings"]) == 160


def test_every_field_of_a_finding_survives_the_trip_from_a_worker():
    from sidecarlint.findings import Finding

    values = {name: f"value of {name}" for name in Finding.__slots__}
    finding = Finding.__new__(Finding)
    for name, value in values.items():
        setattr(finding, name, value)
    back = scan._unpack_finding(scan._pack_finding(finding))
    assert {name: getattr(back, name) for name in Finding.__slots__} == values


@pytest.mark.parametrize("count", [0, 3, 16, 40, 64, 65, 100, 200])
def test_chunks_keep_order_and_end_small(count):
    inputs = list(range(count))
    chunks = list(scan._chunks(inputs, 16, 48))  # type: ignore[arg-type]
    assert [item for chunk in chunks for item in chunk] == inputs
    assert all(chunk for chunk in chunks)
    sizes = [len(chunk) for chunk in chunks]
    full = sizes.count(16) if count > 64 else 0
    assert sizes[:full] == [16] * full  # long chunks first, then only short ones
    tail = sizes[full:]
    assert all(size <= scan.TAIL for size in tail)
    assert sum(tail) == count if count <= 64 else 48 <= sum(tail) <= 64


def test_when_fork_fails_this_process_lints_everything(many_pods, monkeypatch):
    _, serial, _ = run_cli("check", ".", "--format", "json", "--jobs", "1")

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    code, out, _ = run_cli("check", ".", "--format", "json", "--jobs", "2")
    assert code == 1 and out == serial


def test_no_worker_is_started_without_work(tmp_path, monkeypatch):
    for index in range(5):  # two short chunks: the first worker takes both
        (tmp_path / f"app-{index}.yaml").write_text(POD.format(index=index))
    monkeypatch.chdir(tmp_path)
    forks = []
    real = os.fork

    def counting() -> int:
        pid = real()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting)
    code, out, _ = run_cli("check", ".", "--format", "json", "--jobs", "6")
    assert code == 1 and len(forks) == 1
    assert len({f["path"] for f in json.loads(out)["findings"]}) == 5


@pytest.mark.parametrize("jobs", ["2", "6"])
def test_standard_input_is_linted_here_whatever_the_jobs(many_pods, jobs):
    text = (many_pods / "app-000.yaml").read_text()
    code, out, _ = run_cli(
        "check", "-", "app-001.yaml", "--format", "json", "--jobs", jobs, input=text
    )
    serial = run_cli("check", "-", "app-001.yaml", "--format", "json", "--jobs", "1", input=text)
    assert code == 1 and out == serial[1]
    assert [f["path"] for f in json.loads(out)["findings"]] == ["-", "app-001.yaml"]


def test_suppressions_merge_the_same_whatever_the_jobs(tmp_path, monkeypatch):
    """Declarations are numbered per process and renumbered when merged: suppressed and
    unused suppressions come out the same for any number of processes."""
    rule = "native-sidecar-without-startup-probe"
    for index in range(160):
        text = POD.format(index=index)
        if index % 3 == 0:  # a comment that suppresses the finding
            text = text.replace(
                "    - name: istio-proxy",
                f"    # sidecarlint: ignore[{rule}] probed elsewhere\n    - name: istio-proxy",
            )
        if index % 5 == 0:  # a comment that suppresses nothing
            text = text.replace(
                "  containers:", "  # sidecarlint: ignore[invalid-probe] none\n  containers:"
            )
        if index % 7 == 0:  # an annotation
            text = text.replace(
                "  namespace: shop",
                f"  namespace: shop\n  annotations:\n    ignore.sidecarlint.io/{rule}: known",
            )
        (tmp_path / f"app-{index:03}.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    outputs = [
        run_cli("check", ".", "--format", "json", "--show-suppressed", "--jobs", jobs)[1]
        for jobs in ("1", "2", "6")
    ]
    assert outputs[0] == outputs[1] == outputs[2]
    findings = json.loads(outputs[0])["findings"]
    suppressed = [f for f in findings if f["suppressed"]]
    unused = [f for f in findings if f["rule"] == "unused-suppression"]
    assert len(suppressed) == len([i for i in range(160) if i % 3 == 0 or i % 7 == 0])
    assert len(unused) == len([i for i in range(160) if i % 5 == 0]) + len(
        [i for i in range(160) if i % 3 == 0 and i % 7 == 0]  # the comment beside an annotation
    )
