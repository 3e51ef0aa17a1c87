"""Output that cannot be forged: names from manifests never start a line of their own, never
reach a terminal as control characters, and every GitHub annotation is one line."""

from __future__ import annotations

import json

from hostile import every_format, sidecarlint

FORGED = "::error file=src/app.py,line=1::forged"
POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: "web\\n{forged}\\r\\n::add-mask::secret\\n::stop-commands::x\\u001b[31mred\\u2028"
  annotations:
    ignore.sidecarlint.io/grace-period-too-short: "because\\n{forged}"
spec:
  initContainers:
    - name: "proxy\\n{forged}"
      image: docker.io/istio/proxyv2:1.24.0
      restartPolicy: Always
  containers:
    - name: app
      image: example.com/app:1
"""


def test_names_cannot_forge_lines_or_colour(tmp_path):
    (tmp_path / "pod.yaml").write_text(POD.format(forged=FORGED), encoding="utf-8")
    outputs = every_format("pod.yaml", tmp_path, "--show-suppressed")
    for name, text in outputs.items():
        assert "\x1b" not in text, name
        for line in text.splitlines():  # no line starts a workflow command but our own
            assert not line.startswith(("::error file=src", "::add-mask::", "::stop-commands::"))
    github = outputs["github"].splitlines()
    findings = json.loads(outputs["json"])["findings"]
    assert len(github) == len([f for f in findings if not f["suppressed"]]) + 1  # + summary
    assert all(line.startswith(("::warning ", "::error ", "::notice ")) for line in github[:-1])
    # the names are still there, visibly escaped
    assert "web\\n::error" in outputs["text"]
    assert "\\x1b[31mred" in outputs["text"]


def test_file_names_cannot_forge_lines(tmp_path):
    folder = tmp_path / "k8s"
    folder.mkdir()
    name = "pod\n::error file=app.py,line=1::forged\n.yaml"
    (folder / name).write_text(POD.format(forged="x"), encoding="utf-8")
    outputs = every_format("k8s", tmp_path)
    for text in (outputs["text"], outputs["github"]):
        assert not any(line.startswith("::error file=app") for line in text.splitlines())


def test_error_messages_cannot_forge_lines(tmp_path):
    rules = tmp_path / "policy"
    rules.mkdir()
    (rules / "bad.yaml").write_text(f'summary: x\nseverity: warning\n"\\n{FORGED}": 1\n')
    (tmp_path / ".sidecarlint.yaml").write_text("rule_dirs: [policy]\n")
    result = sidecarlint("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert not any(line.startswith("::error") for line in result.stderr.decode().splitlines()), (
        result.stderr
    )
