"""The command line: `sidecarlint check`, `rules`, `explain`. The only module that does I/O.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 a usage or
configuration error, or input that could not be read or parsed.
"""

from __future__ import annotations

import os
import sys

import click

from sidecarlint import __version__

FORMATS = ("text", "json", "sarif", "github")
INPUT_ERRORS = ("invalid-yaml", "unreadable-file", "render-failed")


class UsageProblem(Exception):
    """A configuration or rule-file problem: one line on stderr, exit 2."""


def _split_ids(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _fail(message: str) -> None:
    click.echo(f"sidecarlint: error: {message}", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sidecarlint")
def main() -> None:
    """Lint Kubernetes manifests for sidecar readiness: native sidecars that the app does not
    wait for, grace periods too short for every container to stop, and Jobs whose sidecars
    never exit."""


def run() -> None:
    """The console script: run the command, then leave at once. A pre-commit hook starts
    sidecarlint constantly, and tearing the interpreter down (freeing every module, rule and
    finding one by one) is about a tenth of a one-file run; the OS reclaims it all anyway."""
    try:
        main.main(prog_name="sidecarlint")
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe (sidecarlint check | head): nothing left to say
        code = code or 1
    os._exit(code or 0)


def _load_setup(config_path, rules_dirs, select, ignore, kube_version):
    """Config, rules and catalogue for a run; raises UsageProblem with a one-line message."""
    from sidecarlint import catalog as catalog_module
    from sidecarlint.config import (
        DEFAULT_KUBE_VERSION,
        Config,
        ConfigError,
        find_config,
        load_config,
        parse_kube_version,
        validate_against_rules,
    )
    from sidecarlint.rules import RuleError, bind, load_rules

    try:
        path = config_path or find_config(os.getcwd())
        config = load_config(path) if path else Config()
        rules = load_rules([*config.rule_dirs, *rules_dirs])
        validate_against_rules(config, rules)
        kube = (
            parse_kube_version(kube_version, "--kube-version")
            if kube_version
            else config.kube_version or DEFAULT_KUBE_VERSION
        )
    except (ConfigError, RuleError) as exc:
        raise UsageProblem(str(exc)) from None
    known = {rule.id for rule in rules}
    for option, ids in (("--select", select), ("--ignore", ignore)):
        for rule_id in ids:
            if rule_id not in known:
                raise UsageProblem(f"{option}: unknown rule {rule_id!r} (see `sidecarlint rules`)")
    chosen = set(select or config.select or known)
    chosen -= set(ignore) | set(config.disable)
    catalog = catalog_module.load(config.sidecars)
    bound = [
        bind(rule, config.severity.get(rule.id), config.params.get(rule.id, {}), kube, catalog)
        for rule in rules
        if rule.id in chosen
    ]
    return config, rules, bound, kube, catalog


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the report to FILE instead of standard output.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    help="Exit 1 when a finding is at or above this severity.  [default: warning]",
)
@click.option("--select", multiple=True, help="Only these rule ids (comma-separated).")
@click.option("--ignore", multiple=True, help="Skip these rule ids (comma-separated).")
@click.option("--kube-version", help="Target Kubernetes version, e.g. 1.29.  [default: 1.33]")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: .sidecarlint.yaml or pyproject.toml, found upwards).",
)
@click.option(
    "--rules-dir",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A folder of extra rule files, loaded beside the built-in rules.",
)
@click.option("--stdin-filename", help="The path to report for input read from '-'.")
@click.option(
    "--chart-root",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Where chart sources live, to point findings in Helm output at the "
    "template (default: the current folder).",
)
@click.option(
    "--srcroot",
    type=click.Path(file_okay=False),
    help="The repository root SARIF paths are relative to (default: current folder).",
)
@click.option(
    "--sarif-category",
    help="SARIF automationDetails.id, so that several uploads "
    "(one per chart, say) do not replace each other.  [default: sidecarlint]",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    help="Report only findings that are not in this baseline file.",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False),
    help="Record the current findings in FILE (then exit 0).",
)
@click.option("--show-suppressed", is_flag=True, help="Also list suppressed findings.")
@click.option(
    "--chart",
    "charts",
    multiple=True,
    type=click.Path(exists=True),
    help="A Helm chart (folder or .tgz) to render with `helm template` and lint.",
)
@click.option(
    "--values",
    "values",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Passed to `helm template --values` for every chart.",
)
@click.option("--set", "sets", multiple=True, help="Passed to `helm template --set`.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Lint with N processes.  [default: one per CPU, fewer for few files]",
)
def check(
    paths,
    output_format,
    output,
    fail_on,
    select,
    ignore,
    kube_version,
    config_path,
    rules_dir,
    stdin_filename,
    chart_root,
    srcroot,
    sarif_category,
    baseline_path,
    write_baseline,
    show_suppressed,
    charts,
    values,
    sets,
    jobs,
) -> None:
    """Lint manifests in PATHS (files or folders; '-' reads standard input; default '.')."""
    try:
        config, rules, bound, kube, catalog = _load_setup(
            config_path, rules_dir, _split_ids(select), _split_ids(ignore), kube_version
        )
        baseline = _read_baseline(baseline_path) if baseline_path else None
    except UsageProblem as exc:
        _fail(str(exc))
        return
    from sidecarlint import render
    from sidecarlint.discover import STDIN, discover
    from sidecarlint.engine import Settings, settle
    from sidecarlint.findings import Finding, at_or_above, make_paths_printable
    from sidecarlint.loader import DEFAULT_MAX_FILE_BYTES
    from sidecarlint.scan import Input, Options, scan

    settings = Settings(bound, kube, catalog)
    settings.config_namespaces = dict(config.mesh.get("namespaces", {}))
    for mesh, mesh_options in config.mesh.items():
        if mesh != "namespaces" and "native" in mesh_options:
            settings.config_native[mesh] = mesh_options["native"]
    settings.known_rules = {rule.id for rule in rules}
    found = discover(
        list(paths) or ([] if charts else ["."]),
        config.exclude,
        list(charts),
        lambda: render.kustomize_command() is not None,
    )
    count = 0

    def inputs():  # made as the walk finds them: a huge tree costs no list of its files
        nonlocal count
        for path in found.files:
            count += 1
            if path == STDIN:
                yield Input("stdin", stdin_filename or "-", sys.stdin.buffer.read())
            else:
                yield Input("file", os.path.normpath(path))
        for chart in found.charts:
            count += 1
            yield Input("chart", os.path.normpath(chart))
        for directory in found.kustomizations:
            count += 1
            yield Input("kustomization", directory)

    options = Options(
        max_bytes=config.max_file_bytes or DEFAULT_MAX_FILE_BYTES,
        chart_roots=list(chart_root),
        values=list(values),
        sets=list(sets),
        helm_kube=f"v{kube[0]}.{kube[1]}.0" if kube_version or config.kube_version else None,
    )
    findings = scan(inputs(), settings, options, jobs)
    findings += [
        Finding("unreadable-file", "error", message, path, 1, 1) for path, message in found.problems
    ]
    findings = settle(findings, settings)
    make_paths_printable(findings)
    findings += settings.suppressions.unused(findings, settings.enabled)
    findings = [_with_severity(f, settings) for f in findings if f.rule in settings.enabled]
    findings.sort(key=Finding.sort_key)
    if output_format == "sarif" or baseline is not None or write_baseline:
        from sidecarlint.findings import assign_fingerprints

        assign_fingerprints(findings)
    if baseline is not None:
        findings = [f for f in findings if f.fingerprint not in baseline]
    if write_baseline:
        try:
            _write_baseline(write_baseline, findings)
        except OSError as exc:
            _fail(f"cannot write the baseline to {write_baseline}: {exc.strerror or exc}")
    shown = findings if show_suppressed else [f for f in findings if not f.suppressed]

    from sidecarlint.report import Run

    use_color = (
        output is None
        and output_format == "text"
        and sys.stdout.isatty()
        and not os.environ.get("NO_COLOR")
    )
    run = Run(
        shown,
        count,
        [b.rule for b in bound],
        use_color,
        {"srcroot": srcroot, "category": sarif_category},
    )
    reporter = _reporter(output_format)
    try:
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                reporter.write(run, handle)
        else:
            reporter.write(run, sys.stdout)
            sys.stdout.flush()
    except BrokenPipeError:
        raise  # sidecarlint check | head: click leaves quietly
    except OSError as exc:  # a missing folder, a full disk
        where = output or "standard output"
        _fail(f"cannot write the report to {where}: {exc.strerror or exc}")

    if write_baseline:
        sys.exit(0)
    threshold = fail_on or config.fail_on or "warning"
    active = [f for f in shown if not f.suppressed]
    if any(f.rule in INPUT_ERRORS for f in active):
        sys.exit(2)
    sys.exit(1 if any(at_or_above(f.severity, threshold) for f in active) else 0)


