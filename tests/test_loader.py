"""The loader: plain values, positions, Helm sources, and bad input that never raises."""

from __future__ import annotations

from sidecarlint.loader import MAX_DEPTH, load_bytes, load_text, read_file
from sidecarlint.rules import builtin_rules

RULES = {rule.id: rule for rule in builtin_rules()}


def text(problem) -> str:
    """A loader problem in the words of its rule file, as users read it."""
    return RULES[problem.rule].messages[problem.message].text.format_map(problem.fields or {})


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  initContainers:
    - name: proxy
      image: envoyproxy/envoy:v1.31.0
      restartPolicy: Always
  containers:
    - name: web
      image: nginx:1.27
"""


def _pod(loaded):
    return loaded.documents[0].data["spec"]


def test_plain_dicts_and_lists_with_positions():
    loaded = load_text("pod.yaml", POD)
    spec = _pod(loaded)
    assert type(spec) is dict and type(spec["containers"]) is list
    proxy = spec["initContainers"][0]
    assert loaded.positions.of(proxy) == (7, 7)  # inside the container's block
    assert loaded.positions.of_key(proxy, "restartPolicy") == (9, 7)
    assert loaded.positions.of(spec) == (6, 3)
    assert loaded.problems == []


def test_crlf_and_bom_give_the_same_values_and_lines():
    plain = load_text("a.yaml", POD)
    other = load_bytes("b.yaml", b"\xef\xbb\xbf" + POD.replace("\n", "\r\n").encode())
    assert other.problems == []
    assert other.documents[0].data == plain.documents[0].data
    proxy = _pod(other)["initContainers"][0]
    assert other.positions.of_key(proxy, "restartPolicy") == (9, 7)


def test_utf16_with_bom_is_read():
    loaded = load_bytes("u16.yaml", POD.encode("utf-16"))
    assert loaded.problems == [] and _pod(loaded)["containers"][0]["name"] == "web"


def test_anchors_aliases_and_merge_keys():
    text = """\
base: &base {image: nginx, name: a, env: [1]}
list:
  - *base
  - <<: *base
    name: b
  - <<: [{x: 1, name: first}, {x: 2, y: 2}]
"""
    data = load_text("m.yaml", text).documents[0].data
    assert data["list"][0] is data["base"]  # aliases are shared, never copied
    assert data["list"][1] == {"image": "nginx", "name": "b", "env": [1]}
    # the earlier mapping in a merge list wins, as the YAML spec and kubectl say
    assert data["list"][2] == {"x": 1, "name": "first", "y": 2}


def test_yaml_1_1_scalars_like_pyyaml():
    data = load_text("s.yaml", "a: 010\nb: 0x1F\nc: yes\nd: ~\ne: 1.5\nf: '30'\ng: 1_000\n")
    doc = data.documents[0].data
    assert doc == {"a": 8, "b": 31, "c": True, "d": None, "e": 1.5, "f": "30", "g": 1000}


def test_multi_document_stream_with_helm_sources():
    text = """\
---
# Source: chart/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
# Source: chart/templates/b.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
"""
    docs = load_text("out.yaml", text).documents
    assert [d.source for d in docs] == [
        "chart/templates/a.yaml",
        "chart/templates/b.yaml",
        "chart/templates/b.yaml",
    ]
    assert [d.line for d in docs] == [3, 8, 12]


def test_syntax_error_keeps_earlier_documents_and_recovers_after_next_separator():
    text = "a: 1\n---\nb: [\n---\nc: 3\n"
    loaded = load_text("x.yaml", text)
    assert [d.data for d in loaded.documents] == [{"a": 1}, {"c": 3}]
    [problem] = loaded.problems
    assert problem.rule == "invalid-yaml" and problem.line == 4


def test_deep_nesting_is_an_error_not_a_crash():
    # libyaml's own composer overflows the C stack on this; the event builder does not.
    loaded = load_text("deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000)
    assert [p.rule for p in loaded.problems] == ["invalid-yaml"]
    assert "nesting" in text(loaded.problems[0])
    block = "a:\n" + "".join(" " * i + "- \n" for i in range(1, 1500))
    assert [p.rule for p in load_text("deep2.yaml", block).problems] == ["invalid-yaml"]
    # below libyaml's own limit, ours still bounds what later code walks
    flow = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    nested = load_text("deep3.yaml", flow)
    assert [p.rule for p in nested.problems] == ["invalid-yaml"]


def test_recursive_alias_terminates():
    loaded = load_text("r.yaml", "a: &x\n  b: *x\n")
    assert loaded.documents[0].data == {"a": {"b": None}}
    assert "refers to a node that contains it" in text(loaded.problems[0])


def test_aliases_stay_shared():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 4):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    loaded = load_text("aliases.yaml", "\n".join(lines) + "\n")
    data = loaded.documents[0].data
    assert data["a3"][0] is data["a2"] and data["a2"][0] is data["a1"]
    assert loaded.problems == []


def test_alias_bomb_is_capped_and_reported():
    """Nine levels of nine aliases stand for 387 million strings: past a hundred times the
    document's own size the loader stops with a finding; the documents before it stay."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    loaded = load_text("bomb.yaml", "kind: Pod\n---\n" + "\n".join(lines) + "\n")
    assert [d.data for d in loaded.documents] == [{"kind": "Pod"}]
    [problem] = loaded.problems
    assert (problem.rule, problem.message) == ("invalid-yaml", "alias-expansion")
    assert "alias bomb" in text(problem)


