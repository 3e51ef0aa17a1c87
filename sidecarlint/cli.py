"""The command line: `sidecarlint check`, `rules`, `explain`. The only module that does I/O.

Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it; 2 a usage or
configuration error, or input that could not be read or parsed.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TextIO

import click

from sidecarlint import __version__

FORMATS = ("text", "json", "sarif", "github", "markdown")


def _split_ids(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _fail(message: str) -> None:
    from sidecarlint.findings import visible

    # a message may quote a config or rule file, which a pull request can write
    click.echo(f"sidecarlint: error: {visible(message)}", err=True)
    sys.exit(2)


def _version_text() -> str:
    """The version, and the commit it was built from when installed from git (PEP 610's
    direct_url.json) or run from a git checkout (an editable install)."""
    import json

    commit = None
    try:
        from importlib.metadata import distribution

        direct = json.loads(distribution("sidecarlint").read_text("direct_url.json") or "{}")
        commit = direct.get("vcs_info", {}).get("commit_id")
        if commit is None and direct.get("dir_info", {}).get("editable"):
            commit = _git_head(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    except Exception:  # no metadata, unreadable metadata: the version alone
        commit = None
    return f"sidecarlint, version {__version__}" + (f" (commit {commit[:12]})" if commit else "")


def _git_head(folder: str) -> str | None:
    """The commit a checkout's HEAD names, read from .git without running git."""
    git = os.path.join(folder, ".git")
    try:
        with open(os.path.join(git, "HEAD"), encoding="utf-8") as handle:
            head = handle.read().strip()
        if not head.startswith("ref: "):
            return head or None
        ref = head[5:]
        if os.path.isfile(os.path.join(git, ref)):
            with open(os.path.join(git, ref), encoding="utf-8") as handle:
                return handle.read().strip() or None
        with open(os.path.join(git, "packed-refs"), encoding="utf-8") as handle:
            for line in handle:
                if line.rstrip().endswith(" " + ref):
                    return line.split()[0]
    except OSError:
        return None
    return None


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version, and the commit when installed from git, and exit.",
)
def main() -> None:
    """Lint Kubernetes manifests for sidecar readiness: native sidecars that the app does not
    wait for, grace periods too short for every container to stop, and Jobs whose sidecars
    never exit."""


def console_main() -> None:
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
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: the stream was closed before we started
                stream.flush()
    except OSError:  # a closed pipe (sidecarlint check | head): nothing left to say
        code = code or 1
    os._exit(code or 0)


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
    help="The folder SARIF paths are relative to (default: the git top level of the current "
    "folder).",
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
    "--allow-remote/--no-allow-remote",
    default=None,
    help="Let kustomize fetch remote resources (default: allow_remote in config, else no). "
    "On untrusted pull requests pass --no-allow-remote.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    help="Lint with N processes; 0: one per CPU.  [default: one per CPU, fewer for few files]",
)
@click.option(
    "--repository",
    type=click.Path(file_okay=False, exists=True),
    help="The repository the PATHS (a few changed files) belong to: run-wide facts "
    "(Namespaces, mesh installations) come from all its manifests, and its Kustomize "
    "overlays that load a named file are rendered too. The pre-commit hook passes '.'.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings or inputs fail.")
