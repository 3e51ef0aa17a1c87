"""Known sidecars (`rules/sidecars.yaml` plus the user's config): match a container to one."""

from __future__ import annotations

import functools
import re
from fnmatch import fnmatchcase, translate

import yaml

from sidecarlint.functions import parse_version

CATEGORIES = (
    "mesh-proxy",
    "database-proxy",
    "storage",
    "secrets",
    "logs",
    "telemetry",
    "auth",
    "proxy",
)
# Sidecars an app cannot reach its network or its data without.
ACCESS_CATEGORIES = {"mesh-proxy", "database-proxy", "storage", "secrets", "proxy"}
ENTRY_KEYS = {
    "title",
    "category",
    "names",
    "images",
    "mesh_init",
    "startup_probe",
    "probe_note",
    "probe_requires",
    "quit",
    "stop",
    "inject",
    "workload",
}
# the lists of signals an injection entry reads on the pod (`namespace` is read on its Namespace)
POD_SIGNALS = ("enable", "disable", "native", "legacy")
INJECT_KEYS = {
    "mesh",
    "enable",
    "namespace",
    "disable",
    "native",
    "legacy",
    "native_fix",
    "native_default",
    "native_since",
    "native_shape",
    "native_switch",
    "selected_by",
    "charts",
    "namespace_gate",
    "disable_fix",
    "quit_fix",
}


class CatalogError(ValueError):
    pass


class Sidecar:
    """One entry of the catalogue (see rules/sidecars.yaml for the fields)."""

    def __init__(
        self,
        id: str,
        title: str,
        category: str,
        names: list[str] | None = None,
        images: list[str] | None = None,
        mesh_init: list[str] | None = None,
        startup_probe: dict | None = None,
        probe_note: str | None = None,
        quit: list[str] | None = None,
        stop: dict | None = None,
        inject: dict | None = None,
        workload: dict | None = None,
        probe_requires: list | None = None,
    ) -> None:
        self.id = id
        self.title = title
        self.category = category
        self.names = [] if names is None else names
        self.images = [] if images is None else images
        self.mesh_init = [] if mesh_init is None else mesh_init
        self.startup_probe = startup_probe
        self.probe_note = probe_note
        # what shows the container serves the probe (args or env), when the probe has a note
        self.probe_requires = [] if probe_requires is None else probe_requires
        self.quit = [] if quit is None else quit
        self.stop = {} if stop is None else stop
        self.inject = inject
        # Where this proxy is the pod's purpose, not a sidecar of it (see rules/sidecars.yaml)
        self.workload = {} if workload is None else workload
        # the pod label and annotation keys any injection signal of this mesh looks at
        self.signal_keys = frozenset(
            signal["key"] for group in POD_SIGNALS for signal in (inject or {}).get(group, [])
        )

    @property
    def provides_access(self) -> bool:
        return self.category in ACCESS_CATEGORIES

    def probe_serves(self, container: dict) -> bool:
        """Whether adding the catalogue's startup probe to `container` is safe: the probe
        needs nothing (no `probe_note`), or the container shows each `probe_requires` (a
        flag, with its value, in its args or command, or the env variable that sets it).
        A probe that a container does not serve would keep the pod from ever starting."""
        if not self.startup_probe:
            return False
        if not self.probe_note:
            return True
        if not self.probe_requires:
            return False
        words = [
            w for w in (container.get("command"), container.get("args")) if isinstance(w, list)
        ]
        flat = [str(w) for group in words for w in group]
        env = {
            e.get("name"): str(e.get("value"))
            for e in container.get("env") or []
            if isinstance(e, dict) and "value" in e
        }
        for need in self.probe_requires:
            flag, value = need["arg"], need.get("value")
            given = [
                w.partition("=")[2] if "=" in w else "true" for w in flat if w.split("=")[0] == flag
            ]
            if need.get("env") in env:
                given.append(env[need["env"]])
            wanted = value if value is not None else "true"
            if not any(g.strip('"').lower() == wanted for g in given):
                return False
        return True

    @functools.cached_property
    def probe_flow(self) -> str | None:
        """The startup probe to add, as one line of YAML flow style (`check --fix`)."""
        if not self.startup_probe:
            return None
        return yaml.safe_dump(
            self.startup_probe, default_flow_style=True, width=1000, sort_keys=False
        ).strip()

    @functools.cached_property
    def probe_hint(self) -> str:
        """The startup probe to suggest, as one line of YAML flow style (made when first
        asked for: yaml.safe_dump is slow)."""
        parts = []
        if self.startup_probe:
            probe = yaml.safe_dump(
                self.startup_probe, default_flow_style=True, width=1000, sort_keys=False
            )
            parts.append(f"add startupProbe: {probe.strip()}")
        if self.probe_note:
            parts.append(self.probe_note)
        return "; ".join(parts)


