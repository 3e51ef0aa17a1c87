"""The shape of the code: one-way imports, one home per rule, click only in the CLI.

The import graph is read from the source (every `import` and `from ... import`, at module
level or inside a function), so an import added to dodge a cycle at run time still counts.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from sidecarlint import families
from sidecarlint.rules import builtin_rules

PACKAGE = Path(__file__).resolve().parent.parent / "sidecarlint"
RULES_DIR = PACKAGE.parent / "rules"
FIXTURES = PACKAGE.parent / "tests" / "rules"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module → the sidecarlint modules (and third-party top-level names) it imports."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                # `from sidecarlint import render` imports the module sidecarlint.render
                found.update(
                    f"{node.module}.{alias.name}"
                    for alias in node.names
                    if f"{node.module}.{alias.name}" in modules
                )
        graph[name] = {
            target
            for target in found
            if target != name and (target in modules or not target.startswith("sidecarlint"))
        }
        graph[name].discard("sidecarlint")  # the package's own __init__: the version only
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    internal = {n: {t for t in targets if t in graph} for n, targets in graph.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(internal[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(internal):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle():
    assert _cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) in (["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"])


def test_the_engine_imports_no_rule_family():
    graph = import_graph()
    for module in ("sidecarlint.engine", "sidecarlint.scan", "sidecarlint.api"):
        assert not {t for t in graph[module] if t.startswith("sidecarlint.families")}, module


def test_only_the_cli_imports_click():
    importers = {name for name, targets in import_graph().items() if "click" in targets}
    assert importers == {"sidecarlint.cli"}


def test_only_the_sarif_reporter_imports_sarif_om():
    """The SARIF support loads only when SARIF is asked for."""
    importers = {
        name
        for name, targets in import_graph().items()
        if {"sarif_om", "attr"} & {t.split(".")[0] for t in targets}
    }
    assert importers == {"sidecarlint.report.sarif"}


def test_every_imported_package_is_declared():
    import sys

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    declared = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    names = {
        dependency.split(">")[0].split(";")[0].split("=")[0].strip().lower()
        for dependency in declared["dependencies"]
    }
    # distribution name → the module it provides
    provides = {"pyyaml": "yaml", "sarif-om": "sarif_om", "attrs": "attr", "tomli": "tomli"}
    modules = {provides.get(name, name) for name in names}
    third_party = {
        target.split(".")[0]
        for targets in import_graph().values()
        for target in targets
        if not target.startswith("sidecarlint")
    }
    third_party -= set(sys.stdlib_module_names)
    assert third_party <= modules, third_party - modules


def test_a_rule_with_code_has_it_in_the_module_of_its_family():
    """Adding a rule touches its YAML file, at most one function in its family module
    (sidecarlint/families/<family>.py, registered under the rule id) and its fixtures."""
    by_id = {rule.id: rule for rule in builtin_rules()}
    for registry in (families.CHECKS, families.GATHER, families.SETTLE):
        for rule_id, function in registry.items():
            rule = by_id[rule_id]  # a registered id has a rule file
            module = function.__module__.rsplit(".", 1)[1]
            if registry is families.GATHER:  # facts one family gathers, others may read
                assert function.__module__.startswith("sidecarlint.families."), rule_id
                continue
            assert module == rule.family.replace("-", "_"), (rule_id, module, rule.family)
    for rule_id in families.CHECKS:
        assert (RULES_DIR / f"{rule_id}.yaml").is_file()
        assert list((FIXTURES / rule_id).glob("bad-*.yaml")), rule_id


def test_every_message_a_check_can_say_is_in_its_rule_file():
    """Message keys used in a family module are templates of the rule's YAML file."""
    by_id = {rule.id: rule for rule in builtin_rules()}
    for path in (PACKAGE / "families").glob("[!_]*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        registry = {}
        for node in tree.body:  # CHECKS = {"rule-id": function, ...}
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CHECKS":
                registry = {
                    value.id: key.value
                    for key, value in zip(node.value.keys, node.value.values, strict=True)
                }
        for function in tree.body:
            if not isinstance(function, ast.FunctionDef) or function.name not in registry:
                continue
            rule = by_id[registry[function.name]]
            spots = [  # Hit(node, "key", ...) and key = "a" if ... else "b"
                *(
                    call.args[1]
                    for call in ast.walk(function)
                    if isinstance(call, ast.Call)
                    and getattr(call.func, "id", "") == "Hit"
                    and len(call.args) > 1
                ),
                *(
                    assign.value
                    for assign in ast.walk(function)
                    if isinstance(assign, ast.Assign)
                    and getattr(assign.targets[0], "id", "") == "key"
                ),
            ]
            keys = {
                node.value
                for spot in spots
                for node in ast.walk(spot)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
            }
            assert keys, function.name
            assert keys <= set(rule.messages), (rule.id, keys - set(rule.messages))


def test_rule_files_name_no_python():
    for path in RULES_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.name not in ("sidecars.yaml", "workloads.yaml"):
            assert not {"check", "reported_by"} & set(data), path.name
