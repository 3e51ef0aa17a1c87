"""`sidecarlint timeline`: each pod's startup order and shutdown on a time axis, drawn from
the same models as the rules. Golden files in tests/timeline/ (see its README)."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, run_cli

GOLDEN = ROOT / "tests" / "timeline"
RULES = ROOT / "tests" / "rules"
SVG = "{http://www.w3.org/2000/svg}"

CASES = {
    # native sidecars stopped in reverse order after the app, the grace period runs out
    "native-chain": ("tests/rules/grace-period-too-short/bad-native-chain.yaml",),
    # a legacy proxy Istio injects (the Namespace in the same file), drained past the grace
    "injected-legacy-proxy": (
        "tests/rules/grace-period-too-short/bad-injected.yaml",
        "--object",
        "Deployment/web",
    ),
    # a Job with a legacy log shipper that stops in time
    "legacy-sidecar-in-time": ("examples/report-job.yaml",),
}


def _draw(args: tuple[str, ...], *extra: str) -> str:
    code, out, err = run_cli("timeline", *args, *extra, cwd=ROOT)  # files named as given
    assert code == 0, err
    return out


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("output", ["txt", "svg"])
def test_golden(case, output):
    extra = ("--format", "svg") if output == "svg" else ()
    drawn = _draw(CASES[case], *extra)
    golden = GOLDEN / f"{case}.{output}"
    if os.environ.get("SIDECARLINT_UPDATE_GOLDEN"):
        golden.write_text(drawn, encoding="utf-8")
    assert drawn == golden.read_text(encoding="utf-8")


def _bars(text: str) -> dict[str, str]:
    """Container name → its row of the time axis."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^  (\S+(?: \(injected\))?)\s+([=.#X| -]{50})  ", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_native_sidecars_stop_in_reverse_order_after_the_app():
    text = _draw(CASES["native-chain"])
    assert "   2  istio-proxy      native sidecar: the next starts when its startupProbe" in text
    rows = _bars(text)
    assert list(rows) == ["payments", "cloud-sql-proxy", "istio-proxy"]  # the order they stop
    # payments: preStop sleep 15s then 10s; cloud-sql-proxy waits for it, then 10s
    assert rows["payments"].startswith("=" * 15 + "#" * 10)
    assert rows["cloud-sql-proxy"].startswith("." * 25 + "#" * 5 + "X")
    assert "SIGKILL at 30s: cloud-sql-proxy (needs 35s), istio-proxy (needs 40s)" in text


def test_the_chart_agrees_with_the_grace_period_finding():
    """The last bar ends where the rule's arithmetic says the pod needs to stop."""
    _, out, _ = run_cli(
        "check", "--select", "grace-period-too-short", str(RULES / "grace-period-too-short")
    )
    needs = re.findall(
        r"^\S*/(bad-[\w-]+\.yaml):\d+:\d+: .* needs (?:at least )?(\d+)s: .*\[(\w+/[\w-]+)\]$",
        out,
        re.M,
    )
    assert len(needs) == 5, out
    text = _draw(("tests/rules/grace-period-too-short",))
    for path, need, name in needs:
        [chart] = [c for c in text.split("\n\n") if c.startswith(f"{name}  (") and f"/{path}:" in c]
        ends = [float(x) for x in re.findall(r"stopped at (?:>=)?([\d.]+)s", chart)]
        assert max(ends) == float(need), (name, chart)


def test_an_injected_legacy_proxy_is_drawn_and_says_why():
    text = _draw(CASES["injected-legacy-proxy"])
    assert "istio-proxy (injected)  injected legacy sidecar (namespace 'shop' has" in text
    assert _bars(text)["istio-proxy (injected)"].startswith("#" * 30 + "X")


def test_the_svg_holds_one_bar_per_container():
    svg = _draw(("tests/rules/grace-period-too-short",), "--format", "svg")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    pods = [g for g in root.iter(f"{SVG}g") if g.get("class") == "pod"]
    text = _draw(("tests/rules/grace-period-too-short",))
    assert len(pods) == text.count("\nshutdown  (")
    for pod in pods:
        bars = [g.get("data-container") for g in pod.iter(f"{SVG}g") if g.get("class") == "bar"]
        head = f"{pod.get('data-pod')}  ({pod.get('data-where')})"
        [chart] = [c for c in text.split("\n\n") if c.startswith(head)]
        assert bars == list(_bars(chart)), chart
        assert len([line for line in pod.iter(f"{SVG}line") if line.get("class") == "grace"]) == 1


