"""Shutdown: does every container stop within the grace period, in an order that works?
The arithmetic is the termination model of semantics.md §5, in `termination.py`."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator

from sidecarlint import termination
from sidecarlint.check import NO_CONTAINER, CheckContext, Hit, name_of
from sidecarlint.facts import Facts
from sidecarlint.families.injection import (
    Planned,
    gather,
    injection_mode,
    planned_injections,
    shared,
    signal_place,
)
from sidecarlint.loader import load_text
from sidecarlint.termination import Estimate, Member, parse_duration, seconds_text
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


def member(container: dict, workload: Workload, context: CheckContext) -> Member:
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


LINKERD_WAIT = "config.alpha.linkerd.io/proxy-wait-before-exit-seconds"


def injected_member(planned: Planned, workload: Workload) -> Member:
    """_new_injected_member, once per pod and sidecar (both shutdown rules ask)."""
    key = ("injected member", planned.sidecar.id)
    member = workload.memo.get(key)
    if member is None:
        if not _annotations(workload):  # the usual pod: the mesh's defaults, made once a run
            member = _PLAIN.get(planned.sidecar)
            if member is None:
                if len(_PLAIN) > 256:
                    _PLAIN.clear()
                member = _PLAIN[planned.sidecar] = _new_injected_member(planned, workload)
        else:
            member = _new_injected_member(planned, workload)
        workload.memo[key] = member
    return member


_PLAIN: dict = {}  # catalogue entry → its injected member in a pod without annotations


def _new_injected_member(planned: Planned, workload: Workload) -> Member:
    """The legacy sidecar a mesh adds at admission, as the termination model sees it: the
    catalogue's stop model with the pod's annotations (Istio's proxy.istio.io/config and
    terminationDrainDuration, Linkerd's shutdown-grace-period, Kuma's drain time, ...), and
    the preStop the injector adds (Linkerd's proxy-wait-before-exit-seconds becomes
    `sleep N`, shared/docs/semantics.md §3)."""
    sidecar = planned.sidecar
    annotations = _annotations(workload)
    name = sidecar.names[0] if sidecar.names else sidecar.id
    container: dict = {"name": name}
    model = sidecar.stop.get("model")
    if model == "linkerd":
        wait = parse_duration(annotations.get(LINKERD_WAIT))
        if wait:
            command = ["/bin/sleep", f"{wait:g}"]
            container["lifecycle"] = {"preStop": {"exec": {"command": command}}}
    proxy_config = _istio_proxy_config(annotations) if model == "istio" else None
    stop = termination.sidecar_stop_seconds(container, sidecar.stop, annotations, proxy_config)
    return Member(f"{name} (injected)", termination.prestop_seconds(container), stop)


def native_member(planned: Planned, workload: Workload) -> Member:
    """The native sidecar a mesh adds at admission, as the termination model sees it: the
    catalogue's stop model, unless its `native_shape` says how the native one stops (Istio's
    preStop drains it, so SIGTERM ends it at once, semantics.md §9.1); no preStop sleep."""
    key = ("native member", planned.sidecar.id)
    found = workload.memo.get(key)
    if found is None and not _annotations(workload):  # the mesh's defaults: once a run
        found = workload.memo[key] = _PLAIN.get(("native", planned.sidecar))
    if found is None:
        sidecar = planned.sidecar
        shape = (sidecar.inject or {}).get("native_shape") or {}
        name = sidecar.names[0] if sidecar.names else sidecar.id
        if "stop_seconds" in shape:
            seconds = float(shape["stop_seconds"])
            stop = Estimate(seconds, True, [f"stop {seconds:g}s (native: {shape['stop_note']})"])
        else:
            annotations = _annotations(workload)
            model = sidecar.stop.get("model")
            proxy_config = _istio_proxy_config(annotations) if model == "istio" else None
            stop = termination.sidecar_stop_seconds(
                {"name": name}, sidecar.stop, annotations, proxy_config
            )
        found = workload.memo[key] = Member(f"{name} (injected)", Estimate(), stop)
        if not _annotations(workload):
            if len(_PLAIN) > 256:
                _PLAIN.clear()
            _PLAIN[("native", planned.sidecar)] = found
    return found


def with_native(natives: list, injected, planned: Planned) -> list:
    """The pod's native sidecars with one a mesh injects, where it puts it: first (stopped
    last) or appended (stopped first), as the catalogue's `native_shape.position` says."""
    shape = (planned.sidecar.inject or {}).get("native_shape") or {}
    return [injected, *natives] if shape.get("position") == "first" else [*natives, injected]


