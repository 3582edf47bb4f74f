"""Every number the controllers agree on with the bench, defined once.

Reception status, engine modes, tuner states, the fault-code bits of ``FaultCodes``
and the DBC ranges of every signal the ECU sends. ``controllers`` may not import
``hil``, so the reception-status values of docs/interfaces.md are repeated here;
a test compares them with the documentation.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class RxStatus(IntEnum):
    """``<Msg>_RxStatus`` as the ECU runtime sets it (docs/interfaces.md)."""

    OK = 0
    NEVER_RECEIVED = 1
    TIMEOUT = 2
    STALE = 3
    COUNTER_JUMP = 4
    CRC_ERROR = 5


class EngineMode(IntEnum):
    """``EcuStatus.EngineMode`` value table of dbc/ntec5.dbc."""

    NORMAL = 0
    DETUNED = 1
    LIMP = 2
    SHUTDOWN = 3


class TunerState(IntEnum):
    OFF = 0
    WAITING = 1
    ADAPTING = 2
    LIMITED = 3
    FROZEN = 4


class AiTunerState(IntEnum):
    OFF = 0
    IDLE = 1
    STAGED = 2
    APPLIED = 3
    REJECTED = 4


class Fault(IntFlag):
    """Bits of the latched ``EcuDiag.FaultCodes`` field (docs/controllers/faults.md).

    A bit is set the moment its condition is seen and stays set until ``FaultReset``
    arrives *and* the condition is gone. Bits in :data:`LIMP_FAULTS` put the engine in
    LIMP, bits in :data:`SHUTDOWN_FAULTS` in SHUTDOWN.
    """

    KNOCK_RETARD_MAX = 1 << 0      # knock retard reached its calibrated maximum
    OVERBOOST = 1 << 1             # BoostPressure above overboost_kpa (1 ms cut)
    OVERBOOST_REPEATED = 1 << 2    # overboost_repeat_count episodes inside the window
    LEAN_AT_LOAD = 1 << 3          # lambda lean at high manifold pressure (1 ms cut)
    OVERTEMP_COOLANT = 1 << 4      # CoolantTemp above its hard limit
    OVERTEMP_OIL = 1 << 5          # OilTemp above its hard limit
    OVERTEMP_EGT = 1 << 6          # ExhaustGasTemp above its hard limit
    OVERTEMP_INTAKE = 1 << 7       # IntakeAirTemp above its hard limit
    RX_PLANT_FAST = 1 << 8         # PlantFast lost / stale / counter jump / CRC error
    RX_PLANT_SLOW = 1 << 9
    RX_PLANT_TEMPS = 1 << 10
    RX_PLANT_HEALTH = 1 << 11
    RX_BENCH_CMD = 1 << 12         # BenchCmd corrupted (not lost: the bench may be silent)
    LAMBDA_SENSOR = 1 << 13        # implausible lambda: closed loop falls back to open loop
    HEALTH_TURBO = 1 << 14         # part health below its detune start (information)
    HEALTH_INJECTOR = 1 << 15
    HEALTH_KNOCK_SENSOR = 1 << 16
    HEALTH_COOLING = 1 << 17
    OVERSPEED = 1 << 18            # EngineSpeed above overspeed_rpm
    EMERGENCY_STOP = 1 << 19       # BenchCmd.EmergencyStop
    CRITICAL_TEMP = 1 << 20        # a temperature above its critical limit -> SHUTDOWN
    PERSIST_DROPPED = 1 << 21      # the persistence queue dropped a snapshot (information)


LIMP_FAULTS = (Fault.OVERBOOST_REPEATED | Fault.LEAN_AT_LOAD | Fault.OVERTEMP_COOLANT
               | Fault.OVERTEMP_OIL | Fault.OVERTEMP_EGT | Fault.OVERTEMP_INTAKE
               | Fault.RX_PLANT_FAST | Fault.RX_PLANT_SLOW | Fault.RX_PLANT_TEMPS
               | Fault.RX_PLANT_HEALTH | Fault.OVERSPEED)
SHUTDOWN_FAULTS = Fault.EMERGENCY_STOP | Fault.CRITICAL_TEMP

# Received E2E messages and the fault bit their loss sets.
RX_FAULT_BITS: dict[str, Fault] = {
    "PlantFast": Fault.RX_PLANT_FAST,
    "PlantSlow": Fault.RX_PLANT_SLOW,
    "PlantTemps": Fault.RX_PLANT_TEMPS,
    "PlantHealth": Fault.RX_PLANT_HEALTH,
    "BenchCmd": Fault.RX_BENCH_CMD,
}

# DBC physical ranges of everything the ECU sends (dbc/ntec5.dbc). Every controller
# clamps to these, because the bench raises on an out-of-range value.
DBC_OUTPUT_RANGES: dict[str, tuple[float, float]] = {
    "FuelCut": (0.0, 1.0),
    "SparkCut": (0.0, 1.0),
    "FuelMass": (0.0, 204.7),
    "SparkAdvance": (-40.0, 87.5),
    "WastegateCmd": (0.0, 100.0),
    "EngineMode": (0.0, 3.0),
    "DrsCommand": (0.0, 1.0),
    "BrakeStability": (0.0, 1.0),
    "LambdaTrim": (-25.6, 25.4),
    "KnockRetard": (0.0, 63.75),
    "DetuneLevel": (0.0, 100.0),
    "LambdaClosedLoop": (0.0, 1.0),
    "FaultCodes": (0.0, 4294967295.0),
    "TunerState": (0.0, 7.0),
    "AiTunerState": (0.0, 7.0),
    "TunerCellsAdapted": (0.0, 1023.0),
    "AiRecommendationId": (0.0, 255.0),
    "AiRecommendationFuelPct": (-12.8, 12.7),
}


def clamp(value: float, lo: float, hi: float) -> float:
    """Scalar clamp without min/max call overhead on the 1 ms path."""
    if value < lo:
        return lo
    if value > hi:
        return hi
    return value
