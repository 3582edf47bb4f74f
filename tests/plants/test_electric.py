"""The electric motor-generator on the crank and its energy store (plants/electric.py)."""

import math

import pytest

from plants.electric import ElectricMachine
from plants.params import ElectricParams, load_params


def _machine(**kw) -> ElectricMachine:
    return ElectricMachine(ElectricParams(enabled=True, **kw))


def test_torque_is_limited_by_torque_then_power():
    """T = min(T_max, P_max / w): 200 Nm at 4000 rpm (P/w would be 286 Nm), 127 Nm at
    9000 rpm (120 kW), none below min_rpm, out of gear, below the deployment speed or
    throttle."""
    em = _machine()
    w4, w9 = 4000 * math.pi / 30, 9000 * math.pi / 30
    assert em.step(1e-3, w4, 100.0, 0.0, 200.0, True) == pytest.approx(200.0)
    assert em.step(1e-3, w9, 100.0, 0.0, 200.0, True) == pytest.approx(120e3 / w9)
    assert em.power_w == pytest.approx(120e3)
    assert em.step(1e-3, 2000 * math.pi / 30, 100.0, 0.0, 200.0, True) == 0.0   # below min_rpm
    assert em.step(1e-3, w9, 100.0, 0.0, 200.0, False) == 0.0                    # neutral / dyno
    assert em.step(1e-3, w9, 100.0, 0.0, 80.0, True) == 0.0                      # below 100 km/h
    assert em.step(1e-3, w9, 90.0, 0.0, 200.0, True) == 0.0                      # part throttle
    off = ElectricMachine(ElectricParams())
    assert off.step(1e-3, w9, 100.0, 0.0, 200.0, True) == 0.0


def test_energy_store_balance_and_limits():
    """Deploying 120 kW for 10 s takes 1.2 MJ / 0.95 from the 4 MJ store (31.6 % SOC);
    harvesting 120 kW for 5 s puts 0.6 MJ x 0.95 back; the store runs empty (torque falls
    to 0) and fills up (harvest stops) at its limits."""
    em = _machine()
    w = 10000 * math.pi / 30
    for _ in range(10000):
        em.step(1e-3, w, 100.0, 0.0, 250.0, True)
    assert em.deployed_j == pytest.approx(1.2e6, rel=1e-9)
    assert em.soc_pct == pytest.approx(100.0 - 1.2e6 / 0.95 / 4e6 * 100.0, rel=1e-9)
    e0 = em.energy_j
    for _ in range(5000):
        assert em.step(1e-3, w, 0.0, 50.0, 250.0, True) == pytest.approx(-120e3 / w)
    assert em.harvested_j == pytest.approx(0.6e6, rel=1e-9)
    assert em.energy_j - e0 == pytest.approx(0.6e6 * 0.95, rel=1e-9)
    em.reset(1.0)                                    # 40 kJ left: 0.32 s at 120 kW / 0.95
    n = 0
    while em.step(1e-3, w, 100.0, 0.0, 250.0, True) > 0.0:
        n += 1
    assert n == pytest.approx(316, abs=1) and em.energy_j == 0.0
    assert em.step(1e-3, w, 100.0, 0.0, 250.0, True) == 0.0
    em.reset(100.0)
    assert em.step(1e-3, w, 0.0, 50.0, 250.0, True) == 0.0     # full: no harvest
    assert em.soc_pct == 100.0


def test_race_car_params_carry_the_machine_switched_off():
    p = load_params("race_car").electric
    assert (p.max_power_kw, p.capacity_mj, p.enabled) == (120.0, 4.0, False)
    assert not load_params("road_car").electric.enabled


def test_enabling_the_uncoupled_machine_is_refused_not_ignored():
    """The machine is not on the composite's crank yet: a parameter set or a scenario
    that switches it on gets one line, not a run without it."""
    import pytest

    from plants.errors import PlantError

    with pytest.raises(PlantError, match="not coupled to the composite plant yet"):
        load_params("race_car", {"electric.enabled": 1})
