"""Workload kinds as data: batch and ML custom resources, pod templates at any depth, kinds
declared in config, and what the findings say about which pod they are about."""

from __future__ import annotations

import collections
import json
import textwrap
from pathlib import Path

import pytest
from conftest import lint_json, run_cli

from sidecarlint.loader import load_bytes
from sidecarlint.workloads import WorkloadError, find_workloads, group_of, parse_kinds

# The upstream example folders of the batch and ML projects in the shared corpus (wild/), and
# every pod template sidecarlint reaches in them, per (API group, kind). Counted by hand from
# the files: JobSet 6 = paralleljobs (2 replicated jobs) + in-place-restart (2) + mnist + TPU;
# RayJob 12 = 4 RayJobs' heads and worker groups (8) + one submitter written + the 3
# default submitters KubeRay makes for the others.
REACHED = {
    "kubernetes-sigs__jobset": {("jobset.x-k8s.io", "JobSet"): 6},
    "ray-project__kuberay": {("ray.io", "RayJob"): 12, ("ray.io", "RayCluster"): 1},
    "kubeflow__training-operator": {
        ("kubeflow.org", "PyTorchJob"): 2,
        ("kubeflow.org", "TFJob"): 1,
    },
    "kubeflow__trainer": {("trainer.kubeflow.org", "TrainingRuntime"): 2},
    "kubernetes-sigs__kueue": {
        ("batch", "CronJob"): 1,
        ("batch", "Job"): 1,
        ("jobset.x-k8s.io", "JobSet"): 2,
        ("kubeflow.org", "PyTorchJob"): 2,
        ("ray.io", "RayJob"): 3,  # a head, a worker group, the default submitter
    },
    "volcano-sh__volcano": {("batch.volcano.sh", "CronJob"): 1, ("batch.volcano.sh", "Job"): 1},
    "kedacore__keda": {},  # its ScaledJob sample leaves the template empty
    "argoproj__argo-workflows": {("argoproj.io", "Workflow"): 10},
    "tektoncd__pipeline": {
        ("tekton.dev", "Pipeline"): 2,
        ("tekton.dev", "Task"): 1,
        ("tekton.dev", "TaskRun"): 4,
    },
}
ENGINE_KINDS = {"Workflow", "WorkflowTemplate", "CronWorkflow", "Task", "TaskRun", "Pipeline"}


def _reached(folder: Path) -> dict[tuple[str, str], int]:
    counts: collections.Counter = collections.Counter()
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".yaml", ".yml", ".json") or not path.is_file():
            continue
        for document in load_bytes(str(path), path.read_bytes()).documents:
            for workload in find_workloads(document.data):
                if workload.kind not in ("Deployment", "Service", "Pod", "DaemonSet"):
                    counts[(group_of(workload.obj["apiVersion"]), workload.kind)] += 1
                assert workload.known, (path, workload.kind)
    return dict(counts)


@pytest.mark.parametrize("repository", sorted(REACHED))
def test_every_pod_template_of_the_upstream_examples_is_reached(corpus, repository):
    folder = corpus / "wild" / repository
    assert _reached(folder) == REACHED[repository]
    # Linted as their owner would, from the folder: no traceback, and no job-* finding on a
    # kind whose engine stops its sidecars itself.
    code, findings = lint_json(str(folder), "--fail-on", "never")
    assert code == 0
    assert not [
        f for f in findings if f["rule"].startswith("job-") and f["kind"] in ENGINE_KINDS
    ], findings


JOBSET = """\
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata:
  name: train
spec:
  replicatedJobs:
{jobs}
"""
REPLICA = """\
    - name: {name}
      template:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
                - {{name: work, image: example.com/work:1}}
                - {{name: cloud-sql-proxy, image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14}}
"""


