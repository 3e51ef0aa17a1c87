"""Text → documents: plain dicts and lists, their positions, `# Source:` comments.

The loader drives libyaml's event stream (`yaml.CSafeLoader`) and builds plain Python
values itself, with an explicit stack. That is faster than `compose_all` followed by a
conversion, never recurses (libyaml's own composer overflows the C stack on deep nesting),
shares aliased nodes instead of expanding them (alias bombs stay cheap), and records the
1-based line and column of every mapping and sequence, and of every mapping key, in a side
table keyed by `id()`. JMESPath needs plain `dict`/`list`, so positions cannot live on the
values themselves. For speed, libyaml's parser hands over each event as a small tuple
rather than a `yaml.events` object (see "Events as tuples").

Nothing here raises on bad input: every problem becomes a `Problem` with a line and column,
and the documents that parsed before it are kept.
"""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Callable
from typing import Any

import yaml
from yaml import events as ev

# libyaml's loader when PyYAML was built with it (the wheels are), else the pure-Python one
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 1000
MAX_DOCUMENTS = 10_000
DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024

_TEMPLATE_MARKER = r"\{\{-?\s*[-.$\w/(\"'!]|\{%"
_SOURCE_COMMENT = r"(?m)^#\s*Source:\s*(\S.*?)\s*$"
_DOC_START_LINE = re.compile(r"(?m)^---(?:[ \t]|$)")
IGNORE_COMMENT = r"#\s*sidecarlint:\s*ignore\[([^\]]*)\][ \t]*([^\r\n]*)"


class _Merge:
    """The `<<` merge key."""


MERGE = _Merge()


class LoadError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class Positions:
    """Where each mapping, sequence and mapping key came from, 1-based.

    For speed the builder stores libyaml's own mark objects and converts them only when a
    finding asks (a tuple is stored instead for documents recovered after a syntax error,
    whose lines are offset)."""

    __slots__ = ("keys", "nodes")

    def __init__(self) -> None:
        self.nodes: dict[int, object] = {}
        self.keys: dict[int, dict] = {}

    @staticmethod
    def _position(mark: object) -> tuple[int, int] | None:
        if mark is None or mark.__class__ is tuple:
            return mark  # type: ignore[return-value]
        return (mark.line + 1, mark.column + 1)  # type: ignore[attr-defined]

    def of(self, node: object) -> tuple[int, int] | None:
        return self._position(self.nodes.get(id(node)))

    def of_key(self, mapping: object, key: object) -> tuple[int, int] | None:
        try:
            return self._position(self.keys.get(id(mapping), {}).get(key))
        except TypeError:
            return None


class Document:
    def __init__(self, data: object, index: int, line: int, source: str | None = None) -> None:
        self.data = data
        self.index = index
        self.line = line
        self.source = source


class Problem:
    """A problem with the file itself; `rule` is the id it is reported under."""

    def __init__(self, rule: str, message: str, line: int = 1, column: int = 1) -> None:
        self.rule = rule
        self.message = message
        self.line = line
        self.column = column


class LoadedFile:
    def __init__(
        self,
        path: str,
        documents: list[Document] | None = None,
        positions: Positions | None = None,
        problems: list[Problem] | None = None,
        text: str = "",
        ignores: dict[int, tuple[list[str], str, int]] | None = None,
    ) -> None:
        self.path = path
        self.documents = [] if documents is None else documents
        self.positions = Positions() if positions is None else positions
        self.problems = [] if problems is None else problems
        self.text = text
        # `# sidecarlint: ignore[rule, ...] reason` comments: line → (rule ids, reason, column)
        self.ignores = {} if ignores is None else ignores


# ---------------------------------------------------------------------------------------
# Reading bytes into text


def _line_col_of_offset(data: bytes | str, offset: int) -> tuple[int, int]:
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, offset) + 1  # type: ignore[arg-type]
    start = data.rfind(newline, 0, offset) + 1  # type: ignore[arg-type]
    return line, offset - start + 1


