"""Output files that are either complete or absent: write to a partial name, then rename.

Every writer of the bench (trace exports, the spool, reports) goes through
:func:`atomic_output` or uses :data:`PARTIAL` for the names of files still being written,
so a reader never sees a half-written file under a final name.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PARTIAL = ".partial"


def partial_path(final: Path) -> Path:
    """``run.blf`` -> ``run.partial.blf`` (same directory, so the rename is atomic)."""
    return final.with_name(f"{final.stem}{PARTIAL}{final.suffix}")


@contextlib.contextmanager
def atomic_output(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it to ``final`` on success,
    remove it on any exception (the exception propagates)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(final)
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` through :func:`atomic_output`: complete
    or absent, created with the process umask like any other file."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
