"""`check --fix`, `--diff` and SARIF `fixes`: the edits the rules' `fix:` make, on copies of
the fixtures and of real manifests from the corpus. The fixed findings disappear, no other
finding appears, the files still parse, every other byte stays, a second run changes
nothing, and the diff (through `git apply`) and the SARIF fixes give the same files."""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT, run_cli, run_with_args

from sidecarlint.rules import builtin_rules

FIXABLE = sorted(rule.id for rule in builtin_rules() if rule.fix)
CORPUS = ROOT.parent / "shared" / "corpus"
# real manifests with fixable rules' findings: a Linkerd CronJob, Argo Rollouts' analysis
# job and Kyverno's chainsaw fixtures (the native switch); Dapr's job-publisher and the
# Cloud SQL proxy's job example, which get no edit (see the test)
CORPUS_FILES = [
    "wild/linkerd__linkerd2/cli/cmd/testdata/inject_emojivoto_cronjob_nometa.golden.yml",
    "plain/argoproj__argo-rollouts/examples__traffic-management__job.yaml",
    "wild/dapr__dapr/tests/apps/job-publisher/service.yaml",
    "wild/GoogleCloudPlatform__cloud-sql-proxy/examples/k8s-sidecar/job_with_sidecar.yaml",
    "wild/kyverno__policies/linkerd/prevent-linkerd-pod-injection-override/chainsaw-test/good-podcontrollers.yaml",
]


def _fixtures() -> list:
    found = []
    for rule in FIXABLE:
        for path in sorted((ROOT / "tests" / "rules" / rule).glob("bad-*.yaml")):
            found.append(path)
    return found


def _repo(tmp_path, files) -> object:
    repo = tmp_path / "repo"
    repo.mkdir()
    for source in files:
        shutil.copy(source, repo / source.name)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _in(folder, *args):
    return run_cli(*args, cwd=folder)


def _findings(repo, extra) -> list[dict]:
    _, out, _ = _in(repo, "check", ".", "--format", "json", "--fail-on", "never", *extra)
    return json.loads(out)["findings"]


def _what(finding) -> tuple:
    return (finding["rule"], finding["kind"], finding["name"], finding["container"])


def _snapshot(repo) -> dict:
    return {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}


def _common(one: str, other: str) -> int:
    """How many leading characters two strings share."""
    count = 0
    for a, b in zip(one, other, strict=False):
        if a != b:
            break
        count += 1
    return count


def _only_added_or_set(before: bytes, after: bytes) -> None:
    """Every line of `before` is in `after`, in order, except a value set on its line, a key
    added inside a flow mapping, and the lines of a moved container, which are all found
    again (re-indented) among the added ones."""
    old = before.decode("utf-8-sig").splitlines(keepends=True)
    new = after.decode("utf-8-sig").splitlines(keepends=True)
    deleted, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            continue
        if (
            tag == "replace"
            and i2 - i1 == j2 - j1
            and all(
                _edited_in_place(was, now) for was, now in zip(old[i1:i2], new[j1:j2], strict=True)
            )
        ):
            continue
        deleted += [row.strip() for row in old[i1:i2]]
        added += [row.strip() for row in new[j1:j2]]
    for row in deleted:  # a moved line: taken once from what was added
        assert row in added, (row, added)
        added.remove(row)


def _edited_in_place(was: str, now: str) -> bool:
    head = _common(was, now)
    tail = _common(was[head:][::-1], now[head:][::-1])
    removed, added = was[head : len(was) - tail], now[head : len(now) - tail]
    # a key added inside the line (a flow mapping), or one value set in place
    return removed == "" or bool(
        re.fullmatch(r"[^\s:,{}]+", removed) and re.fullmatch(r"[^\s:,{}]+", added)
    )