def decode(data: bytes) -> tuple[str | None, Problem | None]:
    """Bytes → text (UTF-8 with or without BOM, or UTF-16 with a BOM)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, Problem("invalid-yaml", "not valid UTF-16 text")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col_of_offset(data, nul)
        return None, Problem(
            "invalid-yaml",
            f"binary file or NUL byte at line {line}: YAML must be text; file skipped",
            line,
            col,
        )
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line, col = _line_col_of_offset(data, exc.start)
        return None, Problem(
            "invalid-yaml",
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}); file skipped",
            line,
            col,
        )


def read_file(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LoadedFile:
    """Read and parse one file; every I/O or decoding problem becomes a `Problem`."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device would block or stream
            return LoadedFile(
                path, problems=[Problem("unreadable-file", "not a regular file; skipped")]
            )
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            # A bounded read allocates its whole bound first: read a regular file whole.
            data = handle.read() if 0 < size <= max_bytes else handle.read(max_bytes + 1)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        if exc.errno == 40:  # ELOOP
            reason = "symbolic link loop"
        return LoadedFile(
            path, problems=[Problem("unreadable-file", f"cannot read file: {reason}")]
        )
    if len(data) > max_bytes:
        return LoadedFile(
            path,
            problems=[
                Problem(
                    "unreadable-file",
                    f"file is larger than {max_bytes} bytes (max_file_bytes); skipped",
                )
            ],
        )
    return load_bytes(path, data)


def load_bytes(path: str, data: bytes) -> LoadedFile:
    text, problem = decode(data)
    if text is None:
        assert problem is not None
        return LoadedFile(path, problems=[problem])
    return load_text(path, text)


# ---------------------------------------------------------------------------------------
# Scalars: YAML 1.1 implicit types, as PyYAML's SafeLoader resolves them. Timestamps stay
# strings (Kubernetes fields are strings there), and so does anything that fails to convert.

_IMPLICIT = yaml.resolver.Resolver.yaml_implicit_resolvers
_BOOL = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_TAG = "tag:yaml.org,2002:"


def _sexagesimal(digits: str) -> float:
    total = 0.0
    for part in digits.split(":"):
        total = total * 60 + float(part)
    return total


def _to_int(value: str) -> int:
    text = value.replace("_", "")
    sign = -1 if text[0] == "-" else 1
    if text[0] in "+-":
        text = text[1:]
    if text == "0":
        return 0
    if text.startswith("0b"):
        return sign * int(text[2:], 2)
    if text.startswith("0x"):
        return sign * int(text[2:], 16)
    if text[0] == "0":
        return sign * int(text, 8)
    if ":" in text:
        return sign * int(_sexagesimal(text))
    return sign * int(text)


def _to_float(value: str) -> float:
    text = value.replace("_", "").lower()
    sign = -1.0 if text[0] == "-" else 1.0
    if text[0] in "+-":
        text = text[1:]
    if text == ".inf":
        return sign * float("inf")
    if text == ".nan":
        return float("nan")
    if ":" in text:
        return sign * _sexagesimal(text)
    return sign * float(text)


def _construct(tag: str, value: str) -> object:
    try:
        if tag == _TAG + "int":
            return _to_int(value)
        if tag == _TAG + "float":
            return _to_float(value)
        if tag == _TAG + "bool":
            return _BOOL.get(value.lower(), value)
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "merge":
            return MERGE
    except (ValueError, IndexError):
        return value
    return value


_plain_cache: dict[str, object] = {}


def resolve_plain(value: str) -> object:
    """The value of a plain (unquoted, untagged) scalar."""
    cached = _plain_cache.get(value, _plain_cache)
    if cached is not _plain_cache:
        return cached
    result: object = value
    if value == "":
        result = None
    else:
        for tag, regexp in _IMPLICIT.get(value[0], ()):
            if regexp.match(value):
                result = _construct(tag, value)
                break
    if len(_plain_cache) > 8192:
        _plain_cache.clear()
    if len(value) < 256:
        _plain_cache[value] = result
    return result


