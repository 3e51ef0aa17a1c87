"""Documents → workloads: where the pod specs live in each kind of object.

The kinds are data (`rules/workloads.yaml`, and `workloads:` in config): an API group and
kind, the paths of their pod templates, and whether their pods run to completion. An object
of a kind not listed is searched for pod specs at any depth; those are linted with the
startup and shutdown rules only (`Workload.known` is False) and reported as
`unknown-workload`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

INT64 = 2**63
# The rule that reports, while reading, an object of a kind the table does not know (as the
# loader reports invalid-yaml): the engine makes the finding, its wording is the rule file's.
UNKNOWN_KIND_RULE = "unknown-workload"
UNLESS_RESTART_ALWAYS = "unless-restart-always"
MAX_SEARCH_DEPTH = 64  # how deep an unknown object is searched for pod specs
MAX_SEARCH_NODES = 100_000  # and how many of its mappings and lists, at most


class WorkloadError(ValueError):
    """A workload kind that is not well formed; the message names the file and the key."""


class PodPath(NamedTuple):
    """Where one kind holds pod templates (see rules/workloads.yaml for the fields)."""

    text: str  # as written: spec.replicatedJobs[*].template.spec.template
    steps: tuple[str, ...]  # keys, with "[*]" for every list item and "*" for every value
    label: str | None = None
    runs_to_completion: bool | str | None = None  # None: the kind's
    view: str | None = None


class WorkloadKind(NamedTuple):
    groups: tuple[str, ...]
    kind: str
    pods: tuple[PodPath, ...]
    runs_to_completion: bool | str = False
    stopped_by: str | None = None
    source: str | None = None


class Workload:
    """One pod spec and the object around it."""

    def __init__(
        self,
        obj: dict,
        kind: str,
        name: str | None,
        namespace: str | None,
        pod: dict,
        pod_metadata: dict,
        runs_to_completion: bool,
        memo: dict | None = None,
        label: str | None = None,
        pod_path: str | None = None,
        stopped_by: str | None = None,
        known: bool = True,
        anchor: object = None,
    ) -> None:
        self.obj = obj
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.pod = pod
        self.pod_metadata = pod_metadata
        self.runs_to_completion = runs_to_completion
        # What several checks derive from the same container (its shutdown model), kept once.
        self.memo = {} if memo is None else memo
        self.label = label  # which pod of the object: "submitter", "Worker", a replica's name
        self.pod_path = pod_path  # where its pod spec is: spec.replicatedJobs[1].template...
        self.stopped_by = stopped_by  # the engine that stops its sidecars, if any
        self.known = known  # False: found by searching an object of an unknown kind
        # Where to report a finding whose node was made, not read (a view's pod): the node
        # the pod template's path reaches.
        self.anchor = anchor
        # Part of a pod, not a whole one (a kustomize patch): a field it leaves out is
        # unchanged, not missing.
        self.partial = False

    @property
    def job_rules_apply(self) -> bool:
        """Its pod must finish on its own: a sidecar left running keeps it from completing."""
        return self.runs_to_completion and self.stopped_by is None

    @property
    def shown_path(self) -> str | None:
        """Its pod spec's path, for output; None for the one pod of a core kind."""
        if self.known and self.label is None and self.pod_path in PLAIN_PATHS:
            return None
        return self.pod_path

    @property
    def description(self) -> str:
        """How messages name it: `Job`, or `RayJob's submitter pod (spec.submitterPod...)`."""
        return describe(self.kind, self.label, self.shown_path)


def describe(kind: str, label: str | None, path: str | None) -> str:
    if path is None:
        return kind
    return f"{kind}'s {label + ' ' if label else ''}pod ({path})"


# Where the core kinds keep their pod spec: output need not say it.
PLAIN_PATHS = {"spec", "spec.template.spec", "template.spec", "spec.jobTemplate.spec.template.spec"}


# --- the kinds table -------------------------------------------------------------------

