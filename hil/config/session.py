"""A rig's ECU session policy: how every wall-clock run reaches a known ECU state.

The rig's ``session:`` says it (docs/bench.md "ECU sessions")::

    session:
      reset: command            # the bench sends `request`; hil ecu re-initialises its runtime
      request: EcuResetRequest  # the DBC signal of the reset request (a bench message)
      ready: {EngineMode: 0, FaultCodes: 0}   # ECU signals that show the known state
      timeout: 2 s              # how long the bench waits for `ready` before t=0
      supervision: first_reception   # hil ecu: message supervision (and the controllers'
                                # clock) starts at the first reception, not at power-on

``reset: none``: a real ECU the bench cannot reset -- the run starts only if the ECU
already shows ``ready``. ``restart: process``: the bench starts ``hil ecu`` itself for
every scenario and stops it afterwards. The framework names no product signal: the
request and the ready signals come from here and are checked against the DBC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hil.config.units import UnitError, parse_time_ns
from hil.config.yamlio import Loc, LocDict, check_keys, closest, error_at

SESSION_KEYS = ("reset", "restart", "request", "ready", "timeout", "supervision")
RESETS = ("command", "none")
RESTARTS = ("process",)
SUPERVISION = ("power_on", "first_reception")


@dataclass(frozen=True)
class SessionPolicy:
    """The rig's ``session:``. ``how`` is ``reset: command``, ``reset: none`` or
    ``restart: process`` (as the report names it)."""

    reset: str | None = None                 # command | none
    restart: str | None = None               # process
    request: str | None = None               # DBC signal of the reset request
    ready: dict[str, float] = field(default_factory=dict)
    timeout_ns: int = 2_000_000_000
    supervision: str = "power_on"            # power_on | first_reception
    locs: dict[str, Loc | None] = field(default_factory=dict)

    @property
    def how(self) -> str:
        return f"restart: {self.restart}" if self.restart else f"reset: {self.reset}"


def parse_session(raw: Any, loc: Loc | None) -> SessionPolicy | None:
    """The ``session:`` mapping of a rig file (None when absent); errors at file:line:col."""
    if raw is None:
        return None
    if not isinstance(raw, LocDict):
        raise error_at(getattr(raw, "loc", loc), "session: expected {reset: command | none, "
                       "...} or {restart: process, ...}")
    check_keys(raw, SESSION_KEYS, what="session")
    locs = {key: raw.value_loc(key) for key in raw}
    reset, restart = raw.get("reset"), raw.get("restart")
    if (reset is None) == (restart is None):
        raise error_at(raw.loc, "session: give exactly one of reset: (command | none) and "
                       "restart: process")
    if reset is not None and reset not in RESETS:
        raise error_at(locs["reset"], f"session.reset: expected one of {', '.join(RESETS)}, "
                       f"got {reset!r}{closest(str(reset), RESETS)}")
    if restart is not None and restart not in RESTARTS:
        raise error_at(locs["restart"], f"session.restart: expected process, got {restart!r}")
    request = raw.get("request")
    if reset == "command" and not (isinstance(request, str) and request):
        raise error_at(locs.get("request", raw.loc), "session: reset: command needs request: "
                       "<the DBC signal of the reset request>")
    ready_raw = raw.get("ready") or LocDict()
    if not isinstance(ready_raw, LocDict) or not ready_raw:
        raise error_at(locs.get("ready", raw.loc), "session.ready: expected {<ECU signal>: "
                       "<value>} (e.g. {EngineMode: 0, FaultCodes: 0}): what the known state is")
    ready: dict[str, float] = {}
    for name, value in ready_raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise error_at(ready_raw.value_loc(name), f"session.ready.{name}: expected a "
                           f"number, got {value!r}")
        ready[str(name)] = float(value)
        locs[f"ready.{name}"] = ready_raw.key_loc(name)
    timeout_ns = 2_000_000_000
    if raw.get("timeout") is not None:
        try:
            timeout_ns = parse_time_ns(raw["timeout"])
        except UnitError as exc:
            raise error_at(locs["timeout"], f"session.timeout: {exc}") from None
        if timeout_ns <= 0:
            raise error_at(locs["timeout"], "session.timeout must be positive")
    supervision = raw.get("supervision", "power_on")
    if supervision not in SUPERVISION:
        raise error_at(locs["supervision"], f"session.supervision: expected one of "
                       f"{', '.join(SUPERVISION)}, got {supervision!r}"
                       f"{closest(str(supervision), SUPERVISION)}")
    return SessionPolicy(reset, restart, request if reset == "command" else None, ready,
                         timeout_ns, supervision, locs)


def check_session(policy: SessionPolicy | None, db: Any) -> None:
    """The request signal is sent by the bench, the ready signals by the ECU (the DBC's)."""
    if policy is None:
        return
    senders = {s.name: tuple(m.senders or ()) for m in db.messages for s in m.signals}
    names = [(policy.request, policy.locs.get("request"))] if policy.request else []
    names += [(n, policy.locs.get(f"ready.{n}")) for n in policy.ready]
    for name, where in names:
        if name not in senders:
            raise error_at(where, f"session: unknown DBC signal {name!r}"
                           f"{closest(name, senders)}")
