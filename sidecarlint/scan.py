"""Inputs → linted results: read or render each input, lint it, point its findings where a
user edits them; in this process, or in a pool of forked workers (`--jobs`).

Every input (a file, standard input, a chart, a Kustomize overlay) is linted on its own by
`scan_input`, which returns only small values (`engine.Linted`): its findings, the facts it
saw and its suppressions. `scan` yields them in input order, whatever the number of
processes, so the output is the same byte for byte. Documents are dropped as soon as their
file is linted: memory holds findings, not manifests.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from sidecarlint.discover import inside
from sidecarlint.engine import Linted, lint_file
from sidecarlint.facts import Facts
from sidecarlint.findings import Finding
from sidecarlint.rules import Ruleset

CHUNK = 16  # inputs handed to a worker at a time
INPUTS_PER_PROCESS = 64  # by default, no more processes than inputs / this
MAX_JOBS = 256  # more processes than this only cost


class Input(NamedTuple):
    kind: str  # "file", "stdin", "chart" or "kustomization"
    path: str
    data: bytes | None = None  # standard input, read by the main process


class ScanOptions(NamedTuple):
    """How inputs are read and rendered."""

    max_bytes: int
    chart_roots: tuple[str, ...] = ()  # where Helm `# Source:` templates are looked up
    values: tuple[str, ...] = ()  # helm template --values
    sets: tuple[str, ...] = ()  # helm template --set
    helm_kube: str | None = None  # helm template --kube-version
    # What content may make sidecarlint read: the repository and the paths the user named
    # (resolved); a `# Source:` or a chart's link outside them is never followed.
    bounds: tuple[str, ...] = ()
    # chart folder (real path) → config.ChartSettings: its own values, sets, namespace, kube
    charts: dict | None = None


def scan_input(item: Input, ruleset: Ruleset, options: ScanOptions) -> Linted:
    from sidecarlint.loader import load_bytes, read_file

    if item.kind == "chart":
        return _lint_chart(item.path, ruleset, options)
    if item.kind == "kustomization":
        return _lint_kustomization(item.path, ruleset, options)
    if item.kind == "stdin":
        loaded = load_bytes(item.path, item.data or b"")
    else:
        loaded = read_file(item.path, options.max_bytes)
    linted = lint_file(loaded, item.path, ruleset, item.kind == "file" and _is_patch(item.path))
    if any(finding.source for finding in linted.findings):  # Helm output: point at templates
        roots = list(options.chart_roots) or ["."]
        return _at_templates(linted, loaded.text, item.path, roots, ruleset, options)
    if item.kind == "stdin":  # not a file on disk: nothing to edit
        return linted._replace(findings=[f._replace(fix=None) for f in linted.findings])
    return linted


def _is_patch(path: str) -> bool:
    """A file a kustomization names as a patch: its pods are partial (see kustomize.py)."""
    from sidecarlint.kustomize import is_patch

    try:
        return is_patch(path)
    except OSError:
        return False


def _at_templates(
    linted: Linted, text: str, path: str, roots: list[str], ruleset: Ruleset, options: ScanOptions
) -> Linted:
    """Findings in Helm output moved to their templates, and a finding for each `# Source:`
    that names a file outside the repository (not read)."""
    from sidecarlint.helm_sources import map_findings, outside, template_fix

    # Helm output is never edited: a fix is made to the template when the edited lines are
    # written there as they are rendered, else the message gives the edit as advice
    rendered = text.splitlines()
    findings = []
    for original, mapped in zip(
        linted.findings, map_findings(linted.findings, text, roots, options.bounds), strict=True
    ):
        fix = template_fix(mapped, original.fix, rendered) if original.fix is not None else None
        if original.fix is not None and fix is None:
            from sidecarlint.fixes import edits_of

            shown = "; ".join(e.text.strip() for e in edits_of(original.fix) if e.text.strip())
            note = f" (check --fix leaves the template alone, its lines are rendered: {shown})"
            mapped = mapped._replace(message=mapped.message + (note if shown else ""))
        findings.append(mapped._replace(fix=fix))
    for source in sorted({f.source for f in linted.findings if f.source}):
        if outside(source, roots, options.bounds):
            finding = ruleset.finding("outside-repository", "source", {"source": source}, path)
            if finding is not None:
                findings.append(finding)
    return linted._replace(findings=findings)


def _only(ruleset: Ruleset, rule: str, message: str, fields: dict, path: str) -> Linted:
    finding = ruleset.finding(rule, message, fields, path)
    return Linted([finding] if finding else [], Facts(), [])


def _lint_chart(chart: str, ruleset: Ruleset, options: ScanOptions) -> Linted:
    """`helm template` a chart and lint the output, pointing findings at the templates."""
    from sidecarlint import render
    from sidecarlint.discover import links_leaving
    from sidecarlint.loader import load_text

    links = links_leaving(chart, options.bounds) if os.path.isdir(chart) else []
    if links:
        fields = {"chart": chart, "link": links[0]}
        return _only(ruleset, "outside-repository", "chart-link", fields, chart)
    settings = (options.charts or {}).get(os.path.realpath(chart))
    values, sets, kube, namespace = (
        list(options.values),
        list(options.sets),
        options.helm_kube,
        None,
    )
    if settings is not None:  # `charts:` in config
        values += settings.values
        sets += settings.sets
        namespace = settings.namespace
        if settings.kube_version:
            kube = f"v{settings.kube_version[0]}.{settings.kube_version[1]}.0"
    rendered = render.render_chart(chart, values, sets, kube, options.max_bytes, namespace)
    versions = _dependency_versions(chart, ruleset)
    if rendered.text is None:
        if rendered.error:
            fields = {"chart": chart, "error": rendered.error}
            return _only(ruleset, "render-failed", "helm", fields, chart)._replace(facts=versions)
        import shlex

        fields = {"chart": chart, "quoted": shlex.quote(chart), "command": rendered.command}
        only = _only(ruleset, "render-unavailable", "helm", fields, chart)
        return only._replace(facts=versions)
    loaded = load_text(chart, rendered.text)
    linted = lint_file(loaded, chart, ruleset, namespace=namespace)
    for mesh, version in versions.versions.items():
        linted.facts.add_version(mesh, version)
    linted.facts.relocate(chart)  # a Namespace it renders is "in this chart"
    roots = [chart, os.path.dirname(os.path.normpath(chart)) or ".", *options.chart_roots, "."]
    return _at_templates(linted, loaded.text, chart, roots, ruleset, options)


_PINNED = re.compile(r"v?(\d+\.\d+(?:\.\d+)?)")  # one version, not a range such as ~1.28


def _dependency_versions(chart: str, ruleset: Ruleset) -> Facts:
    """A mesh's version from the chart's `Chart.yaml` dependencies: a chart whose version
    is the mesh's own (catalogue `inject.charts`, istiod), pinned to one version. Read even
    when the chart cannot be rendered (its dependencies not fetched)."""
    from sidecarlint.loader import read_file

    facts = Facts()
    meshes = ruleset.catalog.chart_meshes
    if not meshes or not ruleset.gatherers or not os.path.isdir(chart):
        return facts
    loaded = read_file(os.path.join(chart, "Chart.yaml"), 1 << 20)
    data = loaded.documents[0].data if loaded.documents else None
    dependencies = data.get("dependencies") if isinstance(data, dict) else None
    for dependency in dependencies if isinstance(dependencies, list) else ():
        if not isinstance(dependency, dict) or dependency.get("name") not in meshes:
            continue
        version = dependency.get("version")
        pinned = _PINNED.fullmatch(version.strip()) if isinstance(version, str) else None
        if pinned and dependency.get("condition") is None:
            facts.add_version(meshes[dependency["name"]], pinned.group(1))
    return facts


def _lint_kustomization(directory: str, ruleset: Ruleset, options: ScanOptions) -> Linted:
    """`kubectl kustomize` an overlay (api.py decided it may be rendered); findings are
    attributed to its kustomization file."""
    from sidecarlint import render
    from sidecarlint.loader import load_text

    display = os.path.normpath(render.kustomization_file(directory) or directory)
    rendered = render.render_kustomization(directory, options.max_bytes)
    if rendered.text is None:
        fields = {"command": rendered.command, "error": rendered.error}
        return _only(ruleset, "render-failed", "kustomize", fields, display)
    output = f"{os.path.normpath(directory)} (kustomize build output)"
    loaded = load_text(output, rendered.text)
    linted = lint_file(loaded, output, ruleset)
    origins = _Origins(loaded, rendered.origin_root, options, directory, display)
    origins.signal_keys = ruleset.catalog.pod_signal_keys
    findings = [
        (
            origins.at_origin(finding)
            or finding._replace(
                message=f"{finding.message} (line {finding.line} of the kustomize build output)",
                path=display,
                line=1,
                column=1,
                rendered=(output, finding.line, finding.column),
            )
        )._replace(fix=None)  # positions of the build output: kustomize output is not edited
        for finding in linted.findings
    ]
    linted.facts.relocate(display)  # a Namespace it declares is "in this overlay"
    return linted._replace(findings=findings)


class _Origins:
    """Findings in a kustomize build, moved to the file and line where their object was
    written (the `config.kubernetes.io/origin` annotation), when the overlays left that part
    of it as written: then every overlay built on a base reports it once, at the base."""

    def __init__(
        self,
        loaded,
        root: str | None,
        options: ScanOptions,
        overlay: str | None = None,
        kustomization: str | None = None,
    ) -> None:
        self.documents = loaded.documents
        self.built_positions = loaded.positions
        self.lines = loaded.text.splitlines()
        self.root = root
        self.options = options
        self.overlay = overlay  # the folder rendered, whose patches and images change objects
        self.kustomization = kustomization  # its kustomization file, as reported
        self.files: dict[str, object] = {}
        # pod labels and annotations a mesh or a rule reads: an overlay that changes one of
        # them changes what a pod-level finding says
        self.signal_keys: frozenset[str] = frozenset()

    def _read(self, path: str):
        from sidecarlint.loader import read_file

        found = self.files.get(path)
        if found is None:
            found = self.files[path] = read_file(path, self.options.max_bytes)
        return found

    def at_origin(self, finding: Finding) -> Finding | None:
        from sidecarlint.loader import read_file
        from sidecarlint.render import ORIGIN
        from sidecarlint.workloads import dig, find_workloads

        if self.root is None or not finding.kind:
            return None
        document = None
        for candidate in self.documents:  # the document the finding's line falls in
            if candidate.line <= finding.line:
                document = candidate
        origin = dig(document.data if document else None, "metadata", "annotations", ORIGIN)
        match = re.search(r"(?m)^path:\s*(\S.*?)\s*$", origin) if isinstance(origin, str) else None
        if match is None or re.search(r"(?m)^repo:", origin):
            return None
        path = os.path.normpath(os.path.join(self.root, match.group(1)))
        if not inside(path, self.options.bounds) or not os.path.isfile(path):
            return None
        base = self.files.get(path)
        if base is None:
            base = self.files[path] = read_file(path, self.options.max_bytes)
        ours = next((w for w in find_workloads(document.data) if w.label == finding.pod), None)
        if ours is None:
            return None
        for written in base.documents:  # the object as written: same kind, its name inside ours
            theirs = next((w for w in find_workloads(written.data) if w.label == finding.pod), None)
            if theirs is None or theirs.kind != ours.kind or not theirs.name:
                continue
            if theirs.name not in (ours.name or ""):
                continue
            pair = _same_part(ours.pod, theirs.pod, finding.container)
            if finding.container is None and not self._same_signals(ours, theirs):
                pair = None
            if pair is None:  # the overlay changed it: reported for the overlay, where it did
                return self.at_change(finding, ours, theirs)
            built, node = pair
            start = self.built_positions.of(built)
            if start is not None and start[0] == finding.line:  # the finding is the node
                position = base.positions.of(node) or (1, 1)
            else:  # a key of it: the same key as written
                position = self._position(base.positions, node, finding.line)
            return self._moved(finding, path, position)
        return None

    def _same_signals(self, ours, theirs) -> bool:
        """Whether the pod's annotations, and the labels a mesh or rule reads, are as
        written (a pod-level finding can rest on them: an injection signal, a drain)."""
        for key in ("annotations", "labels"):
            built, written = ours.pod_metadata.get(key), theirs.pod_metadata.get(key)
            built = built if isinstance(built, dict) else {}
            written = written if isinstance(written, dict) else {}
            if key == "labels":
                built = {k: v for k, v in built.items() if k in self.signal_keys}
                written = {k: v for k, v in written.items() if k in self.signal_keys}
            if built != written:
                return False
        return True

    def at_change(self, finding: Finding, ours, theirs) -> Finding | None:
        """A finding on a part the overlay changed, at the change: the container (or the
        key of the pod) in the overlay's strategic-merge patch that touches it, else the
        overlay's `images:` entry for its image; None when neither says (the overlay's
        kustomization file, line 1)."""
        from sidecarlint import kustomize
        from sidecarlint.workloads import find_workloads

        if self.overlay is None:
            return None
        for path in sorted(kustomize.patch_files(self.overlay)):
            if not inside(path, self.options.bounds) or not os.path.isfile(path):
                continue
            patch = self._read(path)
            for document in patch.documents:
                for written in find_workloads(document.data):
                    if written.kind != ours.kind or not written.name:
                        continue
                    if written.name not in (ours.name or "") or written.label != finding.pod:
                        continue
                    node, built = written.pod, ours.pod
                    if finding.container is not None:
                        node = _container(written.pod, finding.container)
                        built = _container(ours.pod, finding.container)
                        if node is None:
                            continue
                    start = self.built_positions.of(built) if built is not None else None
                    if start is not None and start[0] == finding.line:  # the node itself
                        position = patch.positions.of(node) or (1, 1)
                    else:  # a key of it: the same key in the patch
                        position = self._position(patch.positions, node, finding.line)
                    return self._moved(finding, path, position)
        found = self._key_in_patches(finding, ours)
        if found is not None:
            return found
        if finding.container is not None and self.kustomization:
            image = _image_of(theirs.pod, finding.container)
            if image:
                position = _images_entry(self._read(self.kustomization), image)
                if position is not None:
                    return self._moved(finding, self.kustomization, position)
        return None

    def _key_in_patches(self, finding: Finding, ours) -> Finding | None:
        """The key on the finding's line (an injection signal, a grace period), where a
        strategic-merge patch of the same object writes it."""
        from sidecarlint import kustomize
        from sidecarlint.helm_sources import key_on_line

        key = key_on_line(self.lines, finding.line)
        if not key:
            return None
        for path in sorted(kustomize.patch_files(self.overlay or "")):
            if not inside(path, self.options.bounds) or not os.path.isfile(path):
                continue
            patch = self._read(path)
            for document in patch.documents:
                data = document.data
                metadata = data.get("metadata") if isinstance(data, dict) else None
                name = metadata.get("name") if isinstance(metadata, dict) else None
                if data.get("kind") != ours.kind or not isinstance(name, str):
                    continue
                if name not in (ours.name or ""):
                    continue
                holder = _holding(data, key)
                position = patch.positions.of_key(holder, key) if holder is not None else None
                if position:
                    return self._moved(finding, path, position)
        return None

    def _moved(self, finding: Finding, path: str, position: tuple[int, int]) -> Finding:
        shown = os.path.relpath(path) if not os.path.isabs(finding.path) else path
        return finding._replace(
            path=shown,
            line=position[0],
            column=position[1],
            rendered=(finding.path, finding.line, finding.column),
            seen_from=self.kustomization,  # the overlay's Namespaces, not the base's folder
        )

    def _position(self, positions, node: dict, line: int) -> tuple[int, int]:
        """The written line of the key the finding's built line holds, in `node`."""
        from sidecarlint.helm_sources import key_on_line

        key = key_on_line(self.lines, line)
        if key and key in node:
            found = positions.of_key(node, key)
            if found:
                return found
        return positions.of(node) or (1, 1)


