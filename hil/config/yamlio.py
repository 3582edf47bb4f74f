"""YAML that remembers where each value came from, read within documented limits.

Everything the bench reads from YAML goes through :func:`load_yaml`, so every
error can name file, line and column. Mappings come back as :class:`LocDict`
(a ``dict`` that also knows the position of each key), sequences as
:class:`LocList`. Only the YAML core types are built (null, bool, int, float,
string, timestamp, list, mapping): an explicit tag such as ``!!python/object``
is an error, so configuration never runs code.

The document is built from the parser's events in one loop with an explicit
stack (libyaml's parser when PyYAML has it, else PyYAML's own), so loading is
linear in the file size and nesting cannot exhaust Python's recursion limit.
Limits, each a one-line :class:`ConfigError` naming file:line:col
(docs/scenarios.md, "Limits"):

- :data:`MAX_FILE_BYTES`: a file larger than this is refused before parsing;
- :data:`MAX_DEPTH`: mappings and lists nested deeper than this;
- :data:`MAX_VALUES`: values in a document, counting each use of an alias as a copy
  of what it names (a "billion laughs" alias bomb is refused, not expanded);
- the text must be UTF-8 (the position of the first invalid byte is named).

Error messages quote values through :func:`excerpt`, which never formats more than a
bounded prefix, however large or aliased the value.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar, overload

import yaml

from hil.errors import ConfigError, HilError

Loc = tuple[str, int, int]  # file, line (1-based), column (1-based)
_E = TypeVar("_E", bound=HilError)

#: Largest configuration or scenario file read, in bytes (4 MiB).
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Deepest nesting of mappings and lists.
MAX_DEPTH = 64
#: Most values in one document, each alias counted as a copy of what it names.
MAX_VALUES = 1_000_000
#: Most characters of a value quoted in an error message.
EXCERPT_CHARS = 80

_ScalarEvent = yaml.ScalarEvent
_Parser: Any = getattr(yaml, "CSafeLoader", None) if yaml.__with_libyaml__ else None
if _Parser is None:  # pragma: no cover - PyYAML built without libyaml
    _Parser = yaml.SafeLoader

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_TAG + t for t in ("null", "bool", "int", "float", "str", "timestamp"))
_STR = _TAG + "str"
_MERGE_TAG = _TAG + "merge"


class LocDict(dict):
    """A dict with the source position of itself and of each key."""

    __slots__ = ("loc", "key_locs", "value_locs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loc: Loc | None = None
        self.key_locs: dict[Any, Loc | None] = {}
        self.value_locs: dict[Any, Loc | None] = {}

    def key_loc(self, key: Any) -> Loc | None:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key: Any) -> Loc | None:
        return self.value_locs.get(key, self.key_loc(key))


class LocList(list):
    """A list with the source position of itself and of each item."""

    __slots__ = ("loc", "item_locs")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.loc: Loc | None = None
        self.item_locs: list[Loc] = []

    def item_loc(self, index: int) -> Loc | None:
        if 0 <= index < len(self.item_locs):
            return self.item_locs[index]
        return self.loc


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, without formatting the rest.

    Containers are walked only as far as the budget reaches, so an aliased structure of
    billions of elements, or a 1 MB string, costs as much to quote as a short one.
    """
    out: list[str] = []
    budget = [limit]

    def emit(text: str) -> bool:
        if budget[0] <= 0:
            return False
        out.append(text[:budget[0]])
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(v: Any, depth: int) -> bool:
        if isinstance(v, dict):
            if depth > 8:
                return emit("{...}")
            if not emit("{"):
                return False
            for i, (k, item) in enumerate(v.items()):
                if (i and not emit(", ")) or not walk(k, depth + 1) or not emit(": ") \
                        or not walk(item, depth + 1):
                    return False
            return emit("}")
        if isinstance(v, list | tuple):
            if depth > 8:
                return emit("[...]")
            if not emit("["):
                return False
            for i, item in enumerate(v):
                if (i and not emit(", ")) or not walk(item, depth + 1):
                    return False
            return emit("]")
        if isinstance(v, str) and len(v) > limit:
            return emit(repr(v[:limit]))
        if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 256:
            return emit(f"<integer of {v.bit_length()} bits>")
        return emit(repr(v))

    complete = walk(value, 0)
    text = "".join(out)
    return text if complete else text + "..."


