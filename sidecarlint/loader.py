"""Text → documents: plain dicts and lists, their positions, `# Source:` comments.

The loader reads libyaml's event stream through PyYAML's public API (`get_event()` of a
`yaml.CSafeLoader`) and builds plain Python values itself, with an explicit stack. That is
faster than `compose_all` followed by a conversion, never recurses (libyaml's own composer
overflows the C stack on deep nesting), shares aliased nodes instead of expanding them
(alias bombs stay cheap), and records the 1-based line and column of every mapping and
sequence, and of every mapping key, in a side table keyed by `id()`. JMESPath needs plain
`dict`/`list`, so positions cannot live on the values themselves. Plain scalars are typed
by PyYAML's own resolver and safe constructors.

Nothing here raises on bad input: every problem becomes a `Problem` with a line and column,
and the documents that parsed before it are kept.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any, NamedTuple

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

# libyaml's loader when PyYAML was built with it (the wheels are), else the pure-Python one
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Deeper than any manifest needs (the deepest in our corpus of real repositories is 15; CRD
# schemas nest a few dozen levels), and
# low enough that libyaml, whose flow-collection scanning is quadratic in the depth, stays
# fast on a document built to be deep.
MAX_DEPTH = 128
MAX_DOCUMENTS = 10_000
# Aliases may expand a document to this many times its own length (plus a margin for
# small files); past that it is an alias bomb, reported and skipped from there.
ALIAS_EXPANSION_FACTOR = 100
ALIAS_EXPANSION_MINIMUM = 1_000_000
DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FILE_BYTES_LIMIT = 1024 * 1024 * 1024  # the largest max_file_bytes config accepts

_TEMPLATE_MARKER = r"\{\{-?\s*[-.$\w/(\"'!]|\{%"
_SOURCE_COMMENT = r"(?m)^#\s*Source:\s*(\S.*?)\s*$"
_DOC_START_LINE = re.compile(r"(?m)^---(?:[ \t]|$)")
IGNORE_COMMENT = r"#\s*sidecarlint:\s*ignore\[([^\]]*)\][ \t]*([^\r\n]*)"


class _Merge:
    """The `<<` merge key."""


MERGE = _Merge()


class LoadError(Exception):
    def __init__(self, message: str, fields: dict | None, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message  # the key of the invalid-yaml message
        self.fields = fields
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


class Problem(NamedTuple):
    """A problem with the file itself: the rule it is reported under, and which of that
    rule's messages (`messages:` in its YAML file) with what fields."""

    rule: str
    message: str
    fields: dict | None = None
    line: int = 1
    column: int = 1


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

    @property
    def lines(self) -> list[str]:
        """The text's lines without their endings (made when first asked for: a fix)."""
        found = self.__dict__.get("_lines")
        if found is None:
            found = self.__dict__["_lines"] = self.text.splitlines()
        return found


# ---------------------------------------------------------------------------------------
# Reading bytes into text


def _line_col_of_offset(data: bytes | str, offset: int) -> tuple[int, int]:
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, offset) + 1  # type: ignore[arg-type]
    start = data.rfind(newline, 0, offset) + 1  # type: ignore[arg-type]
    return line, offset - start + 1


class _LineCounter:
    """Line and column of offsets asked for in increasing order, in time linear in the text
    (counting from the start for each would be quadratic in the number of offsets)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0  # counted up to here
        self.line = 1  # the line `offset` is on
        self.start = 0  # where that line starts

    def at(self, offset: int) -> tuple[int, int]:
        if offset < self.offset:  # not in order: count from the start
            self.offset, self.line, self.start = 0, 1, 0
        newlines = self.text.count("\n", self.offset, offset)
        if newlines:
            self.line += newlines
            self.start = self.text.rfind("\n", self.offset, offset) + 1
        self.offset = offset
        return self.line, offset - self.start + 1


def decode(data: bytes) -> tuple[str | None, Problem | None]:
    """Bytes → text (UTF-8 with or without BOM, or UTF-16 with a BOM)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, Problem("invalid-yaml", "not-utf16")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col_of_offset(data, nul)
        return None, Problem(
            "invalid-yaml",
            "binary",
            {"line": line},
            line,
            col,
        )
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line, col = _line_col_of_offset(data, exc.start)
        return None, Problem(
            "invalid-yaml",
            "not-utf8",
            {"byte": f"{data[exc.start]:02x}", "line": line},
            line,
            col,
        )


