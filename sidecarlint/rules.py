"""Rule files: load and validate them; the rules active in a run (`Ruleset`).

A rule is one YAML file (its name is the rule id): its documentation, default severity,
message templates, and either a JMESPath `find:` expression or, for the built-in rules that
need code, a function registered under its id in its family module (`sidecarlint/families/`).
Input and suppression rules are reported by sidecarlint itself while it reads; they too take
their wording and severity from their file. Everything that can be checked is checked when
the file is loaded, so a typo in a user's rule is one clear error naming the file and the key.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from jmespath.visitor import TreeInterpreter

from sidecarlint import families
from sidecarlint.catalog import Catalog
from sidecarlint.check import CheckContext, Hit
from sidecarlint.findings import SEVERITIES, Finding
from sidecarlint.functions import FUNCTION_NAMES, RuleFunctions
from sidecarlint.loader import YAML_LOADER
from sidecarlint.workloads import Kinds, default_kinds

RULE_KEYS = {
    "summary",
    "severity",
    "family",
    "tags",
    "precision",
    "find",
    "message",
    "messages",
    "values",
    "at",
    "params",
    "docs",
    "needs",
    "fix",
}
DOC_KEYS = ("what", "why", "example", "use_instead", "references")
FIX_TARGETS = ("pod", "container", "pod-annotations")  # the mappings a `fix:` may change
PARAM_TYPES = {"int": int, "number": (int, float), "string": str, "bool": bool, "list": list}
PRECISIONS = ("very-high", "high", "medium", "low")
BUILTIN_FUNCTIONS = frozenset(jmespath.functions.Functions.FUNCTION_TABLE)
# Families whose rules sidecarlint reports itself, while reading inputs and suppressions.
REPORTED_WHILE_READING = ("input", "suppressions")


class RuleError(ValueError):
    """A rule file that is not well formed; the message names the file and the key."""


class Param(NamedTuple):
    default: Any
    type: str
    description: str = ""


class Message(NamedTuple):
    """One message template of a rule; a severity here overrides the rule's default."""

    text: str
    severity: str | None = None


class Rule:
    """One rule file, validated."""

    def __init__(self, id: str, summary: str, severity: str, family: str, origin: str) -> None:
        self.id = id
        self.summary = summary
        self.severity = severity
        self.family = family
        self.origin = origin
        self.messages: dict[str, Message] = {}
        self.find: Any = None  # a compiled JMESPath expression
        self.values: dict[str, Any] = {}
        self.at: str | None = None
        self.params: dict[str, Param] = {}
        self.docs: dict[str, Any] = {}
        self.tags: list[str] = []
        self.precision = "high"
        self.needs: tuple[str, ...] = ()  # pod keys of which at least one must be present
        self.fix: dict | None = None  # the edit that fixes a finding (see fixes.py)
        # The Python code of a built-in rule, from its family module.
        self.check: Callable[..., Iterator[Hit]] | None = None
        self.gather: Callable | None = None
        self.settle: Callable | None = None

    @property
    def runs_on_workloads(self) -> bool:
        return self.find is not None or self.check is not None


def _fail(origin: str, key: str, problem: str) -> RuleError:
    return RuleError(f"{origin}: {key}: {problem}")


def _functions_in(node: dict) -> Iterator[tuple[str, list]]:
    if node.get("type") == "function_expression":
        yield node["value"], node.get("children", [])
    for child in node.get("children", []):
        if isinstance(child, dict):
            yield from _functions_in(child)


def _message_template(origin: str, key: str, text: object) -> str:
    """A message's placeholders are plain names ({name}, a param, a value): a stray brace,
    {0} or {name:>999999999} would otherwise fail, or worse, only when a manifest hits."""
    if not isinstance(text, str) or not text.strip():
        raise _fail(origin, key, "must be a non-empty string")
    text = " ".join(text.split())
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise _fail(origin, key, f"{exc} (write {{{{ and }}}} for a literal brace)") from None
    for _, field, spec, conversion in parts:
        if field is not None and (not field.isidentifier() or spec or conversion):
            written = (
                field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            )
            raise _fail(
                origin, key, f"placeholder {{{written}}} must be a plain name, such as {{name}}"
            )
    return text


