"""Running scenarios: the runner, replay, Python scenarios and the pytest plugin.

:mod:`hil.run.runner` opens the bench for a scenario's rig, plays it
(:mod:`hil.scenario.player`), judges it and writes the artifacts;
:mod:`hil.run.pytest_plugin` makes every scenario a pytest item;
:mod:`hil.run.pyscenario` gives Python scenarios the same engine;
:mod:`hil.run.replay` plays a recorded log into the ECU (back-to-back).
"""