def _apply_sarif(repo, sarif: dict) -> None:
    """Apply every SARIF fix at once, as a client applying a whole run would: replacements by
    region, last first; the same replacement twice once; and, where several insert at one
    place with the same key line (two sidecars moved into a new `initContainers:`), that
    line once."""
    by_file: dict[str, list] = {}
    for result in sarif["runs"][0]["results"]:
        for fix in result.get("fixes", []):
            for change in fix["artifactChanges"]:
                uri = change["artifactLocation"]["uri"]
                by_file.setdefault(uri, []).extend(change["replacements"])
    for uri, replacements in by_file.items():
        path = repo / uri
        raw = path.read_bytes()
        bom = raw.startswith(b"\xef\xbb\xbf")
        text = raw[3 if bom else 0 :].decode("utf-8")
        starts = [0]
        for row in text.splitlines(keepends=True):
            starts.append(starts[-1] + len(row))

        def offset(line, column, starts=starts, text=text):
            return len(text) if line > len(starts) - 1 else starts[line - 1] + column - 1

        edits, heads = [], set()
        for item in replacements:  # in the results' order
            region, new = item["deletedRegion"], item["insertedContent"]["text"]
            start = offset(region["startLine"], region["startColumn"])
            end = offset(region["endLine"], region["endColumn"])
            head, _, rest = new.partition("\n")
            if start == end and head.rstrip().endswith(":") and _ in new:
                if (start, head) in heads:
                    new = rest
                heads.add((start, head))
            if (start, end, new) not in edits:
                edits.append((start, end, new))
        for start, end, new in sorted(reversed(edits), key=lambda e: e[0], reverse=True):
            text = text[:start] + new + text[end:]
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def _check_fix(tmp_path, files, extra=()) -> dict:
    """Run every check of the module's docstring on a repository of `files`; return the
    fixed files."""
    repo = _repo(tmp_path, files)
    before = _snapshot(repo)
    found = _findings(repo, extra)
    _, sarif, _ = _in(repo, "check", ".", "--format", "sarif", "--fail-on", "never", *extra)
    fixable = {_what(f) for f in found if f["rule"] in FIXABLE}
    # the diff as bytes, from the installed command: CRLF lines stay CRLF
    shown = subprocess.run(
        [sys.executable, "-m", "sidecarlint", "check", ".", "--diff", *extra],
        cwd=repo,
        capture_output=True,
    )
    diff = shown.stdout
    assert diff, shown.stderr
    assert _snapshot(repo) == before  # --diff writes nothing

    _in(repo, "check", ".", "--fix", *extra)
    fixed = _snapshot(repo)
    assert fixed != before
    after = _findings(repo, extra)
    assert not [f for f in after if f["rule"] in ("invalid-yaml", "duplicate-key")]
    remaining = {_what(f) for f in after}
    gone = fixable - remaining
    assert gone, "no finding was fixed"
    for finding in after:  # nothing new, and what is left is no fixable finding
        assert _what(finding) in {_what(f) for f in found}, finding
        assert not (finding["rule"] in FIXABLE and _what(finding) in gone)
    for name, content in fixed.items():
        _only_added_or_set(before[name], content)

    _in(repo, "check", ".", "--fix", *extra)
    assert _snapshot(repo) == fixed  # a second run changes nothing

    for name, content in before.items():  # the diff, through git apply
        (repo / name).write_bytes(content)
    patch = tmp_path / "fix.diff"
    patch.write_bytes(diff)
    subprocess.run(["git", "apply", str(patch)], cwd=repo, check=True)
    assert _snapshot(repo) == fixed

    for name, content in before.items():  # the SARIF fixes
        (repo / name).write_bytes(content)
    _apply_sarif(repo, json.loads(sarif))
    assert _snapshot(repo) == fixed
    return before, fixed


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not on PATH")


@needs_git
@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fix_every_fixture(tmp_path, fixture):
    extra = run_with_args(fixture.read_text(encoding="utf-8"))
    if not _has_fixes(fixture, extra):
        pytest.skip("no finding here has a fix (an unknown sidecar, a flow-style pod)")
    _check_fix(tmp_path, [fixture], extra)


def _has_fixes(fixture, extra) -> bool:
    _, sarif, _ = run_cli("check", str(fixture), "--format", "sarif", "--fail-on", "never", *extra)
    return '"fixes"' in sarif


def test_most_fixtures_of_fixable_rules_have_fixes():
    """The sweep above must not pass by skipping: each fixable rule fixes some fixture."""
    fixed = {
        p.parent.name
        for p in _fixtures()
        if _has_fixes(p, run_with_args(p.read_text(encoding="utf-8")))
    }
    assert fixed == set(FIXABLE)


