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

With pytest-xdist workers (``hil run -n 2``) the scenarios run in other processes, and a
signal may reach the controller only (``kill PID``, a CI timeout) or every process
(Ctrl-C reaches the terminal's whole process group). So:

* the controller's test loop is a *relaying zone* (:func:`relaying`): the first signal is
  recorded and handed on, as :data:`RELAY` (SIGUSR1 for SIGINT, SIGUSR2 for SIGTERM), to
  every worker; the controller's session then stops once the workers have reported;
* a worker (:func:`worker`) treats its first signal, direct or relayed, as a request to
  stop: a running scenario stops at its next boundary and is reported as above, a test
  not yet started is not started. A relayed signal never escalates (it may arrive before
  or after the same Ctrl-C reached the worker directly); a second direct signal aborts.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Interrupted", "ScenarioInterrupted", "graceful", "handling", "pending",
           "received", "exit_code", "relaying", "worker", "RELAY"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: The signal a controller sends its workers for each signal it received (and back).
RELAY = {signal.SIGINT: signal.SIGUSR1, signal.SIGTERM: signal.SIGUSR2}
_RELAYED = {int(relayed): original for original, relayed in RELAY.items()}


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
    relay: Callable[[int], None] | None = None  # the controller's relaying zone, if in one
    worker = False                # an xdist worker (see the module's doc)
    direct = 0                    # SIGINT / SIGTERM received by a worker itself


_state = _State()


def _handler(signum: int, frame: Any) -> None:
    if _state.worker:
        _state.direct += 1
        if _state.direct > 1:
            raise Interrupted(signum)
        _request_stop(signum)
        return
    first = _state.received is None
    if first:
        _state.received = signum
    if _state.relay is not None:
        if not first:
            raise Interrupted(signum)
        _state.relay(signum)      # the workers stop; the session ends when they have reported
        return
    if _state.zones and _state.pending is None:
        _state.pending = signum   # the runner stops at its next boundary
        return
    raise Interrupted(signum)


def _relayed_handler(signum: int, frame: Any) -> None:
    _request_stop(_RELAYED[signum])


def _request_stop(signum: int) -> None:
    """A worker's first stop request, whichever way it came; later ones change nothing."""
    if _state.received is None:
        _state.received = signum
        _state.pending = signum


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


@contextlib.contextmanager
def relaying(relay: Callable[[int], None]) -> Iterator[None]:
    """A controller's zone: the first signal is recorded and ``relay(signum)`` is called
    (it sends :data:`RELAY` to the workers and asks the session to stop); a second signal
    raises :class:`Interrupted` at once."""
    with handling():
        previous, _state.relay = _state.relay, relay
        try:
            yield
        finally:
            _state.relay = previous


@contextlib.contextmanager
def worker() -> Iterator[None]:
    """An xdist worker's whole session (see the module's doc): SIGINT / SIGTERM and their
    relayed forms request a stop; :func:`received` says whether one did."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    for sig, handler in ((signal.SIGINT, _handler), (signal.SIGTERM, _handler),
                         *((relayed, _relayed_handler) for relayed in RELAY.values())):
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
            previous[sig] = signal.signal(sig, handler)
    _state.worker = True
    try:
        yield
    finally:
        _state.worker = False
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    _state.direct = 0
