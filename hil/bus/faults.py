"""Faults a scenario injects into the simulated CAN bus, as handles it can clear.

A scenario says ``inject_fault("drop", message_id=0x090, count=3)`` and later
``clear_fault(handle)``; the network asks the active faults of a kind, at the
one point of a frame's life where that kind acts (send, transmission start,
delivery). What each kind does, and where, is documented on
:meth:`hil.bus.sim.SimCanNetwork.inject_fault`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hil.errors import ConfigError

__all__ = ["BUS_FAULTS", "CORRUPT_FIELDS", "FAULT_KINDS", "BusFaultKind", "Fault",
           "FaultParam", "network_params"]


@dataclass(frozen=True)
class FaultParam:
    """One parameter of a bus fault as a scenario writes it.

    ``kind``: ``message`` (a DBC message name), ``node`` (a DBC node), ``time`` (a time
    with a unit, stored as integer ns under ``<name>_ns``), ``count`` (a whole number of
    frames >= 1) or ``choice`` (one of ``choices``).
    """

    name: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class BusFaultKind:
    """A bus fault kind: what a scenario writes (``params``) and what the network takes
    besides ``message_id``/``sender``/``count`` (``network``: name -> default)."""

    name: str
    params: tuple[FaultParam, ...]
    network: dict[str, Any]
    doc: str = ""

    def param(self, name: str) -> FaultParam | None:
        return next((p for p in self.params if p.name == name), None)


#: Where a scenario's ``corrupt`` fault flips a bit: (byte, bit), by field. The E2E layout
#: (hil.wire.e2e): CRC in byte 0, alive counter in byte 1; ``data``: the last byte.
CORRUPT_FIELDS: dict[str, tuple[int, int] | None] = {"crc": (0, 0), "counter": (1, 0),
                                                     "data": None}

_MESSAGE = FaultParam("message", "message", required=True, doc="the DBC message it hits")
_COUNT = FaultParam("count", "count", doc="frames to hit (default: until cleared)")

#: Every bus fault kind, declared once: the scenario loader checks a scenario's bus faults
#: against ``params``, the step player turns them into the network's keywords with
#: :func:`network_params`, and :meth:`Fault.build` checks the network's keywords.
BUS_FAULTS: dict[str, BusFaultKind] = {k.name: k for k in (
    BusFaultKind("drop", (_MESSAGE, _COUNT), {"receiver": None},
                 "the frame is transmitted but receivers do not get it"),
    BusFaultKind("stop", (_MESSAGE,), {}, "the sender stops sending the message"),
    BusFaultKind("delay", (_MESSAGE, FaultParam("by", "time", required=True,
                                                doc="added before the frame is queued"),
                           _COUNT), {"delay_ns": None}, "frames are sent later"),
    BusFaultKind("corrupt", (_MESSAGE, FaultParam("field", "choice",
                                                  choices=tuple(CORRUPT_FIELDS),
                                                  doc="what is altered (default crc)"),
                             _COUNT), {"xor": None, "byte": 0, "bit": 0},
                 "one bit of the payload flipped in flight"),
    BusFaultKind("duplicate", (_MESSAGE, _COUNT), {}, "the frame is sent twice"),
    BusFaultKind("error_frames", (_COUNT,), {}, "transmissions destroyed by error frames"),
    BusFaultKind("bus_off", (FaultParam("node", "node", required=True,
                                        doc="the node that goes bus-off"),),
                 {"recover": True}, "a node goes bus-off"),
)}
_KIND_PARAMS: dict[str, dict[str, Any]] = {k: v.network for k, v in BUS_FAULTS.items()}
_COMMON = ("message_id", "count", "sender")
FAULT_KINDS: tuple[str, ...] = tuple(BUS_FAULTS)


def network_params(kind: str, target: str | None, params: Mapping[str, Any],
                   frame_ids: Mapping[str, int],
                   lengths: Mapping[str, int]) -> dict[str, Any]:
    """The network's keywords for a scenario's bus fault (``params`` as the scenario
    loader stores them: times in ``<name>_ns``)."""
    if kind == "bus_off":
        return {"node": target}
    out: dict[str, Any] = {}
    if target is not None:
        out["message_id"] = frame_ids[target]
    if "count" in params:
        out["count"] = int(params["count"])
    if kind == "delay":
        out["delay_ns"] = int(params["by_ns"])
    if kind == "corrupt":
        where = CORRUPT_FIELDS[params.get("field", "crc")]
        byte, bit = where if where is not None else (lengths[target or ""] - 1, 0)
        out.update(byte=byte, bit=bit)
    return out


def _closest(word: str, options: tuple[str, ...] | list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean {match[0]!r}?" if match else f"; valid: {', '.join(options)}"


@dataclass(eq=False)
class Fault:
    """One injected fault: what it matches, how many more frames it hits.

    ``count`` None means until cleared. ``hits`` counts the frames it acted
    on, so a scenario can assert that the fault really happened.
    """

    kind: str
    message_id: int | None = None
    sender: str | None = None
    count: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0
    active: bool = True

    @classmethod
    def build(cls, kind: str, **params: Any) -> Fault:
        """Validate a scenario's parameters; unknown ones name the closest."""
        if kind not in _KIND_PARAMS:
            raise ConfigError(f"unknown bus fault kind {kind!r}{_closest(kind, FAULT_KINDS)}")
        allowed = _KIND_PARAMS[kind]
        if kind == "bus_off":
            valid = ("node", *allowed)
        else:
            valid = (*_COMMON, *allowed)
        for key in params:
            if key not in valid:
                raise ConfigError(
                    f"unknown parameter {key!r} for bus fault {kind!r}{_closest(key, list(valid))}")
        extra = {key: params.get(key, default) for key, default in allowed.items()}
        count = params.get("count")
        if kind == "error_frames" and "count" not in params:
            count = 1
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ConfigError(f"bus fault {kind!r}: count must be a positive integer or None")
        message_id = params.get("message_id")
        if kind in ("drop", "stop", "delay", "corrupt", "duplicate") and message_id is None:
            raise ConfigError(f"bus fault {kind!r} needs message_id")
        if kind == "delay":
            delay = extra["delay_ns"]
            if not isinstance(delay, int) or delay < 0:
                raise ConfigError("bus fault 'delay' needs delay_ns, a non-negative integer")
        if kind == "corrupt":
            xor = extra["xor"]
            if xor is None:
                if not 0 <= extra["byte"] < 64 or not 0 <= extra["bit"] < 8:
                    raise ConfigError("bus fault 'corrupt': byte 0..63 and bit 0..7")
            elif not isinstance(xor, bytes | bytearray | int):
                raise ConfigError("bus fault 'corrupt': xor is bytes or an int")
        sender = params.get("sender")
        if kind == "bus_off":
            if not params.get("node"):
                raise ConfigError("bus fault 'bus_off' needs node")
            sender = params["node"]
        return cls(kind=kind, message_id=message_id, sender=sender, count=count, params=extra)

    def matches(self, arbitration_id: int, sender: str) -> bool:
        """Whether this fault applies to a frame with this id from this node."""
        return (self.active
                and (self.message_id is None or self.message_id == arbitration_id)
                and (self.sender is None or self.sender == sender))

    def consume(self) -> None:
        """Record one hit; a counted fault deactivates itself when used up."""
        self.hits += 1
        if self.count is not None:
            self.count -= 1
            if self.count <= 0:
                self.active = False

    def corrupt(self, data: bytes) -> bytes:
        """The payload as the receivers see it after this fault altered it."""
        xor = self.params["xor"]
        if xor is None:
            index, bit = self.params["byte"], self.params["bit"]
            if index >= len(data):
                return data
            altered = bytearray(data)
            altered[index] ^= 1 << bit
            return bytes(altered)
        if isinstance(xor, int):
            xor = (xor & ((1 << 8 * len(data)) - 1)).to_bytes(len(data), "big")
        return bytes(a ^ b for a, b in zip(data, bytes(xor).ljust(len(data), b"\0"), strict=False))
