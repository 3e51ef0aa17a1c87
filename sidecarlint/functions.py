"""Custom JMESPath functions the rule files may call.

One `RuleFunctions` object is made per rule and run, so `param('name')` reads that rule's
parameters and `kube_at_least('1.29')` the run's target Kubernetes version.
"""

from __future__ import annotations

from jmespath import functions

from sidecarlint.workloads import containers


def parse_version(text: object) -> tuple[int, int] | None:
    """'1.29', 'v1.29.3' → (1, 29); None when it is not a version."""
    if isinstance(text, float):
        text = f"{text}"
    if not isinstance(text, str):
        return None
    parts = text.strip().lstrip("vV").split(".")
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    minor = "".join(ch for ch in parts[1] if ch.isdigit())
    if not minor:
        return None
    return int(parts[0]), int(minor)


class RuleFunctions(functions.Functions):
    def __init__(self, params: dict, kube: tuple[int, int], catalog) -> None:
        super().__init__()
        self.params = params
        self.kube = kube
        self.catalog = catalog

    @functions.signature({"types": ["string"]})
    def _func_param(self, name):
        return self.params.get(name)

    @functions.signature({"types": ["string"]})
    def _func_kube_at_least(self, version):
        wanted = parse_version(version)
        return wanted is not None and self.kube >= wanted

    @functions.signature()
    def _func_kube_version(self):
        return f"{self.kube[0]}.{self.kube[1]}"

    @functions.signature({"types": []})
    def _func_all_containers(self, pod):
        """initContainers, containers and ephemeralContainers that are mappings."""
        if not isinstance(pod, dict):
            return []
        return [
            *containers(pod, "initContainers"),
            *containers(pod, "containers"),
            *containers(pod, "ephemeralContainers"),
        ]

    @functions.signature({"types": []})
    def _func_sidecar_probe_hint(self, container):
        """The catalogue's startup probe suggestion for a known sidecar, else null."""
        if not isinstance(container, dict):
            return None
        sidecar = self.catalog.match(container)
        if sidecar is None:
            return None
        hint = sidecar.probe_hint
        return f"{sidecar.title}: {hint}" if hint else None

    @functions.signature({"types": []})
    def _func_sidecar_id(self, container):
        """The catalogue id of a known sidecar, else null."""
        if not isinstance(container, dict):
            return None
        sidecar = self.catalog.match(container)
        return sidecar.id if sidecar else None


FUNCTION_NAMES = frozenset(
    name[len("_func_") :] for name in dir(RuleFunctions) if name.startswith("_func_")
)
