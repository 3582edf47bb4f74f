"""Configuration: YAML with positions, units, rig files and the name registry.

Everything a user writes is read here first: :mod:`hil.config.yamlio` (YAML with
``file:line:col`` on every node, unknown keys rejected with the closest name),
:mod:`hil.config.units` (``"1 ms"`` -> integer nanoseconds), :mod:`hil.config.rig` (rig
files, the default rig) and :mod:`hil.config.registry` (plant, controller and loader
names resolved through entry points).
"""
