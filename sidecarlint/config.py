"""`.sidecarlint.yaml` or `[tool.sidecarlint]` in pyproject.toml: validated settings.

Looked up from the current directory upwards, unless `--config FILE` names one. Every
problem is a `ConfigError` whose message names the file and the key.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any, NamedTuple

import yaml

from sidecarlint.findings import FAIL_ON, SEVERITIES
from sidecarlint.functions import parse_version

CONFIG_NAMES = (".sidecarlint.yaml", ".sidecarlint.yml")
DEFAULT_KUBE_VERSION = (1, 33)
KEYS = {
    "kube_version",
    "fail_on",
    "select",
    "disable",
    "severity",
    "params",
    "exclude",
    "rule_dirs",
    "max_file_bytes",
    "sidecars",
    "mesh",
    "allow_remote",
    "require_render",
    "default_namespace",
    "workloads",
    "charts",
}


class ConfigError(ValueError):
    pass


class ChartSettings(NamedTuple):
    """How one chart is rendered (`charts:` in config): its values files (absolute), `--set`
    assignments, release namespace and the Kubernetes version Helm renders for."""

    values: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    namespace: str | None = None
    kube_version: tuple[int, int] | None = None


CHART_KEYS = {"values", "set", "namespace", "kube_version"}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ASSIGNMENT = re.compile(r"^[A-Za-z0-9_][^=\s]*=")


class Config:
    def __init__(
        self,
        path: str | None = None,
        kube_version: tuple[int, int] | None = None,
        fail_on: str | None = None,
        select: list[str] | None = None,
        disable: list[str] | None = None,
        severity: dict[str, str] | None = None,
        params: dict[str, dict[str, Any]] | None = None,
        exclude: list[str] | None = None,
        rule_dirs: list[str] | None = None,
        max_file_bytes: int | None = None,
        sidecars: list | None = None,
        mesh: dict[str, Any] | None = None,
        allow_remote: bool = False,
        require_render: bool = False,
        default_namespace: str | None = None,
        workloads: list | None = None,
        charts: dict | None = None,
    ) -> None:
        self.path = path
        self.kube_version = kube_version
        self.fail_on = fail_on
        self.select = [] if select is None else select
        self.disable = [] if disable is None else disable
        self.severity = {} if severity is None else severity
        self.params = {} if params is None else params
        self.exclude = [] if exclude is None else exclude
        self.rule_dirs = [] if rule_dirs is None else rule_dirs
        self.max_file_bytes = max_file_bytes
        self.sidecars = [] if sidecars is None else sidecars
        self.mesh = {} if mesh is None else mesh
        self.allow_remote = allow_remote  # kustomize may fetch remote resources
        self.require_render = require_render  # a chart or overlay not rendered is an error
        self.default_namespace = default_namespace  # of objects that name none
        self.workloads = [] if workloads is None else workloads  # kinds, as rules/workloads.yaml
        # chart folder (real path) → how to render it: ChartSettings
        self.charts: dict[str, ChartSettings] = {} if charts is None else charts


def find_config(start: str) -> str | None:
    """The nearest `.sidecarlint.yaml`, or pyproject.toml with [tool.sidecarlint], upwards."""
    directory = os.path.abspath(start)
    while True:
        for name in CONFIG_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate) and _pyproject_section(candidate) is not None:
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


@functools.lru_cache(maxsize=8)
def _pyproject_section(path: str) -> dict | None:
    """[tool.sidecarlint] of a pyproject.toml (read once: finding and loading both ask)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply") from None
    section = data.get("tool", {}).get("sidecarlint")
    return section if isinstance(section, dict) else None


def _raw(path: str) -> dict:
    if path.endswith(".toml"):
        section = _pyproject_section(path)
        if section is None:
            raise ConfigError(f"{path}: has no [tool.sidecarlint] section")
        # TOML keys are often written with dashes
        return {str(k).replace("-", "_"): v for k, v in section.items()}
    from sidecarlint.loader import YAML_LOADER  # libyaml: fast, and bounds nesting

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=YAML_LOADER)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except RecursionError:  # the pure-Python loader, without libyaml
        raise ConfigError(f"{path}: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise ConfigError(f"{path}: {where}: not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of settings")
    return data


def _string_list(path: str, key: str, value: object) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key}: must be a list of strings")
    return list(value)


OLDEST_KUBE = (1, 16)  # older targets are typos (1.3 for 1.30), not clusters to lint for
NEWEST_KUBE = (1, 40)  # a bound on versions Kubernetes may have by the time this is used


