"""The command line: exit codes, formats, config, user rules, stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, lint_json, run_cli

from sidecarlint import __version__
from sidecarlint.findings import Finding
from sidecarlint.report.text import format_finding

BAD = ROOT / "tests/rules/native-sidecar-without-startup-probe/bad-known-and-unknown.yaml"
BAD_ID = BAD.relative_to(ROOT).as_posix()  # the path findings name: repository-relative
OK = ROOT / "tests/rules/native-sidecar-without-startup-probe/ok-signals.yaml"
INVALID = ROOT / "tests/rules/invalid-yaml/bad-indent.yaml"
JSON_KEYS = [
    "rule",
    "severity",
    "message",
    "path",
    "line",
    "column",
    "kind",
    "name",
    "namespace",
    "container",
    "source",
    "pod",
    "pod_path",
    "suppressed",
]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Run from an empty folder so no config file is picked up by accident."""
    monkeypatch.chdir(tmp_path)


def test_exit_0_when_clean():
    code, out, _ = run_cli("check", str(OK), "--select", "native-sidecar-without-startup-probe")
    assert code == 0 and out == "no findings in 1 file\n"


def test_exit_1_and_text_format():
    code, out, _ = run_cli("check", str(BAD))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(
        f"{BAD_ID}:16:11: warning native-sidecar-without-startup-probe "
        "native sidecar 'istio-proxy' has no startupProbe"
    )
    assert lines[0].endswith("[Deployment/payments container=istio-proxy]")
    assert "add startupProbe: {httpGet: {path: /healthz/ready, port: 15021}" in lines[0]
    assert lines[-1] == "2 findings (1 warning, 1 info) in 1 file"  # the log tailer is info


def test_fail_on_thresholds():
    assert run_cli("check", str(BAD), "--fail-on", "error")[0] == 0
    assert run_cli("check", str(BAD), "--fail-on", "info")[0] == 1
    assert run_cli("check", str(BAD), "--fail-on", "never")[0] == 0


def test_exit_2_for_unparsable_input_even_with_other_findings():
    code, out, _ = run_cli("check", str(INVALID), str(BAD))
    assert code == 2 and "invalid-yaml" in out and "native-sidecar-without-startup-probe" in out


def test_exit_2_for_a_missing_path():
    code, findings = lint_json("does-not-exist.yaml")
    assert code == 2
    assert [(f["rule"], f["path"], f["message"]) for f in findings] == [
        ("unreadable-file", "does-not-exist.yaml", "path does not exist")
    ]


def test_json_format_has_exactly_the_contract_keys():
    code, out, _ = run_cli("check", "--format", "json", str(BAD))
    document = json.loads(out)
    assert code == 1 and document["version"] == __version__
    assert document["summary"] == {
        "files": 1,
        "findings": 2,
        "error": 0,
        "warning": 1,
        "info": 1,
        "suppressed": 0,
    }
    first = document["findings"][0]
    assert list(first) == JSON_KEYS
    assert first | {"message": None} == {
        "rule": "native-sidecar-without-startup-probe",
        "severity": "warning",
        "message": None,
        "path": BAD_ID,  # its identity: the repository-relative POSIX path
        "line": 16,
        "column": 11,
        "kind": "Deployment",
        "name": "payments",
        "namespace": "shop",
        "container": "istio-proxy",
        "source": None,
        "pod": None,
        "pod_path": None,
        "suppressed": False,
    }