def _jobset(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "jobset.yaml"
    jobs = "".join(REPLICA.format(name=name) for name in names)
    path.write_text(JOBSET.format(jobs=jobs.rstrip("\n")), encoding="utf-8")
    return path


def test_findings_name_the_pod_and_keep_fingerprints_when_replicas_are_reordered(tmp_path):
    path = _jobset(tmp_path, "driver", "workers")
    _, findings = lint_json(str(path), "--select", "job-legacy-sidecar")
    assert [(f["line"], f["pod"], f["pod_path"]) for f in findings] == [
        (15, "driver", "spec.replicatedJobs[0].template.spec.template.spec"),
        (24, "workers", "spec.replicatedJobs[1].template.spec.template.spec"),
    ]
    assert (
        "JobSet's workers pod (spec.replicatedJobs[1].template.spec.template.spec)"
        in (findings[1]["message"])
    )
    code, out, _ = run_cli("check", str(path), "--select", "job-legacy-sidecar")
    assert code == 1 and "[JobSet/train workers container=cloud-sql-proxy]" in out

    def fingerprints() -> dict[str, str]:
        _, out, _ = run_cli("check", "--format", "sarif", str(path), "--fail-on", "never")
        results = json.loads(out)["runs"][0]["results"]
        return {
            r["properties"]["podPath"]: r["partialFingerprints"]["primaryLocationLineHash"]
            for r in results
            if r["ruleId"] == "job-legacy-sidecar"
        }

    before = fingerprints()
    _jobset(tmp_path, "workers", "driver")
    after = fingerprints()
    assert sorted(before.values()) == sorted(after.values())
    assert (
        before["spec.replicatedJobs[0].template.spec.template.spec"]
        == (after["spec.replicatedJobs[1].template.spec.template.spec"])
    )


def test_sarif_names_the_pod_as_a_logical_location(tmp_path):
    path = _jobset(tmp_path, "driver")
    _, out, _ = run_cli("check", "--format", "sarif", str(path), "--select", "job-legacy-sidecar")
    [result] = json.loads(out)["runs"][0]["results"]
    names = [loc["fullyQualifiedName"] for loc in result["locations"][0]["logicalLocations"]]
    pod = "JobSet/train/spec.replicatedJobs[0].template.spec.template.spec"
    assert names == ["JobSet/train", pod, f"{pod}/cloud-sql-proxy"]


def test_an_unknown_kind_is_reported_once_per_run_with_its_pod_paths(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            textwrap.dedent(f"""\
                apiVersion: example.com/v1
                kind: Sandbox
                metadata: {{name: {name}}}
                spec:
                  podTemplate:
                    spec:
                      initContainers:
                        - name: proxy
                          image: example.com/proxy:1
                          restartPolicy: Always
                      containers:
                        - {{name: app, image: example.com/app:1}}
                """),
            encoding="utf-8",
        )
    for jobs in ("1", "2"):
        _, findings = lint_json(str(tmp_path), "--jobs", jobs, "--fail-on", "never")
        assert [(f["rule"], f["path"], f["line"]) for f in findings] == [
            ("unknown-workload", str(tmp_path / "a.yaml"), 2),
            ("native-sidecar-without-startup-probe", str(tmp_path / "a.yaml"), 8),
            ("native-sidecar-without-startup-probe", str(tmp_path / "b.yaml"), 8),
        ]
        assert (
            "the pod spec at spec.podTemplate.spec got the startup and shutdown rules"
            in (findings[0]["message"])
        )


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("[]", "workloads: must be a list of kinds"),
        ("[{kind: X, pods: []}]", "workloads[0].group: must be an API group"),
        ("[{group: a, kind: X}]", "workloads[0].pods: must be a list"),
        ("[{group: a, kind: X, pods: [], colour: red}]", "workloads[0].colour: unknown key"),
        (
            "[{group: a, kind: X, pods: [{path: 'spec..template'}]}]",
            "workloads[0].pods[0].path: 'spec..template': each step must be a field name",
        ),
        (
            "[{group: a, kind: X, pods: [{path: 'spec.items[0]'}]}]",
            "workloads[0].pods[0].path: 'spec.items[0]'",
        ),
        (
            "[{group: a, kind: X, runs_to_completion: sometimes, pods: []}]",
            "workloads[0].runs_to_completion: must be true, false or unless-restart-always",
        ),
        (
            "[{group: a, kind: X, pods: [{path: spec, view: mine}]}]",
            "workloads[0].pods[0].view: must be one of argo-template, ray-default-submitter, "
            "tekton-task",
        ),
    ],
)
def test_declared_kinds_are_validated_with_the_file_and_key(tmp_path, entry, error):
    config = tmp_path / ".sidecarlint.yaml"
    config.write_text(f"workloads: {entry}\n" if entry != "[]" else "workloads: {}\n")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    code, _, err = run_cli("check", "--config", str(config), str(tmp_path / "a.yaml"))
    assert code == 2 and f"{config}: {error}" in err, err
    assert "Traceback" not in err


def test_a_declared_kind_replaces_the_built_in_one():
    [mine] = parse_kinds(
        [{"group": "ray.io", "kind": "RayCluster", "runs_to_completion": True, "pods": []}], "x"
    )
    from sidecarlint.workloads import load

    kinds = load([mine])
    assert kinds.get("ray.io/v1", "RayCluster") is mine
    assert kinds.get("batch/v1", "Job").runs_to_completion is True
    with pytest.raises(WorkloadError):
        parse_kinds([{"group": "", "kind": "", "pods": []}], "x")


def test_the_search_of_an_unknown_object_is_bounded_and_visits_a_shared_node_once():
    pod = {"spec": {"containers": [{"name": "a", "image": "b"}]}}
    wide = {"apiVersion": "x/v1", "kind": "Wide", "spec": {"items": [pod] * 50_000}}
    assert len(list(find_workloads(wide))) == 1  # one node, repeated (a YAML alias)
    deep: dict = {"spec": pod["spec"]}
    for _ in range(500):
        deep = {"next": deep}
    assert list(find_workloads({"apiVersion": "x/v1", "kind": "Deep", "spec": deep})) == []


@pytest.mark.parametrize(
    "obj",
    [
        {"apiVersion": "tekton.dev/v1", "kind": "Task", "spec": {"steps": 5, "sidecars": 7}},
        {"apiVersion": "tekton.dev/v1", "kind": "Task", "spec": {"steps": [{}], "sidecars": {}}},
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "spec": {"templates": [{"container": 5, "sidecars": 3}, {"containerSet": 9}, 7]},
        },
        {"apiVersion": "ray.io/v1", "kind": "RayJob", "spec": {"rayClusterSpec": 5}},
        {
            "apiVersion": "jobset.x-k8s.io/v1alpha2",
            "kind": "JobSet",
            "spec": {"replicatedJobs": [{"name": {"a": 1}}, None, 3]},
        },
        {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "spec": {"pytorchReplicaSpecs": 1}},
        {
            "apiVersion": "x/v1",
            "kind": "Odd",
            "spec": [[{"containers": "no"}], {"containers": [1]}],
        },
    ],
)
def test_malformed_custom_resources_are_skipped_without_an_error(tmp_path, obj):
    """Hostile or broken shapes in the pod template paths and views never raise: what is not
    a pod is not linted."""
    path = tmp_path / "odd.yaml"
    path.write_text(json.dumps(obj), encoding="utf-8")
    code, findings = lint_json(str(path), "--fail-on", "never")
    assert code == 0 and all(f["rule"] != "invalid-yaml" for f in findings)
