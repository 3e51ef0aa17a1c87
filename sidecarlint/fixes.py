"""Fixes: the edit a finding's rule suggests (`fix:` in its rule file), made to the text at the
positions the loader knows, so comments, key order, quoting and every other line stay as
written; and applying them to files (`check --fix`), as a unified diff (`--diff`) or as
SARIF `fixes`.

A rule's `fix:` says which mapping to change (`in: pod`, `container` or `pod-annotations`),
the key and the value (templates filled from the finding's fields). The edit replaces the
key's scalar value when the key is there, else adds a line `key: value` to the mapping with
its indentation. An edit that cannot keep the text's style (a flow-style mapping, an anchor,
alias or merge key nearby) is not made: the finding keeps its advice.
"""

from __future__ import annotations

import json
import os
import re
import stat
from typing import NamedTuple

import yaml

_ALIASING = re.compile(r"(?:^|[\s\[{,])[&*][^\s,\[\]{}]+|<<\s*:")
_PLACEHOLDER = re.compile(r"{(\w+)}")


class Edit(NamedTuple):
    """Replace the text from (line, column) up to (end_line, end_column), 1-based, end
    excluded, with `text` (lines end with "\\n"; written with the file's own newline)."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


def edits_of(fix: object) -> tuple[Edit, ...]:
    """A finding's fix as edits: one, or several (a move)."""
    if fix is None:
        return ()
    return (fix,) if isinstance(fix, Edit) else tuple(fix)


def filled(template: str, fields: dict | None) -> str | None:
    """The template with its {placeholders} from `fields`, or None when one is missing."""
    fields = fields or {}
    if any(name not in fields for name in _PLACEHOLDER.findall(template)):
        return None
    return _PLACEHOLDER.sub(lambda m: str(fields[m.group(1)]), template)


def edit_for(
    mapping: object, key: str, value: str, positions, lines: list[str]
) -> tuple[Edit | None, str]:
    """The edit that makes `mapping` hold `key: value`; or None and why it cannot be made
    keeping the text as written."""
    if not isinstance(mapping, dict) or not mapping or "\n" in value or "\n" in key:
        return None, "its place is not a mapping of its own"
    start = positions.of(mapping)
    if start is None or not 0 < start[0] <= len(lines):
        return None, "its place is not in the file as written"
    line, column = start
    text = lines[line - 1]
    if _ALIASING.search(text):
        return None, "an anchor, alias or merge key is on its line"
    if key in mapping:
        return _replace_value(
            mapping, key, value, positions, lines
        ), "its value is not a plain scalar"
    if text[column - 1 : column] == "{":
        return _add_to_flow(mapping, key, value, line, column, lines)
    indent = " " * (column - 1)
    prefix = text[: column - 1]
    if prefix.strip() == "":  # the mapping starts its own line: add the key before it
        return Edit(line, 1, line, 1, f"{indent}{key}: {value}\n"), ""
    # a list item (`- name: x`): add the key after the item's first line, when that line
    # holds the whole of its first key (a one-line scalar) and nothing continues it
    if _dash(text, column) is None or not _one_line_head(mapping, start, positions, lines):
        return None, "its first line does not end where a new key can go"
    following = lines[line] if line < len(lines) else ""
    if _ALIASING.search(following):
        return None, "an anchor, alias or merge key is where the key would go"
    return Edit(line + 1, 1, line + 1, 1, f"{indent}{key}: {value}\n"), ""


def _add_to_flow(
    mapping: dict, key: str, value: str, line: int, column: int, lines: list[str]
) -> tuple[Edit | None, str]:
    """A key added to a flow mapping (`{name: x, image: y}`, or JSON): first, after its
    brace, in the style its keys are written in (quoted and JSON values, in JSON)."""
    text = lines[line - 1]
    rest = text[column:]
    following = rest.strip() or (lines[line].strip() if line < len(lines) else "")
    quoted = following.startswith('"')
    if quoted:  # JSON: its key quoted, its value as JSON
        try:
            value = json.dumps(yaml.safe_load(value), separators=(", ", ": "))
        except yaml.YAMLError:
            return None, "its value cannot be written as JSON"
        key = json.dumps(key)
    entry = f"{key}: {value}"
    if rest.strip():  # keys on the brace's line: `{key: value, name: x}`
        return Edit(line, column + 1, line, column + 1, f"{entry}, " if mapping else entry), ""
    if line >= len(lines):
        return None, "it is written in flow style that the edit cannot keep"
    after = lines[line]  # keys on the lines below: one line more, indented as they are
    indent = after[: len(after) - len(after.lstrip(" "))]
    return Edit(line + 1, 1, line + 1, 1, f"{indent}{entry},\n"), ""


def _replace_value(mapping: dict, key: str, value: str, positions, lines) -> Edit | None:
    if isinstance(mapping[key], (dict, list)):
        return None
    where = positions.of_key(mapping, key)
    if where is None:
        return None
    line, column = where
    text = lines[line - 1]
    match = re.compile(r"[^:]*:[ \t]*").match(text, column - 1)
    if match is None:
        return None
    token = re.compile(r"[^\s#,}\]]+").match(text, match.end())
    if token is None or token.group(0) == value:
        return None
    return Edit(line, token.start() + 1, line, token.end() + 1, value)


