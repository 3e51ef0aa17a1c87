"""Inputs → findings: read, render, lint and map every input, in one process or several.

Every input (a file, standard input, a chart, a Kustomize overlay) is linted on its own by
`scan_input`, which returns only small values: its findings, the facts it saw (namespaces,
mesh installations) and its suppressions. `scan` runs it over all inputs, in this process
alone or shared with forked workers (`--jobs`), and merges the results in input order, so
the output is the same byte for byte whatever the number of jobs. Documents are dropped as
soon as their file is linted: memory holds findings, not manifests.
"""

from __future__ import annotations

import contextlib
import itertools
import marshal
import operator
import os
from collections.abc import Iterable, Iterator
from typing import NoReturn

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

    display = os.path.normpath(render.kustomization_file(directory) or directory)
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

CHUNK = 16  # inputs handed to a worker at a time
IN_FLIGHT = 3  # chunks a worker holds, so that its pipe never runs dry
INPUTS_PER_PROCESS = 64  # by default, no more processes than inputs / this
TAIL = 4  # inputs per chunk at the very end
LINTING_PARENT_MAX_JOBS = 4  # above this, the parent only hands out work
MAX_JOBS = 256  # more processes than this only cost (and select() takes < 1,024 pipes)


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
    head = list(itertools.islice(iterator, cpus * INPUTS_PER_PROCESS))
    wanted = min(cpus, len(head) // INPUTS_PER_PROCESS)
    return itertools.chain(head, iterator), wanted if wanted > 1 else 1


def _results(
    inputs: Iterable[Input], settings: Settings, options: Options, jobs: int
) -> Iterator[Result]:
    if jobs > 1 and hasattr(os, "fork"):
        yield from _forked_results(inputs, settings, options, jobs)
    else:
        for item in inputs:
            yield scan_input(item, settings, options)


def _forked_results(
    inputs: Iterable[Input], settings: Settings, options: Options, jobs: int
) -> Iterator[Result]:
    """`scan_input` in this process and `jobs - 1` forked workers (or in `jobs` workers, for
    more than LINTING_PARENT_MAX_JOBS), results in input order.

    The workers inherit the settings: only input paths and results are sent, over a pair of
    pipes per worker. Between chunks of its own, this process collects what the workers
    finished and hands each one another chunk, keeping IN_FLIGHT in flight so that none waits.
    No threads and no idle parent (multiprocessing.Pool has both, and costs 15 ms to
    import): on two cores, the parent's share of the CPU is what the workers lose. A chunk
    holding standard input stays here: its data can be large. Chunks are written to the
    workers without blocking (what a full pipe refuses waits in an outbox): a worker
    blocked on sending a large result reads nothing, and a parent blocked on writing to
    it would never read that result."""
    import gc
    import select

    jobs = min(jobs, MAX_JOBS)
    chunks = _chunks(inputs, CHUNK, IN_FLIGHT * CHUNK)
    # With a few processes this one lints too: its CPU is a large share. With more, it only
    # hands out chunks: a long file here would leave every worker waiting for the next one.
    lints_too = jobs <= LINTING_PARENT_MAX_JOBS
    workers: list[tuple[int, int, int]] = []  # (pid, fd to it, fd from it)
    to_worker: dict[int, int] = {}  # fd from a worker → fd to it
    in_flight: dict[int, int] = {}  # fd from a worker → chunks it holds
    stopped: set[int] = set()  # fds from workers told that no more chunks will come
    outbox: dict[int, bytes] = {}  # fd to a worker → bytes its pipe could not take yet
    done: dict[int, list[Result]] = {}
    taken = wanted = 0
    more = True

    def take() -> tuple[int, list[Input]] | None:
        nonlocal taken, more
        chunk = next(chunks, None) if more else None
        if chunk is None:
            more = False
            return None
        taken += 1
        return taken - 1, chunk

    def lint_here(index: int, chunk: list[Input]) -> None:
        done[index] = [scan_input(item, settings, options) for item in chunk]

    def worker_tasks(count: int) -> list[tuple[int, list[Input]]]:
        """Up to `count` chunks for a worker; a chunk holding standard input is linted here."""
        tasks: list[tuple[int, list[Input]]] = []
        while len(tasks) < count and (task := take()) is not None:
            if any(item.kind == "stdin" for item in task[1]):
                lint_here(*task)
            else:
                tasks.append(task)
        return tasks

    def post(fd: int, message: object) -> None:
        outbox[fd] = outbox.get(fd, b"") + _message(message)
        flush(fd)

    def flush(fd: int) -> None:
        data = outbox.pop(fd)
        try:
            written = os.write(fd, data)
        except BlockingIOError:
            written = 0
        except BrokenPipeError:  # the worker is gone: its last words or its end of file
            return  # (read from its other pipe) say why
        if written < len(data):
            outbox[fd] = data[written:]

    def feed(source: int, tasks: list[tuple[int, list[Input]]]) -> None:
        for index, chunk in tasks:
            post(to_worker[source], (index, [(item.kind, item.path) for item in chunk]))
            in_flight[source] = in_flight.get(source, 0) + 1
        if not more and source not in stopped:  # it exits after its last chunk, meanwhile
            post(to_worker[source], None)  # this one goes on
            stopped.add(source)

    gc.freeze()  # keep the parent's objects out of the workers' collections (no copying)
    try:
        for _ in range(jobs - 1 if lints_too else jobs):
            # A worker's first chunks are taken before it is forked: just after a fork this
            # process is slow (each page it writes is copied), and the worker would wait.
            tasks = worker_tasks(IN_FLIGHT)
            if not tasks:  # nothing left for another worker
                break
            task_read, task_write = os.pipe()
            result_read, result_write = os.pipe()
            try:
                pid = os.fork()
            except OSError:  # no more processes allowed: lint with the ones there are
                for fd in (task_read, task_write, result_read, result_write):
                    os.close(fd)
                for task in tasks:
                    lint_here(*task)
                break
            if pid == 0:
                for fd in (task_write, result_read, *to_worker, *to_worker.values()):
                    os.close(fd)
                _worker(task_read, result_write, settings, options)
            os.close(task_read)
            os.close(result_write)
            os.set_blocking(task_write, False)
            workers.append((pid, task_write, result_read))
            to_worker[result_read] = task_write
            feed(result_read, tasks)
        if not workers:  # no fork allowed at all: lint everything here
            lints_too = True
        while True:
            # Take every result that is ready, not one per worker: a worker whose results
            # wait here runs dry, and a worker woken from an empty pipe is slow to resume.
            timeout = None if not (more and lints_too) else 0  # None: nothing to lint here
            while in_flight:
                ready, writable, _ = select.select(list(in_flight), list(outbox), [], timeout)
                if not (ready or writable):
                    break
                timeout = 0
                for fd in writable:
                    flush(fd)
                for source in ready:
                    try:
                        index, results = _receive(source)  # type: ignore[misc]
                    except EOFError:
                        raise RuntimeError("a sidecarlint worker process died") from None
                    if index is None:
                        raise RuntimeError(f"a sidecarlint worker process failed:\n{results}")
                    done[index] = [_unpack(packed) for packed in results]  # type: ignore[attr-defined]
                    in_flight[source] -= 1
                    if not in_flight[source]:
                        del in_flight[source]
                    feed(source, worker_tasks(1))
            task = take() if lints_too else None
            if task is not None:
                lint_here(*task)
            while wanted in done:
                yield from done.pop(wanted)
                wanted += 1
            if not (more or in_flight):
                break
        if done or wanted != taken:  # never silently drop a file's findings
            raise RuntimeError(f"sidecarlint: chunk {wanted} of {taken} was not linted")
    finally:
        for _pid, task_write, result_read in workers:
            os.close(task_write)  # a worker not yet told to stop reads the end of its pipe
            os.close(result_read)
        for pid, _, _ in workers:
            os.waitpid(pid, 0)
        gc.unfreeze()


def _chunks(inputs: Iterable[Input], size: int, reserve: int) -> Iterator[list[Input]]:
    """The inputs in order, `size` at a time, but the last `reserve` to `reserve + size` of
    them in chunks of TAIL: at the end, no process should be left with long chunks while
    the others wait. A worker holds IN_FLIGHT chunks, so `reserve` covers that many."""
    iterator = iter(inputs)
    ahead = list(itertools.islice(iterator, reserve + size))
    while more := list(itertools.islice(iterator, size)):
        ahead += more
        yield ahead[:size]
        del ahead[:size]
    for start in range(0, len(ahead), TAIL):
        yield ahead[start : start + TAIL]


def _worker(tasks: int, results: int, settings: Settings, options: Options) -> NoReturn:
    """A forked worker: lint chunks until told to stop, then exit without cleanup (the
    parent's buffers and exit handlers are the parent's)."""
    code = 0
    try:
        while (task := _receive(tasks)) is not None:
            index, items = task  # type: ignore[misc]
            found = [scan_input(Input(kind, path), settings, options) for kind, path in items]
            _send(results, (index, [_pack(result) for result in found]))
    except EOFError:
        pass  # the parent is gone
    except BaseException:  # reported to the parent, which raises it
        import traceback

        code = 1
        with contextlib.suppress(OSError):
            _send(results, (None, traceback.format_exc()))
    finally:
        os._exit(code)


def _message(value: object) -> bytes:
    """One message: its length, then its bytes. marshal is built in (pickle costs 3 ms to
    import) and twice as fast; pickle takes the odd value marshal refuses."""
    try:
        data = b"m" + marshal.dumps(value)
    except ValueError:
        import pickle

        data = b"p" + pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(8, "little") + data


def _send(fd: int, value: object) -> None:
    """A worker's send: it waits until the parent has read enough."""
    view = memoryview(_message(value))
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int) -> object:
    data = _read(fd, int.from_bytes(_read(fd, 8), "little"))
    if data[:1] == b"m":
        return marshal.loads(data[1:])
    import pickle

    return pickle.loads(data[1:])