_STEP = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*(?:\[\*\])?|\*)$")
_KIND_KEYS = {"group", "kind", "pods", "runs_to_completion", "stopped_by", "source"}
_POD_KEYS = {"path", "label", "runs_to_completion", "view"}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_path(text: object, where: str) -> tuple[str, ...]:
    """`spec.tasks[*].template` → ("spec", "tasks", "[*]", "template"); "@" → ()."""
    if not isinstance(text, str) or not text:
        raise WorkloadError(f"{where}: must be a field path such as spec.template")
    if text == "@":
        return ()
    steps: list[str] = []
    for part in text.split("."):
        if not _STEP.match(part):
            raise WorkloadError(
                f"{where}: {text!r}: each step must be a field name, name[*] (every item of a "
                "list) or * (every value of a mapping)"
            )
        if part.endswith("[*]"):
            steps += [part[:-3], "[*]"]
        else:
            steps.append(part)
    return tuple(steps)


def _completion(value: object, where: str) -> bool | str:
    if isinstance(value, bool) or value == UNLESS_RESTART_ALWAYS:
        return value  # type: ignore[return-value]
    raise WorkloadError(f"{where}: must be true, false or {UNLESS_RESTART_ALWAYS}")


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WorkloadError(f"{where}: must be a non-empty string")
    return value


