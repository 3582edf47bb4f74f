"""The plant's compiled path: one source, compiled by numba or run as plain Python.

The per-step physics of the composite plant (engine, turbo, exhaust, vehicle, driver,
sensors, part health and the composite step that joins them) is written once, as
*kernels*: plain-Python functions over floats and indexable state (``st[i]``) that numba's
``njit`` can compile. :func:`kernel` registers such a function. When numba is importable
and the environment variable ``NTEC_HIL_PURE_PYTHON`` is not set (or ``0``/empty), the
first plant built calls :func:`compile_kernels`, which wraps every kernel in
``numba.njit(cache=True)`` (compiled on first call, cached on disk) and the plant keeps its
state in float64 numpy arrays; otherwise the kernels run as they are written, over Python
lists (the fallback, the reference). Both give the same results to the last bit: no
fastmath, the same operations in the same order (benchmarks/trace_hash.py,
tests/plants/test_compiled_path.py). docs/plants/compiled.md.

numba is imported only here, and only when the first plant is built: ``import plants``
does not load it.

Loading numba and its cached machine code costs a fresh process a few tenths of a second
once; the compiled step saves ~15 us per plant step. A process that will simulate less than
:data:`SHORT_RUN_S` in all is quicker on the plain-Python kernels: :func:`plan` (``hil run``
calls it with the simulated time of the scenarios it runs in its own process, before the
first plant is built) chooses them then. Verdicts and traces do not depend on the choice
(the two paths are bit-identical). ``NTEC_HIL_PURE_PYTHON=0`` keeps the compiled kernels
whatever the run's length, ``=1`` forces the plain-Python ones.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PURE_PYTHON_ENV = "NTEC_HIL_PURE_PYTHON"


def _pure_requested() -> bool:
    return os.environ.get(PURE_PYTHON_ENV, "").strip() not in ("", "0")


#: True when the kernels run compiled (numba importable and the fallback not forced).
COMPILED = not _pure_requested() and importlib.util.find_spec("numba") is not None

#: Simulated seconds below which a whole process is quicker on the plain-Python kernels
#: than on loading numba (benchmarks/RESULTS.md, "Start-up: the path chosen by the run's
#: length"). A ~break-even figure: either path gives the same traces.
SHORT_RUN_S = 20.0

_KERNELS: list[Callable[..., Any]] = []
_compiled = False
#: The path is fixed once a plant part has been built (its state arrays are of one kind).
_fixed = False


def plan(simulated_s: float | None) -> bool:
    """Before the process builds its first plant: run the plain-Python kernels when it will
    simulate less than :data:`SHORT_RUN_S` in all (``None``: not known; keep the default).
    A no-op once a plant was built or when ``NTEC_HIL_PURE_PYTHON`` says which path.
    Returns whether the kernels run compiled."""
    global COMPILED, _fixed
    if not _fixed:
        _fixed = True
        if (COMPILED and simulated_s is not None and simulated_s < SHORT_RUN_S
                and os.environ.get(PURE_PYTHON_ENV, "").strip() != "0"):
            COMPILED = False
    return COMPILED


def kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register `fn` (a numba-compatible plain-Python function) as a kernel."""
    _KERNELS.append(fn)
    return fn


def array(values: Iterable[float]) -> Any:
    """State or parameters as the kernels take them: float64 array (compiled) or list."""
    global _fixed
    _fixed = True
    if COMPILED:
        import numpy as np

        return np.array(list(values), dtype=np.float64)
    return [float(v) for v in values]


def array2d(rows: Iterable[Iterable[float]]) -> Any:
    """A table (rows of floats): a 2-D float64 array (compiled) or a list of lists."""
    global _fixed
    _fixed = True
    if COMPILED:
        import numpy as np

        return np.array([list(r) for r in rows], dtype=np.float64)
    return [[float(v) for v in r] for r in rows]


def _sources_digest() -> str:
    """A digest of every module that defines kernels: numba's cache tracks the source file
    of each function only, not of the kernels it calls in other modules."""
    h = hashlib.sha256()
    for path in sorted({fn.__code__.co_filename for fn in _KERNELS}):
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


def plain(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The plain-Python function of a kernel (for Python callers with Python arguments,
    which should not make numba compile another specialisation)."""
    return getattr(fn, "py_func", fn)


def compile_kernels() -> None:
    """Replace every registered kernel, in every kernel module, by its numba dispatcher
    (idempotent; a no-op on the fallback). Compilation itself happens on first call."""
    global _compiled, _fixed
    _fixed = True
    if _compiled or not COMPILED:
        return
    import numba

    jitted = {id(fn): numba.njit(cache=True)(fn) for fn in _KERNELS}
    for fn in _KERNELS:
        g = fn.__globals__
        for name, value in list(g.items()):
            if id(value) in jitted:
                g[name] = jitted[id(value)]
    _check_cache(list(jitted.values()))
    _compiled = True


def _check_cache(dispatchers: list[Any]) -> None:
    """Drop numba's cached machine code when any kernel module changed since it was built
    (a cached caller would keep an edited callee's old code)."""
    digest = _sources_digest()
    try:
        cache_dir = Path(dispatchers[0]._cache._cache_path)
        stamp = cache_dir / "ntec_hil_kernels.stamp"
        if stamp.exists() and stamp.read_text() == digest:
            return
        for d in dispatchers:
            d._cache.flush()
        cache_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except (AttributeError, OSError):   # numba's cache internals moved or not writable
        return


class Field:
    """A float of a state array as an attribute: ``obj.<array>[index]`` (read and write)."""

    def __init__(self, index: int, array: str = "st") -> None:
        self.index = index
        self.array = array

    def __get__(self, obj: Any, owner: Any = None) -> float:
        if obj is None:
            return self  # type: ignore[return-value]
        return float(getattr(obj, self.array)[self.index])

    def __set__(self, obj: Any, value: float) -> None:
        getattr(obj, self.array)[self.index] = float(value)


class IntField(Field):
    """An integer (a count, a gear) kept as a float of a state array."""

    def __get__(self, obj: Any, owner: Any = None) -> int:
        if obj is None:
            return self  # type: ignore[return-value]
        return int(getattr(obj, self.array)[self.index])
