"""Run to completion: sidecars in `containers` of a Job keep its pod from ever completing.
(Sidecars a mesh injects at admission are the `injection` family's.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sidecarlint.check import CheckContext, Hit, name_of
from sidecarlint.workloads import Workload, command_words, containers

_NEVER_EXITS = (
    r"\btail\s+(?:-\w*\s+)*-\w*[fF]|\bsleep\s+infinity\b|\bwhile\s+(?:true|:)\s*;?\s*do\b"
)


def _command_text(items: list[dict]) -> str:
    return " ".join(word for container in items for word in command_words(container))


def probe_hint(sidecar) -> str:
    """` (add startupProbe: ...)` for a known sidecar with a probe suggestion, else ''."""
    hint = sidecar.probe_hint if sidecar else ""
    return f" ({hint})" if hint else ""


def _never_exits(container: dict) -> str | None:
    """A command that visibly runs forever (`tail -F`, `sleep infinity`, `while true`)."""
    match = re.search(_NEVER_EXITS, _command_text([container]))
    return match.group(0) if match else None


def job_legacy_sidecar(workload: Workload, context: CheckContext) -> Iterator[Hit]:
    if not workload.job_rules_apply:
        return
    natives = context.natives_apply
    regular = containers(workload.pod, "containers")
    matched = [(c, context.catalog.match(c)) for c in regular]
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
        fields = {"name": name_of(container), "kind": workload.description}
        if sidecar is None and id(container) in helpers:
            fields["command"] = helpers[id(container)]
            yield Hit(container, "helper" if natives else "helper-before-1.29", fields)
            continue
        if sidecar is None:
            if container.get("restartPolicy") == "Always":
                key = "restart-always" if natives else "restart-always-before-1.29"
                yield Hit(container, key, fields, "restartPolicy")
            continue
        fields["title"] = sidecar.title
        fields["hint"] = probe_hint(sidecar)
        if sidecar.probe_serves(container):  # what `check --fix` adds, moving it
            fields["probe"] = sidecar.probe_flow
            fields["mesh_init"] = ",".join(sidecar.mesh_init)  # they stay first
        seen = [q for q in sidecar.quit if q in app_text]
        if seen:
            fields["seen"] = repr(seen[0])
            key = "stopped-by-job" if natives else "stopped-by-job-before-1.29"
        elif natives:
            key = "default"
            quits = ", ".join(sidecar.quit)
            fields["quit"] = f"; or have the job stop it ({quits})" if quits else ""
        else:
            key = "before-1.29"
            fields["quit"] = ", ".join(sidecar.quit) or "kill it from the main container"
        yield Hit(container, key, fields)


CHECKS = {"job-legacy-sidecar": job_legacy_sidecar}