def test_json_is_laid_out_as_indent_2_across_batches(tmp_path, monkeypatch):
    """The report is written in batches of findings; the text is still exactly what
    json.dumps(indent=2) gives, also with a message holding quotes, braces and non-ASCII."""
    for index in range(40):  # 80 findings: more than one batch
        (tmp_path / f"app-{index:03}.yaml").write_bytes(BAD.read_bytes())
    odd = BAD.read_text().replace("- name: log-tailer", '- name: "tail\\"},\\n      {ü"')
    (tmp_path / "odd.yaml").write_text(odd, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    _, out, _ = run_cli("check", "--format", "json", ".")
    document = json.loads(out)
    assert len(document["findings"]) == 82
    assert any(f["container"] == 'tail"},\n      {ü' for f in document["findings"])
    assert out == json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_output_file(tmp_path):
    target = tmp_path / "report.json"
    code, out, _ = run_cli("check", "--format", "json", "-o", str(target), str(BAD))
    assert code == 1 and out == ""
    assert len(json.loads(target.read_text())["findings"]) == 2


def test_select_and_ignore():
    _, findings = lint_json(str(BAD), "--ignore", "native-sidecar-without-startup-probe")
    assert findings == []
    code, _, err = run_cli("check", str(BAD), "--select", "no-such-rule")
    assert code == 2 and "unknown rule 'no-such-rule'" in err


def test_kube_version_option_and_bad_value():
    fixture = ROOT / "tests/rules/native-sidecar-unsupported/bad-1.28-warning.yaml"
    _, findings = lint_json(
        str(fixture), "--kube-version", "v1.28.4", "--select", "native-sidecar-unsupported"
    )
    assert [f["severity"] for f in findings] == ["warning"]
    _, findings = lint_json(
        str(fixture), "--kube-version", "1.26", "--select", "native-sidecar-unsupported"
    )
    assert [f["severity"] for f in findings] == ["error"]
    code, _, err = run_cli("check", str(fixture), "--kube-version", "latest")
    assert code == 2 and "--kube-version" in err and "Traceback" not in err


def test_stdin_with_filename():
    code, findings = lint_json("-", "--stdin-filename", "k8s/app.yaml", input=BAD.read_bytes())
    assert code == 1 and {f["path"] for f in findings} == {"k8s/app.yaml"}


def test_directory_walk_skips_hidden_and_other_extensions(tmp_path):
    (tmp_path / "k8s").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "k8s" / "app.yml").write_bytes(BAD.read_bytes())
    (tmp_path / ".git" / "app.yaml").write_bytes(BAD.read_bytes())
    (tmp_path / "k8s" / "notes.txt").write_bytes(BAD.read_bytes())
    _, findings = lint_json()
    assert {f["path"] for f in findings} == {"k8s/app.yml"}


def test_chart_templates_are_not_parsed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm: the chart is reported, not parsed
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    (chart / "templates" / "bad.yaml").write_text("kind: Pod\nname: {{ .x }}\n  bad: [\n")
    code, findings = lint_json(str(tmp_path))
    assert code == 0 and [f["rule"] for f in findings] == ["render-unavailable"]


def test_config_file_found_upwards(tmp_path, monkeypatch):
    (tmp_path / ".sidecarlint.yaml").write_text(
        textwrap.dedent("""\
        fail_on: error
        severity:
          native-sidecar-without-startup-probe: info
        exclude: [vendor]
        """)
    )
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "x.yaml").write_bytes(BAD.read_bytes())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "app.yaml").write_bytes(BAD.read_bytes())
    monkeypatch.chdir(tmp_path / "sub")
    code, findings = lint_json(str(tmp_path))
    assert code == 0
    assert {f["severity"] for f in findings} == {"info"}
    assert not [f for f in findings if "vendor" in f["path"]]


