"""Faults a scenario injects into the simulated CAN bus, as handles it can clear.

A scenario says ``inject_fault("drop", message_id=0x090, count=3)`` and later
``clear_fault(handle)``; the network asks the active faults of a kind, at the
one point of a frame's life where that kind acts (send, transmission start,
delivery). What each kind does, and where, is documented on
:meth:`hil.bus.sim.SimCanNetwork.inject_fault`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from hil.errors import ConfigError

__all__ = ["FAULT_KINDS", "Fault"]

# kind -> parameters it accepts (besides the common ones), with defaults.
_KIND_PARAMS: dict[str, dict[str, Any]] = {
    "drop": {"receiver": None},
    "stop": {},
    "delay": {"delay_ns": None},
    "corrupt": {"xor": None, "byte": 0, "bit": 0},
    "duplicate": {},
    "error_frames": {},
    "bus_off": {"recover": True},
}
_COMMON = ("message_id", "count", "sender")
FAULT_KINDS: tuple[str, ...] = tuple(_KIND_PARAMS)


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
