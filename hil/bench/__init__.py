"""The benches: a clock, a bus, the nodes and a trace, assembled into one loop.

:mod:`hil.bench.sil` runs it in simulated time on the simulated bus,
:mod:`hil.bench.wall` in wall-clock time against an ECU on a real bus,
:mod:`hil.bench.emulator` is the n.Tec ECU on a real bus (``hil ecu``);
:mod:`hil.bench.base` holds what they share, :mod:`hil.bench.clock` the simulated and
wall clocks, :mod:`hil.bench.preflight` the fitness check of a wall-clock rig.
"""
