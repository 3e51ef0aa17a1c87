"""The library entry point: `lint(paths, options) -> LintResult`.

    from sidecarlint.api import LintOptions, lint
    result = lint(["k8s/"], LintOptions(kube_version="1.30"))
    for finding in result.findings: ...

The pipeline, start to end (docs/architecture.md has the picture): config and rules →
discover inputs → scan each input (read or render, load, lint: `scan.py`, `engine.py`) →
merge the inputs' facts once → settle pending findings → unused suppressions → sorted
findings. Nothing here prints or exits; the CLI renders the result and sets the exit code.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from sidecarlint import facts as facts_module
from sidecarlint.config import Config
from sidecarlint.facts import Facts
from sidecarlint.findings import Finding
from sidecarlint.rules import Rule, Ruleset

UNREADABLE_TAG = "unreadable-input"  # rules whose findings mean an input was not linted
# rules whose findings mean a chart or overlay was not rendered: errors with require_render
UNRENDERED_TAG = "unrendered"


class UsageError(ValueError):
    """A configuration, rule-file or option problem; the message is one line."""


class LintOptions(NamedTuple):
    """What a caller may ask of a run. Anything left unset comes from the config file
    (`config`, else `.sidecarlint.yaml` or pyproject.toml found upwards from `cwd`)."""

    config: str | None = None
    rules_dirs: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    kube_version: str | None = None
    charts: tuple[str, ...] = ()  # charts to render besides those found in the paths
    values: tuple[str, ...] = ()  # helm template --values, for every chart
    sets: tuple[str, ...] = ()  # helm template --set
    chart_roots: tuple[str, ...] = ()  # where `# Source:` templates are looked up
    jobs: int | None = None  # processes; None: one per CPU, fewer for few inputs
    stdin: bytes | None = None  # what '-' in the paths reads
    stdin_filename: str | None = None  # the path to report for it
    cwd: str | None = None  # where the config search starts (default: the current folder)
    allow_remote: bool | None = None  # let kustomize fetch remote resources (default: config)
    require_render: bool | None = None  # a chart not rendered is an error (default: config)
    # The repository the paths belong to, when they are a few changed files (the
    # pre-commit hook): its manifests give the run-wide facts (Namespaces, mesh
    # installations), and its Kustomize overlays that load a named file are rendered too.
    repository: str | None = None
    # Give each shutdown finding its pod's timeline (`Finding.timeline`), for the outputs
    # that draw it (SARIF, text with --show-timeline); off, a run keeps none in memory.
    timelines: bool = False


class LintResult(NamedTuple):
    findings: list[Finding]  # sorted; suppressed ones included, marked `suppressed`
    inputs: int  # files, charts and overlays linted
    facts: Facts  # what the run's objects and the config say about namespaces and meshes
    rules: list[Rule]  # the rules that ran
    config: Config
    unreadable_rules: frozenset[str] = frozenset()  # their findings: an input was not linted
    # What content may make sidecarlint read (the repository and the paths named): a
    # caller that reads the files findings name (--show-source) reads only inside them.
    bounds: tuple[str, ...] = ()
    # Each finding's path is its identity (`discover.PathIdentity`): repository-relative
    # POSIX; this maps it back to the path as it was read, for a caller that opens it.
    read_as: dict[str, str] | None = None

    @property
    def unreadable(self) -> bool:
        """Whether an input could not be read, parsed or rendered (it was not linted)."""
        return any(f.rule in self.unreadable_rules and not f.suppressed for f in self.findings)


def _config_start(options: LintOptions, paths: tuple[str, ...] = ()) -> str:
    """Where the config search starts: the folder of the first path linted (a run from a
    subfolder, or naming a folder elsewhere, finds that folder's config); the current
    folder's config applies when the linted path has none."""
    for path in (*paths, *options.charts):
        if path != "-" and os.path.exists(path):
            return path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return options.cwd or os.getcwd()


def prepare(options: LintOptions, paths: tuple[str, ...] = ()) -> tuple[Config, Ruleset]:
    """The config and the run's rules; raises UsageError with a one-line message."""
    from sidecarlint import catalog as catalog_module
    from sidecarlint import workloads as workloads_module
    from sidecarlint.config import (
        DEFAULT_KUBE_VERSION,
        ConfigError,
        find_config,
        load_config,
        parse_kube_version,
        validate_against_rules,
    )
    from sidecarlint.discover import inside, repository_root
    from sidecarlint.rules import RuleError, load_rules

    try:
        path = (
            options.config
            or find_config(_config_start(options, paths))
            or find_config(options.cwd or os.getcwd())  # none there: the current folder's
        )
        config = load_config(path) if path else Config()
        if config.path:  # the config's rule folders stay in the config's own repository
            root = repository_root(os.path.dirname(os.path.abspath(config.path)), config.path)
            for folder in config.rule_dirs:
                if not inside(folder, (root,)):
                    raise ConfigError(
                        f"{config.path}: rule_dirs: {folder} is outside the repository"
                    )
        rules = load_rules([*config.rule_dirs, *options.rules_dirs])
        validate_against_rules(config, rules)
        kube = (
            parse_kube_version(options.kube_version, "--kube-version")
            if options.kube_version
            else config.kube_version or DEFAULT_KUBE_VERSION
        )
    except (ConfigError, RuleError) as exc:
        raise UsageError(str(exc)) from None
    known = {rule.id for rule in rules}
    for option, ids in (("--select", options.select), ("--ignore", options.ignore)):
        for rule_id in ids:
            if rule_id not in known:
                raise UsageError(f"{option}: unknown rule {rule_id!r} (see `sidecarlint rules`)")
    chosen = set(options.select or config.select or known)
    chosen -= set(options.ignore) | set(config.disable)
    catalog = catalog_module.load(config.sidecars)
    ruleset = Ruleset(
        rules,
        chosen,
        config.severity,
        config.params,
        kube,
        catalog,
        config.default_namespace,
        workloads_module.load(config.workloads),
    )
    for active in ruleset.active.values():
        active.context.timelines = options.timelines
    return config, ruleset


MAX_OVERLAYS = 2000  # kustomization files a hook run looks through for a changed file


def _overlays_loading(
    paths: list[str],
    repository: str,
    config: Config,
    bounds: tuple[str, ...],
    config_folder: str | None,
) -> list[str]:
    """The Kustomize overlays of the repository that load a folder holding one of the named
    files (a changed base file re-renders every overlay built on it)."""
    from sidecarlint import kustomize, render
    from sidecarlint.discover import is_excluded, walk_tree

    folders = {
        os.path.dirname(os.path.realpath(p)) for p in paths if p != "-" and os.path.isfile(p)
    }
    if not folders:
        return []
    overlays = []
    for count, (directory, subfolders, _) in enumerate(walk_tree(repository, lambda error: None)):
        if count > 50 * MAX_OVERLAYS or len(overlays) > MAX_OVERLAYS:
            break
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith(".")
            and not is_excluded(os.path.join(directory, name), config.exclude, config_folder)
        ]
        if render.kustomization_file(directory) is None:
            continue
        if folders & kustomize.overlay_folders(directory, bounds):
            overlays.append(directory)
    return overlays