def _tagged(tag: str, value: str) -> object:
    if tag == "!":
        return value
    if tag.startswith(_TAG):
        return _construct(tag, value)
    return value  # an application tag such as !Ref: keep the text


# ---------------------------------------------------------------------------------------
# Events as tuples
#
# libyaml's parser (PyYAML's Cython `yaml._yaml.CParser`) turns each event into an instance
# of a Python class from `yaml.events`, whose `__init__` is Python code: a third of the whole
# parse. The parser looks the classes up by name in its module, so while any parse of ours
# runs (in any thread) the loader puts plain functions there that return small tuples, and
# puts the classes back afterwards (`_fast_events`). PyYAML's own loading (`yaml.load`,
# `yaml.compose` with `CSafeLoader`) works on libyaml's C structures and never makes event
# objects; only `yaml.parse` with a C loader, in another thread at that very moment, would
# see the functions. The first item of each tuple is its kind.

_SCALAR, _MAPPING, _SEQUENCE, _END, _ALIAS, _DOC_START, _DOC_END, _STREAM_END, _OTHER = range(9)
_END_EVENT = (_END,)
_STREAM_END_EVENT = (_STREAM_END,)
_OTHER_EVENT = (_OTHER,)


def _scalar_event(
    anchor: str | None,
    tag: str | None,
    implicit: tuple[bool, bool],
    value: str,
    start_mark: object,
    end_mark: object,
    style: object,
) -> tuple:
    return (_SCALAR, value, tag, implicit[0], anchor, start_mark)


def _mapping_event(
    anchor: str | None, tag: object, implicit: object, start_mark: object, *_: object
) -> tuple:
    return (_MAPPING, anchor, start_mark)


def _sequence_event(
    anchor: str | None, tag: object, implicit: object, start_mark: object, *_: object
) -> tuple:
    return (_SEQUENCE, anchor, start_mark)


def _end_event(*_: object) -> tuple:
    return _END_EVENT


def _alias_event(anchor: str, start_mark: object, *_: object) -> tuple:
    return (_ALIAS, anchor, start_mark)


def _document_start_event(start_mark: object, *_: object) -> tuple:
    return (_DOC_START, start_mark)


def _document_end_event(start_mark: object, *_: object) -> tuple:
    return (_DOC_END, start_mark)


def _stream_start_event(*_: object) -> tuple:
    return _OTHER_EVENT


def _stream_end_event(*_: object) -> tuple:
    return _STREAM_END_EVENT


_TUPLE_EVENTS = {
    "ScalarEvent": _scalar_event,
    "MappingStartEvent": _mapping_event,
    "SequenceStartEvent": _sequence_event,
    "MappingEndEvent": _end_event,
    "SequenceEndEvent": _end_event,
    "AliasEvent": _alias_event,
    "DocumentStartEvent": _document_start_event,
    "DocumentEndEvent": _document_end_event,
    "StreamStartEvent": _stream_start_event,
    "StreamEndEvent": _stream_end_event,
}
_EVENT_CLASSES = {name: getattr(ev, name) for name in _TUPLE_EVENTS}


def _event_reader(loader: object) -> Callable[[], tuple]:
    """`get_event` returning tuples: libyaml's own while the functions are lent to it
    (`_fast_events`), else a conversion of each event object (PyYAML without libyaml)."""
    get_event = loader.get_event  # type: ignore[attr-defined]
    return get_event if _C_PARSER_GLOBALS is not None else _converted(get_event)


def _converted(get_event: Callable[[], Any]) -> Callable[[], tuple]:
    def convert() -> tuple:
        event = get_event()
        name = event.__class__.__name__
        mark = event.start_mark
        if name == "ScalarEvent":
            return _scalar_event(event.anchor, event.tag, event.implicit, event.value, mark, 0, 0)
        if name == "AliasEvent":
            return _alias_event(event.anchor, mark)
        if name in ("MappingStartEvent", "SequenceStartEvent"):
            return _TUPLE_EVENTS[name](event.anchor, 0, 0, mark)
        if name in ("DocumentStartEvent", "DocumentEndEvent"):
            return (_DOC_START if name == "DocumentStartEvent" else _DOC_END, mark)
        return _OTHER_EVENT if name == "StreamStartEvent" else _TUPLE_EVENTS[name]()

    return convert