def _injected_entry(planned: Planned, fields: dict, context, mode: str = "legacy") -> tuple:
    """What an injected sidecar's finding needs once the run's facts are known: the
    condition on which the mesh injects it, the mode (legacy or native) that the finding
    holds for, and the message's fields."""
    inject = planned.sidecar.inject or {}
    fields = dict(fields, title=planned.sidecar.title)
    hints = []
    if mode == "legacy" and context.natives_apply and inject.get("native_fix"):
        hints.append(f"{inject['native_fix']}, so it stops after the app")
    fields["native"] = "; " + "; ".join(hints) if hints else ""
    # held until the run's facts settle it, for every pod a mesh may inject: one copy of
    # each value and of each entry, however many pods share them
    values = tuple(
        sorted((key, sys.intern(v) if isinstance(v, str) else v) for key, v in fields.items())
    )
    return shared((planned.condition, values, mode))


def _injected_hit(
    node: object, entries: list[tuple], workload: Workload, context: CheckContext, at=None
) -> Hit:
    """One finding for all the sidecars meshes may inject into the pod, each holding only if
    its mesh injects it as a legacy one: settled (`settle`) once the run's Namespace objects
    and mesh installations are known (one pending finding a pod, not one per mesh)."""
    pending = (("injected", tuple(entries)),)
    return Hit(
        node, "injected", None, at, NO_CONTAINER, pending, timeline=_timeline(workload, context)
    )


def _timeline(workload: Workload, context: CheckContext) -> termination.Timeline | None:
    """The pod's timeline for the finding (`sidecarlint timeline`), injected sidecars
    confirmed once the run's facts are known (`engine.settle`); None when the run's output
    does not draw it."""
    return timeline_of(workload, context, None) if context.timelines else None


def settle(pending: tuple, kind: str, facts: Facts, context: CheckContext) -> list[Hit]:
    """An injected sidecar's finding stands if, under the run's facts, the mesh injects it
    in the mode (legacy or native) the finding was computed for; its message then names the
    signal."""
    hits = []
    for condition, fields, mode in pending[0][1]:
        found = injection_mode(condition, facts, context)
        if found is not None and found[0] == mode:
            related = signal_place(condition, facts)
            message = "injected" if mode == "legacy" else "injected-native"
            hits.append(Hit(None, message, {**dict(fields), "injected": found[1]}, related=related))
    return hits


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
    mains = [member(c, workload, context) for c in containers(pod, "containers")]
    natives = [
        member(c, workload, context)
        for c in containers(pod, "initContainers")
        if is_native_sidecar(c)
    ]
    native_order = bool(natives) and context.natives_apply
    budget = _budget(mains, natives, native_order)
    if budget.need > grace:
        fields = _grace_fields(budget, pod, grace, context)
        yield Hit(pod, "default", fields, _GRACE, timeline=_timeline(workload, context))
        return
    # A legacy sidecar the mesh adds stops in parallel with the app containers, from the
    # start: it changes the need only if it takes longer than the slowest of them.
    slowest = max((m.total.seconds for m in mains), default=0.0) if native_order else budget.need
    entries = []
    for planned in planned_injections(workload, context):
        if planned.forced != "native":
            injected = injected_member(planned, workload)
            if injected.total.seconds > slowest:  # else the need stays what it was
                budget = _budget([*mains, injected], natives, native_order)
                if budget.need > grace:
                    fields = _grace_fields(budget, pod, grace, context)
                    entries.append(_injected_entry(planned, fields, context))
        if planned.forced != "legacy" and context.natives_apply:
            # a native one is stopped after the app containers, one sidecar at a time
            injected = native_member(planned, workload)
            if injected.total.seconds:  # else it adds nothing to the need
                ordered = with_native(natives, injected, planned)
                budget = termination.native_budget(mains, ordered)
                if budget.need > grace:
                    fields = _grace_fields(budget, pod, grace, context)
                    entries.append(_injected_entry(planned, fields, context, "native"))
    if entries:
        yield _injected_hit(pod, entries, workload, context, _GRACE)


