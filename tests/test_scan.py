"""Parallel scanning: the work is shared between forked workers (a ProcessPoolExecutor), and
the findings come back in input order, exactly as one process gives them."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time

import pytest
from conftest import run_cli

from sidecarlint import scan

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
    parent = os.getpid()

    def recording(item, ruleset, options):
        if os.getpid() != parent:
            time.sleep(0.005)  # slow enough that every worker gets chunks
        linted = real(item, ruleset, options)
        findings = [  # travels back from a worker with its result
            f._replace(message=f"{f.message} [pid {os.getpid()}]") for f in linted.findings
        ]
        return linted._replace(findings=findings)

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
    here = f"{parent}]"
    assert pids["1"] == {here}
    for jobs in ("2", "3", "6"):  # the workers lint, this process collects
        assert here not in pids[jobs] and 2 <= len(pids[jobs]) <= int(jobs)

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


def test_no_worker_is_left_behind(many_pods):
    code, _, _ = run_cli("check", ".", "--jobs", "3")
    assert code == 1
    with pytest.raises(ChildProcessError):  # every worker was reaped
        os.waitpid(-1, os.WNOHANG)


@pytest.fixture
def long_paths(tmp_path, monkeypatch):
    """130 files of 30 pods under a 3 KiB path: large chunks and large results."""
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
    command = [sys.executable, "-m", "sidecarlint", "check", ".", "--format", "json"]
    runs = [
        subprocess.run([*command, "--jobs", jobs], capture_output=True, timeout=60)
        for jobs in ("1", "2")
    ]
    assert [run.returncode for run in runs] == [1, 1]
    assert runs[0].stdout == runs[1].stdout
    assert len(json.loads(runs[1].stdout)["findings"]) == 3900


def test_a_failing_worker_is_reported_not_hung(many_pods, monkeypatch):
    parent = os.getpid()
    real = scan.scan_input

    def failing_in_workers(item, ruleset, options):
        if os.getpid() != parent:
            raise ValueError("boom")
        return real(item, ruleset, options)

    monkeypatch.setattr(scan, "scan_input", failing_in_workers)
    with pytest.raises(ValueError, match="boom"):  # the worker's own error, raised here
        run_cli("check", ".", "--jobs", "2")
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_worker_that_dies_is_reported_not_hung(many_pods, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool

    parent = os.getpid()
    real = scan.scan_input

    def dying_in_workers(item, ruleset, options):
        if os.getpid() != parent:
            os._exit(9)  # as the OOM killer would end it
        return real(item, ruleset, options)

    monkeypatch.setattr(scan, "scan_input", dying_in_workers)
    with pytest.raises(BrokenProcessPool):
        run_cli("check", ".", "--jobs", "2")


def test_ctrl_c_stops_the_workers_and_exits_130(many_pods):
    """SIGINT to the whole process group, as a terminal sends it: the workers ignore it,
    the run stops with 130 and no worker is left."""
    import signal

    for index in range(160, 8000):
        (many_pods / f"app-{index:04}.yaml").write_text(POD.format(index=index) * 1)
    process = subprocess.Popen(
        [sys.executable, "-m", "sidecarlint", "check", ".", "--jobs", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    time.sleep(0.6)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert b"Traceback" not in err
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):  # nothing of the group survives
        os.killpg(process.pid, 0)


def test_default_plan_keeps_a_pre_commit_run_in_one_process():
    inputs = [scan.Input("file", f"{i}.yaml") for i in range(scan.INPUTS_PER_PROCESS * 2 - 1)]
    assert scan.plan_jobs(inputs, None)[1] == 1
    assert scan.plan_jobs(inputs, 4)[1] == 4  # an explicit --jobs is honoured
    assert scan.plan_jobs(inputs[:20], 4)[1] == 2  # but no worker without a chunk of work
    assert list(scan.plan_jobs(inputs, 4)[0]) == inputs  # and no input is lost looking


def test_a_merge_key_value_travels_from_a_worker(tmp_path, monkeypatch):
    """A plain `<<` as a label value is the loader's merge-key marker: results that hold
    it come back from a worker, and the output does not change."""
    namespace = (
        "---\napiVersion: v1\nkind: Namespace\n"
        "metadata: {{name: ns-{index}, labels: {{odd: <<}}}}\n"
    )
    for index in range(160):
        (tmp_path / f"app-{index:03}.yaml").write_text(
            POD.format(index=index) + namespace.format(index=index)
        )
    monkeypatch.chdir(tmp_path)
    outputs = [run_cli("check", ".", "--format", "json", "--jobs", jobs) for jobs in ("1", "2")]
    assert outputs[0] == outputs[1]
    assert len(json.loads(outputs[0][1])["findings"]) == 160


def test_every_field_of_a_finding_survives_the_trip_from_a_worker():
    from sidecarlint.findings import Finding

    finding = Finding(*(f"value of {name}" for name in Finding._fields))
    assert pickle.loads(pickle.dumps(finding)) == finding


def test_when_fork_fails_this_process_lints_everything(many_pods, monkeypatch):
    _, serial, _ = run_cli("check", ".", "--format", "json", "--jobs", "1")

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    code, out, _ = run_cli("check", ".", "--format", "json", "--jobs", "2")
    assert code == 1 and out == serial


def test_no_worker_is_started_without_work(tmp_path, monkeypatch):
    for index in range(5):  # one chunk: linted here, no process is started
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
    assert code == 1 and forks == []
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
    """Declarations are named by where they are written: suppressed and unused
    suppressions come out the same for any number of processes."""
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