def _facts_from(
    folder: str, linted: set[str], ruleset: Ruleset, config: Config, bounds: tuple[str, ...]
) -> Facts:
    """The run-wide facts of every manifest under `folder` not linted in this run: only the
    files that hold a family's marker bytes are parsed, and nothing is reported for them.
    What each file gave is kept in the repository's git folder (`facts_cache`), and a file
    whose size and modification time did not change is not read again."""
    from sidecarlint import facts_cache
    from sidecarlint.discover import discover
    from sidecarlint.facts import add_fragment, fragment
    from sidecarlint.loader import DEFAULT_MAX_FILE_BYTES, load_bytes

    facts = Facts()
    markers = tuple(m for gather in ruleset.gatherers for m in getattr(gather, "markers", ()))
    limit = config.max_file_bytes or DEFAULT_MAX_FILE_BYTES
    cache = facts_cache.load(folder, ruleset)
    fresh: dict[str, list] = {}
    for path in discover([folder], config.exclude, bounds=bounds).files:
        if os.path.realpath(path) in linted or not os.path.isfile(path):
            continue
        try:
            stat = os.stat(path)
        except OSError:
            continue
        key = os.path.relpath(path, folder)
        stamp = [stat.st_size, stat.st_mtime_ns]
        cached = cache.get(key)
        usable = isinstance(cached, list) and len(cached) == 2 and cached[0] == stamp
        if usable and add_fragment(facts, path, cached[1]):  # checked before it adds
            fresh[key] = cached
            continue
        part = Facts()
        try:
            if stat.st_size > limit:
                continue
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError:
            continue
        if not markers or any(marker in data for marker in markers):
            for document in load_bytes(path, data).documents:
                part.where = (path, document.line)  # a Namespace is seen beside its file
                for gather in ruleset.gatherers:
                    gather(document.data, part)
            part.where = None
        found = fragment(part)
        add_fragment(facts, path, found)
        fresh[key] = [stamp, found]
    facts_cache.save(folder, ruleset, fresh)
    return facts