def test_binary_and_undecodable_input():
    nul = load_bytes("n.yaml", b"a: 1\nb: \x00\n")
    assert nul.documents == [] and nul.problems[0].line == 2
    assert "NUL byte" in text(nul.problems[0])
    latin = load_bytes("l.yaml", "a: caf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in text(latin.problems[0]) and latin.problems[0].line == 1


def test_duplicate_keys_are_reported_and_last_value_kept():
    loaded = load_text("d.yaml", "a: 1\nb: 2\na: 3\n")
    assert loaded.documents[0].data == {"a": 3, "b": 2}
    [problem] = loaded.problems
    assert problem.rule == "duplicate-key" and problem.line == 3


def test_unhashable_key_is_an_error():
    loaded = load_text("k.yaml", "? [a, b]\n: 1\n")
    assert loaded.problems[0].rule == "invalid-yaml"


def test_template_error_is_unrendered_template_and_skips_the_file():
    loaded = load_text("t.yaml", "kind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n")
    assert [p.rule for p in loaded.problems] == ["unrendered-template"]
    assert loaded.documents == []


def test_unreadable_paths(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    loaded = read_file(str(loop))
    assert loaded.problems[0].rule == "unreadable-file"
    assert "symbolic link loop" in text(loaded.problems[0])
    assert read_file(str(tmp_path / "missing.yaml")).problems[0].rule == "unreadable-file"
    big = tmp_path / "big.yaml"
    big.write_text("a: 1\n" * 100)
    assert "larger than" in text(read_file(str(big), max_bytes=50).problems[0])


def test_document_count_is_bounded(monkeypatch):
    from sidecarlint import loader

    monkeypatch.setattr(loader, "MAX_DOCUMENTS", 5)
    loaded = load_text("many.yaml", "a: 1\n---\n" * 20)
    assert len(loaded.documents) == 5
    assert [text(p) for p in loaded.problems] == [
        "more than 5 documents in one file; the rest skipped"
    ]


def test_fifo_is_reported_not_read(tmp_path):
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    loaded = read_file(str(fifo))  # would block forever if it were opened and read
    assert [(p.rule, text(p)) for p in loaded.problems] == [
        ("unreadable-file", "not a regular file; skipped")
    ]


MIXED = """\
%YAML 1.1
---
base: &base {cpu: 100m, limit: 0x1F}
app:
  <<: *base
  flags: [yes, off, ~, 1.5e3, !!str 12, !custom tagged, 'quoted']
  alias: *base
--- # a comment
- 1
- [a, {b: c}]
...
---
plain scalar root
"""


def _snapshot(loaded):
    def positions(value):
        if isinstance(value, dict):
            return [
                loaded.positions.of(value),
                {k: (loaded.positions.of_key(value, k), positions(v)) for k, v in value.items()},
            ]
        if isinstance(value, list):
            return [loaded.positions.of(value), [positions(v) for v in value]]
        return value

    return (
        [(d.line, d.data, positions(d.data)) for d in loaded.documents],
        # the pure-Python parser words its syntax errors differently
        [(p.rule, p.line, p.column) for p in loaded.problems],
    )


def test_pure_python_yaml_gives_the_same_result(monkeypatch):
    """PyYAML without libyaml: the same public event API, exactly the same values and
    positions."""
    import yaml

    from sidecarlint import loader

    texts = [MIXED, POD, POD + "---\nbad: [\n---\nkind: Pod\n", "a: 1\na: 2\n", "a: *nope\n"]
    with_libyaml = [_snapshot(load_text("x.yaml", text)) for text in texts]
    monkeypatch.setattr(loader, "YAML_LOADER", yaml.SafeLoader)
    assert [_snapshot(load_text("x.yaml", text)) for text in texts] == with_libyaml


SCALARS = [
    "yes",
    "No",
    "off",
    "ON",
    "~",
    "null",
    "",
    "0x1F",
    "-0b101",
    "0o17",
    "017",
    "1_000",
    "1:30",
    "190:20:30.15",
    "1.5e3",
    "-.inf",
    ".NaN",
    "6.8523015e+5",
    "12",
    "+12",
    "1e400",
    "123456789012345678901234567890",
    "true",
    "False",
    "abc",
    "1.2.3",
    "0.",
]


def test_plain_scalars_are_typed_as_pyyaml_types_them():
    """Numbers, booleans and nulls as `yaml.safe_load` reads them (NaN compared as text)."""
    import math

    import yaml

    for text in SCALARS:
        expected = yaml.safe_load(f"v: {text}\n")["v"]
        found = load_text("x.yaml", f"v: {text}\n").documents[0].data["v"]
        if isinstance(expected, float) and math.isnan(expected):
            assert isinstance(found, float) and math.isnan(found), text
        else:
            assert (type(found), found) == (type(expected), expected), text


def test_timestamps_and_binary_stay_text():
    data = load_text("x.yaml", "a: 2001-12-14\nb: !!binary aGVsbG8=\nc: !!int nope\n")
    assert data.documents[0].data == {"a": "2001-12-14", "b": "aGVsbG8=", "c": "nope"}


def test_parses_in_several_threads_at_once():
    """Nothing global changes during a parse: threads linting at once get the same values."""
    import sys
    import threading

    texts = [MIXED, POD * 1, POD + "---\n" + POD, "a: [1, 2, {b: c}]\n"] * 50
    expected = [_snapshot(load_text("x.yaml", text)) for text in texts]
    results: dict[int, list] = {}
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [
            threading.Thread(
                target=lambda n=n: results.__setitem__(
                    n, [_snapshot(load_text("x.yaml", text)) for text in texts]
                )
            )
            for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert [results[n] for n in range(4)] == [expected] * 4
