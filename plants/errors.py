"""One exception root for the plants room, subclassing ValueError.

The plants never import the bench, so they carry their own root; the bench catches
ValueError. Every "unknown name" error names the closest valid one (difflib).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PlantError(ValueError):
    """Root of every error the plants raise on purpose."""


def unknown_name(kind: str, name: str, valid: Iterable[str]) -> PlantError:
    """A PlantError for an unknown `kind` called `name`, suggesting the closest valid one."""
    valid = sorted(valid)
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.0)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return PlantError(f"unknown {kind} {name!r}{hint}")
