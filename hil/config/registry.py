"""Name -> object registry for what YAML names: controllers, plants, writers.

Like python-can's interface table: a YAML file names either a
dotted ``"module:attribute"`` path or a short name registered under an entry
point group, and the object is imported on first use. A user adds a controller
or a plant without editing the bench.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from hil.config.yamlio import closest, excerpt
from hil.errors import ConfigError

GROUPS = {
    "controllers": "ntec_hil.controllers",
    "plants": "ntec_hil.plants",
}


@cache
def _entry_points(group: str) -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=group)}


def resolve(ref: str, *, kind: str = "controllers") -> Any:
    """Import ``"package.module:Name"``, or look a short name up in the entry points."""
    if not isinstance(ref, str) or not ref:
        raise ConfigError(f"expected 'module:Name' or a registered {kind} name, got {excerpt(ref)}")
    if ":" not in ref:
        eps = _entry_points(GROUPS.get(kind, kind))
        if ref not in eps:
            raise ConfigError(f"unknown {kind} name {excerpt(ref)}{closest(ref, eps)}; "
                              f"use 'module:Name' or register an entry point in "
                              f"group {GROUPS.get(kind, kind)!r}")
        return eps[ref].load()
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"cannot import {excerpt(module_name)} for {excerpt(ref)}: {exc}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        names = [n for n in dir(module) if not n.startswith("_")]
        raise ConfigError(f"{excerpt(module_name)} has no {excerpt(attr)}{closest(attr, names)}") from None