# Results travel as plain tuples (None for the usual empty one), which marshal can carry.


def _pack(result: Result) -> tuple | None:
    if not (
        result.findings or result.namespaces or result.native or result.declared or result.problems
    ):
        return None
    return (
        [_pack_finding(f) for f in result.findings],
        result.namespaces,
        result.native,
        [(d.path, d.line, d.column, d.rules, d.reason, d.form) for d in result.declared],
        [_pack_finding(f) for f in result.problems],
    )


def _unpack(packed: tuple | None) -> Result:
    if packed is None:
        return Result([], {}, {}, [], [])
    findings, namespaces, native, declared, problems = packed
    return Result(
        [_unpack_finding(f) for f in findings],
        namespaces,
        native,
        [Declaration(*d) for d in declared],
        [_unpack_finding(f) for f in problems],
    )


# A finding as the arguments of Finding(), in their order.
_pack_finding = operator.attrgetter(
    "rule", "severity", "message", "path", "line", "column", "kind", "name", "namespace",
    "container", "source", "suppressed", "justification", "rendered", "requires",
    "suppressed_by", "fingerprint",
)  # fmt: skip


def _unpack_finding(values: tuple) -> Finding:
    return Finding(*values)


def _read(fd: int, size: int) -> bytes:
    parts = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            raise EOFError
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


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
