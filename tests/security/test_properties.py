"""Property-based: any number in the fields the rules read, and any name with control
characters, in every output format: no traceback, every output parses, the GitHub output is
one line per finding, and no line of any output is a workflow command a manifest wrote.
(Seeded and bounded: the "fixed" hypothesis profile in tests/conftest.py.)"""

from __future__ import annotations

import json

from conftest import run_cli
from hypothesis import given
from hypothesis import strategies as st

FORMATS = ("text", "json", "sarif", "github")
numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**31, 0, 30]),
)
# names as a pull request could write them: any text, control characters and workflow
# commands likely
names = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from("\n\r\x1b\x00\x07\u2028\u202e%:,;=[]{}'\"\\a"), max_size=12),
    st.sampled_from(["\n::error file=x,line=1::forged", "a\r\n::add-mask::x", "\x1b[31mred"]),
)


def _yaml(value: object) -> str:
    """A YAML scalar: JSON is YAML, and JSON escapes every control character."""
    if isinstance(value, float) and value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    return json.dumps(value)


def _pod(name: str, container: str, grace: object, sleep: object, period: object) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {_yaml(name)}
  annotations:
    sidecarlint.io/stop-seconds: {_yaml(str(sleep))}
    kuma.io/sidecar-drain-time: {_yaml(f"{sleep}s")}
spec:
  terminationGracePeriodSeconds: {_yaml(grace)}
  initContainers:
    - name: {_yaml(container)}
      image: docker.io/istio/proxyv2:1.24.0
      restartPolicy: Always
      startupProbe:
        httpGet: {{path: /healthz/ready, port: 15021}}
        periodSeconds: {_yaml(period)}
      lifecycle:
        preStop:
          sleep: {{seconds: {_yaml(sleep)}}}
  containers:
    - name: app
      image: example.com/app:1
      lifecycle:
        preStop:
          sleep: {{seconds: {_yaml(sleep)}}}
"""


def _check(outputs: dict[str, str]) -> None:
    findings = json.loads(outputs["json"])["findings"]
    json.loads(outputs["sarif"])
    github = outputs["github"].splitlines()
    assert len(github) == len([f for f in findings if not f["suppressed"]]) + 1
    for name, text in outputs.items():
        assert "\x1b" not in text and "\r" not in text, name
        for line in text.splitlines():
            assert not line.startswith(("::error file=x", "::add-mask::")), (name, line)
    assert len(outputs["text"].splitlines()) == len(findings) + 1


@given(names, names, numbers, numbers, numbers)
def test_any_numbers_and_names_in_every_format(name, container, grace, sleep, period):
    text = _pod(name, container, grace, sleep, period)
    outputs = {}
    for output in FORMATS:
        code, out, err = run_cli("check", "-", "--format", output, input=text)
        assert code in (0, 1, 2), err
        assert "Traceback" not in err
        outputs[output] = out
    _check(outputs)