def test_pyproject_config_disables_rules(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [tool.sidecarlint]
        disable = ["native-sidecar-without-startup-probe"]
        kube-version = "1.30"
        """)
    )
    code, findings = lint_json(str(BAD))
    assert code == 0 and findings == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("fail_on: sometimes\n", "fail_on: must be one of"),
        ("severity: {nope: error}\n", "severity: unknown rule 'nope'"),
        ("colour: true\n", "colour: unknown setting"),
        ("kube_version: banana\n", "not a Kubernetes version"),
        ("params: {invalid-probe: {x: 1}}\n", "params.invalid-probe.x: the rule has no such param"),
        ("sidecars: {mine: {category: magic, names: [m]}}\n", "sidecars.mine.category"),
        ("[unclosed\n", "not valid YAML"),
        (b"fail_on: \xff\n", "not UTF-8 text"),
        ("exclude: " + "[" * 5000 + "]" * 5000 + "\n", "not valid YAML"),
    ],
)
def test_config_errors_are_one_line_and_exit_2(tmp_path, content, message):
    data = content if isinstance(content, bytes) else content.encode()
    (tmp_path / ".sidecarlint.yaml").write_bytes(data)
    code, out, err = run_cli("check", str(OK))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and ".sidecarlint.yaml" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[tool.sidecarlint]\nexclude = ["\xff"]\n', "cannot read"),
        (
            b"[tool.sidecarlint]\nexclude = " + b"[" * 5000 + b"]" * 5000 + b"\n",
            "nested too deeply",
        ),
    ],
)
def test_pyproject_errors_are_one_line_and_exit_2(tmp_path, content, message):
    (tmp_path / "pyproject.toml").write_bytes(content)
    code, out, err = run_cli("check", str(OK))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "pyproject.toml" in err


USER_RULE = """\
summary: Containers must set a memory limit
severity: warning
params:
  field: {default: memory, type: string}
find: >-
  all_containers(pod)[?resources.limits == null
                       || !contains(keys(resources.limits), param('field'))]
message: "container '{name}' has no {field} limit"
docs:
  what: x
  why: y
  example: "z"
  use_instead: "z"
  references: ["https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"]
"""


def test_user_rules_directory(tmp_path):
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "memory-limit.yaml").write_text(USER_RULE)
    _, findings = lint_json(str(OK), "--rules-dir", str(rules), "--select", "memory-limit")
    assert next((f["container"], f["message"]) for f in findings) == (
        "setup",
        "container 'setup' has no memory limit",
    )
    (tmp_path / ".sidecarlint.yaml").write_text(
        "rule_dirs: [my-rules]\nparams: {memory-limit: {field: cpu}}\n"
    )
    _, findings = lint_json(str(OK), "--select", "memory-limit")
    assert findings[0]["message"] == "container 'setup' has no cpu limit"
    _code, out, _ = run_cli("rules")
    assert "memory-limit" in out


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("severity: warning", "severity: loud", "severity: must be one of"),
        ("find: ", "fnd: ", "fnd: unknown key"),
        ("all_containers(pod)", "every_container(pod)", "find: unknown function every_container()"),
        ("param('field')", "param('nope')", "param() must name a declared param"),
        ("[?resources", "[?resources ==", "find: invalid JMESPath"),
        ("default: memory", "default: 3", "params.field.default: must be of type string"),
        ("all_containers(pod)", "(" * 3000 + "pod" + ")" * 3000, "find: expression nested too"),
        ("'{name}'", "'{name:>99999999999}'", "message: placeholder {name:>99999999999} must be"),
        ("'{name}'", "'{'", "(write {{ and }} for a literal brace)"),
    ],
)
def test_user_rule_errors_name_file_and_key(tmp_path, replace, by, message):
    rules = tmp_path / "my-rules"
    rules.mkdir()
    (rules / "memory-limit.yaml").write_text(USER_RULE.replace(replace, by))
    code, out, err = run_cli("check", str(OK), "--rules-dir", str(rules))
    assert code == 2 and out == ""
    assert "memory-limit.yaml" in err and message in err and "Traceback" not in err


def test_explain_unknown_rule_suggests():
    code, _, err = run_cli("explain", "native-sidecar-without-startup")
    assert code == 2 and "did you mean native-sidecar-without-startup-probe" in err


def test_colour_only_when_asked():
    finding = Finding("invalid-yaml", "error", "m", "a.yaml", 1, 2)
    assert format_finding(finding) == "a.yaml:1:2: error invalid-yaml m"
    assert "\033[31merror\033[0m" in format_finding(finding, color=True)


def test_python_dash_m_and_version():
    result = subprocess.run(
        [sys.executable, "-m", "sidecarlint", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    # (an editable install from a git checkout adds the commit)
    assert result.stdout.strip().startswith(f"sidecarlint, version {__version__}")


JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: report, namespace: payments}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: report
          image: example.com/report:1
"""


def test_mesh_namespaces_from_config(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB)
    _, findings = lint_json("job.yaml", "--select", "job-injected-legacy-sidecar")
    assert findings == []
    (tmp_path / ".sidecarlint.yaml").write_text(
        "mesh:\n  namespaces:\n    payments: {istio-injection: enabled}\n"
    )
    _, findings = lint_json("job.yaml", "--select", "job-injected-legacy-sidecar")
    assert [f["message"].split(" (")[0] for f in findings] == [
        "Istio proxy will be injected into this Job as a legacy sidecar"
    ]
    (tmp_path / ".sidecarlint.yaml").write_text(
        "mesh:\n  istio: {native: true}\n  namespaces:\n    payments: {istio-injection: enabled}\n"
    )
    _, findings = lint_json("job.yaml", "--select", "job-injected-legacy-sidecar")
    assert findings == []


def test_old_kube_suggests_quit_endpoints_not_native(tmp_path):
    labelled = JOB.replace(
        "    spec:\n      restartPolicy",
        "    metadata:\n      labels: {sidecar.istio.io/inject: 'true'}\n"
        "    spec:\n      restartPolicy",
    )
    (tmp_path / "job.yaml").write_text(labelled)
    _, findings = lint_json(
        "job.yaml", "--select", "job-injected-legacy-sidecar", "--kube-version", "1.27"
    )
    assert "quitquitquit" in findings[0]["message"]
    assert "nativeSidecar" not in findings[0]["message"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("mesh: {istio: {native: yes-please}}\n", "mesh.istio.native: must be true or false"),
        ("mesh: {osm: {native: true}}\n", "mesh.osm: unknown mesh"),
        ("mesh: {namespaces: {payments: [a]}}\n", "mesh.namespaces: must map"),
    ],
)
def test_mesh_config_errors(tmp_path, content, message):
    (tmp_path / ".sidecarlint.yaml").write_text(content)
    code, _, err = run_cli("check", str(OK))
    assert code == 2 and message in err