def _holding(node: object, key: str, budget: list[int] | None = None) -> dict | None:
    """The first mapping under `node` that has `key` (a bounded walk of a patch)."""
    budget = [10_000] if budget is None else budget
    stack = [node]
    while stack and budget[0] > 0:
        budget[0] -= 1
        current = stack.pop()
        if isinstance(current, dict):
            if key in current:
                return current
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))
    return None


def _container(pod: dict, name: str) -> dict | None:
    from sidecarlint.workloads import containers

    for key in ("initContainers", "containers"):
        for container in containers(pod, key):
            if container.get("name") == name:
                return container
    return None


def _image_of(pod: dict, name: str) -> str | None:
    """The image repository of the container `name` as written (no tag or digest)."""
    from sidecarlint.catalog import image_repository
    from sidecarlint.workloads import containers

    for key in ("initContainers", "containers"):
        for container in containers(pod, key):
            if container.get("name") == name and isinstance(container.get("image"), str):
                return image_repository(container["image"])
    return None


def _images_entry(loaded, image: str) -> tuple[int, int] | None:
    """Where the kustomization's `images:` names `image` (the entry that overrides it)."""
    data = loaded.documents[0].data if loaded.documents else None
    entries = data.get("images") if isinstance(data, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get("name") == image:
            return loaded.positions.of(entry)
    return None


def _same_part(ours: dict, theirs: dict, container: str | None) -> tuple[dict, dict] | None:
    """The built and the written container (or pod spec), when the build left it as
    written; else None."""
    if container is None:
        return (ours, theirs) if ours == theirs else None
    for key in ("initContainers", "containers", "ephemeralContainers"):
        built = [
            c for c in ours.get(key) or () if isinstance(c, dict) and c.get("name") == container
        ]
        written = [
            c for c in theirs.get(key) or () if isinstance(c, dict) and c.get("name") == container
        ]
        if built and written:
            return (built[0], written[0]) if built[0] == written[0] else None
    return None


# ---------------------------------------------------------------------------------------
# Running it, here or in workers


def plan_jobs(inputs: Iterable[Input], jobs: int | None) -> tuple[Iterable[Input], int]:
    """How many processes to use: --jobs, or by default one per CPU but no more than the
    inputs can keep busy (none for a pre-commit run of a few files, where starting workers
    costs more than it saves); never more workers than chunks of work."""
    cpus = os.cpu_count() or 1
    wanted = min(jobs, MAX_JOBS) if jobs is not None else cpus
    if wanted <= 1:
        return inputs, 1
    iterator = iter(inputs)
    if jobs is None:  # a process for each INPUTS_PER_PROCESS inputs, rounded down
        head = list(itertools.islice(iterator, wanted * INPUTS_PER_PROCESS))
        wanted = min(wanted, len(head) // INPUTS_PER_PROCESS)
    else:  # a process for each chunk, rounded up
        head = list(itertools.islice(iterator, wanted * CHUNK))
        wanted = min(wanted, -(-len(head) // CHUNK))
    return itertools.chain(head, iterator), wanted if wanted > 1 else 1


def scan(
    inputs: Iterable[Input], ruleset: Ruleset, options: ScanOptions, jobs: int | None = None
) -> Iterator[Linted]:
    """Lint every input; results in input order, whatever the number of processes."""
    inputs, jobs = plan_jobs(inputs, jobs)
    if jobs <= 1 or not hasattr(os, "fork"):
        for item in inputs:
            yield scan_input(item, ruleset, options)
        return
    yield from _in_workers(inputs, ruleset, options, jobs)


# What a forked worker lints with: set by _start_worker, inherited through the fork (the
# ruleset holds compiled expressions and functions, which are never pickled).
_worker_setup: tuple[Ruleset, ScanOptions] | None = None


def _start_worker(ruleset: Ruleset, options: ScanOptions) -> None:
    import signal

    global _worker_setup
    _worker_setup = (ruleset, options)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _scan_in_worker(item: Input) -> Linted:
    assert _worker_setup is not None
    return scan_input(item, *_worker_setup)


def _in_workers(
    inputs: Iterable[Input], ruleset: Ruleset, options: ScanOptions, jobs: int
) -> Iterator[Linted]:
    """`scan_input` in `jobs` forked workers, results in input order. An exception in a
    worker is raised here; a worker that dies raises BrokenProcessPool; on Ctrl-C the inputs
    not started are cancelled and the workers finish their chunk and exit."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(ruleset, options),
    )
    try:
        pool.submit(int).result()  # starts the workers
    except OSError:  # no more processes allowed: lint everything here
        pool.shutdown(wait=True, cancel_futures=True)
        for item in inputs:
            yield scan_input(item, ruleset, options)
        return
    try:
        yield from pool.map(_scan_in_worker, inputs, chunksize=CHUNK)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