def _known_keys(raw: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(map(str, set(raw) - allowed))
    if unknown:
        raise WorkloadError(
            f"{where}.{unknown[0]}: unknown key (expected {', '.join(sorted(allowed))})"
        )


def _pod_path(raw: object, where: str) -> PodPath:
    if not isinstance(raw, dict):
        raise WorkloadError(f"{where}: must be a mapping with a path")
    _known_keys(raw, _POD_KEYS, where)
    steps = parse_path(raw.get("path"), f"{where}.path")
    label = raw.get("label")
    if label is not None:
        label = _text(label, f"{where}.label")
    completion = raw.get("runs_to_completion")
    if completion is not None:
        completion = _completion(completion, f"{where}.runs_to_completion")
    view = raw.get("view")
    if view is not None and view not in VIEWS:
        raise WorkloadError(f"{where}.view: must be one of {', '.join(sorted(VIEWS))}")
    return PodPath(raw["path"], steps, label, completion, view)


def parse_kinds(raw: object, where: str) -> list[WorkloadKind]:
    """Validate a list of workload kinds (from rules/workloads.yaml or a config file)."""
    if not isinstance(raw, list):
        raise WorkloadError(f"{where}: workloads: must be a list of kinds")
    kinds = []
    for index, entry in enumerate(raw):
        at = f"{where}: workloads[{index}]"
        if not isinstance(entry, dict):
            raise WorkloadError(f"{at}: must be a mapping with group, kind and pods")
        _known_keys(entry, _KIND_KEYS, at)
        groups = entry.get("group")
        groups = [groups] if isinstance(groups, str) else groups
        if (
            not isinstance(groups, list)
            or not groups
            or not all(isinstance(g, str) for g in groups)
        ):
            raise WorkloadError(
                f'{at}.group: must be an API group or a list of them ("" for the core group)'
            )
        kind = _text(entry.get("kind"), f"{at}.kind")
        pods = entry.get("pods")
        if not isinstance(pods, list):
            raise WorkloadError(f"{at}.pods: must be a list of pod template paths ([] for none)")
        stopped_by = entry.get("stopped_by")
        if stopped_by is not None:
            stopped_by = _text(stopped_by, f"{at}.stopped_by")
        source = entry.get("source")
        kinds.append(
            WorkloadKind(
                tuple(groups),
                kind,
                tuple(_pod_path(pod, f"{at}.pods[{i}]") for i, pod in enumerate(pods)),
                _completion(entry.get("runs_to_completion", False), f"{at}.runs_to_completion"),
                stopped_by,
                source if isinstance(source, str) else None,
            )
        )
    return kinds


class Kinds:
    """The workload kinds of a run, looked up by (API group, kind); the user's win."""

    def __init__(self, kinds: list[WorkloadKind]) -> None:
        self.by_key: dict[tuple[str, str], WorkloadKind] = {}
        for entry in kinds:
            for group in entry.groups:
                self.by_key.setdefault((group, entry.kind), entry)

    def get(self, api_version: str, kind: str) -> WorkloadKind | None:
        return self.by_key.get((group_of(api_version), kind))

    def groups_of(self, kind: str) -> list[str]:
        """The API groups that serve a kind of this name ("Pod": [""])."""
        return [group for group, name in self.by_key if name == kind]


def group_of(api_version: str) -> str:
    """`apps/v1` → apps; `v1` → "" (the core group)."""
    return api_version.rpartition("/")[0]


_builtin: list[WorkloadKind] | None = None


def builtin() -> list[WorkloadKind]:
    global _builtin
    if _builtin is None:
        from sidecarlint import builtin_rules as files

        data = files.load().get("workloads.yaml") or {}
        _builtin = parse_kinds(data.get("kinds"), "workloads.yaml")
    return _builtin


def load(extra: list[WorkloadKind] | None = None) -> Kinds:
    """The built-in kinds, with the user's first (they win for the same group and kind)."""
    return Kinds([*(extra or []), *builtin()])


_default: Kinds | None = None


def default_kinds() -> Kinds:
    global _default
    if _default is None:
        _default = load()
    return _default


# --- views: pods an engine assembles from fields of its own ------------------------------


def _argo_template(node: dict) -> tuple[dict, dict, str | None] | None:
    """An Argo Workflows template that runs a pod: its `container` or `script` is the main
    container, `sidecars` are added to the pod's containers and `initContainers` to its init
    containers; `containerSet` lists the containers itself."""
    main = node.get("container") or node.get("script")
    regular: list = []
    if isinstance(main, dict):
        regular.append(main)
    elif isinstance(dig(node, "containerSet", "containers"), list):
        regular.extend(node["containerSet"]["containers"])
    else:
        return None  # steps, dag, resource, suspend...: no pod of its own
    if isinstance(node.get("sidecars"), list):
        regular.extend(node["sidecars"])
    pod: dict = {"containers": regular}
    if isinstance(node.get("initContainers"), list):
        pod["initContainers"] = node["initContainers"]
    return pod, _dict(node.get("metadata")), None


def _tekton_task(node: dict) -> tuple[dict, dict, str | None] | None:
    """A Tekton task spec: its steps and sidecars become the pod's containers."""
    steps, sidecars = node.get("steps"), node.get("sidecars")
    if not isinstance(steps, list) or not steps:
        return None
    regular = [*steps, *(sidecars if isinstance(sidecars, list) else ())]
    return {"containers": regular}, {}, None


def _ray_default_submitter(node: dict) -> tuple[dict, dict, str | None] | None:
    """A RayJob spec without `submitterPodTemplate`, submitted in K8sJobMode (the default):
    KubeRay runs the submission as a Job of its own making, one container
    `ray-job-submitter` with the head's image, restartPolicy Never, and no labels or
    annotations of the user's, so only the namespace decides whether a mesh injects it
    (ray-project/kuberay v1.7.0-rc.0 ray-operator/controllers/ray/common/job.go
    GetSubmitterTemplate, GetDefaultSubmitterContainer)."""
    if node.get("submitterPodTemplate") is not None:
        return None  # linted as it is written
    if node.get("submissionMode") not in (None, "K8sJobMode"):
        return None  # HTTP, interactive and sidecar modes make no submitter Job
    head = dig(node, "rayClusterSpec", "headGroupSpec", "template", "spec", "containers")
    image = (
        head[0].get("image")
        if isinstance(head, list) and head and isinstance(head[0], dict)
        else None
    )
    container = {"name": "ray-job-submitter", "image": image if isinstance(image, str) else "?"}
    return {"restartPolicy": "Never", "containers": [container]}, {}, "submitterPodTemplate.spec"


# A view: the node a path reaches → (pod spec, pod metadata, where under the node the pod is
# or would be written, for output: None for the node itself), or None when it holds no pod.
View = Callable[[dict], tuple[dict, dict, str | None] | None]
VIEWS: dict[str, View] = {
    "argo-template": _argo_template,
    "tekton-task": _tekton_task,
    "ray-default-submitter": _ray_default_submitter,
}


# --- finding the workloads ---------------------------------------------------------------


def dig(node: object, *path: str) -> Any:
    """node[path[0]][path[1]]..., or None where a step is missing or not a mapping."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _dict(node: object) -> dict:
    return node if isinstance(node, dict) else {}


def as_text(value: object) -> str | None:
    """A scalar from the manifest as text (a name may be written as a number); None stays."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def is_kubernetes_object(data: object) -> bool:
    """A mapping with string `apiVersion` and `kind` (Helm values and compose files are not)."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("apiVersion"), str)
        and isinstance(data.get("kind"), str)
    )


def _is_pod_spec(spec: object) -> bool:
    return isinstance(spec, dict) and isinstance(spec.get("containers"), list)


def _looks_like_pod_spec(node: dict) -> bool:
    """What a search of an unknown object takes for a pod spec: `containers`, a non-empty
    list of mappings that each have a `name` and an `image` (a patch that names containers
    without images is not a pod)."""
    items = node.get("containers")
    return (
        isinstance(items, list)
        and bool(items)
        and all(isinstance(c, dict) and "name" in c and "image" in c for c in items)
    )


def _expand(node: object, steps: tuple[str, ...]) -> Iterator[tuple[object, str, dict]]:
    """Every node a path reaches: (node, its concrete path, the last wildcard's bindings)."""
    frontier: list[tuple[object, str, dict]] = [(node, "", {})]
    for step in steps:
        following = []
        for current, path, binding in frontier:
            if step == "[*]":
                if isinstance(current, list):
                    for index, item in enumerate(current):
                        found = dict(item) if isinstance(item, dict) else {}
                        found["#"] = f"#{index}"
                        following.append((item, f"{path}[{index}]", found))
            elif step == "*":
                if isinstance(current, dict):
                    for key, value in current.items():
                        text = as_text(key) or ""
                        following.append((value, _join(path, text), {"key": text}))
            elif isinstance(current, dict) and step in current:
                following.append((current[step], _join(path, step), binding))
        frontier = following
    return iter(frontier)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _label(template: str | None, binding: dict) -> str | None:
    """A pod's label from its path's `label` and the last wildcard's item or key."""
    if template is None:
        if not binding:
            return None
        for key in ("key", "name", "groupName"):
            value = binding.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return str(value)
        return binding.get("#")

    def fill(match: re.Match) -> str:
        value = binding.get(match.group(1))
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        return binding.get("#", "?")

    return _PLACEHOLDER.sub(fill, template)


def find_workloads(data: object, kinds: Kinds | None = None, _depth: int = 0) -> Iterator[Workload]:
    """Yield every pod spec in one document (a List's items included)."""
    if not is_kubernetes_object(data):
        return
    assert isinstance(data, dict)
    kind = data["kind"]
    if kind == "List" or (kind.endswith("List") and isinstance(data.get("items"), list)):
        if _depth < 4:
            for item in data.get("items") or ():
                yield from find_workloads(item, kinds, _depth + 1)
        return
    kinds = kinds or default_kinds()
    metadata = _dict(data.get("metadata"))
    name = as_text(metadata.get("name"))
    namespace = as_text(metadata.get("namespace"))
    entry = kinds.get(data["apiVersion"], kind)
    if entry is None:
        yield from _search(data, kind, name, namespace)
        return
    seen: set[int] = set()
    for pod_path in entry.pods:
        for node, path, binding in _expand(data, pod_path.steps):
            if not isinstance(node, dict) or id(node) in seen:
                continue
            seen.add(id(node))
            if pod_path.view is not None:
                made = VIEWS[pod_path.view](node)
                if made is None:
                    continue
                spec, pod_metadata, under = made
                spec_path = _join(path, under) if under else path or "@"
            else:
                spec = node.get("spec")
                if not _is_pod_spec(spec):
                    continue
                pod_metadata = _dict(node.get("metadata"))
                spec_path = _join(path, "spec")
            completion = pod_path.runs_to_completion
            if completion is None:
                completion = entry.runs_to_completion
            if completion == UNLESS_RESTART_ALWAYS:
                completion = spec.get("restartPolicy") in ("Never", "OnFailure")
            yield Workload(
                data,
                kind,
                name,
                namespace,
                spec,
                pod_metadata,
                bool(completion),
                label=_label(pod_path.label, binding),
                pod_path=spec_path,
                stopped_by=entry.stopped_by,
                anchor=node,
            )


def _search(data: dict, kind: str, name: str | None, namespace: str | None) -> Iterator[Workload]:
    """The pod specs of an object of an unknown kind, at any depth; none is assumed to run
    to completion. The search is bounded in depth and size and never enters a pod spec it
    found or a node it has seen (an alias repeats a node)."""
    seen: set[int] = set()
    stack: list[tuple[object, str, object, int]] = [(data, "", None, 0)]
    budget = MAX_SEARCH_NODES
    found = []  # in the object's own order: children are stacked last to first
    while stack and budget > 0:
        node, path, parent, depth = stack.pop()
        if id(node) in seen or depth > MAX_SEARCH_DEPTH:
            continue
        seen.add(id(node))
        budget -= 1
        if isinstance(node, dict):
            if node is not data and _looks_like_pod_spec(node):
                found.append((path, node, parent))
                continue
            stack.extend(
                (value, _join(path, as_text(key) or ""), node, depth + 1)
                for key, value in reversed(node.items())
                if isinstance(value, (dict, list)) and not (node is data and key == "metadata")
            )
        elif isinstance(node, list):
            stack.extend(
                (node[index], f"{path}[{index}]", node, depth + 1)
                for index in range(len(node) - 1, -1, -1)
                if isinstance(node[index], (dict, list))
            )
    for path, spec, parent in found:
        template = parent if isinstance(parent, dict) and parent.get("spec") is spec else {}
        yield Workload(
            data,
            kind,
            name,
            namespace,
            spec,
            _dict(template.get("metadata")),
            False,
            pod_path=path,
            known=False,
        )


def containers(pod: dict, key: str = "containers") -> list[dict]:
    """The well-formed entries of `pod[key]`; anything that is not a mapping is ignored."""
    items = pod.get(key)
    if not isinstance(items, list):
        return []
    return [c for c in items if isinstance(c, dict)]


def command_words(container: dict) -> list[str]:
    """The words of a container's `command` then `args`, as strings."""
    words: list[str] = []
    for key in ("command", "args"):
        value = container.get(key)
        if isinstance(value, list):
            words.extend(str(word) for word in value)
    return words


def env_value(items: object, name: str) -> object:
    """The value of `name` in an env list (`[{name, value}, ...]`), None when it is absent;
    the last entry wins, as in the container."""
    found = None
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and item.get("name") == name:
                found = item.get("value")
    return found


def is_native_sidecar(container: dict) -> bool:
    return container.get("restartPolicy") == "Always"


def grace_period(pod: dict) -> int | None:
    """`terminationGracePeriodSeconds`, 30 when absent; None when it is not a number."""
    value = pod.get("terminationGracePeriodSeconds", 30)
    if value is None:
        return 30
    if isinstance(value, bool) or not isinstance(value, int) or not -INT64 <= value < INT64:
        return None  # not a number the API accepts: invalid-number reports it
    return value