def test_user_sidecar_in_config_feeds_probe_hints_and_the_shutdown_budget(tmp_path):
    (tmp_path / ".sidecarlint.yaml").write_text(
        textwrap.dedent("""\
        sidecars:
          company-proxy:
            category: mesh-proxy
            images: ["registry.example.com/platform/proxy"]
            startup_probe: {httpGet: {path: /ready, port: 8081}}
            stop: {seconds: 40}
        """)
    )
    (tmp_path / "pod.yaml").write_text(
        textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          initContainers:
            - name: edge
              image: registry.example.com/platform/proxy:3.2
              restartPolicy: Always
          containers:
            - name: web
              image: nginx:1.27
        """)
    )
    _, findings = lint_json(
        "pod.yaml", "--select", "native-sidecar-without-startup-probe,grace-period-too-short"
    )
    by_rule = {f["rule"]: f for f in findings}
    assert "port: 8081" in by_rule["native-sidecar-without-startup-probe"]["message"]
    assert by_rule["grace-period-too-short"]["message"].startswith(
        "needs at least 40s: edge stop 40s; terminationGracePeriodSeconds is 30s (the default)"
    )


def test_size_limit_from_config_and_walk_survives_links(tmp_path):
    (tmp_path / ".sidecarlint.yaml").write_text("max_file_bytes: 200\n")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "big.yaml").write_bytes(BAD.read_bytes())  # ~800 bytes
    (tmp_path / "k8s" / "small.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    (tmp_path / "k8s" / "loop").symlink_to(tmp_path / "k8s")  # a folder link loop
    (tmp_path / "k8s" / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    code, findings = lint_json("k8s")
    assert code == 2
    assert sorted((f["path"], f["rule"]) for f in findings) == [
        ("k8s/big.yaml", "unreadable-file"),
        ("k8s/dangling.yaml", "unreadable-file"),
    ]
    big = next(f for f in findings if f["path"] == "k8s/big.yaml")
    assert "larger than 200 bytes (max_file_bytes)" in big["message"]


def test_walk_survives_a_tree_deeper_than_the_recursion_limit(tmp_path):
    levels = sys.getrecursionlimit() + 200  # os.walk recursed once per level
    deep = tmp_path / "k8s"
    deep.mkdir()
    for _ in range(levels):
        deep = deep / "a"
        deep.mkdir()  # one at a time: os.makedirs recurses too
    (deep / "app.yaml").write_bytes(BAD.read_bytes())
    try:
        code, findings = lint_json("k8s")
        assert code == 1 and findings
        assert {f["path"] for f in findings} == {str((deep / "app.yaml").relative_to(tmp_path))}
    finally:  # shutil.rmtree recurses as well: pytest could not clean this up
        (deep / "app.yaml").unlink()
        for _ in range(levels + 1):
            deep.rmdir()
            deep = deep.parent


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github"])
def test_file_names_that_are_not_utf8_are_shown_escaped(tmp_path, output_format):
    try:  # Python keeps the byte 0xff of this name as a lone surrogate
        (tmp_path / os.fsdecode(b"app-\xff.yaml")).write_bytes(BAD.read_bytes())
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 file names")
    done = subprocess.run(
        [sys.executable, "-m", "sidecarlint", "check", ".", "--format", output_format],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},  # as strict as any pipe
    )
    assert done.returncode == 1 and done.stderr == b""
    if output_format == "json":
        paths = {f["path"] for f in json.loads(done.stdout)["findings"]}
        assert paths == {"app-\\xff.yaml"}
    elif output_format == "sarif":
        results = json.loads(done.stdout)["runs"][0]["results"]
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
        assert uris == {"app-%FF.yaml"}  # the file name's own byte, so GitHub can link it
    else:
        assert rb"app-\xff.yaml" in done.stdout


def test_an_unwritable_report_is_one_clear_error(tmp_path):
    missing = tmp_path / "missing" / "report.json"
    code, _, err = run_cli("check", str(BAD), "--format", "json", "-o", str(missing))
    assert code == 2
    assert (
        err
        == f"sidecarlint: error: cannot write the report to {missing}: No such file or directory\n"
    )
    code, _, err = run_cli("check", str(BAD), "--write-baseline", str(missing))
    assert code == 2 and err.startswith(
        f"sidecarlint: error: cannot write the baseline to {missing}"
    )
    if os.path.exists("/dev/full"):  # a disk that is always full
        with open("/dev/full", "w") as full:
            command = [sys.executable, "-m", "sidecarlint", "check", str(BAD)]
            done = subprocess.run(command, stdout=full, stderr=subprocess.PIPE)
        assert done.returncode == 2
        assert done.stderr == (
            b"sidecarlint: error: cannot write the report to standard output: "
            b"No space left on device\n"
        )


def test_jobs_give_byte_identical_output(tmp_path):
    for index in range(12):
        (tmp_path / f"app-{index}.yaml").write_bytes(BAD.read_bytes())
    (tmp_path / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\n"
        "metadata: {name: shop, labels: {istio-injection: enabled}}\n"
    )
    outputs = []
    for jobs in ("1", "2", "3"):
        code, out, _ = run_cli("check", ".", "--format", "sarif", "--jobs", jobs)
        outputs.append(out)
    assert code == 1 and outputs[0] == outputs[1] == outputs[2]
    assert len(json.loads(outputs[0])["runs"][0]["results"]) == 24
