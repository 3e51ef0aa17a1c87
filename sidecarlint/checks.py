"""Named Python checks, for rules that JMESPath cannot express readably.

A check is `check(workload, env) -> Iterator[Hit]`; rule files name it with `check:`. The
engine, suppressions and reporters treat its hits exactly like those of a `find:` rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml

from sidecarlint import shutdown
from sidecarlint.catalog import Catalog
from sidecarlint.rules import NO_CONTAINER, Hit
from sidecarlint.shutdown import Estimate, Member, seconds_text
from sidecarlint.workloads import (
    Workload,
    command_words,
    containers,
    dig,
    grace_period,
    is_native_sidecar,
)

NETWORK_CATEGORIES = {"mesh-proxy", "proxy", "database-proxy"}


class Env:
    """What a check may read besides the workload: its params and the run's settings."""

    def __init__(
        self,
        params: dict[str, Any],
        kube: tuple[int, int],
        catalog: Catalog,
        settings: Any = None,
    ) -> None:
        self.params = params
        self.kube = kube
        self.catalog = catalog
        self.settings = settings


def _name(container: dict) -> str:
    name = container.get("name")
    return name if isinstance(name, str) else "?"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def init_container_before_sidecar(workload: Workload, env: Env) -> Iterator[Hit]:
    """A regular init container declared before native sidecars that give network/data access."""
    inits = containers(workload.pod, "initContainers")
    for index, container in enumerate(inits):
        if is_native_sidecar(container) or env.catalog.is_mesh_init(container):
            continue
        later = []
        for sidecar_container in inits[index + 1 :]:
            sidecar = (
                env.catalog.match(sidecar_container)
                if is_native_sidecar(sidecar_container)
                else None
            )
            if sidecar is not None and sidecar.provides_access:
                later.append(f"'{_name(sidecar_container)}' ({sidecar.title})")
        if later:
            yield Hit(
                container,
                f"init container '{_name(container)}' runs before the native sidecar"
                f"{'s' if len(later) > 1 else ''} {' and '.join(later)} start, so it has no "
                "mesh, database or storage access through them; declare it after them if it "
                "needs them",
            )


def invalid_probe(workload: Workload, env: Env) -> Iterator[Hit]:
    """Probe settings the API server rejects."""
    pod = workload.pod
    for container in [*containers(pod, "initContainers"), *containers(pod, "containers")]:
        for kind in ("startupProbe", "livenessProbe"):
            probe = container.get(kind)
            if not isinstance(probe, dict):
                continue
            threshold = probe.get("successThreshold")
            if threshold is not None and threshold != 1:
                yield Hit(
                    probe,
                    f"{kind} of '{_name(container)}' has successThreshold {threshold!r}; the API "
                    f"server requires 1 for startup and liveness probes (omit it)",
                    "successThreshold",
                    owner=container,
                )
        readiness = container.get("readinessProbe")
        if isinstance(readiness, dict) and "terminationGracePeriodSeconds" in readiness:
            yield Hit(
                readiness,
                f"readinessProbe of '{_name(container)}' sets terminationGracePeriodSeconds, "
                "which the API server rejects for readiness probes (it only applies to "
                "liveness and startup probes)",
                "terminationGracePeriodSeconds",
                owner=container,
            )


def prestop_sleep_exceeds_grace(workload: Workload, env: Env) -> Iterator[Hit]:
    """`preStop.sleep.seconds` above terminationGracePeriodSeconds: the API server rejects it."""
    pod = workload.pod
    grace = grace_period(pod)
    if grace is None:
        return
    for container in [*containers(pod, "initContainers"), *containers(pod, "containers")]:
        sleep = dig(container, "lifecycle", "preStop", "sleep")
        seconds = sleep.get("seconds") if isinstance(sleep, dict) else None
        if _is_number(seconds) and seconds > grace:
            where = "" if "terminationGracePeriodSeconds" in pod else " (the default)"
            yield Hit(
                sleep,
                f"preStop sleep of '{_name(container)}' is {seconds}s, longer than "
                f"terminationGracePeriodSeconds {grace}s{where}: the API server rejects it; "
                f"set terminationGracePeriodSeconds to at least {seconds} plus the time the "
                "container needs to stop",
                "seconds",
                owner=container,
            )