_PROBE = "%YAML 1.1\n---\na: &x [1, !!str 2, 'q', ~]\nb: *x\nc: {d: e}\n--- plain\n...\n"


def _lending_works(parser_globals: dict) -> bool:
    """Whether this PyYAML's parser calls the event classes as the lent functions expect:
    the probe, read with the functions lent and by converting event objects, must give the
    same events (marks compared by line and column). Checked once, at import: a PyYAML that
    changes the calls gets the slower, converting path, not wrong values."""

    def comparable(event: tuple) -> tuple:
        return tuple((x.line, x.column) if hasattr(x, "line") else x for x in event)

    def events(read: Callable[[], tuple]) -> list[tuple]:
        found = [comparable(read())]
        while found[-1] != (_STREAM_END,) and len(found) < 100:
            found.append(comparable(read()))
        return found

    try:
        converting = YAML_LOADER(_PROBE)
        expected = events(_converted(converting.get_event))
        converting.dispose()
        parser_globals.update(_TUPLE_EVENTS)
        try:
            lent = YAML_LOADER(_PROBE)
            found = events(lent.get_event)
            lent.dispose()
        finally:
            parser_globals.update(_EVENT_CLASSES)
    except Exception:  # any surprise: do not lend
        return False
    return found == expected and len(found) > 10


_C_PARSER_GLOBALS: dict | None = None
if YAML_LOADER.__name__ == "CSafeLoader":
    import yaml._yaml

    if all(yaml._yaml.__dict__.get(n) is c for n, c in _EVENT_CLASSES.items()) and (
        _lending_works(yaml._yaml.__dict__)
    ):
        _C_PARSER_GLOBALS = yaml._yaml.__dict__


_parses = 0  # parses in progress, in any thread: the classes go back when the last ends
_parses_lock = threading.Lock()


def _fast_events(on: bool) -> None:
    global _parses
    if _C_PARSER_GLOBALS is None:
        return
    with _parses_lock:
        _parses += 1 if on else -1
        if _parses == (1 if on else 0):
            _C_PARSER_GLOBALS.update(_TUPLE_EVENTS if on else _EVENT_CLASSES)


# ---------------------------------------------------------------------------------------
# The event-driven builder


def load_text(path: str, text: str) -> LoadedFile:
    """Parse a YAML or JSON stream. Problems are recorded, never raised."""
    loaded = LoadedFile(path, text=text)
    base = 0
    chunk = text
    while True:
        error = _parse_stream(chunk, base, loaded)
        if error is None:
            break
        if _is_template_error(text, error.line):
            loaded.documents.clear()
            loaded.problems = [
                p for p in loaded.problems if p.rule not in ("invalid-yaml", "duplicate-key")
            ]
            loaded.problems.append(
                Problem(
                    "unrendered-template",
                    "unrendered template ({{ ... }}): render it first (helm template, "
                    "kustomize build) and lint the output; file skipped",
                    error.line,
                    error.column,
                )
            )
            return loaded
        loaded.problems.append(Problem("invalid-yaml", error.message, error.line, error.column))
        # Recover at the next `---` after the error, so later documents are still linted.
        next_start = _next_document_start(text, error.line - 1, len(text) - len(chunk))
        if next_start is None or len(loaded.problems) > 20:
            break
        base, offset = next_start
        chunk = text[offset:]
    _attach_sources(text, loaded.documents)
    if "sidecarlint:" in text:
        for match in re.finditer(IGNORE_COMMENT, text):
            line, column = _line_col_of_offset(text, match.start())
            rules = [r.strip() for r in match.group(1).split(",") if r.strip()]
            # a later comment on the line is not the reason
            reason = re.split(r"(?:^|\s)#", match.group(2))[0].strip()
            loaded.ignores[line] = (rules, reason, column)
    return loaded