def image_repository(image: object) -> str:
    """`gcr.io/x/proxy:1.2@sha256:..` → `gcr.io/x/proxy` (lower case)."""
    if not isinstance(image, str):
        return ""
    text = image.split("@", 1)[0]
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text = text[:colon]
    return text.lower()


class _Globs:
    """Globs of all sidecars, indexed by their last segment (`*/proxyv2` under `proxyv2`), so
    that a name matching no sidecar, the usual case, costs one dict lookup; globs with a
    wildcard in the last segment are tried on every name. Each glob is compiled the first
    time it is tried: a one-file run tries a handful of the fifty."""

    def __init__(self, patterns_by_sidecar: list[list[str]]) -> None:
        self.literal: dict[str, list[tuple[int, str]]] = {}
        self.wild: list[tuple[int, str]] = []
        self.compiled: dict[str, re.Pattern] = {}
        for index, patterns in enumerate(patterns_by_sidecar):
            for pattern in patterns:
                last = pattern.rsplit("/", 1)[-1]
                if any(ch in last for ch in "*?["):
                    self.wild.append((index, pattern))
                else:
                    self.literal.setdefault(last, []).append((index, pattern))

    def _matches(self, pattern: str, text: str) -> bool:
        regex = self.compiled.get(pattern)
        if regex is None:
            regex = self.compiled[pattern] = re.compile(translate(pattern))
        return regex.match(text) is not None

    def first(self, text: str) -> int | None:
        """The index of the first sidecar (in catalogue order) with a glob matching `text`."""
        candidates = self.literal.get(text.rsplit("/", 1)[-1], [])
        found = [index for index, glob in candidates + self.wild if self._matches(glob, text)]
        return min(found) if found else None


class Catalog:
    """The known sidecars, built-in and the user's, and how to recognise them."""

    def __init__(self, sidecars: list[Sidecar]) -> None:
        self.sidecars = sidecars
        self._matches: dict = {}
        self._images = _Globs([s.images for s in sidecars])
        self._names = _Globs([s.names for s in sidecars])
        self._injectors = [s for s in sidecars if s.inject]

    def match(self, container: dict) -> Sidecar | None:
        """The sidecar a container is, by image first, then by name (remembered per pair)."""
        image = container.get("image")
        name = container.get("name")
        try:
            key = (image, name)
            return self._matches[key]
        except KeyError:
            result = self._match(image, name)
            if len(self._matches) > 4096:  # bounded: memory must not grow with the run
                self._matches.clear()
            self._matches[key] = result
            return result
        except TypeError:  # an unhashable image or name (a list, a mapping)
            return self._match(image, name)

    def _match(self, image: object, name: object) -> Sidecar | None:
        repo = image_repository(image)
        index = self._images.first(repo) if repo else None
        if index is None and isinstance(name, str):
            index = self._names.first(name)
        return None if index is None else self.sidecars[index]

    def injectors(self) -> list[Sidecar]:
        return self._injectors

    @functools.cached_property
    def selector_injectors(self) -> list[Sidecar]:
        """Sidecars an operator injects into the workloads an object selects."""
        return [s for s in self._injectors if (s.inject or {}).get("selected_by")]

    @functools.cached_property
    def pod_signal_keys(self) -> frozenset[str]:
        """Every pod label or annotation key an injector or a workload rule reads: a pod
        with none of them is injected, if at all, only because of its namespace."""
        keys = {key for sidecar in self._injectors for key in sidecar.signal_keys}
        for sidecar in self.sidecars:
            keys.update(signal["key"] for signal in sidecar.workload.get("signals", []))
        return frozenset(keys)

    @functools.cached_property
    def chart_meshes(self) -> dict[str, str]:
        """Helm chart name → the mesh whose version is that chart's version (`inject.charts`)."""
        return {
            chart: sidecar.inject["mesh"]
            for sidecar in self._injectors
            for chart in (sidecar.inject or {}).get("charts", [])
        }

    @functools.cached_property
    def _by_id(self) -> dict[str, Sidecar]:
        found: dict[str, Sidecar] = {}
        for sidecar in self.sidecars:  # the user's come first and win
            found.setdefault(sidecar.id, sidecar)
        return found

    def by_id(self, sidecar_id: str) -> Sidecar:
        """The entry with this id (the user's, when they redefine a built-in one)."""
        return self._by_id[sidecar_id]

    def is_workload(self, sidecar: Sidecar, container: dict, pod: dict, metadata: dict) -> bool:
        """Whether this sidecar is the pod's own workload here: a gateway or ingress data
        plane (a pod signal, the proxy's own arguments, or every other regular container one
        of its helpers), or a control-plane pod the mesh deliberately keeps legacy."""
        rule = sidecar.workload
        if not rule:
            return False
        maps = [metadata.get("labels"), metadata.get("annotations")]
        for wanted in rule.get("signals", []):
            for mapping in maps:
                if isinstance(mapping, dict) and wanted["key"] in mapping:
                    value = str(mapping[wanted["key"]])
                    if wanted.get("value") is None or wanted["value"] in value.split(","):
                        return True
        args = rule.get("args", [])
        if args:
            words = container.get("args")
            if isinstance(words, list) and any(str(w) in args for w in words):
                return True
        helpers = rule.get("helpers", [])
        if helpers:
            others = [  # the pod's long-running containers, but this one and other sidecars
                c
                for c in (pod.get("containers") or ())
                if isinstance(c, dict) and c is not container and self.match(c) is None
            ]
            if others and all(_is_helper(c, helpers) for c in others):
                return True
        return False

    def is_mesh_init(self, container: dict) -> bool:
        name = container.get("name")
        if not isinstance(name, str):
            return False
        return any(name in s.mesh_init for s in self.sidecars)


