"""The player's online monitor decodes only the frames its wait_until conditions read, and
its steps complete at the same simulated times as when every frame is decoded."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.bench import open_bench
from hil.config.rig import load_rig
from hil.run.runner import load
from hil.scenario import player as player_module
from hil.scenario.player import ScenarioPlayer, prepare_plant

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """\
name: monitor_probe
description: wait_until over a qualified bus signal, a plain one and a plant quantity
rig: {rig}
duration: 600 ms
plant: road_car
seed: 0
mode: dyno
initial: {{dyno.speed_rpm: 2500, driver.throttle_pct: 20, engine.coolant_temp_c: 90}}
steps:
{steps}
expect:
  - always: "FaultCodes == 0"
"""

BUS_STEPS = """\
  - wait_until: "EcuStatus.EngineMode == 'NORMAL'"
    timeout: 100 ms
  - wait_until: "EngineSpeed > 900 and ThrottlePosition > 5"
    timeout: 200 ms
  - wait_until: "engine.speed_rpm > 1000"
    timeout: 200 ms
"""


def _scenario(tmp_path: Path, steps: str):
    path = tmp_path / "monitor_probe.yaml"
    path.write_text(SCENARIO.format(rig=REPO / "rigs" / "sil.yaml", steps=steps))
    return load(path)


def _play(scenario):
    bench = open_bench(load_rig(REPO / "rigs" / "sil.yaml"), plant_params=scenario.plant,
                       seed=scenario.seed)
    prepare_plant(bench.plant, scenario)
    before = len(bench.network._frame_observers)
    player = ScenarioPlayer(bench, scenario)
    watching = len(bench.network._frame_observers) - before
    bench.start()
    bench.env.process(player.process())
    bench.run_until(scenario.duration_ns)
    bench.close()
    return player, watching


def test_only_the_messages_a_condition_reads_are_decoded(tmp_path, monkeypatch):
    scenario = _scenario(tmp_path, BUS_STEPS)
    decoded: list[int] = []
    real = player_module._Monitor.__init__

    def spy(self, bench, names):
        real(self, bench, names)
        decoded.extend(self._names)

    monkeypatch.setattr(player_module._Monitor, "__init__", spy)
    player, watching = _play(scenario)
    assert watching == 1
    db = player.bench.db
    carriers = {m.frame_id for m in db.messages
                if {"EngineSpeed", "ThrottlePosition"} & {s.name for s in m.signals}}
    assert set(decoded) == carriers | {db.get_message_by_name("EcuStatus").frame_id}
    assert [r.status for r in player.records] == ["done"] * 3, player.error


def test_steps_complete_when_every_frame_is_decoded_too(tmp_path, monkeypatch):
    scenario = _scenario(tmp_path, BUS_STEPS)
    watched, _ = _play(scenario)
    every = {n for m in watched.bench.db.messages for s in m.signals
             for n in (s.name, f"{m.name}.{s.name}")}
    real = player_module._Monitor.__init__
    monkeypatch.setattr(player_module._Monitor, "__init__",
                        lambda self, bench, names: real(self, bench, every | set(names)))
    all_frames, _ = _play(scenario)
    times = [r.t_ns for r in watched.records]
    assert times == [r.t_ns for r in all_frames.records]
    assert None not in times and times == sorted(times) and times[0] < times[-1]


@pytest.mark.parametrize("steps", [
    '  - wait_until: "engine.speed_rpm > 1000"\n    timeout: 200 ms\n',
    '  - at: 100 ms\n    set: {driver.throttle_pct: 30}\n',
])
def test_no_frame_is_watched_without_a_bus_condition(tmp_path, steps):
    player, watching = _play(_scenario(tmp_path, steps))
    assert watching == 0
    assert [r.status for r in player.records] == ["done"]