def _messages(origin: str, data: dict) -> dict[str, Message]:
    """`message: text` (the default message) and/or `messages: {key: text | {text, severity}}`."""
    messages: dict[str, Message] = {}
    if data.get("message") is not None:
        messages["default"] = Message(_message_template(origin, "message", data["message"]))
    raw = data.get("messages") or {}
    if not isinstance(raw, dict):
        raise _fail(origin, "messages", "must map message keys to texts")
    for key, value in raw.items():
        where = f"messages.{key}"
        severity = None
        if isinstance(value, dict):
            if set(value) - {"text", "severity"}:
                raise _fail(origin, where, "must be a text, or a mapping of text: and severity:")
            severity = value.get("severity")
            if severity is not None and severity not in SEVERITIES:
                raise _fail(origin, f"{where}.severity", f"must be one of {', '.join(SEVERITIES)}")
            value = value.get("text")
        messages[str(key)] = Message(_message_template(origin, where, value), severity)
    return messages


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


def parse_rule(rule_id: str, data: object, origin: str, builtin: bool = False) -> Rule:
    """Validate one rule file's content and return the Rule."""
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
    )
    rule.params = params
    rule.messages = _messages(origin, data)
    if builtin:
        rule.check = families.CHECKS.get(rule_id)
        rule.gather = families.GATHER.get(rule_id)
        rule.settle = families.SETTLE.get(rule_id)
    if data.get("find") is not None:
        if rule.check is not None:
            raise _fail(origin, "find", f"rule {rule_id} has a Python check as well")
        rule.find = _compile(origin, "find", data["find"], params)
    elif rule.check is None and not (builtin and rule.family in REPORTED_WHILE_READING):
        raise _fail(origin, "find", "is required: a JMESPath expression that finds the problem")
    if "default" not in rule.messages and (rule.find is not None or not rule.messages):
        raise _fail(origin, "message", "is required")
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
    fix = data.get("fix")
    if fix is not None:
        setting = (
            isinstance(fix, dict)
            and set(fix) == {"in", "key", "value"}
            and fix.get("in") in FIX_TARGETS
            and all(isinstance(fix.get(k), str) and fix[k] for k in ("key", "value"))
        )
        moving = (
            isinstance(fix, dict)
            and set(fix) == {"move", "to", "keys"}
            and fix.get("move") == "container"
            and fix.get("to") == "initContainers"
            and isinstance(fix.get("keys"), dict)
            and all(isinstance(v, str) for v in fix["keys"].values())
        )
        if not (setting or moving):
            raise _fail(
                origin,
                "fix",
                f"must be {{in: {' | '.join(FIX_TARGETS)}, key: KEY, value: VALUE}} or "
                "{move: container, to: initContainers, keys: {KEY: VALUE}} "
                "(templates filled from the message's fields)",
            )
    rule.fix = fix
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


