"""Load and validate rule files; evaluate one rule on one workload.

A rule is one YAML file (its name is the rule id). See `rules/` and the README for the
format. Everything that can be checked is checked when the file is loaded, so a typo in a
user's rule is one clear error naming the file and the key, never a failure mid-run.
"""

from __future__ import annotations

import os
import string
from collections.abc import Iterator
from typing import Any

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from jmespath.visitor import TreeInterpreter

from sidecarlint.findings import SEVERITIES
from sidecarlint.functions import FUNCTION_NAMES, RuleFunctions

RULE_KEYS = {
    "summary",
    "severity",
    "family",
    "tags",
    "precision",
    "find",
    "check",
    "reported_by",
    "message",
    "values",
    "at",
    "params",
    "docs",
    "needs",
}
DOC_KEYS = ("what", "why", "example", "use_instead", "references")
PARAM_TYPES = {"int": int, "number": (int, float), "string": str, "bool": bool, "list": list}
PRECISIONS = ("very-high", "high", "medium", "low")
BUILTIN_FUNCTIONS = frozenset(jmespath.functions.Functions.FUNCTION_TABLE)


class RuleError(ValueError):
    """A rule file that is not well formed; the message names the file and the key."""


class Hit:
    """One problem a rule found: the node it is about and what to say."""

    __slots__ = ("key", "message", "node", "owner", "requires", "severity")

    def __init__(
        self,
        node: object,
        message: str,
        key: str | None = None,
        severity: str | None = None,
        requires: tuple = (),
        owner: object = None,
    ) -> None:
        self.node = node
        self.message = message
        # report at this key (a dotted path) of `node` rather than at the node itself
        self.key = key
        # overrides the rule's default severity for this hit
        self.severity = severity
        # Conditions on the whole run, settled when every file has been read (for example
        # "namespace payments has Istio injection enabled"); see engine.settle().
        self.requires = requires
        # The container the hit is about, when the check knows it (NO_CONTAINER for
        # pod-level hits); None lets the engine find it by looking inside the containers.
        self.owner = owner


NO_CONTAINER = object()


class Param:
    def __init__(self, default: Any, type: str, description: str = "") -> None:
        self.default = default
        self.type = type
        self.description = description


class Rule:
    def __init__(
        self,
        id: str,
        summary: str,
        severity: str,
        family: str,
        origin: str,
        message: str = "",
        find: Any = None,
        check: str | None = None,
        reported_by: str | None = None,
        values: dict[str, Any] | None = None,
        at: str | None = None,
        params: dict[str, Param] | None = None,
        docs: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        precision: str = "high",
        needs: tuple[str, ...] = (),
    ) -> None:
        self.id = id
        self.summary = summary
        self.severity = severity
        self.family = family
        self.origin = origin
        self.message = message
        self.find = find  # a compiled JMESPath expression
        self.check = check
        self.reported_by = reported_by
        self.values = {} if values is None else values
        self.at = at
        self.params = {} if params is None else params
        self.docs = {} if docs is None else docs
        self.tags = [] if tags is None else tags
        self.precision = precision
        self.needs = needs  # pod keys of which at least one must be present


def _fail(origin: str, key: str, problem: str) -> RuleError:
    return RuleError(f"{origin}: {key}: {problem}")


def _functions_in(node: dict) -> Iterator[tuple[str, list]]:
    if node.get("type") == "function_expression":
        yield node["value"], node.get("children", [])
    for child in node.get("children", []):
        if isinstance(child, dict):
            yield from _functions_in(child)


