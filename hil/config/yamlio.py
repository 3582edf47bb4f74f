"""YAML that remembers where each value came from.

Everything the bench reads from YAML goes through :func:`load_yaml`, so every
error can name file, line and column. Mappings come back as :class:`LocDict`
(a ``dict`` that also knows the position of each key), sequences as
:class:`LocList`. Only ``yaml.SafeLoader`` is used: configuration never runs code.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from hil.errors import ConfigError, HilError

Loc = tuple[str, int, int]  # file, line (1-based), column (1-based)


class LocDict(dict):
    """A dict with the source position of itself and of each key."""

    __slots__ = ("loc", "key_locs", "value_locs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loc: Loc | None = None
        self.key_locs: dict[Any, Loc] = {}
        self.value_locs: dict[Any, Loc] = {}

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


def _mark_loc(filename: str, mark: yaml.Mark) -> Loc:
    return (filename, mark.line + 1, mark.column + 1)


class _LocLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LocLoader, node: yaml.MappingNode) -> LocDict:
    loader.flatten_mapping(node)
    result = LocDict()
    result.loc = _mark_loc(loader.name, node.start_mark)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConfigError("mapping key is not a plain value",
                              file=loader.name, line=key_node.start_mark.line + 1,
                              column=key_node.start_mark.column + 1) from None
        if key in result:
            raise ConfigError(f"duplicate key {key!r}", file=loader.name,
                              line=key_node.start_mark.line + 1,
                              column=key_node.start_mark.column + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locs[key] = _mark_loc(loader.name, key_node.start_mark)
        result.value_locs[key] = _mark_loc(loader.name, value_node.start_mark)
    return result


def _construct_sequence(loader: _LocLoader, node: yaml.SequenceNode) -> LocList:
    result = LocList(loader.construct_object(child, deep=True) for child in node.value)
    result.loc = _mark_loc(loader.name, node.start_mark)
    result.item_locs = [_mark_loc(loader.name, child.start_mark) for child in node.value]
    return result


_LocLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LocLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def loads_yaml(text: str, filename: str = "<string>") -> Any:
    """Parse YAML text; a syntax error becomes a one-line :class:`ConfigError`."""
    loader = _LocLoader(text)
    loader.name = filename
    try:
        return loader.get_single_data()
    except HilError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"YAML syntax error: {problem}", file=filename,
                          line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML error: {exc}", file=filename) from None
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file with source positions."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return loads_yaml(text, str(path))


def closest(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest candidate, or '' when none is close."""
    matches = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


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
            raise error_at(loc, f"unknown key {key!r} in {what}{closest(key, allowed)}", cls)
    for key in required:
        if key not in mapping:
            loc = mapping.loc if isinstance(mapping, LocDict) else None
            raise error_at(loc, f"{what} needs the key {key!r}", cls)
