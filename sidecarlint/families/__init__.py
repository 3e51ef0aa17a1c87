"""The rule families: one module per family, each mapping rule ids to the Python code those
rules need (`CHECKS`: a check over one workload; `GATHER`: run-wide facts read from every
document; `SETTLE`: pending findings decided once the facts are in). A rule that a `find:`
expression expresses has no code at all, and the engine knows no rule by name."""

from __future__ import annotations

from sidecarlint.families import (
    api_validity,
    injection,
    migration,
    run_to_completion,
    shutdown,
    startup,
)

_MODULES = (startup, api_validity, shutdown, run_to_completion, injection, migration)

CHECKS = {rule: check for module in _MODULES for rule, check in module.CHECKS.items()}
GATHER = {rule: fn for module in _MODULES for rule, fn in getattr(module, "GATHER", {}).items()}
SETTLE = {rule: fn for module in _MODULES for rule, fn in getattr(module, "SETTLE", {}).items()}
