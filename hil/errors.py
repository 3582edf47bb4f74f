"""One exception root for the bench, each subclassing the matching built-in.

Every error a user can cause by what they wrote (a rig, a scenario, a DBC, a
calibration) carries where: file, line, column. ``str(err)`` is the one line the
CLI prints.
"""

from __future__ import annotations


class HilError(Exception):
    """Root of every error the bench raises on purpose."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column

    def where(self) -> str:
        if self.file is None:
            return ""
        parts = [str(self.file)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class ConfigError(HilError, ValueError):
    """A rig, scenario, signal map or ECU configuration is wrong."""


class DbcError(HilError, ValueError):
    """The DBC cannot be used as the bench's wire contract."""


class EncodeRangeError(HilError, ValueError):
    """A signal value is outside the range its DBC definition allows."""


class BusError(HilError, OSError):
    """A bus cannot be opened or used."""


class InterfaceUnavailable(BusError):
    """A python-can interface, driver or package is missing on this machine."""


class TraceError(HilError, OSError):
    """A trace cannot be written or read."""


class PlantStepError(HilError, RuntimeError):
    """The plant refused a step while running (e.g. an FMU's error): the run stops there."""


class ScenarioError(HilError, ValueError):
    """A scenario file is wrong (syntax, key, signal, unit, expression, time)."""


class ExpressionError(ScenarioError):
    """A condition expression cannot be parsed or names something unknown."""
