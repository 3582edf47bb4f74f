"""The benches: a clock, a bus, the nodes and a trace, assembled into one loop.

:func:`open_bench` gives the bench for a rig: :class:`~hil.bench.sil.SilBench` (simulated
time on the simulated bus) or :class:`~hil.bench.wall.WallBench` (wall-clock time
against an ECU on a real bus). Both implement :class:`~hil.bench.base.Bench`, the one
interface the runner, the player and Python scenarios use; both are wired by
:func:`hil.bench.assembly.assemble`, as are the ECU emulator (:mod:`hil.bench.emulator`,
``hil ecu``) and back-to-back replay. :mod:`hil.bench.clock` holds the simulated and
wall clocks, :mod:`hil.bench.preflight` the fitness check of a wall-clock rig.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hil.bench.base import Bench, Fitness
from hil.config.rig import RigConfig, load_rig

__all__ = ["Bench", "Fitness", "open_bench"]


def open_bench(rig: RigConfig | str | Path | None = None, **options: Any) -> Bench:
    """The bench of ``rig`` (a loaded rig, a rig file, or None for the default rig).

    ``options`` are the bench's: plant, plant_params, overrides, calibration, seed,
    trace, spool_dir, controller_options (and realtime, cpu on a wall-clock rig).
    """
    config = rig if isinstance(rig, RigConfig) else load_rig(rig)
    if config.clock == "wall":
        from hil.bench.wall import WallBench  # opens real buses: imported only when asked

        return WallBench(config, **options)
    from hil.bench.sil import SilBench

    return SilBench(config, **options)
