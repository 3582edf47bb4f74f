"""Stopping a run on SIGINT or SIGTERM and keeping what it recorded (docs/scenarios.md).

A signal is handled in one of two ways:

* inside a *graceful zone* (:func:`graceful`: the scenario runner's whole run, from
  building the bench to the last artifact written), the first signal is only recorded: the
  runner sees it at its next simulated-time boundary (:func:`pending`), stops, writes the
  trace recorded so far, result.json marked ``interrupted`` with the simulated time
  reached, and then raises :class:`Interrupted` so the session stops. A signal while the
  artifacts are being written lets them finish. A second signal aborts at once (whatever
  was written is complete, what was not is absent: :func:`hil.trace.files.atomic_output`);
* anywhere else it raises :class:`Interrupted` (a ``KeyboardInterrupt``) at once, as
  Python's own SIGINT handler does, so pytest ends the session and writes its reports.

:func:`handling` installs the handler for SIGINT and SIGTERM (``hil run`` for the whole
process; :func:`graceful` for its own duration when nobody did), only in the main thread
and never over a handler someone else installed or a signal the parent ignored (a
background job of a shell script ignores SIGINT). :func:`received` tells ``hil run`` which
signal ended the run: its exit code is 128 + the signal number (130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["Interrupted", "ScenarioInterrupted", "graceful", "handling", "pending",
           "received", "exit_code"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (a KeyboardInterrupt, so pytest treats it as one)."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(signal_name(signum))

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class ScenarioInterrupted(Interrupted):
    """Raised by the runner after an interrupted scenario's artifacts are written;
    ``result`` is its :class:`~hil.run.runner.ScenarioResult`."""

    def __init__(self, signum: int, result: Any) -> None:
        super().__init__(signum)
        self.result = result


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class _State:
    zones = 0                     # graceful zones entered (nested calls count)
    pending: int | None = None    # a signal recorded inside a zone, not yet acted on
    received: int | None = None   # the first signal of the process


_state = _State()


def _handler(signum: int, frame: Any) -> None:
    if _state.received is None:
        _state.received = signum
    if _state.zones and _state.pending is None:
        _state.pending = signum   # the runner stops at its next boundary
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Route SIGINT and SIGTERM to this module while the block runs (main thread only;
    a signal that is ignored, or has another handler, is left alone)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    for sig in SIGNALS:
        current = signal.getsignal(sig)
        if current in (signal.SIG_DFL, signal.default_int_handler):
            previous[sig] = signal.signal(sig, _handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def graceful() -> Iterator[None]:
    """A zone where the first signal is recorded, not raised (see the module's doc)."""
    with handling():
        _state.zones += 1
        try:
            yield
        finally:
            _state.zones -= 1


def pending() -> int | None:
    """The signal recorded inside a graceful zone and not yet acted on, or None."""
    return _state.pending


def take_pending() -> int | None:
    """The pending signal, cleared (the caller acts on it)."""
    signum, _state.pending = _state.pending, None
    return signum


def received() -> int | None:
    """The first SIGINT / SIGTERM this process handled, or None."""
    return _state.received


def exit_code(default: int) -> int:
    """128 + the signal that ended the run, else ``default``."""
    return 128 + _state.received if _state.received is not None else default


def reset() -> None:
    """Forget the signals seen (tests; a long-lived process between runs)."""
    _state.pending = _state.received = None