def _mark_loc(filename: str, mark: Any) -> Loc:
    return (filename, mark.line + 1, mark.column + 1)


class _Frame:
    """A mapping or list being built."""

    __slots__ = ("value", "is_map", "key", "key_loc", "has_key", "size", "anchor", "merges")

    def __init__(self, value: Any, is_map: bool, anchor: str | None) -> None:
        self.value = value
        self.is_map = is_map
        self.key: Any = None
        self.key_loc: Loc | None = None
        self.has_key = False
        self.size = 1
        self.anchor = anchor
        self.merges: list[tuple[Any, Loc]] = []


def _build(text: str, filename: str) -> Any:
    """The document of ``text`` as LocDict / LocList / scalars (see the module docstring)."""
    parser = _Parser(text)
    resolver = parser  # the loader class is parser, resolver and safe constructor in one
    constructors = yaml.SafeLoader.yaml_constructors

    def fail(message: str, mark: Any) -> ConfigError:
        return ConfigError(message, file=filename, line=mark.line + 1, column=mark.column + 1)

    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    total = 0
    documents = 0
    root: Any = None

    implicit_first = resolver.yaml_implicit_resolvers
    resolved: dict[str, str] = {}
    built: dict[tuple[str, str], Any] = {}

    def scalar(event: Any) -> Any:
        tag = event.tag
        value = event.value
        if tag is None:
            if not event.implicit[0] or not value or value[0] not in implicit_first:
                return value  # quoted, or plain and cannot be anything but a string
            # Plain scalars repeat (0, 1, true, 100 ...): resolve each text once per file.
            tag = resolved.get(value)
            if tag is None:
                tag = resolver.resolve(yaml.ScalarNode, value, (True, False))
                if len(resolved) < _RESOLVE_CACHE:
                    resolved[value] = tag
        elif tag == "!":
            return value
        if tag == _STR:
            return value
        if tag == _MERGE_TAG:
            return _MERGE
        if tag not in _SCALAR_TAGS:
            raise fail(f"the tag {_tag_name(tag)} is not allowed (configuration holds "
                       "plain values only)", event.start_mark)
        key = (tag, value)
        if key in built:  # immutable values (numbers, booleans, null, dates): built once
            return built[key]
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
        try:
            result = constructors[tag](parser, node)
            if len(built) < _RESOLVE_CACHE:
                built[key] = result
            return result
        except (ValueError, ArithmeticError) as exc:  # e.g. an int of 5,000 digits
            raise fail(f"bad {tag[len(_TAG):]} {excerpt(value, 40)}: "
                       f"{excerpt(str(exc), 60)}", event.start_mark) from None

    def add(value: Any, size: int, loc: Loc, event: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        if frame.is_map:
            if not frame.has_key:
                if isinstance(value, dict | list):
                    raise fail("mapping key is not a plain value", event.start_mark)
                frame.key, frame.key_loc, frame.has_key = value, loc, True
                return
            key, frame.has_key = frame.key, False
            mapping = frame.value
            if key is _MERGE:
                frame.merges.append((value, loc))
            else:
                if key in mapping:
                    key_loc: Any = frame.key_loc
                    raise ConfigError(f"duplicate key {excerpt(key, 40)}", file=filename,
                                      line=key_loc[1], column=key_loc[2])
                mapping[key] = value
                mapping.key_locs[key] = frame.key_loc
                mapping.value_locs[key] = loc
        else:
            frame.value.append(value)
            frame.value.item_locs.append(loc)
        frame.size += size

    # The loop below is the hot path of every load (a 1 MB scenario is 120,000 events):
    # the common case, a scalar inside a mapping or a list, is handled inline; the rest
    # goes through add() as containers do. Names are bound locally for the same reason.
    get_event = parser.get_event
    scalar_event, alias_event, doc_start = _ScalarEvent, yaml.AliasEvent, yaml.DocumentStartEvent
    map_start, starts, ends = yaml.MappingStartEvent, _START, _END
    merge = _MERGE
    try:
        while (event := get_event()) is not None:
            kind = type(event)
            if kind is scalar_event:
                value = event.value
                if event.tag is not None or (event.implicit[0] and value
                                             and value[0] in implicit_first):
                    value = scalar(event)  # else: quoted, or plain and only a string
                mark: Any = event.start_mark
                loc = (filename, mark.line + 1, mark.column + 1)
                total += 1
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1)
                if not stack:
                    root = value
                    continue
                frame = stack[-1]
                if not frame.is_map:
                    frame.value.append(value)
                    frame.value.item_locs.append(loc)
                    frame.size += 1
                elif not frame.has_key:
                    frame.key, frame.key_loc, frame.has_key = value, loc, True
                else:
                    key, frame.has_key = frame.key, False
                    mapping = frame.value
                    if key is merge:
                        frame.merges.append((value, loc))
                    else:
                        if key in mapping:
                            key_loc: Any = frame.key_loc
                            raise ConfigError(f"duplicate key {excerpt(key, 40)}",
                                              file=filename, line=key_loc[1],
                                              column=key_loc[2])
                        mapping[key] = value
                        mapping.key_locs[key] = frame.key_loc
                        mapping.value_locs[key] = loc
                    frame.size += 1
                if total > MAX_VALUES:
                    raise fail(f"the document holds more than {MAX_VALUES:,} values",
                               event.start_mark)
            elif kind in ends:
                frame = stack.pop()
                if frame.merges:
                    _merge(frame, fail, event)
                if frame.anchor is not None:
                    anchors[frame.anchor] = (frame.value, frame.size)
                add(frame.value, frame.size, frame.value.loc, event)
            elif kind in starts:
                is_map = kind is map_start
                if event.tag is not None and event.tag not in (
                        "!", _TAG + ("map" if is_map else "seq")):
                    raise fail(f"the tag {_tag_name(event.tag)} is not allowed "
                               "(configuration holds plain values only)", event.start_mark)
                if stack and stack[-1].is_map and not stack[-1].has_key:
                    raise fail("mapping key is not a plain value", event.start_mark)
                if len(stack) >= MAX_DEPTH:
                    raise fail(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
                container: Any = LocDict() if is_map else LocList()
                container.loc = _mark_loc(filename, event.start_mark)
                stack.append(_Frame(container, is_map, event.anchor))
                if event.anchor is not None:
                    anchors.pop(event.anchor, None)  # a redefinition; not usable inside itself
                total += 1
                if total > MAX_VALUES:
                    raise fail(f"the document holds more than {MAX_VALUES:,} values",
                               event.start_mark)
            elif kind is alias_event:
                if event.anchor not in anchors:
                    raise fail(f"unknown or recursive alias *{excerpt(event.anchor, 40)}",
                               event.start_mark)
                value, size = anchors[event.anchor]
                total += size
                if total > MAX_VALUES:
                    raise fail(f"the document holds more than {MAX_VALUES:,} values once its "
                               "aliases are expanded", event.start_mark)
                add(value, size, _mark_loc(filename, event.start_mark), event)
            elif kind is doc_start:
                documents += 1
                if documents > 1:
                    raise fail("expected a single document in the file", event.start_mark)
    finally:
        parser.dispose()
    return root


_MERGE = object()
_START = frozenset((yaml.MappingStartEvent, yaml.SequenceStartEvent))
_END = frozenset((yaml.MappingEndEvent, yaml.SequenceEndEvent))
_RESOLVE_CACHE = 4096  # distinct plain scalar texts whose tag is remembered per file


def _tag_name(tag: str) -> str:
    """``!!python/name:os.system`` as the user wrote it (bounded)."""
    short = "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag
    return excerpt(short, 60)[1:-1] if len(short) <= 58 else excerpt(short, 60)[1:]


def _merge(frame: _Frame, fail: Any, event: Any) -> None:
    """``<<: *base`` / ``<<: [*a, *b]``: keys not given explicitly come from the merged maps."""
    mapping = frame.value
    for value, loc in frame.merges:
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, LocDict):
                raise ConfigError("'<<' merges mappings only", file=loc[0], line=loc[1],
                                  column=loc[2])
            for key, item in source.items():
                if key not in mapping:
                    mapping[key] = item
                    mapping.key_locs[key] = source.key_loc(key)
                    mapping.value_locs[key] = source.value_loc(key)