def native_sidecar_unsupported(workload: Workload, env: Env) -> Iterator[Hit]:
    """Native sidecars while the target Kubernetes version is older than 1.29."""
    if _natives_apply(env):
        return
    version = f"{env.kube[0]}.{env.kube[1]}"
    for container in containers(workload.pod, "initContainers"):
        if not is_native_sidecar(container):
            continue
        if env.kube == (1, 28):
            yield Hit(
                container,
                f"native sidecar '{_name(container)}' on Kubernetes 1.28: the SidecarContainers "
                "feature is alpha and off by default, and even when enabled sidecars are not "
                "stopped after the app; target 1.29 or later, or keep the sidecar in containers",
                "restartPolicy",
                "warning",
            )
        else:
            yield Hit(
                container,
                f"native sidecar '{_name(container)}' needs Kubernetes 1.29 or later: on "
                f"{version} restartPolicy on an init container is dropped or rejected, so it "
                "runs as a regular init container that never completes and the pod stays in Init",
                "restartPolicy",
            )


# ---------------------------------------------------------------------------------------
# Shutdown (semantics.md §5): the containers as members of the termination model


def _annotations(workload: Workload) -> dict:
    annotations = workload.pod_metadata.get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def _istio_proxy_config(annotations: dict) -> dict | None:
    raw = annotations.get("proxy.istio.io/config")
    if not isinstance(raw, str):
        return None
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return None
    return value if isinstance(value, dict) else None


def _member(container: dict, workload: Workload, env: Env) -> Member:
    key = ("member", id(container), env.params.get("app_stop_seconds"))
    member = workload.memo.get(key)
    if member is None:
        member = workload.memo[key] = _new_member(container, workload, env)
    return member


def _new_member(container: dict, workload: Workload, env: Env) -> Member:
    annotations = _annotations(workload)
    name = _name(container)
    sidecar = env.catalog.match(container)
    if sidecar is not None:
        proxy_config = (
            _istio_proxy_config(annotations) if sidecar.stop.get("model") == "istio" else None
        )
        stop = shutdown.sidecar_stop_seconds(container, sidecar.stop, annotations, proxy_config)
    else:
        declared = shutdown.declared_stop_seconds(annotations, name)
        app_default = env.params.get("app_stop_seconds") or 0
        if declared is not None:
            stop = declared
        elif app_default > 0:
            stop = Estimate(float(app_default), True, [f"stop {app_default:g}s (app_stop_seconds)"])
        else:
            stop = Estimate(0.0, False)
    return Member(name, shutdown.prestop_seconds(container), stop)


def _natives_apply(env: Env) -> bool:
    """Ordered termination of native sidecars exists from Kubernetes 1.29."""
    return env.kube >= (1, 29)


def grace_period_too_short(workload: Workload, env: Env) -> Iterator[Hit]:
    pod = workload.pod
    grace = grace_period(pod)
    if grace is None or grace <= 0:
        return
    mains = [_member(c, workload, env) for c in containers(pod, "containers")]
    natives = [
        _member(c, workload, env) for c in containers(pod, "initContainers") if is_native_sidecar(c)
    ]
    if natives and _natives_apply(env):
        budget = shutdown.native_budget(mains, natives)
    else:
        budget = shutdown.parallel_budget(mains + natives)
    if budget.need <= grace:
        return
    margin = env.params.get("margin_seconds", 5)
    suggest = math.ceil(budget.need) + margin
    default = "" if "terminationGracePeriodSeconds" in pod else " (the default)"
    bound = "" if budget.exact else "at least "
    yield Hit(
        pod,
        f"needs {bound}{seconds_text(budget.need)}: {', '.join(budget.steps)}; "
        f"terminationGracePeriodSeconds is {grace}s{default}: containers still stopping are "
        f"killed; set terminationGracePeriodSeconds to {suggest} or more",
        "terminationGracePeriodSeconds",
    )