def target(where: str, workload, container: object) -> tuple[object, str | None]:
    """The mapping a fix of `where` changes, and the key to nest the value under when
    that mapping must be made (a pod without annotations gets `annotations: {k: v}`)."""
    if where == "pod":
        return workload.pod, None
    if where == "container":
        return (container if isinstance(container, dict) else None), None
    annotations = workload.pod_metadata.get("annotations")
    if isinstance(annotations, dict) and annotations:
        return annotations, None
    if annotations is None and workload.pod_metadata:
        return workload.pod_metadata, "annotations"
    return None, None


# ---------------------------------------------------------------------------------------
# Applying edits to files


class FileFix(NamedTuple):
    path: str  # as reported (the file's identity)
    read_as: str  # where it is read and written
    before: bytes
    after: bytes


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def apply_text(text: str, edits: list[Edit]) -> str:
    """`text` with the edits made, last first (edits that overlap an earlier one are
    dropped; the same edit twice is made once)."""
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(line: int, column: int) -> int:
        if line > len(lines):
            return len(text)
        return offsets[line - 1] + column - 1

    made: list[tuple[int, int, str]] = []
    unique = _sharing_headers(list(dict.fromkeys(edits)))  # in the findings' order
    # last position first; at one position, the last edit first, so that the texts of
    # several edits there end up in the findings' order
    for edit in sorted(reversed(unique), key=lambda e: (e.line, e.column), reverse=True):
        start, end = offset(edit.line, edit.column), offset(edit.end_line, edit.end_column)
        if made and end > made[-1][0]:
            continue  # overlaps an edit already made
        made.append((start, end, edit.text.replace("\n", newline)))
    for start, end, new in made:
        text = text[:start] + new + text[end:]
    return text


def _sharing_headers(edits: list[Edit]) -> list[Edit]:
    """Edits that insert at one place and start with the same key line (two sidecars moved
    into a new `initContainers:`) write that line once."""
    seen: set[tuple[int, int, str]] = set()
    kept = []
    for edit in edits:
        head, newline, rest = edit.text.partition("\n")
        if (
            newline
            and head.rstrip().endswith(":")
            and (edit.line, edit.column)
            == (
                edit.end_line,
                edit.end_column,
            )
        ):
            key = (edit.line, edit.column, head)
            if key in seen:
                edit = edit._replace(text=rest)
            seen.add(key)
        kept.append(edit)
    return kept


def file_fixes(findings, read_as: dict[str, str] | None) -> list[FileFix]:
    """The fixed content of every file some finding has a fix for (UTF-8 files, with or
    without a BOM; others are left alone)."""
    by_path: dict[str, list[Edit]] = {}
    for finding in findings:
        if finding.fix is not None and not finding.suppressed:
            by_path.setdefault(finding.path, []).extend(edits_of(finding.fix))
    fixes = []
    for path, edits in sorted(by_path.items()):
        real = (read_as or {}).get(path, path)
        try:
            with open(real, "rb") as handle:
                before = handle.read()
            bom = before.startswith(b"\xef\xbb\xbf")
            text = before[3 if bom else 0 :].decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        after = (b"\xef\xbb\xbf" if bom else b"") + apply_text(text, edits).encode("utf-8")
        if after != before:
            fixes.append(FileFix(path, real, before, after))
    return fixes


def diff_safe(fix: FileFix) -> bool:
    """Whether the file's name can head a diff as it is: no control character, nothing
    undecodable (such a name would let a repository write a line of the diff itself)."""
    return fix.path.isprintable() and fix.path == fix.path.encode("utf-8", "replace").decode()


def unified_diff(fixes: list[FileFix]) -> str:
    """The fixes as one unified diff that `git apply` (or `patch -p1`) applies; files whose
    name cannot head a diff (`diff_safe`) are left out."""
    import difflib

    out = []
    for fix in fixes:
        if not diff_safe(fix):
            continue
        before = fix.before.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        after = fix.after.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        name = fix.path if not os.path.isabs(fix.path) else fix.path.lstrip("/")
        lines = list(difflib.unified_diff(before, after, f"a/{name}", f"b/{name}"))
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def write(fixes: list[FileFix]) -> None:
    """Write each fixed file in place, through a temporary file beside it."""
    for fix in fixes:
        if os.path.islink(fix.read_as):
            continue  # the link would become a file: its target is someone else's
        mode = stat.S_IMODE(os.stat(fix.read_as).st_mode)
        temporary = f"{fix.read_as}.sidecarlint-fix"
        with open(temporary, "wb") as handle:
            handle.write(fix.after)
        os.chmod(temporary, mode)
        os.replace(temporary, fix.read_as)


# ---------------------------------------------------------------------------------------
# Moving a container: a legacy sidecar becomes a native one