# Characters YAML 1.1 does not allow in a stream (control characters, surrogates, ...).
_NOT_YAML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a document is built: building allocates only
    (tens of thousands of LocDicts for a 1 MB file, no cycles to free), and each full
    collection on the way walks everything built so far. Re-entrant; restores the state
    it found."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def loads_yaml(text: str, filename: str = "<string>") -> Any:
    """Parse YAML text; a syntax error or a limit becomes a one-line :class:`ConfigError`."""
    bad = _NOT_YAML.search(text)
    if bad is not None:
        pos = bad.start()
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        raise ConfigError(f"character U+{ord(bad.group()):04X} is not allowed in YAML "
                          "(a control character or not text)", file=filename, line=line,
                          column=column)
    try:
        with paused_gc():
            return _build(text, filename)
    except HilError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"YAML syntax error: {excerpt(problem, 120)[1:-1]}", file=filename,
                          line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {excerpt(str(exc), 120)[1:-1]}",
                          file=filename) from None


def read_text(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES,
              cls: type[HilError] = ConfigError, what: str = "file") -> str:
    """A UTF-8 file's text within the size limit; every problem one line naming the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise cls(f"file of {size:,} bytes is larger than the limit of {max_bytes:,} bytes",
                      file=str(path), line=1, column=1)
        data = path.read_bytes()
    except FileNotFoundError:
        raise cls(f"cannot read {what}: no such file", file=str(path)) from None
    except IsADirectoryError:
        raise cls(f"cannot read {what}: it is a directory", file=str(path)) from None
    except OSError as exc:
        raise cls(f"cannot read {what}: {exc.strerror or exc}", file=str(path)) from None
    if len(data) > max_bytes:  # grew since stat
        raise cls(f"file is larger than the limit of {max_bytes:,} bytes", file=str(path),
                  line=1, column=1)
    return decode_utf8(data, str(path), cls=cls)


def decode_utf8(data: bytes, filename: str, *, cls: type[HilError] = ConfigError) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise cls(f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded",
                  file=filename, line=line, column=column) from None


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file with source positions."""
    path = Path(path)
    return loads_yaml(read_text(path), str(path))