_GRACE = "terminationGracePeriodSeconds"


def _budget(mains: list[Member], natives: list[Member], native_order: bool):
    if native_order:
        return termination.native_budget(mains, natives)
    return termination.parallel_budget(mains + natives)


def _grace_fields(budget, pod: dict, grace: int, context: CheckContext) -> dict:
    margin = context.params.get("margin_seconds", 5)
    return {
        "bound": "" if budget.exact else "at least ",
        "need": seconds_text(budget.need),
        "steps": ", ".join(_shortened(budget.steps)),
        "grace": grace,
        "default": "" if _GRACE in pod else " (the default)",
        "suggest": math.ceil(budget.need) + margin,
    }


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
        elif sidecar.category in NETWORK_CATEGORIES and not context.catalog.is_workload(
            sidecar, container, pod, workload.pod_metadata
        ):
            proxies.append((container, sidecar))
    if not apps:
        return
    app_members = [(member(c, workload, context), c) for c in apps]
    slowest, slowest_container = max(app_members, key=lambda pair: pair[0].total.seconds)
    for container, sidecar in proxies:
        proxy = member(container, workload, context)
        if not proxy.total.exact or proxy.total.seconds >= slowest.total.seconds:
            continue
        fields = _proxy_fields(sidecar, proxy, slowest)
        yield Hit(
            container,
            "default" if context.natives_apply else "before-1.29",
            fields,
            timeline=_timeline(workload, context),
        )
    entries = []
    for planned in planned_injections(workload, context):
        if planned.sidecar.category not in NETWORK_CATEGORIES or planned.forced == "native":
            continue  # a native proxy stops after the app
        proxy = injected_member(planned, workload)
        if not proxy.total.exact or proxy.total.seconds >= slowest.total.seconds:
            continue
        entries.append(
            _injected_entry(planned, _proxy_fields(planned.sidecar, proxy, slowest), context)
        )
    if entries:
        hit = _injected_hit(slowest_container, entries, workload, context)
        yield hit._replace(container=slowest_container)


def _proxy_fields(sidecar, proxy: Member, slowest: Member) -> dict:
    return {
        "title": sidecar.title,
        "name": proxy.name,
        "gone": seconds_text(proxy.total.seconds),
        "parts": ", ".join(proxy.total.parts) or "at once",
        "app": slowest.name,
        "app_needs": seconds_text(slowest.total.seconds),
        "app_parts": ", ".join(slowest.total.parts),
        "loses": sidecar.category.replace("-", " "),
    }


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


# ---------------------------------------------------------------------------------------
# The pod timeline (`sidecarlint timeline`, and the chart a shutdown finding carries)


def _gate(container: dict) -> str:
    probe = container.get("startupProbe")
    if isinstance(probe, dict):
        if isinstance(probe.get("httpGet"), dict):
            get = probe["httpGet"]
            path, port = get.get("path", "/"), get.get("port", "?")
            return f"the next starts when its startupProbe passes (GET {path} on port {port})"
        for kind in ("tcpSocket", "grpc", "exec"):
            if kind in probe:
                return f"the next starts when its startupProbe ({kind}) passes"
        return "the next starts when its startupProbe passes"
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict) and isinstance(lifecycle.get("postStart"), dict):
        return "the next starts when its postStart hook returns"
    return "the next starts as soon as its process runs (no startupProbe or postStart)"