def read_file(path: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LoadedFile:
    """Read and parse one file; every I/O or decoding problem becomes a `Problem`."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device would block or stream
            return LoadedFile(path, problems=[Problem("unreadable-file", "not-regular")])
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                data = b""
            elif size:
                data = handle.read(size + 1)  # a regular file whole (and a byte more if it grew)
            else:  # a size the file system does not know: read in pieces, never the bound at once
                pieces: list[bytes] = []
                got = 0
                while got <= max_bytes and (piece := handle.read(min(65536, max_bytes + 1 - got))):
                    pieces.append(piece)
                    got += len(piece)
                data = b"".join(pieces)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        if exc.errno == 40:  # ELOOP
            reason = "symbolic link loop"
        return LoadedFile(
            path, problems=[Problem("unreadable-file", "cannot-read", {"reason": reason})]
        )
    if size > max_bytes or len(data) > max_bytes:
        return LoadedFile(
            path,
            problems=[
                Problem("unreadable-file", "too-large", {"max_bytes": max_bytes}),
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
# Scalars: YAML 1.1 implicit types, resolved and built by PyYAML's own resolver and safe
# constructors. Only null, booleans and numbers are converted: timestamps, binary and the
# other tags stay text (Kubernetes fields are strings there), and so does anything that
# fails to convert.

_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _TAG + "merge"
_CONVERTED = {_TAG + "null", _TAG + "bool", _TAG + "int", _TAG + "float"}
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_IMPLICIT = (True, False)


def _construct(tag: str, value: str) -> object:
    if tag == _MERGE_TAG:
        return MERGE
    if tag not in _CONVERTED:
        return value
    try:
        return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    except (ValueError, IndexError, KeyError, OverflowError, yaml.YAMLError):
        return value


_plain_cache: dict[str, object] = {}


def resolve_plain(value: str) -> object:
    """The value of a plain (unquoted, untagged) scalar."""
    cached = _plain_cache.get(value, _plain_cache)
    if cached is not _plain_cache:
        return cached
    result = _construct(_RESOLVER.resolve(yaml.ScalarNode, value, _IMPLICIT), value)
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
                Problem("unrendered-template", "default", None, error.line, error.column)
            )
            return loaded
        loaded.problems.append(
            Problem("invalid-yaml", error.message, error.fields, error.line, error.column)
        )
        # Recover at the next `---` after the error, so later documents are still linted.
        next_start = _next_document_start(text, error.line - 1, len(text) - len(chunk))
        if next_start is None or len(loaded.problems) > 20:
            break
        base, offset = next_start
        chunk = text[offset:]
    _attach_sources(text, loaded.documents)
    if "sidecarlint:" in text:
        lines = _LineCounter(text)
        for match in re.finditer(IGNORE_COMMENT, text):
            line, column = lines.at(match.start())
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
    lines = _LineCounter(text)
    comments = [(lines.at(m.start())[0], m.group(1)) for m in re.finditer(_SOURCE_COMMENT, text)]
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
    get_event = loader.get_event
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
    # Alias expansion, in characters of the text: what an anchored collection stands for
    # (its own text plus what the aliases inside it expand to), and the document's total.
    # Aliases are shared, never copied, but a rule that walks them walks the expansion.
    weights: dict[int, int] = {}
    expanded = 0
    limit = ALIAS_EXPANSION_FACTOR * len(text) + ALIAS_EXPANSION_MINIMUM
    anchors: dict[str, object] = {}
    root: object = None
    content_line = 0
    try:
        while True:
            event = get_event()
            kind = event.__class__
            if kind is ScalarEvent:
                value = event.value
                tag = event.tag
                source = event.start_mark  # read only if needed
                if tag is None:
                    if event.implicit[0]:  # plain
                        resolved = cache.get(value, cache)
                        value = resolve_plain(value) if resolved is cache else resolved
                else:
                    value = _tagged(tag, value)
                if event.anchor:
                    anchors[event.anchor] = value
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                if merges:
                    _apply_merges(container, keys, merges)
                done = container
                if open_ids and id(done) in open_ids:
                    open_ids.discard(id(done))
                    start, expanded_before = weights[id(done)]
                    weights[id(done)] = (
                        event.start_mark.index - start + expanded - expanded_before,
                        0,
                    )
                container, is_map, keys, key, has_key, key_mark, merges = stack.pop()
                if container is None:
                    root = done
                    continue
                value = done
                source = None
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                mark = event.start_mark
                if len(stack) >= MAX_DEPTH:
                    raise LoadError("too-deep", {"depth": MAX_DEPTH}, *_at(mark, base))
                is_new_map = kind is MappingStartEvent
                new: object = {} if is_new_map else []
                # positions of recovered documents carry their line offset
                nodes[id(new)] = _at(mark, base) if base else mark
                if event.anchor:  # only an anchored node can be aliased, or contain its alias
                    anchors[event.anchor] = new
                    open_ids.add(id(new))
                    weights[id(new)] = (mark.index, expanded)
                if is_map and not has_key:  # where a key is expected
                    raise LoadError("collection-key", None, *_at(mark, base))
                stack.append((container, is_map, keys, key, has_key, key_mark, merges))
                container = new
                is_map = is_new_map
                if is_map:
                    keys = all_keys[id(new)] = {}
                key, has_key, key_mark, merges = None, False, None, None
                continue
            elif kind is AliasEvent:
                anchor, mark = event.anchor, event.start_mark
                if anchor not in anchors:
                    raise LoadError("undefined-alias", {"anchor": anchor}, *_at(mark, base))
                value = anchors[anchor]
                if id(value) in open_ids and isinstance(value, (dict, list)):
                    loaded.problems.append(
                        Problem(
                            "invalid-yaml", "recursive-alias", {"anchor": anchor}, *_at(mark, base)
                        )
                    )
                    value = None
                else:
                    expanded += weights.get(id(value), (1, 0))[0]
                    if expanded > limit:
                        raise LoadError(
                            "alias-expansion",
                            {"factor": ALIAS_EXPANSION_FACTOR},
                            *_at(mark, base),
                        )
                source = mark
            elif kind is DocumentStartEvent:
                root = None
                content_line = event.start_mark.line + 1 + base
                continue
            elif kind is DocumentEndEvent:
                if len(documents) >= MAX_DOCUMENTS:
                    loaded.problems.append(
                        Problem(
                            "invalid-yaml",
                            "too-many-documents",
                            {"count": MAX_DOCUMENTS},
                            event.start_mark.line + 1 + base,
                            1,
                        )
                    )
                    return None
                if isinstance(root, (dict, list)):  # the document starts at its first node
                    content_line = (Positions._position(nodes[id(root)]) or (content_line,))[0]
                documents.append(Document(root, len(documents), content_line))
                anchors = {}
                weights = {}
                expanded = 0
                continue
            elif kind is StreamEndEvent:
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
                    raise LoadError("bad-key", None, *_at(key_mark, base)) from None
                if duplicate:
                    first = Positions._position(keys.get(key))
                    loaded.problems.append(
                        Problem(
                            "duplicate-key",
                            "default",
                            {"key": key, "first": first[0] if first else 0},
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
        return LoadError("syntax", {"problem": problem, "context": context}, line, column)
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = getattr(exc, "position", 0) or 0
        line, column = _line_col_of_offset(text, position)
        reason = getattr(exc, "reason", None) or str(exc)
        return LoadError("unreadable", {"reason": reason}, line + base, column)
    finally:
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
                raise LoadError("bad-merge", None, line, column)
            for key, item in source.items():
                if key not in container:
                    container[key] = item
                    keys[key] = position
