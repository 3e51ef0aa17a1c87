"""Hostile input, generated: random text through the loader, and random values in every
pod-spec field through every rule. Nothing may raise, and the JSON and SARIF stay valid.
(Seeded and bounded: see the "fixed" hypothesis profile in conftest.py.)"""

from __future__ import annotations

import json
import os

import pytest
import yaml
from conftest import CORPUS, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecarlint.loader import load_bytes, load_text

SCHEMA = CORPUS.parent / "sarif" / "sarif-schema-2.1.0.json"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "Always",
            "Never",
            "OnFailure",
            "sleep 5",
            "1m30s",
            "istio-proxy",
            "docker.io/istio/proxyv2:1.24",
            "-1",
            "forever",
            "{{ x }}",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=12), inner, max_size=4),
    ),
    max_leaves=12,
)
CONTAINER_FIELDS = [
    "name",
    "image",
    "restartPolicy",
    "command",
    "args",
    "env",
    "lifecycle",
    "startupProbe",
    "livenessProbe",
    "readinessProbe",
    "resources",
]
POD_FIELDS = [
    "containers",
    "initContainers",
    "terminationGracePeriodSeconds",
    "restartPolicy",
    "hostNetwork",
    "ephemeralContainers",
]


@st.composite
def containers(draw):
    container = {"name": "c", "image": "docker.io/istio/proxyv2:1.24"}
    for key in draw(st.lists(st.sampled_from(CONTAINER_FIELDS), max_size=5, unique=True)):
        container[key] = draw(values)
    if draw(st.booleans()):
        container["lifecycle"] = {
            "preStop": {draw(st.sampled_from(["sleep", "exec", "httpGet"])): draw(values)}
        }
    return container


@st.composite
def manifests(draw):
    pod = {
        "initContainers": draw(st.lists(containers(), max_size=3)),
        "containers": draw(st.lists(containers(), min_size=1, max_size=3)),
    }
    for key in draw(st.lists(st.sampled_from(POD_FIELDS), max_size=3, unique=True)):
        pod[key] = draw(values)
    metadata = {"name": draw(values), "annotations": draw(values), "labels": draw(values)}
    kind = draw(st.sampled_from(["Pod", "Deployment", "Job", "CronJob", "List"]))
    if kind == "Pod":
        obj = {"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": pod}
    elif kind == "CronJob":
        obj = {
            "apiVersion": "batch/v1",
            "kind": kind,
            "metadata": metadata,
            "spec": {"jobTemplate": {"spec": {"template": {"metadata": metadata, "spec": pod}}}},
        }
    elif kind == "List":
        obj = {
            "apiVersion": "v1",
            "kind": kind,
            "items": [
                {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod},
                draw(values),
            ],
        }
    else:
        obj = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": metadata,
            "spec": {"template": {"metadata": metadata, "spec": pod}},
        }
    return yaml.safe_dump(obj, allow_unicode=True)


@given(st.text(max_size=400))
def test_loader_never_raises_on_text(text):
    loaded = load_text("fuzz.yaml", text)
    for problem in loaded.problems:
        assert problem.line >= 1 and problem.column >= 1 and problem.message


@given(st.binary(max_size=400))
def test_loader_never_raises_on_bytes(data):
    load_bytes("fuzz.yaml", data)


YAMLISH = st.lists(
    st.sampled_from(
        [
            "a:",
            " - ",
            "b: *x",
            "&x ",
            "{",
            "}",
            "[",
            "]",
            "<<: ",
            "\n",
            "  ",
            "---\n",
            "? ",
            "!!int ",
            "'q",
            '"',
            "#",
            "{{ .x }}",
            ": ",
            "- -",
            "\t",
        ]
    ),
    max_size=40,
).map("".join)


@given(YAMLISH)
def test_loader_never_raises_on_yaml_shaped_noise(text):
    load_text("noise.yaml", text)


@pytest.mark.parametrize("output", ["json", "sarif"])
@given(manifest=manifests())
def test_every_rule_survives_random_pod_specs(output, manifest):
    code, out, err = run_cli(
        "check",
        "-",
        "--format",
        output,
        "--fail-on",
        "info",
        "--show-suppressed",
        input=manifest.encode(),
    )
    assert code in (0, 1, 2), err
    document = json.loads(out)
    if output == "sarif":
        assert isinstance(document["runs"][0]["results"], list)
        if SCHEMA.exists():
            import jsonschema

            jsonschema.validate(document, json.loads(SCHEMA.read_text()))


@settings(max_examples=60, deadline=None)
@given(manifest=manifests())
def test_fixes_survive_random_pod_specs(manifest):
    """`--diff` on a file of random pod specs: no traceback, and a diff that applies the
    edits to that file only (what --fix would write)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "pod.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(manifest)
        code, out, err = run_cli("check", path, "--diff")
        assert code in (0, 1, 2), err
        assert "Traceback" not in out + err
        assert all(
            line.startswith(("--- a/", "+++ b/")) and line.endswith("pod.yaml")
            for line in out.splitlines()
            if line.startswith(("--- ", "+++ "))
        )