def proxy_exits_before_app(workload: Workload, env: Env) -> Iterator[Hit]:
    """A proxy that stops in parallel with the app and is gone before the app is done."""
    pod = workload.pod
    candidates = list(containers(pod, "containers"))
    if not _natives_apply(env):
        candidates += [c for c in containers(pod, "initContainers") if is_native_sidecar(c)]
    proxies = []
    apps = []
    for container in candidates:
        sidecar = env.catalog.match(container)
        if sidecar is None:
            apps.append(container)
        elif sidecar.category in NETWORK_CATEGORIES:
            proxies.append((container, sidecar))
    if not apps:
        return
    app_members = [_member(c, workload, env) for c in apps]
    slowest = max(app_members, key=lambda m: m.total.seconds)
    for container, sidecar in proxies:
        proxy = _member(container, workload, env)
        if not proxy.total.exact or proxy.total.seconds >= slowest.total.seconds:
            continue
        parts = ", ".join(proxy.total.parts) or "at once"
        app_parts = ", ".join(slowest.total.parts)
        fix = (
            "move it to initContainers with restartPolicy: Always (a native sidecar stops "
            "after the app)"
            if _natives_apply(env)
            else "make its drain at least as long as the app's shutdown"
        )
        yield Hit(
            container,
            f"{sidecar.title} '{proxy.name}' is gone {seconds_text(proxy.total.seconds)} after "
            f"the pod starts terminating [{parts}] but '{slowest.name}' needs "
            f"{seconds_text(slowest.total.seconds)} [{app_parts}]: the app loses its "
            f"{sidecar.category.replace('-', ' ')} while "
            f"still shutting down; {fix}, or raise the proxy's drain to "
            f"{seconds_text(slowest.total.seconds)}",
        )


def sidecar_prestop_stops_sidecar(workload: Workload, env: Env) -> Iterator[Hit]:
    if not _natives_apply(env):
        return
    for container in containers(workload.pod, "initContainers"):
        if not is_native_sidecar(container):
            continue
        action = shutdown.stops_itself(container)
        if action:
            yield Hit(
                container,
                f"the preStop hook of native sidecar '{_name(container)}' stops it "
                f"({action}) as soon as the pod starts terminating, while the app is still "
                "shutting down and may need it; native sidecars get SIGTERM only after the app "
                "has exited, so remove the hook (or make it only start a drain)",
                "lifecycle.preStop",
            )


# ---------------------------------------------------------------------------------------
# Run-to-completion pods


def _command_text(items: list[dict]) -> str:
    return " ".join(word for container in items for word in command_words(container))


def _move_to_native(sidecar, name: str) -> str:
    """The migration, with the catalogue's startup probe when the sidecar is known."""
    hint = sidecar.probe_hint if sidecar else ""
    return f"move '{name}' to initContainers with restartPolicy: Always" + (
        f" ({hint})" if hint else ""
    )


def _fix_native(sidecar, name: str) -> str:
    return _move_to_native(sidecar, name) + (
        "; a native sidecar is stopped once the job's containers finish"
    )


_NEVER_EXITS = (
    r"\btail\s+(?:-\w*\s+)*-\w*[fF]|\bsleep\s+infinity\b|\bwhile\s+(?:true|:)\s*;?\s*do\b"
)


def _never_exits(container: dict) -> str | None:
    """A command that visibly runs forever (`tail -F`, `sleep infinity`, `while true`)."""
    match = re.search(_NEVER_EXITS, _command_text([container]))
    return match.group(0) if match else None