def _is_helper(container: dict, helpers: list[str]) -> bool:
    """A container that is one of a proxy's own helpers, by name or image repository glob."""
    name = container.get("name")
    repo = image_repository(container.get("image"))
    return any(
        (isinstance(name, str) and fnmatchcase(name, glob)) or (repo and fnmatchcase(repo, glob))
        for glob in helpers
    )


def _entry(sidecar_id: str, raw: object, where: str) -> Sidecar:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: sidecars.{sidecar_id}: must be a mapping")
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise CatalogError(f"{where}: sidecars.{sidecar_id}: unknown key {sorted(unknown)[0]!r}")
    category = raw.get("category")
    if category not in CATEGORIES:
        raise CatalogError(
            f"{where}: sidecars.{sidecar_id}.category: must be one of {', '.join(CATEGORIES)}"
        )
    for key in ("names", "images", "mesh_init", "quit"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CatalogError(f"{where}: sidecars.{sidecar_id}.{key}: must be a list of strings")
    if not raw.get("names") and not raw.get("images"):
        raise CatalogError(f"{where}: sidecars.{sidecar_id}: needs names or images to match")
    stop = raw.get("stop") or {}
    if not isinstance(stop, dict):
        raise CatalogError(f"{where}: sidecars.{sidecar_id}.stop: must be a mapping")
    seconds = stop.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise CatalogError(f"{where}: sidecars.{sidecar_id}.stop.seconds: must be a number >= 0")
    inject = raw.get("inject")
    if inject is not None:
        if not isinstance(inject, dict) or not isinstance(inject.get("mesh"), str):
            raise CatalogError(f"{where}: sidecars.{sidecar_id}.inject: needs a mesh: name")
        for key in inject:
            if key not in INJECT_KEYS:
                raise CatalogError(f"{where}: sidecars.{sidecar_id}.inject.{key}: unknown key")
        since = inject.get("native_since")
        if since is not None and (
            not isinstance(since, dict)
            or parse_version(since.get("version")) is None
            or parse_version(since.get("kube")) is None
        ):
            raise CatalogError(
                f'{where}: sidecars.{sidecar_id}.inject.native_since: must be {{version: "1.27", '
                'kube: "1.33"}'
            )
        switch = inject.get("native_switch")
        if switch is not None and not (
            isinstance(switch, dict)
            and set(switch) == {"key", "value"}
            and all(isinstance(v, str) and v and "\n" not in v for v in switch.values())
        ):
            raise CatalogError(
                f"{where}: sidecars.{sidecar_id}.inject.native_switch: must be {{key, value}}"
            )
        selected = inject.get("selected_by")
        if selected is not None and not (
            isinstance(selected, dict) and isinstance(selected.get("kind"), str)
        ):
            raise CatalogError(f"{where}: sidecars.{sidecar_id}.inject.selected_by: needs a kind")
        charts = inject.get("charts", [])
        if not isinstance(charts, list) or not all(isinstance(c, str) for c in charts):
            raise CatalogError(f"{where}: sidecars.{sidecar_id}.inject.charts: must be chart names")
        shape = inject.get("native_shape")
        if shape is not None and not (
            isinstance(shape, dict)
            and set(shape)
            <= {"position", "stop_seconds", "stop_note", "startup_gate", "startup_fix"}
            and shape.get("startup_gate", True) in (True, False)
            and (shape.get("startup_gate", True) or isinstance(shape.get("startup_fix"), str))
            and shape.get("position", "last") in ("first", "last")
            and (
                "stop_seconds" not in shape
                or (
                    isinstance(shape["stop_seconds"], (int, float))
                    and not isinstance(shape["stop_seconds"], bool)
                    and 0 <= shape["stop_seconds"] < 1e9
                    and isinstance(shape.get("stop_note"), str)
                )
            )
        ):
            raise CatalogError(
                f"{where}: sidecars.{sidecar_id}.inject.native_shape: must be {{position: first or "
                "last, stop_seconds: N, stop_note: why, startup_gate: false, startup_fix: advice}}"
            )
        gate = inject.get("namespace_gate")
        if gate is not None and not (
            isinstance(gate, dict) and isinstance(gate.get("key"), str) and "value" in gate
        ):
            raise CatalogError(
                f"{where}: sidecars.{sidecar_id}.inject.namespace_gate: must be {{key, value}}"
            )
        for key in ("namespace", *POD_SIGNALS):
            signals = inject.get(key, [])
            if not isinstance(signals, list) or not all(
                isinstance(x, dict)
                and isinstance(x.get("key"), str)
                and x.get("from") in (None, "labels", "annotations")
                for x in signals
            ):
                raise CatalogError(
                    f"{where}: sidecars.{sidecar_id}.inject.{key}: must be a list of {{key, value}}"
                )
    probe = raw.get("startup_probe")
    if probe is not None and not isinstance(probe, dict):
        raise CatalogError(f"{where}: sidecars.{sidecar_id}.startup_probe: must be a mapping")
    return Sidecar(
        id=sidecar_id,
        title=str(raw.get("title") or sidecar_id),
        category=category,
        names=list(raw.get("names", [])),
        images=[p.lower() for p in raw.get("images", [])],
        mesh_init=list(raw.get("mesh_init", [])),
        startup_probe=probe,
        probe_note=raw.get("probe_note"),
        quit=list(raw.get("quit", [])),
        stop=dict(stop),
        inject=inject,
        workload=_workload(raw.get("workload"), f"{where}: sidecars.{sidecar_id}.workload"),
        probe_requires=_requirements(raw.get("probe_requires"), f"{where}: sidecars.{sidecar_id}"),
    )


def _requirements(raw: object, where: str) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(
        isinstance(item, dict)
        and set(item) <= {"arg", "value", "env"}
        and isinstance(item.get("arg"), str)
        and all(isinstance(v, str) for v in item.values())
        for item in raw
    ):
        raise CatalogError(f"{where}.probe_requires: must be a list of {{arg, value, env}}")
    return raw


def _workload(raw: object, where: str) -> dict:
    """`workload: {signals: [{key, value}], args: [...], helpers: [globs]}`, validated."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(raw) - {"signals", "args", "helpers"}:
        raise CatalogError(f"{where}: must be a mapping of signals, args and helpers")
    signals = raw.get("signals", [])
    if not isinstance(signals, list) or not all(
        isinstance(x, dict) and isinstance(x.get("key"), str) for x in signals
    ):
        raise CatalogError(f"{where}.signals: must be a list of {{key, value}}")
    for key in ("args", "helpers"):
        items = raw.get(key, [])
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise CatalogError(f"{where}.{key}: must be a list of strings")
    return {key: list(raw.get(key, [])) for key in ("signals", "args", "helpers")}


def parse_entries(raw: object, where: str) -> list[Sidecar]:
    """Validate a `sidecars:` mapping (from the catalogue file or a config file)."""
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: sidecars: must be a mapping of id to entry")
    return [_entry(str(key), value, where) for key, value in raw.items()]


_builtin: list[Sidecar] | None = None


def builtin() -> list[Sidecar]:
    global _builtin
    if _builtin is None:
        from sidecarlint import builtin_rules as files

        data = files.load().get("sidecars.yaml") or {}
        _builtin = parse_entries(data.get("sidecars"), "sidecars.yaml")
    return _builtin


def load(extra: list[Sidecar] | None = None) -> Catalog:
    """The built-in catalogue, with the user's entries first (they win on a match)."""
    return Catalog([*(extra or []), *builtin()])
