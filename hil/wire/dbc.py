"""Loading the wire contract: a DBC file as a cantools ``Database``, plus the bench's reading
of the attributes it relies on (cycle time, send type, E2E data id).

This is the only place the bench parses a DBC. Every problem with the file becomes one
:class:`hil.errors.DbcError` line naming the file and, where it can be known, the line, so a
user of ``hil run`` sees ``dbc/ntec5.dbc:42:27: invalid syntax ...`` and not a traceback.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import cantools
from cantools.database.can import Database, Message

from hil.errors import DbcError

__all__ = [
    "load_dbc",
    "cycle_time_ns",
    "e2e_data_id",
    "is_e2e",
    "send_type",
    "crc_signal_name",
    "counter_signal_name",
]

# cantools' DBC grammar errors read "Invalid syntax at line 42, column 27: ..."; the parse
# error object carries line/column too, but the text is the stable part across versions.
_LINE_COL = re.compile(r"line (\d+), column (\d+)")


def load_dbc(path: str | PathLike[str]) -> Database:
    """Load a DBC file strictly (overlapping or ill-fitting signals are errors).

    Raises :class:`DbcError` naming the file and, when known, the line.
    """
    file = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_DBC_BYTES:
            raise DbcError(f"DBC file of {size:,} bytes is larger than the limit of "
                           f"{MAX_DBC_BYTES:,} bytes", file=file, line=1, column=1)
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DbcError(f"cannot read DBC file: {exc.strerror or exc}", file=file) from None
    try:
        text = data.decode("cp1252")  # the DBC ecosystem's encoding
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DbcError(f"not a DBC text file: byte 0x{data[exc.start]:02x} is not cp1252 text",
                       file=file, line=line, column=column) from None
    _check_complete(file, text)
    try:
        db = cantools.database.load_string(text, database_format="dbc", strict=True)
    except cantools.database.UnsupportedDatabaseFormatError as exc:
        inner = exc.e_dbc if exc.e_dbc is not None else exc
        raise _dbc_error(file, text, inner) from None
    except (cantools.database.Error, ValueError, KeyError, TypeError, IndexError,
            AttributeError, ArithmeticError, RecursionError) as exc:
        # Semantic errors after parsing (overlapping signals, bad attribute values) come
        # without a position: point at the message or signal the error names. cantools
        # raises a handful of built-in errors on odd input; none of them is the user's
        # traceback to read.
        raise _dbc_error(file, text, exc) from None
    assert isinstance(db, Database)  # database_format="dbc" gives a CAN database
    _check_every_definition_read(file, text, db)
    return db


#: Largest DBC file read (16 MiB; the bench's own is 7 kB).
MAX_DBC_BYTES = 16 * 1024 * 1024
_BO_LINE = re.compile(r"^BO_\s+(\d+)\s+(\w+)\s*:\s*\d+\s+\w+\s*$")
_SG_LINE = re.compile(r"^\s*SG_\s+(\w+)\s*(?:M|m\d+M?)?\s*:\s*\d+\|\d+@[01][+-]\s*"
                      r"\(\s*[^,()]+,\s*[^,()]+\)\s*\[\s*[^|\[\]]+\|[^\[\]]+\]\s*"
                      r"\"[^\"]*\"\s*\w+(?:\s*,\s*\w+)*\s*$")


def _check_complete(file: str, text: str) -> None:
    """A DBC cut short (a copy or a download stopped) ends in the middle of a line."""
    if text and not text.endswith(("\n", "\r")):
        lines = text.splitlines()
        raise DbcError("the file ends in the middle of a line (truncated? a complete DBC "
                       "ends with a newline)", file=file, line=len(lines),
                       column=len(lines[-1]) + 1)


def _check_every_definition_read(file: str, text: str, db: Database) -> None:
    """Every ``BO_`` and ``SG_`` line became a message or signal: cantools' parser skips
    a definition it cannot read rather than failing, which would drop signals silently."""
    messages = {m.name: {s.name for s in m.signals} for m in db.messages}
    nodes = {n.name for n in db.nodes} | {"Vector__XXX"}
    if db.nodes:
        # A name cut short ("PLANT,BENCH" -> "P") is still a word: it must be a node of BU_.
        for message in db.messages:
            for name, what in ([(s, f"sender of {message.name}") for s in message.senders]
                               + [(r, f"receiver of {message.name}.{sig.name}")
                                  for sig in message.signals for r in sig.receivers]):
                if name not in nodes:
                    raise DbcError(f"{what}: {name!r} is not a node of BU_ (truncated?)",
                                   file=file, line=_line_of_named_item(
                                       text, f"{message.name} " + (
                                           what.split(".", 1)[1] if "." in what else "")),
                                   column=1)
    current: set[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("BO_ ") or stripped == "BO_":
            match = _BO_LINE.match(stripped)
            if match is None or match.group(2) not in messages:
                raise DbcError("incomplete message definition (BO_ <id> <name>: <dlc> "
                               "<sender>)", file=file, line=number, column=1)
            current = messages[match.group(2)]
        elif stripped.startswith("SG_ ") or stripped == "SG_":
            match = _SG_LINE.match(line)
            if match is None or current is None or match.group(1) not in current:
                raise DbcError("incomplete signal definition (SG_ <name> : <start>|<length>"
                               "@<order><sign> (<scale>,<offset>) [<min>|<max>] \"<unit>\" "
                               "<receivers>)", file=file, line=number,
                               column=line.index("SG_") + 1)
        elif stripped and not stripped.startswith("SG_"):
            current = None if not stripped.startswith("SG_MUL_VAL_") else current


def _dbc_error(file: str, text: str, exc: BaseException) -> DbcError:
    message = " ".join(str(exc).split())  # one line, whatever the source error looks like
    line = column = None
    match = _LINE_COL.search(message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        # Drop cantools' own position prefix; DbcError.where() says it once.
        detail = message[match.end():].strip(' :"')
        message = f"invalid syntax at >>!<<: {detail}" if "syntax" in message else detail
    else:
        line = _line_of_named_item(text, message)
    return DbcError(message or type(exc).__name__, file=file, line=line, column=column)


def _line_of_named_item(text: str, message: str) -> int | None:
    """The line defining the first signal or message that the error text names."""
    lines = text.splitlines()
    for prefix in (r"SG_\s+", r"BO_\s+\d+\s+"):
        best: tuple[int, int] | None = None  # (position in the error text, line number)
        for number, source in enumerate(lines, start=1):
            m = re.match(r"\s*" + prefix + r"(\w+)", source)
            named = m and re.search(r"\b" + re.escape(m.group(1)) + r"\b", message)
            if named and (best is None or named.start() < best[0]):
                best = (named.start(), number)
        if best is not None:
            return best[1]
    return None


def cycle_time_ns(message: Message) -> int | None:
    """Cycle time from ``GenMsgCycleTime`` (ms) in integer nanoseconds; None when the message
    is not cyclic (attribute absent or 0)."""
    cycle_ms = message.cycle_time
    if not cycle_ms:
        return None
    return int(cycle_ms) * 1_000_000


def send_type(message: Message) -> str:
    """``GenMsgSendType`` of the message (the DBC's default when not set), e.g. "Cyclic",
    or "OnReception" for EcuFast."""
    value = message.send_type
    if value is None:
        return "Cyclic"
    return str(value)


def e2e_data_id(message: Message) -> int | None:
    """The message's own ``E2EDataId`` attribute; None when the message does not set one
    (the attribute default is deliberately not used: an unset id is not protection)."""
    dbc = message.dbc
    if dbc is None or "E2EDataId" not in dbc.attributes:
        return None
    return int(dbc.attributes["E2EDataId"].value)


def crc_signal_name(message: Message) -> str:
    return f"{message.name}_CRC"


def counter_signal_name(message: Message) -> str:
    return f"{message.name}_Counter"


def is_e2e(message: Message) -> bool:
    """True when the message carries ``<Msg>_CRC``, ``<Msg>_Counter`` and an ``E2EDataId``."""
    names = {signal.name for signal in message.signals}
    return (crc_signal_name(message) in names and counter_signal_name(message) in names
            and e2e_data_id(message) is not None)