def parse_kube_version(text: object, where: str) -> tuple[int, int]:
    """'1.30', 'v1.30.2' → (1, 30), for versions Kubernetes has had or may soon have."""
    version = parse_version(text)
    if version is None:
        raise ConfigError(f"{where}: not a Kubernetes version (expected e.g. 1.29): {text!r}")
    if not OLDEST_KUBE <= version <= NEWEST_KUBE:
        hint = ""
        if version[0] == 1 and version[1] < 10:
            hint = f" (did you mean 1.{version[1]}0?)"
        raise ConfigError(
            f"{where}: {text!r} is not a Kubernetes version sidecarlint can target "
            f"(1.{OLDEST_KUBE[1]} to 1.{NEWEST_KUBE[1]}){hint}"
        )
    return version


def _raw_kube_version(path: str) -> tuple[object, int | None]:
    """kube_version exactly as written in the file, and its line: YAML and TOML read 1.30
    unquoted as the number 1.3, which is not what anyone meant."""
    import re

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return None, None
    if path.endswith(".toml"):
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            section = tomllib.loads(text, parse_float=str).get("tool", {}).get("sidecarlint", {})
        except (tomllib.TOMLDecodeError, RecursionError):
            return None, None
        value = section.get("kube_version", section.get("kube-version"))
        pattern = r"(?m)^\s*kube[-_]version\s*="
    else:
        try:
            data = yaml.load(text, Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
        except (yaml.YAMLError, RecursionError):
            return None, None
        value = data.get("kube_version") if isinstance(data, dict) else None
        pattern = r"(?m)^kube_version\s*:"
    match = re.search(pattern, text)
    return value, (text.count("\n", 0, match.start()) + 1 if match else None)


def load_config(path: str) -> Config:
    data = _raw(path)
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: {unknown[0]}: unknown setting (expected one of {', '.join(sorted(KEYS))})"
        )
    config = Config(path=path)
    base = os.path.dirname(os.path.abspath(path))
    if data.get("kube_version") is not None:
        raw, line = _raw_kube_version(path)
        where = f"{path}:{line}: kube_version" if line else f"{path}: kube_version"
        value = raw if isinstance(raw, str) else data["kube_version"]
        config.kube_version = parse_kube_version(value, where)
    if data.get("fail_on") is not None:
        if data["fail_on"] not in FAIL_ON:
            raise ConfigError(f"{path}: fail_on: must be one of {', '.join(FAIL_ON)}")
        config.fail_on = data["fail_on"]
    config.select = _string_list(path, "select", data.get("select", []))
    config.disable = _string_list(path, "disable", data.get("disable", []))
    config.exclude = _string_list(path, "exclude", data.get("exclude", []))
    config.rule_dirs = [
        os.path.join(base, d) for d in _string_list(path, "rule_dirs", data.get("rule_dirs", []))
    ]
    severity = data.get("severity") or {}
    if not isinstance(severity, dict):
        raise ConfigError(f"{path}: severity: must map rule ids to {', '.join(SEVERITIES)}")
    for rule_id, level in severity.items():
        if level not in SEVERITIES:
            raise ConfigError(f"{path}: severity.{rule_id}: must be one of {', '.join(SEVERITIES)}")
    config.severity = {str(k): v for k, v in severity.items()}
    params = data.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, dict) for v in params.values()):
        raise ConfigError(f"{path}: params: must map rule ids to {{param: value}}")
    config.params = {str(k): dict(v) for k, v in params.items()}
    size = data.get("max_file_bytes")
    if size is not None:
        from sidecarlint.loader import MAX_FILE_BYTES_LIMIT

        if (
            isinstance(size, bool)
            or not isinstance(size, int)
            or not 0 < size <= MAX_FILE_BYTES_LIMIT
        ):
            raise ConfigError(
                f"{path}: max_file_bytes: must be a whole number of bytes from 1 to "
                f"{MAX_FILE_BYTES_LIMIT} (1 GiB)"
            )
        config.max_file_bytes = size
    if data.get("sidecars") is not None:
        from sidecarlint.catalog import CatalogError, parse_entries

        try:
            config.sidecars = parse_entries(data["sidecars"], path)
        except CatalogError as exc:
            raise ConfigError(str(exc)) from None
    config.mesh = _mesh(path, data.get("mesh") or {}, config.sidecars)
    if data.get("charts") is not None:
        config.charts = _charts(path, base, data["charts"])
    if data.get("workloads") is not None:
        from sidecarlint.workloads import WorkloadError, parse_kinds

        try:
            config.workloads = parse_kinds(data["workloads"], path)
        except WorkloadError as exc:
            raise ConfigError(str(exc)) from None
    for key in ("allow_remote", "require_render"):
        if not isinstance(data.get(key, False), bool):
            raise ConfigError(f"{path}: {key}: must be true or false")
    namespace = data.get("default_namespace")
    if namespace is not None and (not isinstance(namespace, str) or not namespace.strip()):
        raise ConfigError(f"{path}: default_namespace: must be a namespace name")
    config.default_namespace = namespace
    config.allow_remote = data.get("allow_remote", False)
    config.require_render = data.get("require_render", False)
    return config


