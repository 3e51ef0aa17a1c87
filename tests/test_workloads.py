"""Where the pod spec lives for each kind."""

from __future__ import annotations

import pytest

from sidecarlint.workloads import find_workloads, grace_period

POD_SPEC = {"containers": [{"name": "app", "image": "x"}]}
TEMPLATE = {"metadata": {"labels": {"a": "b"}}, "spec": POD_SPEC}


API_VERSIONS = {
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "ReplicationController": "v1",
    "Job": "batch/v1",
}


@pytest.mark.parametrize(
    "kind", ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"]
)
def test_spec_template_kinds(kind):
    obj = {
        "apiVersion": API_VERSIONS[kind],
        "kind": kind,
        "metadata": {"name": "n"},
        "spec": {"template": TEMPLATE},
    }
    [workload] = find_workloads(obj)
    assert workload.pod is POD_SPEC and workload.pod_metadata == {"labels": {"a": "b"}}
    assert workload.runs_to_completion is (kind == "Job") and workload.known


def test_cronjob_pod_template_and_podtemplate():
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "spec": {"jobTemplate": {"spec": {"template": TEMPLATE}}},
    }
    assert [w.pod for w in find_workloads(cron)] == [POD_SPEC]
    assert next(iter(find_workloads(cron))).runs_to_completion
    podtemplate = {"apiVersion": "v1", "kind": "PodTemplate", "template": TEMPLATE}
    assert [w.pod for w in find_workloads(podtemplate)] == [POD_SPEC]


def test_pods_run_to_completion_only_with_never_or_on_failure():
    for policy, expected in (
        ("Never", True),
        ("OnFailure", True),
        ("Always", False),
        (None, False),
    ):
        spec = dict(POD_SPEC, restartPolicy=policy)
        [w] = find_workloads({"apiVersion": "v1", "kind": "Pod", "spec": spec})
        assert w.runs_to_completion is expected


def test_lists_and_custom_resources():
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "spec": {"template": TEMPLATE},
    }
    knative = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "spec": {"template": TEMPLATE},
    }
    core = {"apiVersion": "v1", "kind": "Service", "spec": {"template": TEMPLATE}}
    listing = {"apiVersion": "v1", "kind": "List", "items": [rollout, knative, core]}
    assert [w.kind for w in find_workloads(listing)] == ["Rollout", "Service"]
    dlist = {
        "apiVersion": "apps/v1",
        "kind": "DeploymentList",
        "items": [{"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": TEMPLATE}}],
    }
    assert [w.kind for w in find_workloads(dlist)] == ["Deployment"]


def test_analysis_template_job_metric_runs_to_completion():
    analysis = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "smoke"},
        "spec": {
            "metrics": [{"name": "job", "provider": {"job": {"spec": {"template": TEMPLATE}}}}]
        },
    }
    [w] = find_workloads(analysis)
    assert w.runs_to_completion and (w.name, w.label) == ("smoke", "job")
    assert w.pod_path == "spec.metrics[0].provider.job.spec.template.spec"


def test_not_workloads():
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "data": {"pod.yaml": "kind: Pod"},
        "spec": {"template": TEMPLATE},
    }
    values = {"kind": "DaemonSet", "spec": {"template": TEMPLATE}}  # Helm values: no apiVersion
    broken = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": "not a list"}}
    for obj in (configmap, values, broken, None, "text", [1, 2]):
        assert list(find_workloads(obj)) == []


def test_grace_period_default_and_garbage():
    assert grace_period({}) == 30
    assert grace_period({"terminationGracePeriodSeconds": 5}) == 5
    assert grace_period({"terminationGracePeriodSeconds": "5"}) is None