def _read_yaml(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise RuleError(f"{path}: {where}: not valid YAML") from None
    except RecursionError:  # the pure-Python loader, without libyaml
        raise RuleError(f"{path}: nested too deeply") from None


_builtin: list[Rule] | None = None


def builtin_rules() -> list[Rule]:
    global _builtin
    if _builtin is None:
        from sidecarlint import builtin_rules as files

        _builtin = [
            parse_rule(name[: -len(".yaml")], data, name, True)
            for name, data in files.load().items()
            if name not in files.DATA_FILES
        ]
    return _builtin


def rules_from_dir(directory: str) -> list[Rule]:
    """A user's rule directory: every `*.yaml`/`*.yml` file in it is one rule."""
    if not os.path.isdir(directory):
        raise RuleError(f"{directory}: rules directory does not exist")
    rules = []
    for name in sorted(os.listdir(directory)):
        if name.endswith((".yaml", ".yml")):
            path = os.path.join(directory, name)
            rules.append(parse_rule(os.path.splitext(name)[0], _read_yaml(path), path))
    return rules


def load_rules(extra_dirs: list[str] | tuple[str, ...] = ()) -> list[Rule]:
    rules = list(builtin_rules())
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
# The rules of one run


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


_FIND_ERRORS = (JMESPathError, TypeError, ValueError, AttributeError, RecursionError)


class Interpreter(TreeInterpreter):
    """jmespath's tree interpreter, one per rule and run, with a dispatch table of its own:
    `expression.search()` makes an interpreter per call, and the stock `visit()` takes
    `*args, **kwargs` and looks each node's method up again. Only the public visitor
    protocol (`visit_<node type>` methods) is used."""

    def __init__(self, options: jmespath.Options) -> None:
        super().__init__(options)
        self.visitors: dict[str, Callable] = {}

    def visit(self, node: dict, value: object) -> object:  # type: ignore[override]
        method = self.visitors.get(node["type"])
        if method is None:
            method = self.visitors[node["type"]] = getattr(
                self, "visit_" + node["type"], self.default_visit
            )
        return method(node, value)

    def search(self, expression: Any, value: object) -> object:
        return self.visit(expression.parsed, value)


class ActiveRule:
    """A rule enabled in this run, with the severity and params config gives it."""

    def __init__(
        self,
        rule: Rule,
        severity: str | None,
        params: dict[str, Any],
        kube: tuple[int, int],
        catalog: Catalog,
        default_namespace: str | None = None,
    ) -> None:
        self.rule = rule
        self.id = rule.id
        self.severity_override = severity  # from config; wins over every message's own
        self.params = {name: p.default for name, p in rule.params.items()}
        self.params.update(params)
        self.context = CheckContext(self.params, kube, catalog, default_namespace)
        self.interpreter = Interpreter(
            jmespath.Options(custom_functions=RuleFunctions(self.params, kube, catalog))
        )

    @property
    def severity(self) -> str:
        return self.severity_override or self.rule.severity

    def severity_of(self, message: str) -> str:
        """The one place a finding's severity is decided: config, else the message's own,
        else the rule's default."""
        if self.severity_override:
            return self.severity_override
        template = self.rule.messages.get(message)
        return (template.severity if template else None) or self.rule.severity

    def text(self, message: str, fields: dict | None) -> str:
        template = self.rule.messages.get(message)
        if template is None:
            return self.rule.summary
        try:
            return template.text.format_map(_Fields(fields or ()))
        except (ValueError, IndexError, KeyError, AttributeError):
            return self.rule.summary

    def hits(self, workload: Any, context: dict) -> Iterator[Hit]:
        """What the rule finds in one workload (`context` is what a `find:` sees)."""
        if self.rule.check is not None:
            yield from self.rule.check(workload, self.context)
            return
        try:
            result = self.interpreter.search(self.rule.find, context)
        except _FIND_ERRORS:
            return  # a value of the wrong shape: the rule does not apply to this workload
        if result is None or result is False or result == []:
            return
        for node in result if isinstance(result, list) else [result]:
            if node is None or node is False:
                continue
            if node is True:
                node = context.get("pod")
            yield Hit(node, "default", self._find_fields(node), self.rule.at)

    def _find_fields(self, node: object) -> dict:
        fields: dict = {}
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and isinstance(value, (str, int, float)):
                    fields[key] = value
        fields.update(self.params)
        for name, expression in self.rule.values.items():
            try:
                value = self.interpreter.search(expression, node)
            except _FIND_ERRORS:
                value = None
            fields[name] = "" if value is None else value
        return fields

    def find_text(self, fields: dict) -> str:
        """A `find:` rule's message: values from the manifest may hold any white space."""
        return " ".join(self.text("default", fields).split())


class Ruleset:
    """The rules of one run, as config and the command line chose them, with the target
    Kubernetes version and the sidecar catalogue. Made once, then only read."""

    def __init__(
        self,
        rules: list[Rule],
        chosen: set[str],
        severity: dict[str, str],
        params: dict[str, dict],
        kube: tuple[int, int],
        catalog: Catalog,
        default_namespace: str | None = None,
        kinds: Kinds | None = None,
    ) -> None:
        self.kube = kube
        self.catalog = catalog
        self.kinds = kinds or default_kinds()  # where each kind of object holds its pods
        self.rules = rules  # every rule loaded, enabled or not
        self.known = {rule.id for rule in rules}
        self.active = {
            rule.id: ActiveRule(
                rule,
                severity.get(rule.id),
                params.get(rule.id, {}),
                kube,
                catalog,
                default_namespace,
            )
            for rule in rules
            if rule.id in chosen
        }
        self.workload_rules = [a for a in self.active.values() if a.rule.runs_on_workloads]
        gatherers = {a.rule.gather for a in self.active.values() if a.rule.gather}
        self.gatherers = sorted(gatherers, key=lambda f: f.__module__ + f.__name__)

    def finding(
        self,
        rule_id: str,
        message: str,
        fields: dict | None,
        path: str,
        line: int = 1,
        column: int = 1,
    ) -> Finding | None:
        """A finding that sidecarlint reports itself (an input or suppression rule), in its
        rule's words and severity; None when the rule is not enabled."""
        active = self.active.get(rule_id)
        if active is None:
            return None
        return Finding(
            rule_id, active.severity_of(message), active.text(message, fields), path, line, column
        )