def closest(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest candidate, or '' when none is close."""
    name = str(name)
    if len(name) > 100:  # difflib is quadratic in the length; nothing is that long
        return ""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


@overload
def error_at(loc: Loc | None, message: str) -> ConfigError: ...
@overload
def error_at(loc: Loc | None, message: str, cls: type[_E]) -> _E: ...
def error_at(loc: Loc | None, message: str, cls: type[HilError] = ConfigError) -> HilError:
    if loc is None:
        return cls(message)
    return cls(message, file=loc[0], line=loc[1], column=loc[2])


def check_keys(mapping: Any, allowed: Iterable[str], *, what: str,
               required: Iterable[str] = (), cls: type[HilError] = ConfigError) -> None:
    """Reject unknown keys (naming the closest valid key) and missing required keys."""
    allowed = list(allowed)
    if not isinstance(mapping, dict):
        loc = getattr(mapping, "loc", None)
        raise error_at(loc, f"{what}: expected a mapping, got {type(mapping).__name__}", cls)
    for key in mapping:
        if key not in allowed:
            loc = mapping.key_loc(key) if isinstance(mapping, LocDict) else None
            raise error_at(loc, f"unknown key {excerpt(key, 40)} in {what}"
                           f"{closest(str(key), allowed)}", cls)
    for key in required:
        if key not in mapping:
            loc = mapping.loc if isinstance(mapping, LocDict) else None
            raise error_at(loc, f"{what} needs the key {key!r}", cls)