def job_legacy_sidecar(workload: Workload, env: Env) -> Iterator[Hit]:
    if not workload.runs_to_completion:
        return
    regular = containers(workload.pod, "containers")
    matched = [(c, env.catalog.match(c)) for c in regular]
    helpers = {
        id(c): reason
        for c, s in matched
        if s is None and len(regular) > 1 and (reason := _never_exits(c))
    }
    apps = [
        c
        for c, s in matched
        if s is None and c.get("restartPolicy") != "Always" and id(c) not in helpers
    ]
    if not apps:
        return
    app_text = _command_text(apps)
    for container, sidecar in matched:
        name = _name(container)
        if sidecar is None and id(container) in helpers:
            yield Hit(
                container,
                f"container '{name}' runs '{helpers[id(container)]}', which never exits: as a "
                f"helper in containers of a {workload.kind} it keeps the pod from completing; "
                + (
                    _fix_native(None, name)
                    if _natives_apply(env)
                    else "have the main container stop it when done"
                ),
            )
            continue
        if sidecar is None:
            if container.get("restartPolicy") != "Always":
                continue
            fix = (
                _fix_native(None, name)
                if _natives_apply(env)
                else "on Kubernetes older than 1.29 have the main container stop it when done"
            )
            yield Hit(
                container,
                f"container '{name}' has restartPolicy: Always in a {workload.kind}: that does "
                "not make it a sidecar (only init containers with restartPolicy: Always are), "
                f"it is restarted whenever it exits and the pod never completes; {fix}",
                "restartPolicy",
            )
            continue
        seen = [q for q in sidecar.quit if q in app_text]
        quit_hint = ""
        if sidecar.quit:
            quit_hint = f"; or have the job stop it ({', '.join(sidecar.quit)})"
        if _natives_apply(env):
            fix = _fix_native(sidecar, name) + quit_hint
        else:
            fix = (
                "native sidecars need Kubernetes 1.29+; have the job stop it when it finishes "
                f"({', '.join(sidecar.quit) or 'kill it from the main container'})"
            )
        if seen:
            better = f"; {_fix_native(sidecar, name)}" if _natives_apply(env) else ""
            yield Hit(
                container,
                f"{sidecar.title} '{name}' runs in containers of a {workload.kind}; the job "
                f"stops it itself (saw {seen[0]!r}), which works only if every exit path of "
                f"the job calls it{better}",
                None,
                "warning",
            )
        else:
            yield Hit(
                container,
                f"{sidecar.title} '{name}' runs in containers of a {workload.kind}: it keeps "
                "running after the job's work is done, so the pod never completes and the "
                f"job never finishes; {fix}",
            )


def signal(signals: list[dict], *maps: object) -> tuple[dict, str, str] | None:
    """The first signal found in the given label/annotation maps: (map, key, 'key=value')."""
    for signal in signals:
        key = signal["key"]
        wanted = signal.get("value")
        for mapping in maps:
            if isinstance(mapping, dict) and key in mapping:
                value = mapping[key]
                text = str(value).lower() if isinstance(value, bool) else str(value)
                if wanted is None or text == str(wanted):
                    return mapping, key, f"{key}: {text}"
    return None


_SHARED: dict[tuple, tuple] = {}


def _shared(value: tuple) -> tuple:
    """One copy of each pending condition: every Job of a namespace carries the same one."""
    if len(_SHARED) > 4096:
        _SHARED.clear()
    return _SHARED.setdefault(value, value)


def injected_message(sidecar, kind: str, why: str, kube: tuple[int, int]) -> str:
    inject = sidecar.inject or {}
    fixes = []
    if kube >= (1, 29) and inject.get("native_fix"):
        fixes.append(inject["native_fix"])
    fixes += [inject[k] for k in ("disable_fix", "quit_fix") if inject.get(k)]
    return (
        f"{sidecar.title} will be injected into this {kind} as a legacy sidecar ({why}); it "
        "keeps running after the job's containers finish, so the pod never completes; "
        + "; or ".join(fixes)
    )