def _charts(path: str, base: str, raw: object) -> dict[str, ChartSettings]:
    """charts: {charts/payments: {values: [...], set: [...], namespace: x, kube_version: "1.31"}},
    every path relative to the config file and inside its folder."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: charts: must map chart folders to their settings")
    found = {}
    for folder, settings in raw.items():
        where = f"{path}: charts.{folder}"
        if not isinstance(folder, str) or not folder.strip():
            raise ConfigError(f"{path}: charts: a chart folder must be a path")
        if settings is None:
            settings = {}
        if not isinstance(settings, dict) or set(settings) - CHART_KEYS:
            raise ConfigError(f"{where}: must be a mapping of {', '.join(sorted(CHART_KEYS))}")
        chart = os.path.realpath(os.path.join(base, folder))
        values = []
        for item in _string_list(path, f"charts.{folder}.values", settings.get("values", [])):
            file = os.path.realpath(os.path.join(base, item))
            if os.path.commonpath([file, os.path.realpath(base)]) != os.path.realpath(base):
                raise ConfigError(f"{where}.values: {item} is outside the config's folder")
            values.append(file)
        sets = _string_list(path, f"charts.{folder}.set", settings.get("set", []))
        for item in sets:
            if not _ASSIGNMENT.match(item):
                raise ConfigError(f"{where}.set: {item!r} must be key=value")
        namespace = settings.get("namespace")
        if namespace is not None and (
            not isinstance(namespace, str) or not _DNS_LABEL.match(namespace)
        ):
            raise ConfigError(f"{where}.namespace: must be a namespace name (a DNS label)")
        kube = settings.get("kube_version")
        if kube is not None and not isinstance(kube, str):
            raise ConfigError(
                f'{where}.kube_version: write it in quotes, such as "1.31" (unquoted, 1.30 '
                "would be read as the number 1.3)"
            )
        version = parse_kube_version(kube, f"{where}.kube_version") if kube else None
        found[chart] = ChartSettings(tuple(values), tuple(sets), namespace, version)
    return found


def _mesh(path: str, mesh: object, sidecars: list) -> dict:
    """mesh: {istio: {native: true}, namespaces: {payments: {istio-injection: enabled}}}.
    The meshes are those the catalogue (and the config's own sidecars) can inject."""
    if not isinstance(mesh, dict):
        raise ConfigError(f"{path}: mesh: must be a mapping")
    if set(mesh) - {"namespaces"}:
        from sidecarlint.catalog import builtin

        meshes = sorted({s.inject["mesh"] for s in [*sidecars, *builtin()] if s.inject})
    for key, value in mesh.items():
        if key == "namespaces":
            if not isinstance(value, dict) or not all(
                isinstance(v, dict) and all(isinstance(x, (str, bool)) for x in v.values())
                for v in value.values()
            ):
                raise ConfigError(
                    f"{path}: mesh.namespaces: must map namespace names to their labels "
                    "and annotations (for example payments: {istio-injection: enabled})"
                )
        elif key in meshes:
            if not isinstance(value, dict) or set(value) - {"native", "version"}:
                raise ConfigError(
                    f'{path}: mesh.{key}: must be {{native: true|false, version: "1.28"}}'
                )
            if not isinstance(value.get("native", False), bool):
                raise ConfigError(f"{path}: mesh.{key}.native: must be true or false")
            version = value.get("version")
            if version is not None and (
                not isinstance(version, str) or parse_version(version) is None
            ):
                raise ConfigError(
                    f"{path}: mesh.{key}.version: must be a version in quotes, such as "
                    f'"1.28" (unquoted, 1.30 would be read as the number 1.3)'
                )
        else:
            raise ConfigError(
                f"{path}: mesh.{key}: unknown mesh (expected one of {', '.join(meshes)}, "
                "namespaces)"
            )
    return {str(k): v for k, v in mesh.items()}


def validate_against_rules(config: Config, rules: list) -> None:
    """Rule ids and params named in config must exist, with values of the declared type."""
    from sidecarlint.rules import check_param_type

    by_id = {rule.id: rule for rule in rules}
    where = config.path or "config"
    for key, ids in (
        ("select", config.select),
        ("disable", config.disable),
        ("severity", list(config.severity)),
        ("params", list(config.params)),
    ):
        for rule_id in ids:
            if rule_id not in by_id:
                raise ConfigError(f"{where}: {key}: unknown rule {rule_id!r}")
    for rule_id, values in config.params.items():
        declared = by_id[rule_id].params
        for name, value in values.items():
            if name not in declared:
                raise ConfigError(f"{where}: params.{rule_id}.{name}: the rule has no such param")
            if not check_param_type(value, declared[name].type):
                raise ConfigError(
                    f"{where}: params.{rule_id}.{name}: must be of type {declared[name].type}"
                )