def _message_template(origin: str, text: str) -> str:
    """A message's placeholders are plain names ({name}, a param, a value): a stray brace,
    {0} or {name:>999999999} would otherwise fail, or worse, only when a manifest hits."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise _fail(origin, "message", f"{exc} (write {{{{ and }}}} for a literal brace)") from None
    for _, field, spec, conversion in parts:
        if field is not None and (not field.isidentifier() or spec or conversion):
            written = (
                field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            )
            raise _fail(
                origin,
                "message",
                f"placeholder {{{written}}} must be a plain name, such as {{name}}",
            )
    return text


def _compile(origin: str, key: str, text: object, params: dict[str, Param]):
    if not isinstance(text, str) or not text.strip():
        raise _fail(origin, key, "must be a non-empty JMESPath expression")
    try:
        compiled = jmespath.compile(text)
        functions = list(_functions_in(compiled.parsed))
    except JMESPathError as exc:
        raise _fail(origin, key, f"invalid JMESPath: {exc}".replace("\n", " ")) from None
    except RecursionError:  # jmespath's parser recurses once per level
        raise _fail(origin, key, "expression nested too deeply") from None
    for name, args in functions:
        if name not in FUNCTION_NAMES and name not in BUILTIN_FUNCTIONS:
            raise _fail(origin, key, f"unknown function {name}()")
        if name == "param":
            literal = args[0] if args else {}
            if literal.get("type") != "literal" or literal.get("value") not in params:
                raise _fail(origin, key, "param() must name a declared param as a 'string'")
    return compiled


def parse_rule(rule_id: str, data: object, origin: str) -> Rule:
    """Validate one rule file's content and return the Rule."""
    from sidecarlint.checks import CHECKS

    if not isinstance(data, dict):
        raise RuleError(f"{origin}: a rule file must be a mapping")
    unknown = sorted(set(data) - RULE_KEYS)
    if unknown:
        raise _fail(
            origin, unknown[0], f"unknown key (expected one of {', '.join(sorted(RULE_KEYS))})"
        )
    for key in ("summary", "severity"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _fail(origin, key, "is required and must be a string")
    if data["severity"] not in SEVERITIES:
        raise _fail(origin, "severity", f"must be one of {', '.join(SEVERITIES)}")
    ways = [k for k in ("find", "check", "reported_by") if data.get(k) is not None]
    if len(ways) != 1:
        raise _fail(origin, "find", "a rule needs exactly one of find:, check: or reported_by:")
    params: dict[str, Param] = {}
    raw_params = data.get("params") or {}
    if not isinstance(raw_params, dict):
        raise _fail(origin, "params", "must be a mapping of name to {default, type}")
    for name, spec in raw_params.items():
        where = f"params.{name}"
        if not isinstance(spec, dict) or "default" not in spec:
            raise _fail(origin, where, "must be a mapping with default: and type:")
        kind = spec.get("type")
        if kind not in PARAM_TYPES:
            raise _fail(origin, f"{where}.type", f"must be one of {', '.join(PARAM_TYPES)}")
        if not check_param_type(spec["default"], kind):
            raise _fail(origin, f"{where}.default", f"must be of type {kind}")
        params[str(name)] = Param(spec["default"], kind, str(spec.get("description", "")))
    rule = Rule(
        id=rule_id,
        summary=data["summary"].strip(),
        severity=data["severity"],
        family=str(data.get("family", "custom")),
        origin=origin,
        params=params,
    )
    if data.get("find") is not None:
        rule.find = _compile(origin, "find", data["find"], params)
        if not isinstance(data.get("message"), str):
            raise _fail(origin, "message", "is required with find:")
    if data.get("check") is not None:
        if data["check"] not in CHECKS:
            raise _fail(origin, "check", f"unknown check {data['check']!r}")
        rule.check = data["check"]
    if data.get("reported_by") is not None:
        if data["reported_by"] not in ("loader", "suppressions", "renderer"):
            raise _fail(origin, "reported_by", "must be 'loader', 'suppressions' or 'renderer'")
        rule.reported_by = data["reported_by"]
    rule.message = _message_template(origin, str(data.get("message") or "").strip())
    values = data.get("values") or {}
    if not isinstance(values, dict):
        raise _fail(origin, "values", "must be a mapping of name to JMESPath expression")
    rule.values = {str(k): _compile(origin, f"values.{k}", v, params) for k, v in values.items()}
    at = data.get("at")
    if at is not None and (not isinstance(at, str) or not at):
        raise _fail(origin, "at", "must be a dotted path such as lifecycle.preStop")
    rule.at = at
    needs = data.get("needs") or []
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise _fail(origin, "needs", "must be a list of pod spec keys, e.g. [initContainers]")
    rule.needs = tuple(needs)
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _fail(origin, "tags", "must be a list of strings")
    rule.tags = tags
    precision = data.get("precision", "high")
    if precision not in PRECISIONS:
        raise _fail(origin, "precision", f"must be one of {', '.join(PRECISIONS)}")
    rule.precision = precision
    docs = data.get("docs") or {}
    if not isinstance(docs, dict):
        raise _fail(origin, "docs", "must be a mapping")
    for key in docs:
        if key not in DOC_KEYS:
            raise _fail(origin, f"docs.{key}", f"unknown key (expected {', '.join(DOC_KEYS)})")
    refs = docs.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise _fail(origin, "docs.references", "must be a list of URLs")
    rule.docs = docs
    return rule


def check_param_type(value: object, kind: str) -> bool:
    if kind in ("int", "number") and isinstance(value, bool):
        return False
    return isinstance(value, PARAM_TYPES[kind])


def _parse_file(rule_id: str, text: str, origin: str) -> Rule:
    try:
        from sidecarlint.loader import YAML_LOADER

        data = yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise RuleError(f"{origin}: {where}: not valid YAML") from None
    return parse_rule(rule_id, data, origin)


def builtin_rules() -> list[Rule]:
    from sidecarlint.cache import builtin_yaml

    rules = []
    for name, data in builtin_yaml().items():
        if name != "sidecars.yaml":
            rules.append(parse_rule(name[: -len(".yaml")], data, f"builtin:{name}"))
    return rules


def rules_from_dir(directory: str) -> list[Rule]:
    """A user's rule directory: every `*.yaml`/`*.yml` file in it is one rule."""
    if not os.path.isdir(directory):
        raise RuleError(f"{directory}: rules directory does not exist")
    rules = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith((".yaml", ".yml")):
            continue
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleError(f"{path}: cannot read: {exc}") from None
        rules.append(_parse_file(os.path.splitext(name)[0], text, path))
    return rules


def load_rules(extra_dirs: list[str] | tuple[str, ...] = ()) -> list[Rule]:
    rules = builtin_rules()
    seen = {r.id: r.origin for r in rules}
    for directory in extra_dirs:
        for rule in rules_from_dir(directory):
            if rule.id in seen:
                raise RuleError(
                    f"{rule.origin}: rule id {rule.id!r} is already defined by {seen[rule.id]}"
                )
            seen[rule.id] = rule.origin
            rules.append(rule)
    return rules


# ---------------------------------------------------------------------------------------
# Evaluation


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


class _Interpreter(TreeInterpreter):
    """jmespath's tree interpreter with a leaner dispatch. Every node is visited with one
    value, so `visit` needs neither `*args, **kwargs` nor a second lookup: a third of the
    time of a `find:` rule."""

    def visit(self, node: dict, value: object) -> object:  # type: ignore[override]
        method = self._method_cache.get(node["type"])
        if method is None:
            method = self._method_cache[node["type"]] = getattr(
                self, "visit_" + node["type"], self.default_visit
            )
        return method(node, value)


class BoundRule:
    """A rule with this run's severity, params and function table."""

    def __init__(
        self,
        rule: Rule,
        severity: str,
        params: dict[str, Any],
        options: Any,
        severity_overridden: bool = False,
    ) -> None:
        self.rule = rule
        self.severity = severity
        self.params = params
        self.options = options
        self.severity_overridden = severity_overridden
        self.interpreter: _Interpreter | None = None  # one per rule, made on first use
        # (jmespath's own search() makes one per call)

    def search(self, expression, data: object) -> object:
        if self.interpreter is None:
            self.interpreter = _Interpreter(self.options)
        return self.interpreter.visit(expression.parsed, data)

    @property
    def id(self) -> str:
        return self.rule.id


def bind(rule: Rule, severity: str | None, params: dict[str, Any], kube, catalog) -> BoundRule:
    merged = {name: p.default for name, p in rule.params.items()}
    merged.update(params)
    options = jmespath.Options(custom_functions=RuleFunctions(merged, kube, catalog))
    return BoundRule(rule, severity or rule.severity, merged, options, severity is not None)


def evaluate_find(bound: BoundRule, context: dict) -> Iterator[Hit]:
    """Run a `find:` rule: each node it returns (or `true` for the pod) is a hit."""
    rule = bound.rule
    try:
        result = bound.search(rule.find, context)
    except (JMESPathError, TypeError, ValueError, AttributeError, RecursionError):
        return  # a value of the wrong shape: the rule does not apply to this workload
    if result is None or result is False or result == []:
        return
    nodes = result if isinstance(result, list) else [result]
    for node in nodes:
        if node is None or node is False:
            continue
        if node is True:
            node = context.get("pod")
        yield Hit(node, format_message(bound, node), rule.at)


def format_message(bound: BoundRule, node: object) -> str:
    fields = _Fields()
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and isinstance(value, (str, int, float)):
                fields[key] = value
    for name, value in bound.params.items():
        fields[name] = value
    for name, expression in bound.rule.values.items():
        try:
            value = bound.search(expression, node)
        except (JMESPathError, TypeError, ValueError, AttributeError, RecursionError):
            value = None
        fields[name] = "" if value is None else value
    try:
        return " ".join(bound.rule.message.format_map(fields).split())
    except (ValueError, IndexError, KeyError, AttributeError):
        return bound.rule.summary
