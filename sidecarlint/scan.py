"""Inputs → findings: read, render, lint and map every input, in one process or several.

Every input (a file, standard input, a chart, a Kustomize overlay) is linted on its own by
`scan_input`, which returns only small values: its findings, the facts it saw (namespaces,
mesh installations) and its suppressions. `scan` runs it over all inputs, in this process or
in a pool of forked workers (`--jobs`), and merges the results in input order, so the output
is the same byte for byte whatever the number of jobs. Documents are dropped as soon as their
file is linted: memory holds findings, not manifests.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable

from sidecarlint.engine import Settings, lint_file
from sidecarlint.findings import Finding
from sidecarlint.suppress import Declaration, Suppressions


class Options:
    def __init__(
        self,
        max_bytes: int,
        chart_roots: list[str] | None = None,
        values: list[str] | None = None,
        sets: list[str] | None = None,
        helm_kube: str | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.chart_roots = [] if chart_roots is None else chart_roots
        self.values = [] if values is None else values
        self.sets = [] if sets is None else sets
        self.helm_kube = helm_kube


class Input:
    def __init__(self, kind: str, path: str, data: bytes | None = None) -> None:
        self.kind = kind  # "file", "stdin", "chart" or "kustomization"
        self.path = path
        self.data = data  # standard input, read by the main process


class Result:
    def __init__(
        self,
        findings: list[Finding],
        namespaces: dict,
        native: dict,
        declared: list[Declaration],
        problems: list[Finding],
    ) -> None:
        self.findings = findings
        self.namespaces = namespaces
        self.native = native
        self.declared = declared
        self.problems = problems


def scan_input(item: Input, settings: Settings, options: Options) -> Result:
    from sidecarlint.loader import load_bytes, read_file

    settings.namespaces = {}
    settings.native = {}
    suppressions = settings.suppressions = Suppressions(settings.known_rules)
    if item.kind == "chart":
        findings = _lint_chart(item.path, settings, options)
    elif item.kind == "kustomization":
        findings = _lint_kustomization(item.path, settings, options)
    else:
        if item.kind == "stdin":
            loaded = load_bytes(item.path, item.data or b"")
        else:
            loaded = read_file(item.path, options.max_bytes)
        findings = lint_file(loaded, item.path, settings)
        if any(finding.source for finding in findings):  # Helm output: point at templates
            from sidecarlint.templates import map_findings

            map_findings(findings, loaded.text, options.chart_roots or ["."])
    return Result(
        findings, settings.namespaces, settings.native, suppressions.declared, suppressions.problems
    )


def _lint_chart(chart: str, settings: Settings, options: Options) -> list[Finding]:
    """`helm template` a chart and lint the output, pointing findings at the templates."""
    from sidecarlint import render
    from sidecarlint.loader import load_text
    from sidecarlint.templates import map_findings

    rendered = render.render_chart(chart, options.values, options.sets, options.helm_kube)
    if rendered.text is None:
        if rendered.error:
            message = f"helm template failed for chart {chart}: {rendered.error}"
            return [Finding("render-failed", "error", message, chart, 1, 1)]
        message = (
            f"Helm chart {chart} was not linted: helm is not on PATH. Install helm, or "
            f"render it yourself: {rendered.command} | sidecarlint check - "
            f"--stdin-filename {chart}"
        )
        return [Finding("render-unavailable", "info", message, chart, 1, 1)]
    loaded = load_text(chart, rendered.text)
    findings = lint_file(loaded, chart, settings)
    roots = [chart, os.path.dirname(os.path.normpath(chart)) or ".", *options.chart_roots, "."]
    map_findings(findings, loaded.text, roots)
    return findings


def _lint_kustomization(directory: str, settings: Settings, options: Options) -> list[Finding]:
    """`kubectl kustomize` an overlay; findings are attributed to its kustomization file."""
    from sidecarlint import render
    from sidecarlint.loader import load_text

    name = next(n for n in render.KUSTOMIZATION_FILES if os.path.isfile(os.path.join(directory, n)))
    display = os.path.normpath(os.path.join(directory, name))
    if render.kustomize_command() is None:
        message = (
            f"Kustomize overlay {os.path.normpath(directory)} was not rendered: neither kubectl "
            "nor kustomize is on PATH, so its files were linted one by one (patches stay "
            f"partial). Render it yourself: kubectl kustomize {directory} | sidecarlint check -"
        )
        return [Finding("render-unavailable", "info", message, display, 1, 1)]
    rendered = render.render_kustomization(directory)
    if rendered.text is None:
        message = f"{rendered.command} failed: {rendered.error}"
        return [Finding("render-failed", "error", message, display, 1, 1)]
    output = f"{os.path.normpath(directory)} (kustomize build output)"
    findings = lint_file(load_text(output, rendered.text), output, settings)
    for finding in findings:
        finding.rendered = (output, finding.line, finding.column)
        finding.message += f" (line {finding.line} of the kustomize build output)"
        finding.path, finding.line, finding.column = display, 1, 1
    return findings


# ---------------------------------------------------------------------------------------
# Running it, here or in workers

_WORKER: tuple[Settings, Options] | None = None


def _work(item: Input) -> Result:
    assert _WORKER is not None
    return scan_input(item, *_WORKER)


CHUNK = 64  # inputs handed to a worker at a time


def _plan(inputs: Iterable[Input], jobs: int | None) -> tuple[Iterable[Input], int]:
    """How many processes to use. An explicit --jobs is honoured; by default, one per CPU,
    but no more than the inputs can keep busy, and none for a handful of files (a
    pre-commit run), where starting workers costs more than it saves."""
    if jobs is not None:
        return inputs, jobs
    cpus = os.cpu_count() or 1
    if cpus == 1:
        return inputs, 1
    iterator = iter(inputs)
    head = list(itertools.islice(iterator, cpus * CHUNK))
    wanted = min(cpus, len(head) // CHUNK)
    return itertools.chain(head, iterator), wanted if wanted > 1 else 1


def _results(inputs: Iterable[Input], settings: Settings, options: Options, jobs: int):
    if jobs > 1:
        import multiprocessing

        if "fork" not in multiprocessing.get_all_start_methods():
            jobs = 1
    if jobs > 1:
        import gc
        import multiprocessing

        global _WORKER
        _WORKER = (settings, options)  # inherited by the forked workers, never pickled
        gc.freeze()  # keep the parent's objects out of the workers' collections (no copying)
        try:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                yield from pool.imap(_work, inputs, chunksize=CHUNK)
        finally:
            gc.unfreeze()
            _WORKER = None
    else:
        for item in inputs:
            yield scan_input(item, settings, options)


def scan(
    inputs: Iterable[Input], settings: Settings, options: Options, jobs: int | None = None
) -> list[Finding]:
    """Lint every input and merge, in input order: findings, facts and suppressions."""
    namespaces: dict = {}
    native: dict = {}
    declared: list[Declaration] = []
    problems: list[Finding] = []
    findings: list[Finding] = []
    inputs, jobs = _plan(inputs, jobs)
    for result in _results(inputs, settings, options, jobs):
        offset = len(declared)
        for finding in result.findings:
            if finding.suppressed_by is not None:
                finding.suppressed_by += offset
        findings.extend(result.findings)
        declared.extend(result.declared)
        problems.extend(result.problems)
        for name, labels in result.namespaces.items():
            namespaces.setdefault(name, {}).update(labels)
        for mesh, value in result.native.items():
            native.setdefault(mesh, value)
    settings.namespaces = namespaces
    settings.native = native
    suppressions = Suppressions(settings.known_rules)
    suppressions.declared = declared
    settings.suppressions = suppressions
    return findings + problems
