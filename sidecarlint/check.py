"""The contract between the engine and a rule's Python check: a `CheckContext` in, `Hit`s out.

A check is `check(workload, context) -> Iterator[Hit]`, registered under its rule id in its
family module (`sidecarlint/families/`). A hit names the node it is about and one of the
rule's message templates (`messages:` in its YAML file) with the fields to fill it with; the
engine turns it into a finding, so the wording and the severity live in the rule file.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sidecarlint.catalog import Catalog

NO_CONTAINER = object()  # a hit about the pod itself, not one of its containers


class Hit(NamedTuple):
    """One problem a rule found: where, and which of its messages to say with what."""

    node: object  # the mapping the finding points at
    message: str = "default"  # the key of the rule's message template
    fields: dict[str, Any] | None = None  # what fills the template's {placeholders}
    at: str | None = None  # report at this key (a dotted path) of `node`, not at the node
    container: object = None  # the container it is about (NO_CONTAINER: the pod); None: find it
    # A condition on the whole run, settled by the rule's family once every input is read
    # (for example "the namespace this Job runs in enables injection").
    pending: tuple = ()
    # Another place the finding is about, (path, line, column, what it is): the Namespace
    # whose label injects a sidecar. SARIF shows it as a related location.
    related: tuple | None = None
    # The pod's startup and shutdown (`timeline.Timeline`), for a finding best seen drawn.
    timeline: object = None


class CheckContext:
    """What a check may read besides the workload: its params, the target Kubernetes
    version and the sidecar catalogue."""

    def __init__(
        self,
        params: dict[str, Any],
        kube: tuple[int, int],
        catalog: Catalog,
        default_namespace: str | None = None,
    ) -> None:
        self.params = params
        self.kube = kube
        self.catalog = catalog
        # The namespace of an object that names none (config `default_namespace`); None:
        # unknown, and no Namespace object of the run applies to it.
        self.default_namespace = default_namespace
        self.timelines = False  # give shutdown findings their pod's timeline (LintOptions)

    @property
    def natives_apply(self) -> bool:
        """Native sidecars, and their ordered termination, exist from Kubernetes 1.29."""
        return self.kube >= (1, 29)


def name_of(container: dict) -> str:
    name = container.get("name")
    return name if isinstance(name, str) else "?"