def move_edits(
    pod: dict,
    container: dict,
    keys: dict[str, str],
    positions,
    lines: list[str],
    after: frozenset[str] = frozenset(),
) -> tuple[tuple[Edit, ...] | None, str]:
    """The edits that move `container` from the pod's `containers` to the front of its
    `initContainers` (after the leading ones named in `after`: its mesh's own init
    containers; made if missing, before `containers:`), re-indented, with `keys` added after
    its first line; or None and why not (block style only)."""
    regular = pod.get("containers")
    if not isinstance(regular, list) or len(regular) < 2:
        return None, "it is the pod's only container"
    index = next((i for i, c in enumerate(regular) if c is container), None)
    start = positions.of(container)
    if index is None or start is None or not 0 < start[0] <= len(lines):
        return None, "its place is not in the file as written"
    line, column = start
    dash = _dash(lines[line - 1], column)
    if dash is None:
        return None, "it is not a block-style list item"
    end = _item_end(regular, index, line, dash, positions, lines)
    span = lines[line - 1 : end - 1]
    if any(_ALIASING.search(row) for row in span):
        return None, "an anchor, alias or merge key is in it"
    if not _one_line_head(container, start, positions, lines):
        return None, "its first line does not end where a new key can go"
    target = _init_place(pod, positions, lines, dash, after)
    if target is None:
        return None, "its pod's initContainers are not a block-style list"
    insert_line, target_dash, header = target
    shift = target_dash - dash
    moved = [_shifted(row, shift) for row in span]
    if any(row is None for row in moved):
        return None, "its lines cannot be re-indented"
    added = [
        f"{' ' * (column - 1 + shift)}{key}: {value}"
        for key, value in keys.items()
        if key not in container
    ]
    body = [moved[0], *added, *moved[1:]]
    text_in = header + "".join(f"{row}\n" for row in body)
    return (Edit(line, 1, end, 1, ""), Edit(insert_line, 1, insert_line, 1, text_in)), ""


def _dash(row: str, column: int) -> int | None:
    """The column (0-based) of the `-` that opens the block-style list item whose mapping
    starts at `column` (1-based) of `row`; None when nothing but `- ` comes before it."""
    prefix = row[: column - 1].rstrip()
    if not prefix.endswith("-") or prefix[:-1].strip():
        return None
    return len(prefix) - 1


def _one_line_head(mapping: dict, start: tuple[int, int], positions, lines: list[str]) -> bool:
    """Whether a new key can go right after the mapping's first line: its first key starts
    the mapping, its value is a scalar, and the next line does not continue it."""
    first = next(iter(mapping), None)
    if first is None or isinstance(mapping[first], (dict, list)):
        return False
    if positions.of_key(mapping, first) != start:
        return False
    line, column = start
    following = lines[line] if line < len(lines) else ""
    return not following.strip() or _indent(following) <= column - 1


def _indent(row: str) -> int:
    return len(row) - len(row.lstrip(" "))


def _item_end(items: list, index: int, line: int, dash: int, positions, lines) -> int:
    """The line after the list item that starts at `line` (trailing blank and comment lines
    stay where they are)."""
    if index + 1 < len(items) and positions.of(items[index + 1]) is not None:
        end = positions.of(items[index + 1])[0]
    else:
        end = line + 1
        while end <= len(lines):
            row = lines[end - 1]
            if row.strip() and not row.lstrip().startswith("#") and _indent(row) <= dash:
                break
            end += 1
    while end - 1 > line and (
        not lines[end - 2].strip() or lines[end - 2].lstrip().startswith("#")
    ):
        end -= 1
    return end


def _shifted(row: str, shift: int) -> str | None:
    if not row.strip() or shift == 0:
        return row
    if shift > 0:
        return " " * shift + row
    return row[-shift:] if row[:-shift].strip() == "" else None


def _init_place(
    pod: dict, positions, lines, dash: int, after: frozenset[str] = frozenset()
) -> tuple[int, int, str] | None:
    """Where the moved item goes: (line to insert at, its dash column, a header line to add
    first), at the front of `initContainers` after the leading ones named in `after`, or a
    new `initContainers:` before `containers:`."""
    inits = pod.get("initContainers")
    if isinstance(inits, list) and inits:
        first = positions.of(inits[0])
        if first is None:
            return None
        column = _dash(lines[first[0] - 1], first[1])
        if column is None:
            return None
        skip = 0
        while skip < len(inits) and isinstance(inits[skip], dict):
            name = inits[skip].get("name")
            if not isinstance(name, str) or name not in after:
                break
            skip += 1
        if skip == 0:
            return first[0], column, ""
        if skip < len(inits):
            place = positions.of(inits[skip])
            return (place[0], column, "") if place is not None else None
        last = positions.of(inits[-1])  # after the last one
        if last is None:
            return None
        return _item_end(inits, len(inits) - 1, last[0], column, positions, lines), column, ""
    if "initContainers" in pod:
        return None  # `initContainers: []` or null: flow style or nothing to put it in
    key = positions.of_key(pod, "containers")
    if key is None or lines[key[0] - 1][: key[1] - 1].strip():
        return None
    return key[0], dash, f"{' ' * (key[1] - 1)}initContainers:\n"