def _startup_steps(workload: Workload, injected: list[tuple]) -> list[termination.Step]:
    """What starts when: an injected native sidecar placed first starts before the pod's
    init containers, one appended after them; legacy ones start with the containers."""
    steps = []
    first = [i for i in injected if i[3] == "native" and i[4] == "first"]
    for name, why, tag, _, _ in first:
        role = f"injected native sidecar ({why})"
        steps.append(termination.Step((name,), role, "placed first in initContainers", tag))
    for container in containers(workload.pod, "initContainers"):
        if is_native_sidecar(container):
            step = termination.Step((name_of(container),), "native sidecar", _gate(container))
        else:
            step = termination.Step(
                (name_of(container),), "init container", "runs to completion first"
            )
        steps.append(step)
    for name, why, tag, mode, position in injected:
        if mode == "native" and position != "first":
            role = f"injected native sidecar ({why})"
            steps.append(termination.Step((name,), role, "appended to initContainers", tag))
    names = tuple(name_of(c) for c in containers(workload.pod, "containers"))
    if names:
        steps.append(termination.Step(names, "containers", "start together"))
    for name, why, tag, mode, _ in injected:
        if mode == "legacy":
            role = f"injected legacy sidecar ({why})"
            gate = "starts with the containers; none waits"
            steps.append(termination.Step((name,), role, gate, tag))
    return steps


def _modes(planned: Planned, facts: Facts | None, context: CheckContext) -> list[tuple]:
    """(mode, why) the mesh injects the sidecar in under the run's facts; before they are
    known, each mode the pod leaves open (`termination.under` keeps the one that holds)."""
    if facts is not None:
        found = injection_mode(planned.condition, facts, context)
        return [(found[0], found[1].split(";")[0])] if found else []
    why = planned.why or f"namespace '{planned.namespace}'"
    return [(mode, why) for mode in ("legacy", "native") if planned.forced in (None, mode)]


def _bar(model: Member, role: str, condition: tuple | None = None) -> termination.Bar:
    """A container that gets SIGTERM when its preStop is done (scheduled later by `_order`
    when it is a native sidecar)."""
    prestop = model.prestop.seconds
    return termination.Bar(
        model.name,
        role,
        prestop,
        prestop,
        prestop + model.stop.seconds,
        model.total.exact,
        tuple(model.prestop.parts + model.stop.parts),
        condition,
    )


def timeline_of(
    workload: Workload, context: CheckContext, facts: Facts | None, where: str = ""
) -> termination.Timeline:
    """The pod's `termination.Timeline`, drawn from the same members the rules compute with.
    `facts`: the run's (which meshes inject legacy sidecars);
    None while they are not known yet, when every sidecar a mesh may inject is drawn and
    `settled` later keeps those the facts confirm."""
    pod = workload.pod
    bars = []
    for container in containers(pod, "containers"):
        role = "legacy sidecar" if context.catalog.match(container) else "container"
        bars.append(_bar(member(container, workload, context), role))
    natives = [
        _bar(member(c, workload, context), "native sidecar")
        for c in containers(pod, "initContainers")
        if is_native_sidecar(c)
    ]
    injected = []
    for planned in planned_injections(workload, context):
        position = ((planned.sidecar.inject or {}).get("native_shape") or {}).get("position")
        for mode, why in _modes(planned, facts, context):
            tag = (planned.condition, mode)
            if mode == "legacy":
                model = injected_member(planned, workload)
                bars.append(_bar(model, "injected legacy sidecar", tag))
            elif context.natives_apply:
                model = native_member(planned, workload)
                bar = _bar(model, "injected native sidecar", tag)
                natives = [bar, *natives] if position == "first" else [*natives, bar]
            else:
                continue
            injected.append((model.name, why, tag, mode, position))
    bars += reversed(natives)  # the order they stop
    grace = grace_period(pod)
    return termination.Timeline(
        f"{workload.kind}/{workload.name or '?'}"
        + (f" {workload.label}" if workload.label else ""),
        where,
        tuple(_startup_steps(workload, injected)),
        tuple(termination.order(bars, context.natives_apply)),
        float(grace) if grace is not None else float(termination.DEFAULT_GRACE),
        pod.get("terminationGracePeriodSeconds") is not None and grace is not None,
        context.natives_apply,
    )


# Injected sidecars depend on the run's Namespace objects and mesh installations, which the
# injection family gathers: the same gatherer (run once a document, whichever rules use it).
GATHER = {"grace-period-too-short": gather, "proxy-exits-before-app": gather}
SETTLE = {"grace-period-too-short": settle, "proxy-exits-before-app": settle}
CHECKS = {
    "grace-period-too-short": grace_period_too_short,
    "proxy-exits-before-app": proxy_exits_before_app,
    "sidecar-prestop-stops-sidecar": sidecar_prestop_stops_sidecar,
}