def _is_template_error(text: str, line: int) -> bool:
    """A parse error caused by template markup: a `{{`/`{%` on the error line or the three
    lines before it. (A ConfigMap that merely holds a template string parses fine.)"""
    lines = text.split("\n", line)[:line]
    return any(re.search(_TEMPLATE_MARKER, text_line) for text_line in lines[-4:])


def _next_document_start(text: str, line: int, after: int) -> tuple[int, int] | None:
    """(0-based line, offset) of the first `---` line at or below 0-based `line` that lies
    past offset `after` (so recovery always moves forward)."""
    for match in _DOC_START_LINE.finditer(text, after + 1):
        found = text.count("\n", 0, match.start())
        if found >= line:
            return found, match.start()
    return None


def _attach_sources(text: str, documents: list[Document]) -> None:
    """Record, for each document, the Helm `# Source:` comment in effect for it: the last
    one above the document's first line."""
    if "Source:" not in text or not documents:
        return
    comments = [
        (text.count("\n", 0, m.start()) + 1, m.group(1)) for m in re.finditer(_SOURCE_COMMENT, text)
    ]
    index = 0
    current = None
    for document in documents:
        while index < len(comments) and comments[index][0] <= document.line:
            current = comments[index][1]
            index += 1
        document.source = current


def _parse_stream(text: str, base: int, loaded: LoadedFile) -> LoadError | None:
    """Append the documents of `text` to `loaded`; return the error that stopped it.

    One flat loop over libyaml's events with the current collection in local variables: this
    is the hot path of the whole linter, so it avoids calls and allocations where it can."""
    nodes = loaded.positions.nodes
    all_keys = loaded.positions.keys
    documents = loaded.documents
    loader = YAML_LOADER(text)
    get_event = _event_reader(loader)
    cache = _plain_cache

    # the collection being filled, and the stack of the ones around it
    container: object = None
    is_map = False
    keys: dict = {}
    key: object = None
    has_key = False
    key_mark: object = None
    merges: list | None = None
    stack: list[tuple] = []
    open_ids: set[int] = set()
    anchors: dict[str, object] = {}
    root: object = None
    content_line = 0
    _fast_events(True)
    try:
        while True:
            event = get_event()
            kind = event[0]
            if kind == _SCALAR:  # (kind, value, tag, plain, anchor, mark)
                _, value, tag, plain, anchor, source = event  # a mark, read only if needed
                if tag is None:
                    if plain:
                        resolved = cache.get(value, cache)
                        value = resolve_plain(value) if resolved is cache else resolved
                else:
                    value = _tagged(tag, value)
                if anchor:
                    anchors[anchor] = value
            elif kind == _END:
                if merges:
                    _apply_merges(container, keys, merges)
                done = container
                if open_ids:
                    open_ids.discard(id(done))
                container, is_map, keys, key, has_key, key_mark, merges = stack.pop()
                if container is None:
                    root = done
                    continue
                value = done
                source = None
            elif kind in (_MAPPING, _SEQUENCE):  # (kind, anchor, mark)
                mark = event[2]
                if len(stack) >= MAX_DEPTH:
                    raise LoadError(
                        f"nesting deeper than {MAX_DEPTH} levels; file skipped from here",
                        *_at(mark, base),
                    )
                is_new_map = kind == _MAPPING
                new: object = {} if is_new_map else []
                # positions of recovered documents carry their line offset
                nodes[id(new)] = _at(mark, base) if base else mark
                if event[1]:  # only an anchored node can be aliased, or contain its alias
                    anchors[event[1]] = new
                    open_ids.add(id(new))
                if is_map and not has_key:  # where a key is expected
                    raise LoadError(
                        "a mapping or sequence used as a mapping key (unhashable key)",
                        *_at(mark, base),
                    )
                stack.append((container, is_map, keys, key, has_key, key_mark, merges))
                container = new
                is_map = is_new_map
                if is_map:
                    keys = all_keys[id(new)] = {}
                key, has_key, key_mark, merges = None, False, None, None
                continue
            elif kind == _ALIAS:  # (kind, anchor, mark)
                anchor, mark = event[1], event[2]
                if anchor not in anchors:
                    raise LoadError(f"found undefined alias *{anchor}", *_at(mark, base))
                value = anchors[anchor]
                if id(value) in open_ids and isinstance(value, (dict, list)):
                    loaded.problems.append(
                        Problem(
                            "invalid-yaml",
                            f"alias *{anchor} refers to a node that contains it; "
                            "Kubernetes cannot represent a recursive structure (replaced by null)",
                            *_at(mark, base),
                        )
                    )
                    value = None
                source = mark
            elif kind == _DOC_START:  # (kind, mark)
                root = None
                content_line = event[1].line + 1 + base
                continue
            elif kind == _DOC_END:  # (kind, mark)
                if len(documents) >= MAX_DOCUMENTS:
                    loaded.problems.append(
                        Problem(
                            "invalid-yaml",
                            f"more than {MAX_DOCUMENTS} documents in one file; the rest skipped",
                            event[1].line + 1 + base,
                            1,
                        )
                    )
                    return None
                if isinstance(root, (dict, list)):  # the document starts at its first node
                    content_line = (Positions._position(nodes[id(root)]) or (content_line,))[0]
                documents.append(Document(root, len(documents), content_line))
                anchors = {}
                continue
            elif kind == _STREAM_END:
                return None
            else:  # StreamStart
                continue
            # a value to put in the current collection (or the document root)
            if container is None:
                root = value
                if source is not None:
                    content_line = source.line + 1 + base
            elif not is_map:
                container.append(value)  # type: ignore[attr-defined]
            elif not has_key:  # (a collection cannot get here: it is refused as it opens)
                key, has_key, key_mark = value, True, source
            else:
                has_key = False
                if key is MERGE:
                    if merges is None:
                        merges = []
                    merges.append((value, _at(key_mark, base) if base else key_mark))
                    continue
                try:
                    duplicate = key in container  # type: ignore[operator]
                except TypeError:
                    raise LoadError(
                        "a mapping key that cannot be used as a key", *_at(key_mark, base)
                    ) from None
                if duplicate:
                    first = Positions._position(keys.get(key))
                    loaded.problems.append(
                        Problem(
                            "duplicate-key",
                            f"duplicate key '{key}' (first at line {first[0] if first else 0}): "
                            "kubectl rejects the file, and parsers that accept it silently "
                            "keep only the last value",
                            *_at(key_mark, base),
                        )
                    )
                container[key] = value  # type: ignore[index]
                keys[key] = _at(key_mark, base) if base else key_mark
    except LoadError as error:
        return error
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = _at(mark, base) if mark else (base + 1, 1)
        problem = exc.problem or "syntax error"
        context = f" ({exc.context})" if exc.context else ""
        return LoadError(f"YAML syntax error: {problem}{context}", line, column)
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = getattr(exc, "position", 0) or 0
        line, column = _line_col_of_offset(text, position)
        reason = getattr(exc, "reason", None) or str(exc)
        return LoadError(f"unreadable YAML: {reason}", line + base, column)
    finally:
        _fast_events(False)
        loader.dispose()


def _at(mark: Any, base: int) -> tuple[int, int]:
    """The 1-based line and column of a libyaml mark, in a chunk that starts `base` lines
    into the file (after a syntax error, parsing resumes at the next `---`)."""
    return mark.line + 1 + base, mark.column + 1


def _apply_merges(container: dict, keys: dict, merges: list) -> None:
    """`<<: *base` and `<<: [*a, *b]`: keys present in the mapping win, then earlier sources."""
    for value, position in merges:
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                line, column = Positions._position(position) or (1, 1)
                raise LoadError(
                    "a merge key (<<) must refer to a mapping or a list of mappings", line, column
                )
            for key, item in source.items():
                if key not in container:
                    container[key] = item
                    keys[key] = position