@click.option(
    "--require-render/--no-require-render",
    default=None,
    help="A chart or overlay that cannot be rendered (no helm or kubectl) is an error, "
    "not a note.  [default: require_render in config, else no]",
)
@click.option("--statistics", is_flag=True, help="Text output: a count per rule, not each finding.")
@click.option("-q", "--quiet", is_flag=True, help="Text output: the findings, without the summary.")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the text output; auto: on a terminal, unless NO_COLOR is set (FORCE_COLOR "
    "forces it).",
)
@click.option("--show-source", is_flag=True, help="Text output: the offending line, with a caret.")
@click.option(
    "--show-timeline",
    is_flag=True,
    help="Text output: the pod's timeline under each shutdown finding (see `timeline`).",
)
@click.option(
    "--fix",
    "apply_fixes",
    is_flag=True,
    help="Make the edits the rules know (grace period, startup probe, native switch) in the "
    "files, then report what is left.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Print those edits as a unified diff (for git apply) and write nothing.",
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
    allow_remote,
    jobs,
    repository,
    exit_zero,
    require_render,
    statistics,
    quiet,
    color,
    show_source,
    show_timeline,
    apply_fixes,
    show_diff,
) -> None:
    """Lint manifests in PATHS (files or folders; '-' reads standard input; default '.')."""
    from sidecarlint.api import LintOptions, UsageError, lint
    from sidecarlint.findings import at_or_above, visible

    if "-" in paths and sys.stdin is None:
        _fail("standard input is closed, so '-' cannot be read")
    if output is None and sys.stdout is None:
        _fail("standard output is closed: write the report with --output FILE")
    for target, option in ((output, "--output"), (write_baseline, "--write-baseline")):
        if target and _is_an_input(target, paths, charts):
            _fail(f"{option} {target} is one of the files being linted; write it elsewhere")
    options = LintOptions(
        config=config_path,
        rules_dirs=tuple(rules_dir),
        select=tuple(_split_ids(select)),
        ignore=tuple(_split_ids(ignore)),
        kube_version=kube_version,
        charts=tuple(charts),
        values=tuple(values),
        sets=tuple(sets),
        chart_roots=tuple(chart_root),
        jobs=(os.cpu_count() or 1) if jobs == 0 else jobs,
        allow_remote=allow_remote,
        require_render=require_render,
        repository=repository,
        stdin=sys.stdin.buffer.read() if "-" in paths else None,
        stdin_filename=stdin_filename,
        timelines=show_timeline or output_format == "sarif",
    )
    if apply_fixes and show_diff:
        _fail("--fix and --diff: choose one (--diff shows what --fix would write)")
    try:
        baseline = _read_baseline(baseline_path) if baseline_path else None
        result = lint(paths, options)
        if apply_fixes or show_diff:
            from sidecarlint import fixes
            from sidecarlint.report import plural

            wanted = result.findings
            if baseline is not None:
                from sidecarlint.findings import with_fingerprints

                wanted = [f for f in with_fingerprints(wanted) if f.fingerprint not in baseline]
            changes = fixes.file_fixes(wanted, result.read_as)
            edits = sum(1 for f in wanted if f.fix is not None and not f.suppressed)
            if show_diff:
                # the files' own bytes: CRLF lines and undecodable names stay as they are
                sys.stdout.flush()
                sys.stdout.buffer.write(
                    fixes.unified_diff(changes).encode("utf-8", "surrogateescape")
                )
                sys.stdout.flush()
                for change in changes:
                    if not fixes.diff_safe(change):
                        click.echo(
                            f"sidecarlint: {visible(change.path)}: not in the diff (its name "
                            "has characters a diff cannot carry); --fix edits it",
                            err=True,
                        )
                click.echo(
                    f"sidecarlint: {plural(edits, 'edit')} in {plural(len(changes), 'file')} "
                    "(nothing written)",
                    err=True,
                )
                sys.exit(1 if changes and not exit_zero else 0)
            fixes.write(changes)
            click.echo(
                f"sidecarlint: fixed {plural(len(changes), 'file')} ({plural(edits, 'edit')})",
                err=True,
            )
            if changes:
                result = lint(paths, options)  # what is left
    except UsageError as exc:
        _fail(str(exc))
        return
    except OSError as exc:
        _fail(f"cannot write a fix: {exc.strerror or exc}")
        return
    except KeyboardInterrupt:
        click.echo("sidecarlint: interrupted", err=True)
        sys.exit(130)
    findings = result.findings
    if output_format == "sarif" or baseline is not None or write_baseline:
        from sidecarlint.findings import with_fingerprints

        findings = with_fingerprints(findings)
    if write_baseline:  # every current finding, also those the old baseline already holds
        try:
            _write_baseline(write_baseline, findings)
        except OSError as exc:
            _fail(f"cannot write the baseline to {write_baseline}: {exc.strerror or exc}")
    if baseline is not None:
        findings = [f for f in findings if f.fingerprint not in baseline]
    shown = findings if show_suppressed else [f for f in findings if not f.suppressed]

    from sidecarlint.report import Report

    if result.inputs == 0:
        click.echo(
            "sidecarlint: nothing was linted: no YAML or JSON file, chart or overlay in "
            + " ".join(visible(p) for p in (paths or (".",))),
            err=True,
        )
    report = Report(
        shown,
        result.inputs,
        result.rules,
        _use_color(color, output, output_format),
        {"srcroot": srcroot, "category": sarif_category, "read_as": result.read_as},
    )
    report.quiet = quiet
    report.statistics = statistics
    report.show_timeline = show_timeline
    if show_source:
        report.source_line = lambda path, line: _source_line(
            (result.read_as or {}).get(path, path), line, result.bounds
        )
    reporter = _reporter(output_format)
    try:
        if output:
            with _replacing(output) as handle:
                reporter.write(report, handle)
        else:
            reporter.write(report, sys.stdout)
            sys.stdout.flush()
    except BrokenPipeError:
        raise  # sidecarlint check | head: click leaves quietly
    except OSError as exc:  # a missing folder, a full disk
        where = output or "standard output"
        _fail(f"cannot write the report to {where}: {exc.strerror or exc}")

    if write_baseline or exit_zero:
        sys.exit(0)
    threshold = fail_on or result.config.fail_on or "warning"
    active = [f for f in shown if not f.suppressed]
    if any(f.rule in result.unreadable_rules for f in active):
        sys.exit(2)
    sys.exit(1 if any(at_or_above(f.severity, threshold) for f in active) else 0)