@needs_git
def test_fix_the_example_with_crlf_and_a_bom(tmp_path):
    source = (ROOT / "examples" / "payments-deployment.yaml").read_bytes()
    variant = tmp_path / "src" / "payments.yaml"
    variant.parent.mkdir()
    variant.write_bytes(b"\xef\xbb\xbf" + source.replace(b"\n", b"\r\n"))
    fixed = _check_fix(tmp_path, [variant])[1]["payments.yaml"]
    assert fixed.startswith(b"\xef\xbb\xbf")
    assert fixed.count(b"\n") == fixed.count(b"\r\n")  # every line ends as the file's do
    assert b"terminationGracePeriodSeconds: 40\r\n" in fixed
    assert fixed.count(b"#") == source.count(b"#")  # the comments stay


@needs_git
@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not there")
def test_fix_real_manifests_from_the_corpus(tmp_path):
    files = [CORPUS / name for name in CORPUS_FILES]
    before, fixed = _check_fix(tmp_path, files)
    # Dapr's native switch would trade one finding for another; the Cloud SQL proxy of the
    # job example does not serve /startup: both are left alone
    assert fixed["service.yaml"] == before["service.yaml"]
    assert fixed["job_with_sidecar.yaml"] == before["job_with_sidecar.yaml"]
    assert (
        b'config.beta.linkerd.io/proxy-enable-native-sidecar: "true"'
        in fixed["inject_emojivoto_cronjob_nometa.golden.yml"]
    )


def test_an_anchor_is_left_alone_with_a_note(tmp_path):
    (tmp_path / "anchor.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: &pod\n"
        "  terminationGracePeriodSeconds: 5\n  containers:\n    - name: app\n      image: a\n"
        "      lifecycle: {preStop: {sleep: {seconds: 20}}}\n",
        encoding="utf-8",
    )
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _, out, err = _in(tmp_path, "check", ".", "--diff")
    assert out == "" and "0 edits in 0 files" in err
    _, out, _ = _in(tmp_path, "check", ".", "--format", "json", "--fail-on", "never")
    [finding] = [f for f in json.loads(out)["findings"] if f["rule"] == "grace-period-too-short"]
    assert finding["message"].endswith(
        "(check --fix leaves this one: an anchor, alias or merge key is on its line)"
    )
    _in(tmp_path, "check", ".", "--fix")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


FLOW = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      terminationGracePeriodSeconds: 10
      initContainers:
        - {name: istio-proxy, image: docker.io/istio/proxyv2:1.27.0, restartPolicy: Always}
      containers:
        - {name: web, image: example.com/web:1, lifecycle: {preStop: {sleep: {seconds: 20}}}}
"""


@needs_git
def test_flow_style_mappings_get_their_key_inside_the_braces(tmp_path):
    source = tmp_path / "src" / "flow.yaml"
    source.parent.mkdir()
    source.write_text(FLOW, encoding="utf-8")
    _, fixed = _check_fix(tmp_path, [source])
    assert b"- {startupProbe: {httpGet: {path: /healthz/ready, port: 15021}" in fixed["flow.yaml"]


@needs_git
def test_json_manifests_get_json(tmp_path):
    """A JSON manifest, pretty-printed as `kubectl get -o json` writes it: the key goes in
    quoted, with its value as JSON, and the file stays JSON."""
    document = yaml.safe_load(FLOW)
    source = tmp_path / "src" / "web.json"
    source.parent.mkdir()
    source.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    _, fixed = _check_fix(tmp_path, [source])
    parsed = json.loads(fixed["web.json"])
    spec = parsed["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] == 30  # 20s preStop + 5s margin, rounded up
    assert spec["initContainers"][0]["startupProbe"]["httpGet"]["port"] == 15021


def test_an_unknown_sidecar_gets_no_guessed_probe(tmp_path):
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  initContainers:\n"
        "    - name: helper\n      image: example.com/helper:1\n      restartPolicy: Always\n"
        "  containers:\n    - name: app\n      image: example.com/app:1\n",
        encoding="utf-8",
    )
    _, out, _ = _in(tmp_path, "check", ".", "--diff")
    assert out == ""


def test_a_proxy_that_does_not_serve_its_probe_gets_none(tmp_path):
    """The Cloud SQL Auth Proxy serves /startup only with --health-check on an address the
    kubelet reaches: without them the probe would keep the pod from ever starting."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  initContainers:\n"
        "    - name: cloud-sql-proxy\n      image: gcr.io/cloud-sql-connectors/cloud-sql-proxy:2\n"
        "      restartPolicy: Always\n      args: [{args}]\n"
        "  containers:\n    - name: app\n      image: example.com/app:1\n"
    )
    (tmp_path / "pod.yaml").write_text(pod.replace("{args}", '"--port=5432", "p:r:i"'))
    assert _in(tmp_path, "check", ".", "--diff")[1] == ""
    (tmp_path / "pod.yaml").write_text(
        pod.replace("{args}", '"--health-check", "--http-address=0.0.0.0", "p:r:i"')
    )
    assert (
        "+      startupProbe: {httpGet: {path: /startup, port: 9090}"
        in _in(tmp_path, "check", ".", "--diff")[1]
    )


