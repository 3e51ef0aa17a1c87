"""Pathological inputs for the benchmark: each one file of a megabyte or more, so that its
time per MB can be set beside the normal corpus's. A hostile repository can hold any of them;
none may be more than ten times slower per MB than ordinary manifests."""

from __future__ import annotations

import os

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  annotations: {{sidecarlint.io/stop-seconds: "{stop}"}}
spec:
  terminationGracePeriodSeconds: {grace}
  initContainers:
    - name: istio-proxy
      image: docker.io/istio/proxyv2:1.24.0
      restartPolicy: Always
      lifecycle: {{preStop: {{sleep: {{seconds: {grace}}}}}}}
  containers: [{{name: app, image: example.com/app:1}}]
"""


def _alias_bomb(out) -> None:
    for doc in range(1000):
        lines = ["a0: &a0 [{name: x, image: y}, {name: x, image: y}]"]
        lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 40)]
        out.write("---\n" + "\n".join(lines) + f"\nkind: Pod\nmetadata: {{name: b{doc}}}\n")
        out.write("spec: {containers: *a39}\n")


def _numbers(out) -> None:
    values = ["1.0e+400", ".inf", ".nan", "123456789012345678901234567890", "-9" * 20]
    for index in range(6000):
        value = values[index % len(values)]
        out.write("---\n" + POD.format(name=f"n{index}", stop=value.strip(".-"), grace=value))


def _deep_nesting(out) -> None:
    from sidecarlint.loader import MAX_DEPTH

    depth = MAX_DEPTH - 2  # as deep as the loader accepts: the worst case it parses
    for _ in range(1_000_000 // (2 * depth + 20)):
        out.write("---\nkind: Pod\nspec: " + "[" * depth + "]" * depth + "\n")


def _source_sections(out) -> None:
    for index in range(6000):
        out.write(f"---\n# Source: chart/templates/t{index}.yaml\n")
        out.write(POD.format(name=f"s{index}", stop="5", grace="30"))


def _ignore_comments(out) -> None:
    out.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n")
    for index in range(30000):
        out.write(
            f"  # sidecarlint: ignore[grace-period-too-short] reason {index}\n  k{index}: v\n"
        )


def _init_containers(out) -> None:
    out.write("apiVersion: v1\nkind: Pod\nmetadata: {name: many}\nspec:\n  initContainers:\n")
    for index in range(15000):
        out.write(f"    - {{name: init{index}, image: busybox}}\n")
    for index in range(15000):
        out.write(
            f"    - {{name: proxy{index}, image: docker.io/istio/proxyv2:1.24.0, "
            "restartPolicy: Always}\n"
        )
    out.write("  containers: [{name: app, image: example.com/app:1}]\n")


def _control_characters(out) -> None:
    name = '"web\\n::error file=a,line=1::forged\\u001b[31m\\r\\n%0A"'
    for index in range(6000):
        out.write("---\n" + POD.format(name=name, stop=str(index % 40), grace="30"))


def _kustomize_resources(out) -> None:
    out.write("resources:\n")
    for index in range(30000):
        out.write(f"  - https://example.com/r{index}.yaml\n")


INPUTS = {
    "alias bomb": _alias_bomb,
    "numbers out of range": _numbers,
    "nesting as deep as allowed": _deep_nesting,
    "6,000 # Source: sections": _source_sections,
    "30,000 ignore comments": _ignore_comments,
    "30,000 init containers": _init_containers,
    "names with control characters": _control_characters,
    "30,000 remote kustomize resources": _kustomize_resources,
}
# Inputs that are a folder: their file is written under this name inside it.
FOLDERS = {"30,000 remote kustomize resources": "kustomization.yaml"}


def write_pathological(folder: str) -> dict[str, str]:
    """Write each input into `folder` (once); name → path."""
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for name, write in INPUTS.items():
        slug = name.replace(" ", "-").replace(",", "").replace("#", "")
        if name in FOLDERS:
            paths[name] = os.path.join(folder, slug)
            os.makedirs(paths[name], exist_ok=True)
            path = os.path.join(paths[name], FOLDERS[name])
        else:
            path = paths[name] = os.path.join(folder, slug + ".yaml")
        if not os.path.exists(path):
            with open(path, "w", encoding="utf-8") as out:
                write(out)
    return paths