def _use_color(choice: str, output: str | None, output_format: str) -> bool:
    """Colour only text, and by default only on a terminal: NO_COLOR turns it off and
    FORCE_COLOR on (https://no-color.org, https://force-color.org); --color wins over both."""
    if output_format != "text" or choice == "never":
        return False
    if choice == "always":
        return True
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return output is None and sys.stdout is not None and sys.stdout.isatty()


_sources: dict[str, list[str]] = {}


def _source_line(path: str, line: int, bounds: tuple[str, ...]) -> str | None:
    """The text of a reported line (for --show-source), read once per file and bounded: only
    a regular file inside the run's bounds (a finding may name a link that leaves them)."""
    from sidecarlint.discover import inside

    lines = _sources.get(path)
    if lines is None:
        lines = []
        try:
            readable = os.path.isfile(path) and inside(path, bounds)
            if readable and os.path.getsize(path) <= 8 * 1024 * 1024:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    lines = handle.read().splitlines()
        except OSError:
            pass
        _sources[path] = lines
    return lines[line - 1] if 0 < line <= len(lines) else None


def _reporter(output_format: str):
    if output_format == "json":
        from sidecarlint.report import json as module
    elif output_format == "sarif":
        from sidecarlint.report import sarif as module
    elif output_format == "github":
        from sidecarlint.report import github as module
    elif output_format == "markdown":
        from sidecarlint.report import markdown as module
    else:
        from sidecarlint.report import text as module
    return module


BASELINE_KEY = "sidecarlint-baseline"