def _covers_repositories(named: list[str]) -> bool:
    """Whether the paths linted hold the whole of each repository they lie in."""
    from sidecarlint.discover import inside, repository_root

    folders = [os.path.realpath(p) for p in named if os.path.isdir(p)]
    if not folders or len(folders) != len(named):
        return False
    return all(inside(repository_root(folder), tuple(folders)) for folder in folders)


def _once_each(findings: list[Finding]) -> list[Finding]:
    """One finding per rule, place and message: a base shared by several overlays is built
    once per overlay, and what none of them changed is reported once, at the base."""
    seen: set[tuple] = set()
    kept = []
    for finding in findings:
        key = (finding.rule, finding.path, finding.line, finding.column, finding.message)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept


NAMESPACE_CONFLICT = "namespace-conflict"


def bounds_of(named: list[str], options: LintOptions, config: Config) -> tuple[str, ...]:
    """What content may make sidecarlint read: the repository the run starts in, and what
    the user named with the repository each of those lies in."""
    from sidecarlint.discover import repository_root

    return tuple(
        dict.fromkeys(
            [
                repository_root(options.cwd or os.getcwd(), config.path),
                *(repository_root(p if os.path.isdir(p) else os.path.dirname(p)) for p in named),
                *(os.path.realpath(p) for p in named),
            ]
        )
    )


def run_facts(parts: list[Facts], config: Config) -> Facts:
    """The run's facts: the inputs' merged, with the config's mesh settings."""
    config_native = {
        mesh: settings["native"]
        for mesh, settings in config.mesh.items()
        if mesh != "namespaces" and "native" in settings
    }
    config_versions = {
        mesh: str(settings["version"])
        for mesh, settings in config.mesh.items()
        if mesh != "namespaces" and "version" in settings
    }
    return facts_module.merge(
        parts, dict(config.mesh.get("namespaces", {})), config_native, config_versions
    )


def _namespace_conflicts(facts: Facts, ruleset: Ruleset) -> list[Finding]:
    """A Namespace declared twice in the run with different injection labels: at the later
    declaration, with the earlier one as a related location (info; the later one is used)."""
    keys = {
        signal["key"]
        for sidecar in ruleset.catalog.injectors()
        for group in ("namespace", "disable")
        for signal in (sidecar.inject or {}).get(group, [])
    }
    findings = []
    for name, key, value, where, earlier, first in facts.conflicts(keys):
        fields = {
            "name": name,
            "key": key,
            "value": "unset" if value is None else str(value),
            "earlier": "unset" if earlier is None else str(earlier),
            "first": f"{first[0]}:{first[1]}",
        }
        finding = ruleset.finding(NAMESPACE_CONFLICT, "default", fields, where[0], where[1])
        if finding is not None:
            related = (first[0], first[1], 1, f"Namespace '{name}' declared here first")
            findings.append(finding._replace(kind="Namespace", name=name, related=related))
    return findings