def job_injected_legacy_sidecar(workload: Workload, env: Env) -> Iterator[Hit]:
    """Sidecars a mesh injects at admission. A signal on the pod is a finding now (unless the
    run turns out to run that mesh natively); a signal that can only come from the namespace
    is one compact pending hit, settled once every Namespace object of the run is known
    (engine.settle)."""
    if not workload.runs_to_completion:
        return
    pod = workload.pod
    labels = workload.pod_metadata.get("labels")
    annotations = workload.pod_metadata.get("annotations")
    present = set()
    for key in ("initContainers", "containers"):
        for container in containers(pod, key):
            sidecar = env.catalog.match(container)
            if sidecar is not None:
                present.add(sidecar.id)
    namespace = workload.namespace or "default"
    by_namespace: list[tuple[str, bool]] = []
    keys = {
        *(labels if isinstance(labels, dict) else ()),
        *(annotations if isinstance(annotations, dict) else ()),
    }
    for sidecar in env.catalog.injectors():
        inject = sidecar.inject or {}
        mesh = inject["mesh"]
        if sidecar.id in present:
            continue  # already in the manifest: job-legacy-sidecar speaks for it
        if mesh == "istio" and pod.get("hostNetwork") is True:
            continue  # Istio never injects into host-network pods
        forced_legacy = False
        if not keys.isdisjoint(sidecar.signal_keys):  # the pod has keys this mesh reads
            if signal(inject.get("disable", []), labels, annotations):
                continue
            if signal(inject.get("native", []), labels, annotations):
                continue
            forced_legacy = bool(signal(inject.get("legacy", []), labels, annotations))
            found = signal(inject.get("enable", []), labels, annotations)
            if found:
                node, key, why = found
                yield Hit(
                    node,
                    injected_message(sidecar, workload.kind, why, env.kube),
                    key,
                    None,
                    () if forced_legacy else (("legacy", mesh),),
                    NO_CONTAINER,
                )
                continue
        if inject.get("namespace"):
            by_namespace.append((sidecar.id, forced_legacy))
    if by_namespace:
        yield Hit(
            workload.pod_metadata or pod,
            "",  # written by engine.settle for each mesh the namespace turns out to enable
            None,
            None,
            _shared((("namespace", namespace, tuple(by_namespace)),)),
            NO_CONTAINER,
        )


def sidecar_not_native(workload: Workload, env: Env) -> Iterator[Hit]:
    if workload.runs_to_completion or not _natives_apply(env):
        return
    matched = [(c, env.catalog.match(c)) for c in containers(workload.pod, "containers")]
    if not any(s is None for _, s in matched):
        return  # the sidecar is the workload itself (a gateway, an agent DaemonSet)
    for container, sidecar in matched:
        if sidecar is None:
            continue
        name = _name(container)
        native_fix = (sidecar.inject or {}).get("native_fix")
        injected = f"; if {sidecar.title} is injected, {native_fix}" if native_fix else ""
        yield Hit(
            container,
            f"{sidecar.title} '{name}' runs as a legacy sidecar in containers: "
            f"{_move_to_native(sidecar, name)}, so it starts before and stops after the "
            f"app{injected}",
        )


CHECKS: dict[str, Callable[[Workload, Env], Iterator[Hit]]] = {
    "init_container_before_sidecar": init_container_before_sidecar,
    "invalid_probe": invalid_probe,
    "prestop_sleep_exceeds_grace": prestop_sleep_exceeds_grace,
    "native_sidecar_unsupported": native_sidecar_unsupported,
    "grace_period_too_short": grace_period_too_short,
    "proxy_exits_before_app": proxy_exits_before_app,
    "sidecar_prestop_stops_sidecar": sidecar_prestop_stops_sidecar,
    "job_legacy_sidecar": job_legacy_sidecar,
    "job_injected_legacy_sidecar": job_injected_legacy_sidecar,
    "sidecar_not_native": sidecar_not_native,
}
