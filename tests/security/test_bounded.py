"""Bounded on any input: each pathological file is linted in linear time and bounded memory
(the run is limited to 1 GiB and two minutes), with a finding where the input is bad."""

from __future__ import annotations

import json

import pytest
from hostile import pod, sidecarlint


def _findings(result) -> list[dict]:
    return json.loads(result.stdout)["findings"]


def test_alias_bomb(tmp_path):
    lines = ["a0: &a0 [{name: x, image: y}, {name: x, image: y}]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 40)]
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: bomb}\nspec:\n  containers: *a39\n"
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n" + pod)
    result = sidecarlint("check", ".", "--format", "json", cwd=tmp_path)
    assert [f["rule"] for f in _findings(result)] == ["invalid-yaml"]
    assert result.returncode == 2


@pytest.mark.parametrize(
    "value", ["1.0e+400", ".inf", "-.inf", ".nan", "123456789012345678901234567890"]
)
def test_numbers_out_of_range(tmp_path, value):
    pod = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: numbers
  annotations:
    sidecarlint.io/stop-seconds: "{value.lstrip(".-")}"
    config.linkerd.io/shutdown-grace-period: "{value.lstrip(".-")}s"
spec:
  terminationGracePeriodSeconds: {value}
  initContainers:
    - name: istio-proxy
      image: docker.io/istio/proxyv2:1.24.0
      restartPolicy: Always
      lifecycle:
        preStop:
          sleep: {{seconds: {value}}}
  containers:
    - name: app
      image: example.com/app:1
      lifecycle:
        preStop:
          sleep: {{seconds: {value}}}
"""
    (tmp_path / "pod.yaml").write_text(pod)
    result = sidecarlint("check", ".", "--format", "json", cwd=tmp_path)
    rules = {f["rule"] for f in _findings(result)}
    assert "invalid-number" in rules
    assert "grace-period-too-short" not in rules  # never a budget computed with infinities


def test_deep_nesting_everywhere(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    proxy_config = "{a: " * 3000 + "1" + "}" * 3000
    (tmp_path / "deep.yaml").write_text(f"kind: Pod\nspec: {deep}\n")
    (tmp_path / "annotation.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        f"    proxy.istio.io/config: '{proxy_config}'\n"
        "spec:\n  containers:\n    - {name: istio-proxy, image: docker.io/istio/proxyv2:1.24.0}\n"
        "    - {name: app, image: a}\n"
    )
    result = sidecarlint("check", ".", "--format", "json", cwd=tmp_path)
    found = [(f["rule"], f["path"]) for f in _findings(result)]
    assert ("invalid-yaml", "deep.yaml") in found
    assert result.returncode == 2


def test_many_source_sections_and_ignore_comments(tmp_path):
    with open(tmp_path / "rendered.yaml", "w") as out:
        for index in range(9000):
            out.write(f"---\n# Source: chart/templates/t{index}.yaml\n" + pod(f"p{index}"))
    with open(tmp_path / "ignores.yaml", "w") as out:
        out.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n")
        for index in range(30000):
            out.write(f"  # sidecarlint: ignore[grace-period-too-short] because {index}\n")
            out.write(f"  k{index}: v\n")
    result = sidecarlint("check", ".", "--format", "json", cwd=tmp_path)
    findings = _findings(result)
    assert len([f for f in findings if f["path"] == "rendered.yaml"]) == 9000
    assert len([f for f in findings if f["rule"] == "unused-suppression"]) == 30000


def test_a_pod_of_thirty_thousand_init_containers(tmp_path):
    with open(tmp_path / "inits.yaml", "w") as out:
        out.write("apiVersion: v1\nkind: Pod\nmetadata: {name: many}\nspec:\n  initContainers:\n")
        for index in range(15000):
            out.write(f"    - {{name: init{index}, image: busybox}}\n")
        for index in range(15000):
            out.write(
                f"    - {{name: proxy{index}, image: docker.io/istio/proxyv2:1.24.0, "
                "restartPolicy: Always, lifecycle: {preStop: {sleep: {seconds: 1}}}}\n"
            )
        out.write("  containers: [{name: app, image: a}]\n")
    result = sidecarlint("check", ".", "--format", "json", cwd=tmp_path)
    findings = _findings(result)
    before = [f for f in findings if f["rule"] == "init-container-before-sidecar"]
    assert len(before) == 15000
    assert max(len(f["message"]) for f in findings) < 2000  # long lists are counted, not listed


def test_file_size_limit_is_validated_and_never_allocated(tmp_path):
    (tmp_path / ".sidecarlint.yaml").write_text("max_file_bytes: 100000000000000\n")
    (tmp_path / "pod.yaml").write_text(pod())
    assert sidecarlint("check", ".", cwd=tmp_path).returncode == 2  # a config error
    (tmp_path / ".sidecarlint.yaml").write_text("max_file_bytes: 1000000000\n")  # 1 GB: valid
    result = sidecarlint("check", ".", "--format", "json", cwd=tmp_path)  # under a 1 GiB cap
    assert [f["rule"] for f in _findings(result)] == ["native-sidecar-without-startup-probe"]