def lint(paths: list[str] | tuple[str, ...], options: LintOptions | None = None) -> LintResult:
    """Lint files, folders, charts and '-' (options.stdin); raises UsageError."""
    from sidecarlint.discover import STDIN, Noted, PathIdentity, discover
    from sidecarlint.engine import once_per_kind, settle
    from sidecarlint.loader import DEFAULT_MAX_FILE_BYTES
    from sidecarlint.scan import Input, ScanOptions, scan
    from sidecarlint.suppress import unused

    options = options or LintOptions()
    config, ruleset = prepare(options, tuple(paths))
    paths = list(paths) or ([] if options.charts else ["."])
    # What content may make sidecarlint read: the repository the run starts in, and what
    # the user named with the repository each of those lies in.
    named = [p for p in (*paths, *options.charts, *options.chart_roots) if p != STDIN]
    named = [p for p in named if os.path.exists(p)]
    bounds = bounds_of(named, options, config)
    allow_remote = config.allow_remote if options.allow_remote is None else options.allow_remote
    overlay_notes: list[Noted] = []

    def plan_overlay(directory: str) -> bool:
        """Render this overlay? Not when it would fetch from the network (unless allowed)
        or load a folder outside the bounds, nor without kustomize; its files are then
        linted one by one, and each reason is a finding."""
        from sidecarlint import kustomize, render  # only runs that meet an overlay need them

        blocked = False
        for ref in kustomize.references(directory, bounds):
            if ref.kind == "outside":
                rule, message, fields = "outside-repository", "kustomize", {"reference": ref.text}
            elif not allow_remote:
                rule, message, fields = "remote-resource", "default", {"reference": ref.text}
            else:
                continue
            overlay_notes.append(Noted(rule, ref.path, message, fields, ref.line, ref.column))
            blocked = True
        if blocked:
            return False
        if render.kustomize_command() is None:
            fields = {
                "overlay": os.path.normpath(directory),
                "command": render.shown_command(["kubectl", "kustomize", directory]),
            }
            display = os.path.normpath(render.kustomization_file(directory) or directory)
            overlay_notes.append(Noted("render-unavailable", display, "kustomize", fields))
            return False
        return True

    config_folder = os.path.dirname(os.path.abspath(config.path)) if config.path else None
    if options.repository:
        paths += _overlays_loading(paths, options.repository, config, bounds, config_folder)
    found = discover(
        paths, config.exclude, list(options.charts), plan_overlay, bounds, config_folder
    )
    count = 0
    linted_files: set[str] = set()  # what the repository's facts need not read again

    def inputs():  # made as the walk finds them: a huge tree costs no list of its files
        nonlocal count
        for path in found.files:
            count += 1
            if options.repository:
                linted_files.add(os.path.realpath(path))
            if path == STDIN:
                yield Input("stdin", options.stdin_filename or "-", options.stdin or b"")
            else:
                yield Input("file", os.path.normpath(path))
        for chart in found.charts:
            count += 1
            yield Input("chart", os.path.normpath(chart))
        for directory in found.kustomizations:
            count += 1
            yield Input("kustomization", directory)

    kube = ruleset.kube
    scan_options = ScanOptions(
        max_bytes=config.max_file_bytes or DEFAULT_MAX_FILE_BYTES,
        chart_roots=tuple(options.chart_roots),
        values=tuple(options.values),
        sets=tuple(options.sets),
        helm_kube=f"v{kube[0]}.{kube[1]}.0"
        if options.kube_version or config.kube_version
        else None,
        bounds=bounds,
        charts=config.charts,
    )
    findings: list[Finding] = []
    parts: list[Facts] = []
    declarations = []
    for linted in scan(inputs(), ruleset, scan_options, options.jobs):
        findings.extend(linted.findings)
        declarations.extend(linted.declarations)
        if linted.facts:
            parts.append(linted.facts)
    if options.repository and ruleset.gatherers:
        parts.append(_facts_from(options.repository, linted_files, ruleset, config, bounds))
    said: set[tuple] = set()
    for note in [*found.noted, *overlay_notes]:
        path = note.path if note.path == STDIN else os.path.normpath(note.path)
        key = (note.rule, path, note.line, note.column, note.message, repr(note.fields))
        if key in said:
            continue  # a reference seen from two overlays (one including the other): once
        said.add(key)
        finding = ruleset.finding(
            note.rule, note.message, note.fields, path, note.line, note.column
        )
        if finding is not None:
            findings.append(finding)
    facts = run_facts(parts, config)
    findings += _namespace_conflicts(facts, ruleset)
    findings = once_per_kind(settle(findings, facts, ruleset), ruleset)
    # A suppression of a finding that depends on other files (a Namespace, a mesh install)
    # is judged unused only when the run saw every file of the repository, or its facts.
    whole = bool(options.repository) or _covers_repositories(named)
    findings += unused(declarations, findings, ruleset, whole)
    rules = [active.rule for active in ruleset.active.values()]
    unreadable = {rule.id for rule in rules if UNREADABLE_TAG in rule.tags}
    require = config.require_render if options.require_render is None else options.require_render
    if require:  # not rendered is not linted: an error, and the run says so in its exit code
        unrendered = {rule.id for rule in rules if UNRENDERED_TAG in rule.tags}
        unreadable |= unrendered
        findings = [f._replace(severity="error") if f.rule in unrendered else f for f in findings]
    identity = PathIdentity(config.path, options.cwd)
    findings = _once_each([_identified(finding, identity) for finding in findings])
    findings.sort(key=Finding.sort_key)
    return LintResult(
        findings, count, facts, rules, config, frozenset(unreadable), bounds, identity.read_as
    )


def _identified(finding: Finding, identity) -> Finding:
    """The finding with every path it names as its identity (one name whatever was typed)."""
    changes: dict = {"path": identity(finding.path)}
    if finding.related:
        changes["related"] = (identity(finding.related[0]), *finding.related[1:])
    if finding.suppressed_by:
        changes["suppressed_by"] = (identity(finding.suppressed_by[0]), *finding.suppressed_by[1:])
    return finding._replace(**changes)