def test_helm_output_is_never_edited(tmp_path):
    rendered = (
        ROOT / "tests" / "rules" / "grace-period-too-short" / "bad-native-chain.yaml"
    ).read_text()
    rendered = "---\n# Source: chart/templates/deployment.yaml\n" + rendered
    _, out, _ = run_cli("check", "-", "--diff", input=rendered)
    assert out == ""


def test_a_moved_proxy_goes_after_its_mesh_init_and_before_the_rest(tmp_path):
    """Istio's own native layout: istio-init first, then the proxy, then the pod's own init
    containers, which may need the proxy (semantics.md §2.2)."""
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
        "    spec:\n      initContainers:\n        - name: istio-init\n          image: i\n"
        "        - name: migrate\n          image: m\n      containers:\n"
        "        - name: web\n          image: w\n"
        "        - name: istio-proxy\n          image: docker.io/istio/proxyv2:1.26.0\n",
        encoding="utf-8",
    )
    _in(tmp_path, "check", ".", "--fix")
    pod = yaml.safe_load((tmp_path / "pod.yaml").read_text())["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["istio-init", "istio-proxy", "migrate"]
    assert [c["name"] for c in pod["containers"]] == ["web"]
    assert pod["initContainers"][1]["restartPolicy"] == "Always"


CHART_TEMPLATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-NAME
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: GRACE
      containers:
        - name: web
          image: example.com/web:1
          lifecycle:
            preStop:
              sleep: {seconds: 20}
"""


@needs_git
@pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not on PATH")
def test_a_helm_finding_is_fixed_in_its_template_when_the_line_is_written_there(tmp_path):
    """Helm output is never edited: the edit goes to the template when the line reads the
    same there; a line a template expression renders gets the edit as advice."""
    chart = tmp_path / "repo" / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("grace: 10\n")
    literal = CHART_TEMPLATE.replace("NAME", "one").replace("GRACE", "10")
    templated = CHART_TEMPLATE.replace("NAME", "two").replace("GRACE", "{{ .Values.grace }}")
    (chart / "templates" / "one.yaml").write_text(literal)
    (chart / "templates" / "two.yaml").write_text(templated)
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    repo = tmp_path / "repo"
    _, out, _ = _in(repo, "check", "chart", "--format", "json", "--fail-on", "never")
    [advice] = [
        f
        for f in json.loads(out)["findings"]
        if f["rule"] == "grace-period-too-short" and f["path"].endswith("two.yaml")
    ]
    assert (
        "(check --fix leaves the template alone, its lines are rendered: 25)" in advice["message"]
    )
    _in(repo, "check", "chart", "--fix")
    assert (chart / "templates" / "one.yaml").read_text() == literal.replace(
        "terminationGracePeriodSeconds: 10", "terminationGracePeriodSeconds: 25"
    )
    assert (chart / "templates" / "two.yaml").read_text() == templated


def test_a_file_name_cannot_write_a_line_of_the_diff(tmp_path):
    """A repository may name a file with a newline: its edit stays out of the diff (the
    name would start a line of it), with an escaped note, and --fix still makes it."""
    name = "web\n+++ forged.yaml"
    source = (
        ROOT / "tests" / "rules" / "grace-period-too-short" / "bad-native-chain.yaml"
    ).read_bytes()
    (tmp_path / name).write_bytes(source)
    _, out, err = _in(tmp_path, "check", ".", "--diff")
    assert out == ""
    assert "web\\n+++ forged.yaml: not in the diff" in err
    _in(tmp_path, "check", ".", "--fix")
    assert (tmp_path / name).read_bytes() != source
