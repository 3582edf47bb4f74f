"""python-can without asammdf until an MF4 file is read or written through it.

``import can`` imports ``can.io.mf4``, which imports asammdf, and asammdf imports pandas,
pyarrow and canmatrix: the largest part of the bench's start-up (``bench_startup.py``),
paid by every ``hil`` command and every xdist or Dask worker, whether or not it touches an
MF4 file. python-can needs asammdf only for its ``MF4Reader``/``MF4Writer``; the bench
writes MF4 with asammdf directly (:mod:`hil.trace.export`, which imports it there).

So ``can.io.mf4`` is executed with asammdf hidden (python-can then sets up its MF4
classes as it does without the ``mf4`` extra), and the first ``MF4Reader(...)`` or
``MF4Writer(...)`` calls :func:`can_mf4` before it runs: asammdf is imported and
``can.io.mf4`` executed again, so every name python-can's classes and reader tables use
is there. Nothing changes for a program that imports asammdf before python-can.
"""

from __future__ import annotations

import importlib.machinery
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:   # typing is not imported at run time: every hil command imports this
    from typing import Any

_DEFERRED = "asammdf"
_MODULE = "can.io.mf4"
_CLASSES = ("MF4Reader", "MF4Writer")


class _Loader:
    """Executes ``can.io.mf4`` with asammdf hidden, then makes its MF4 classes load it."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        hidden = _DEFERRED not in sys.modules
        if hidden:
            sys.modules[_DEFERRED] = None  # type: ignore[assignment]  # import -> ImportError
        try:
            self.loader.exec_module(module)
        finally:
            if hidden and sys.modules.get(_DEFERRED, 0) is None:
                del sys.modules[_DEFERRED]
        if getattr(module, _DEFERRED, None) is None:
            for name in _CLASSES:
                cls = getattr(module, name, None)
                if cls is not None:
                    cls.__init__ = _loading(cls.__init__)


def _loading(init: Any) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        can_mf4()
        init(self, *args, **kwargs)

    return __init__


class _Finder:
    """Answers for ``can.io.mf4`` only, until :func:`can_mf4` has run."""

    enabled = True

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != _MODULE or not self.enabled or _DEFERRED in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            # a Loader by its methods (importlib.abc and typing are not imported here:
            # every hil command imports this module first)
            spec.loader = _Loader(spec.loader)  # type: ignore[assignment]
        return spec


_FINDER = _Finder()


def install() -> None:
    if _MODULE not in sys.modules and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def can_mf4() -> None:
    """python-can's MF4 reader and writer, with asammdf (imported now if it is not)."""
    _FINDER.enabled = False
    module = sys.modules.get(_MODULE)
    if module is not None and getattr(module, _DEFERRED, None) is None:
        importlib.reload(module)