def test_hostile_names_cannot_forge_lines_or_markup(tmp_path):
    name = "app\\n\\x1b[31mfake: error\\u2028<script>alert(1)</script>"
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        f'    - {{name: "{name}", image: x}}\n',
        encoding="utf-8",
    )
    code, out, _ = run_cli("timeline", str(tmp_path / "pod.yaml"))
    assert code == 0
    assert "\x1b" not in out and "\u2028" not in out
    assert not any(line.startswith("fake") for line in out.splitlines())
    code, svg, _ = run_cli("timeline", "--format", "svg", str(tmp_path / "pod.yaml"))
    root = ET.fromstring(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]


def test_an_object_that_is_not_there_is_an_error(tmp_path):
    code, _, err = run_cli("timeline", str(ROOT / "examples"), "--object", "Job/nope")
    assert code == 2
    assert "no object 'Job/nope'" in err


def test_output_file(tmp_path):
    target = tmp_path / "chart.svg"
    code, out, _ = run_cli(
        "timeline", str(ROOT / "examples"), "--format", "svg", "--output", str(target)
    )
    assert code == 0 and out == ""
    ET.fromstring(target.read_text(encoding="utf-8"))


TWO_MESHES = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        linkerd.io/inject: enabled
        config.alpha.linkerd.io/proxy-wait-before-exit-seconds: "50"
        proxy.istio.io/config: "terminationDrainDuration: 45s"
    spec:
      terminationGracePeriodSeconds: 30
      containers:
        - {name: web, image: example.com/web:1.0}
"""


@pytest.mark.parametrize("linkerd_version", [None, "2.20"])
def test_a_finding_carries_the_timeline_the_run_confirms(tmp_path, linkerd_version):
    """Both Istio (namespace) and Linkerd (pod) may inject; with Linkerd 2.20 its proxy is
    native: only Istio's legacy proxy makes a finding, and the chart under it draws
    Linkerd's proxy as a native sidecar stopped after the app."""
    (tmp_path / "web.yaml").write_text(TWO_MESHES, encoding="utf-8")
    if linkerd_version:
        (tmp_path / ".sidecarlint.yaml").write_text(
            f'mesh: {{linkerd: {{version: "{linkerd_version}"}}}}\n', encoding="utf-8"
        )
    args = ("check", "--select", "grace-period-too-short", str(tmp_path))
    code, out, _ = run_cli(*args, "--show-timeline")
    assert code == 1
    findings = re.split(r"^\S*web\.yaml:", out, flags=re.M)[1:]  # each finding, its chart
    assert len(findings) == (1 if linkerd_version else 2)  # one per mesh that injects
    for finding in findings:
        chart = [line.strip() for line in finding.splitlines() if line.startswith("    ")]
        bars = [line.split()[0] for line in chart if "injected legacy sidecar, stopped" in line]
        assert bars == (["istio-proxy"] if linkerd_version else ["istio-proxy", "linkerd-proxy"])
        assert (
            "istio-proxy (injected)    injected legacy sidecar (namespace 'shop' has "
            "istio-injection: enabled)" in finding
        ) or linkerd_version
        native = "linkerd-proxy (injected)  ..............................X"
        assert (native in finding) is bool(linkerd_version)
    _, sarif, _ = run_cli(*args, "--format", "sarif")
    results = json.loads(sarif)["runs"][0]["results"]
    for result in results:
        markdown = result["message"]["markdown"]
        assert markdown.startswith("with the ")
        assert "\n```text\nDeployment/web\nstartup\n" in markdown and markdown.endswith("```")
        assert ("linkerd-proxy (injected)  injected native" in markdown) is bool(linkerd_version)


def test_a_run_keeps_timelines_only_when_its_output_draws_them():
    from sidecarlint.api import LintOptions, lint

    path = str(ROOT / "examples" / "payments-deployment.yaml")
    select = ("grace-period-too-short",)
    [plain] = lint([path], LintOptions(select=select)).findings
    assert plain.timeline is None
    [drawn] = lint([path], LintOptions(select=select, timelines=True)).findings
    assert [bar.name for bar in drawn.timeline.bars] == [
        "payments",
        "cloud-sql-proxy",
        "istio-proxy",
    ]
