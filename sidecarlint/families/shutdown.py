"""Shutdown: does every container stop within the grace period, in an order that works?
The arithmetic is the termination model of semantics.md §5, in `termination.py`."""

from __future__ import annotations

import math
from collections.abc import Iterator

from sidecarlint import termination
from sidecarlint.check import CheckContext, Hit, name_of
from sidecarlint.loader import load_text
from sidecarlint.termination import Estimate, Member, seconds_text
from sidecarlint.workloads import Workload, containers, grace_period, is_native_sidecar

NETWORK_CATEGORIES = {"mesh-proxy", "proxy", "database-proxy"}


def _annotations(workload: Workload) -> dict:
    annotations = workload.pod_metadata.get("annotations")
    return annotations if isinstance(annotations, dict) else {}


def _istio_proxy_config(annotations: dict) -> dict | None:
    """Istio's `proxy.istio.io/config` annotation, a YAML document in a string: read with
    the same bounded loader as the manifests (a hostile annotation can nest or alias)."""
    raw = annotations.get("proxy.istio.io/config")
    if not isinstance(raw, str) or len(raw) > 65536:
        return None
    loaded = load_text("proxy.istio.io/config", raw)
    if loaded.problems or len(loaded.documents) != 1:
        return None
    value = loaded.documents[0].data
    return value if isinstance(value, dict) else None


def _member(container: dict, workload: Workload, context: CheckContext) -> Member:
    """The container in the termination model, made once per workload and app_stop_seconds
    (the budget and the proxy rule both need it)."""
    key = ("member", id(container), context.params.get("app_stop_seconds"))
    member = workload.memo.get(key)
    if member is None:
        member = workload.memo[key] = _new_member(container, workload, context)
    return member


def _new_member(container: dict, workload: Workload, context: CheckContext) -> Member:
    annotations = _annotations(workload)
    name = name_of(container)
    sidecar = context.catalog.match(container)
    if sidecar is not None:
        proxy_config = (
            _istio_proxy_config(annotations) if sidecar.stop.get("model") == "istio" else None
        )
        stop = termination.sidecar_stop_seconds(container, sidecar.stop, annotations, proxy_config)
    else:
        declared = termination.declared_stop_seconds(annotations, name)
        app_default = context.params.get("app_stop_seconds") or 0
        if declared is not None:
            stop = declared
        elif app_default > 0:
            stop = Estimate(float(app_default), True, [f"stop {app_default:g}s (app_stop_seconds)"])
        else:
            stop = Estimate(0.0, False)
    return Member(name, termination.prestop_seconds(container), stop)


def _shortened(steps: list[str], most: int = 12) -> list[str]:
    """The steps of a message: all of them, or the first and last few of a long chain."""
    if len(steps) <= most:
        return steps
    half = most // 2
    return [*steps[:half], f"... {len(steps) - 2 * half} more ...", *steps[-half:]]


def grace_period_too_short(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    pod = workload.pod
    grace = grace_period(pod)
    if grace is None or grace <= 0:
        return
    mains = [_member(c, workload, context) for c in containers(pod, "containers")]
    natives = [
        _member(c, workload, context)
        for c in containers(pod, "initContainers")
        if is_native_sidecar(c)
    ]
    if natives and context.natives_apply:
        budget = termination.native_budget(mains, natives)
    else:
        budget = termination.parallel_budget(mains + natives)
    if budget.need <= grace:
        return
    margin = context.params.get("margin_seconds", 5)
    fields = {
        "bound": "" if budget.exact else "at least ",
        "need": seconds_text(budget.need),
        "steps": ", ".join(_shortened(budget.steps)),
        "grace": grace,
        "default": "" if "terminationGracePeriodSeconds" in pod else " (the default)",
        "suggest": math.ceil(budget.need) + margin,
    }
    yield Hit(pod, "default", fields, "terminationGracePeriodSeconds")


def proxy_exits_before_app(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    """A proxy that stops in parallel with the app and is gone before the app is done."""
    pod = workload.pod
    candidates = list(containers(pod, "containers"))
    if not context.natives_apply:
        candidates += [c for c in containers(pod, "initContainers") if is_native_sidecar(c)]
    proxies = []
    apps = []
    for container in candidates:
        sidecar = context.catalog.match(container)
        if sidecar is None:
            apps.append(container)
        elif sidecar.category in NETWORK_CATEGORIES:
            proxies.append((container, sidecar))
    if not apps:
        return
    app_members = [_member(c, workload, context) for c in apps]
    slowest = max(app_members, key=lambda m: m.total.seconds)
    for container, sidecar in proxies:
        proxy = _member(container, workload, context)
        if not proxy.total.exact or proxy.total.seconds >= slowest.total.seconds:
            continue
        fields = {
            "title": sidecar.title,
            "name": proxy.name,
            "gone": seconds_text(proxy.total.seconds),
            "parts": ", ".join(proxy.total.parts) or "at once",
            "app": slowest.name,
            "app_needs": seconds_text(slowest.total.seconds),
            "app_parts": ", ".join(slowest.total.parts),
            "loses": sidecar.category.replace("-", " "),
        }
        yield Hit(container, "default" if context.natives_apply else "before-1.29", fields)


def sidecar_prestop_stops_sidecar(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    if not context.natives_apply:
        return
    for container in containers(workload.pod, "initContainers"):
        if not is_native_sidecar(container):
            continue
        action = termination.stops_itself(container)
        if action:
            fields = {"name": name_of(container), "action": action}
            yield Hit(container, "default", fields, "lifecycle.preStop")


CHECKS = {
    "grace-period-too-short": grace_period_too_short,
    "proxy-exits-before-app": proxy_exits_before_app,
    "sidecar-prestop-stops-sidecar": sidecar_prestop_stops_sidecar,
}