def _read_baseline(path: str) -> set[str]:
    import json

    from sidecarlint.api import UsageError

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        fingerprints = data[BASELINE_KEY]["fingerprints"]
        if not isinstance(fingerprints, dict):
            raise TypeError
    except OSError as exc:
        raise UsageError(f"{path}: cannot read baseline: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError, RecursionError):
        raise UsageError(f"{path}: not a sidecarlint baseline (see --write-baseline)") from None
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
    with _replacing(path) as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


@contextlib.contextmanager
def _replacing(path: str) -> Iterator[TextIO]:
    """Write `path` whole or not at all: into a temporary file beside it, renamed over it
    once complete (two runs at once leave one whole report, never a mix)."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, prefix=".sidecarlint-", suffix=".tmp", delete=False
    ) as handle:
        try:
            yield handle
            handle.close()
            os.replace(handle.name, path)
        except BaseException:
            handle.close()
            with contextlib.suppress(OSError):
                os.unlink(handle.name)
            raise


def _is_an_input(target: str, paths: tuple[str, ...], charts: tuple[str, ...]) -> bool:
    """Whether writing `target` would overwrite a file this run reads: a file named on the
    command line, or an existing YAML or JSON file that the walk of a named folder (or of
    `.`) reaches."""
    from sidecarlint.discover import EXTENSIONS, inside

    real = os.path.realpath(target)
    named = [os.path.realpath(p) for p in (*paths, *charts) if p != "-"] or [os.path.realpath(".")]
    if real in named:
        return True
    if not (real.endswith(EXTENSIONS) and os.path.exists(real)):
        return False
    for folder in (p for p in named if os.path.isdir(p)):
        if inside(real, [folder]):
            relative = os.path.relpath(real, folder).split(os.sep)
            if not any(part.startswith(".") for part in relative):  # the walk skips those
                return True
    return False


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
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json", "markdown")),
    default="text",
    show_default=True,
    help="text: one line per rule; json: every rule with its documentation and parameters; "
    "markdown: the index table of docs/rules/.",
)
def list_rules(rules_dir, output_format) -> None:
    """List the rules: id, default severity, family and summary."""
    rules = _all_rules(rules_dir)
    if output_format == "json":
        import json

        click.echo(json.dumps([_rule_json(rule) for rule in rules], indent=2, ensure_ascii=False))
        return
    if output_format == "markdown":
        from sidecarlint.explain import index_page

        click.echo(index_page(sorted(rules, key=lambda r: r.id)), nl=False)
        return
    width = max(len(r.id) for r in rules)
    for rule in rules:
        click.echo(f"{rule.id:<{width}}  {rule.severity:<7}  {rule.family:<13}  {rule.summary}")


def _rule_json(rule) -> dict:
    return {
        "id": rule.id,
        "severity": rule.severity,
        "family": rule.family,
        "summary": rule.summary,
        "tags": list(rule.tags),
        "precision": rule.precision,
        "params": {
            name: {"type": p.type, "default": p.default, "description": p.description}
            for name, p in rule.params.items()
        },
        "docs": {key: value for key, value in rule.docs.items()},
        "origin": rule.origin if os.sep in rule.origin else "built-in",
    }


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--object", "wanted", help="Only this object: Kind/name or name.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "svg"]),
    default="text",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@click.option("--kube-version", help="Target Kubernetes version, e.g. 1.29.  [default: 1.33]")
@click.option("--config", type=click.Path(dir_okay=False), help="Config file to use.")
def timeline(paths, wanted, output_format, output, kube_version, config) -> None:
    """Draw each pod's startup order and shutdown on a time axis: preStop hooks, native
    sidecars stopped in reverse order, the grace period and the SIGKILL inside it."""
    from sidecarlint import api
    from sidecarlint import timeline as timeline_module

    options = api.LintOptions(config=config, kube_version=kube_version)
    try:
        result = timeline_module.of_paths(list(paths), options, wanted)
    except api.UsageError as exc:
        _fail(str(exc))
        return
    from sidecarlint.findings import visible

    for note in result.notes:
        click.echo(f"sidecarlint: {visible(note)}", err=True)
    if not result.timelines:
        what = f"no object {wanted!r}" if wanted else "no pods"
        _fail(f"{what} in {', '.join(paths) or '.'}")
        return
    if output_format == "svg":
        document = timeline_module.svg(result.timelines)
    else:
        document = "\n".join(timeline_module.text(t) for t in result.timelines)
    if output:
        with _replacing(output) as handle:
            handle.write(document)
    else:
        click.echo(document, nl=False)


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