def _with_severity(finding, settings):
    """Findings made outside the rules (reading problems, suppressions) take the configured
    severity of their rule."""
    bound = settings.severities[finding.rule]
    if bound.rule.reported_by is not None:
        finding.severity = bound.severity
    return finding


def _reporter(output_format: str):
    if output_format == "json":
        from sidecarlint.report import json as module
    elif output_format == "sarif":
        from sidecarlint.report import sarif as module
    elif output_format == "github":
        from sidecarlint.report import github as module
    else:
        from sidecarlint.report import text as module
    return module


BASELINE_KEY = "sidecarlint-baseline"


def _read_baseline(path: str) -> set[str]:
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        fingerprints = data[BASELINE_KEY]["fingerprints"]
        if not isinstance(fingerprints, dict):
            raise TypeError
    except OSError as exc:
        raise UsageProblem(f"{path}: cannot read baseline: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, RecursionError):
        raise UsageProblem(f"{path}: not a sidecarlint baseline (see --write-baseline)") from None
    return set(fingerprints)


def _write_baseline(path: str, findings) -> None:
    import json

    entries = {
        f.fingerprint: " ".join(
            (f.rule, f.path, f"{f.kind or ''}/{f.name or ''}", f.container or "")
        )
        for f in findings
        if not f.suppressed
    }
    document = {BASELINE_KEY: {"version": 1, "fingerprints": dict(sorted(entries.items()))}}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


def _all_rules(rules_dir: tuple[str, ...]):
    from sidecarlint.config import ConfigError, find_config, load_config
    from sidecarlint.rules import RuleError, load_rules

    try:
        path = find_config(os.getcwd())
        extra = load_config(path).rule_dirs if path else []
        return load_rules([*extra, *rules_dir])
    except (ConfigError, RuleError) as exc:
        _fail(str(exc))
        raise  # unreachable


@main.command("rules")
@click.option(
    "--rules-dir",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Also list the rules in this folder.",
)
def list_rules(rules_dir) -> None:
    """List the rules: id, default severity, family and summary."""
    rules = _all_rules(rules_dir)
    width = max(len(r.id) for r in rules)
    for rule in rules:
        click.echo(f"{rule.id:<{width}}  {rule.severity:<7}  {rule.family:<13}  {rule.summary}")


@main.command()
@click.argument("rule_id")
@click.option(
    "--rules-dir",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Also look in this folder of rules.",
)
def explain(rule_id, rules_dir) -> None:
    """Print a rule's documentation: what, why, an example, what to use instead, references."""
    from sidecarlint.explain import render_rule

    rules = {r.id: r for r in _all_rules(rules_dir)}
    rule = rules.get(rule_id)
    if rule is None:
        import difflib

        close = difflib.get_close_matches(rule_id, list(rules), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        _fail(f"unknown rule {rule_id!r}{hint}; `sidecarlint rules` lists them")
        return
    click.echo(render_rule(rule))
