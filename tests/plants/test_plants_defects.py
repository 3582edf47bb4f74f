"""Issue 16's measured defects: each test failed on the plant before its fix.

The before/after figure of each is in its docstring (and the issue's closing note).
"""

import pytest

from plants import build_plant
from plants.analysis import ReferenceEcu, coast_down, run


def _one_dyno_step(overrides: dict, state: dict) -> object:
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0, **overrides})
    plant.set_driver_mode("dyno", speed_rpm=state.get("engine.speed_rpm", 4000.0))
    plant.set_state(state)
    plant.inputs.update({"driver.throttle_pct": 100.0, "ecu.fuel_mass_mg": 60.0,
                         "ecu.spark_advance_deg": 15.0, "ecu.wastegate_cmd_pct": 0.0})
    plant.step(1e-3, plant.inputs)
    return plant


def test_ve_poly_max_kpa_is_read():
    """engine.ve_poly_max_kpa clamps the VEP4 polynomial's range. Before: declared but never
    read (eta_v at 240 kPa identical with 200 and 260 kPa); after: the clamp follows it."""
    state = {"engine.speed_rpm": 4000.0, "engine.manifold_pressure_kpa": 240.0}
    default = _one_dyno_step({}, state).engine.vol_eff
    wider = _one_dyno_step({"engine.ve_poly_max_kpa": 260.0}, state).engine.vol_eff
    assert wider != pytest.approx(default, rel=1e-6)


def test_turbine_uses_the_exhaust_cp_parameter():
    """Turbine power P_t = W_t c_pe T_em eta_t (1 - Pi^-k) with c_pe = exhaust.cp_exh_j_per_kg_k.
    Before: a hard-coded 1200 J/(kg K) (P_t unchanged with 1100); after: P_t x 1100/1200."""
    state = {"engine.speed_rpm": 4000.0, "engine.manifold_pressure_kpa": 150.0,
             "turbo.speed_rpm": 120000.0, "exhaust.egt_c": 900.0}
    p1200 = _one_dyno_step({}, state).turbo.p_t_w
    p1100 = _one_dyno_step({"exhaust.cp_exh_j_per_kg_k": 1100.0}, state).turbo.p_t_w
    assert p1200 > 1000.0
    assert p1100 / p1200 == pytest.approx(1100.0 / 1200.0, rel=1e-9)


def test_road_car_coast_down_matches_the_documented_figure():
    """docs/plants/vehicle_aero.md: the road car coasts 120 -> 60 km/h in about 63 s
    (before the docs said ~40 s; plant and the analytic road-load integral give ~63 s)."""
    import re
    from pathlib import Path

    t, v = coast_down(build_plant("road_car"), from_kph=120, to_kph=60)
    assert t[-1] == pytest.approx(63.0, abs=2.0)
    doc = (Path(__file__).parents[2] / "docs" / "plants" / "vehicle_aero.md").read_text(encoding="utf-8")
    m = re.search(r"coast-down 120 -> 60 km/h in about (\d+) s", doc)
    assert m, "vehicle_aero.md states the road car's coast-down time"
    assert float(m.group(1)) == pytest.approx(t[-1], abs=3.0)


# A coast-down set in the EPA test car list's units (lbf, lbf/mph, lbf/mph^2), of the size
# published for mid-size sedans; the tests check the plant against the analytic road load.
EPA_ABC = (30.0, 0.30, 0.018)


def test_coastdown_abc_coefficients_give_the_road_load():
    """Road load A + B v + C v^2 (coast-down coefficients) as an alternative to C_rr/CdA.
    Before: no such parameters (unknown-parameter error; B could not be represented at
    all); after: the plant's road load and its coast-down 100 -> 50 km/h equal the
    analytic A/B/C figures (to 0.5 %)."""
    import math

    from plants.vehicle import coastdown_si, road_load_n

    a, b, c = coastdown_si(*EPA_ABC)
    assert a == pytest.approx(133.4, abs=0.1) and c == pytest.approx(0.4006, abs=1e-3)
    plant = build_plant("road_car", overrides={"vehicle.coastdown_a_n": a,
                                               "vehicle.coastdown_b_n_per_mps": b,
                                               "vehicle.coastdown_c_n_per_mps2": c})
    vp = plant.params.vehicle
    t, v = coast_down(plant, from_kph=100, to_kph=50)
    # analytic: t = integral m_eq dv / (A + B v + C v^2) from 50 to 100 km/h
    m_eq = vp.mass_kg + vp.wheel_inertia_kg_m2 / vp.wheel_radius_m ** 2
    n = 2000
    lo, hi = 50 / 3.6, 100 / 3.6
    h = (hi - lo) / n
    t_ref = sum(m_eq * h / (a + b * (lo + (i + 0.5) * h) + c * (lo + (i + 0.5) * h) ** 2)
                for i in range(n))
    assert t[-1] == pytest.approx(t_ref, rel=0.005)
    assert road_load_n(vp, 100 / 3.6, 1.2) == pytest.approx(a + b * 27.78 + c * 27.78 ** 2, rel=1e-3)
    assert math.isfinite(t_ref)
    # the plant's drag output is the C term; C_rr / CdA stay the default
    plant.set_state({"vehicle.speed_kph": 100.0, "engine.speed_rpm": 0.0})
    plant.step(1e-3, plant.inputs)
    assert plant.outputs["aero.drag_n"] == pytest.approx(c * (100 / 3.6) ** 2, rel=1e-3)
    default = build_plant("road_car").params.vehicle
    assert road_load_n(default, 100 / 3.6, 1.184) == pytest.approx(
        0.012 * 1500 * 9.81 + 0.5 * 1.184 * 0.65 * (100 / 3.6) ** 2)


def test_road_driver_shifts_by_load():
    """Shift schedule by throttle (road car: 2500 -> 6300 rpm up, 1300 -> 2200 rpm down).
    Before: upshifts only above 6300 rpm at any load: cruising at 100 km/h it stayed in 3rd
    at 3950 rpm (reference ECU; 2nd at 6213 rpm on the bench); after: 6th at ~2100 rpm,
    no shift hunting; at full throttle the schedule is unchanged (6300 rpm)."""
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
    plant.set_driver_mode("road", profile=[(0, 100), (60, 100)])
    rec = run(plant, 60.0, ReferenceEcu(), every=10, record=["vehicle.gear"])
    o = plant.outputs
    assert o["vehicle.speed_kph"] == pytest.approx(100, abs=2)
    assert o["vehicle.gear"] == 6
    assert o["engine.speed_rpm"] < 2500
    late = rec["vehicle.gear"][len(rec["vehicle.gear"]) // 2:]
    assert sum(a != b for a, b in zip(late, late[1:], strict=False)) == 0
    from plants.driver import Driver
    d = Driver(plant.params.driver, 6)
    d.gear = 2
    d.step(0.01, 200 / 3.6, 50 / 3.6, 6200.0, False)       # far too slow: full throttle
    assert d.throttle == 100.0 and d.gear == 2               # 6200 < 6300: holds the gear


def test_race_car_power_is_stated_honestly():
    """docs/plants/engine.md states the race engine's peak power at the calibrated 260 kPa.
    Before: the docs claimed ~554 kW (it needs ~340 kPa, never requested) beside the
    reference's 567 kW; the plant gives ~425 kW at 11,000 rpm. After: the docs give the
    plant's figure, which this test holds the plant to (5 %)."""
    import re
    from pathlib import Path

    from plants.analysis import dyno_point

    plant = build_plant("race_car", overrides={"sensors.noise_scale": 0.0})
    o = dyno_point(plant, 11000, throttle_pct=100,
                   ecu=ReferenceEcu(lambda_target=0.85, boost_target_kpa=260), seconds=6)
    doc = (Path(__file__).parents[2] / "docs" / "plants" / "engine.md").read_text(encoding="utf-8")
    m = re.search(r"a peak of about (\d+) kW at 11,000 rpm", doc)
    assert m, "engine.md states the race car's peak power"
    assert o["engine.power_kw"] == pytest.approx(float(m.group(1)), rel=0.05)
    assert "554 kW" not in doc.replace("About 554 kW would need", "")


def _part_load_wastegate_shut(rpm: float, throttle_pct: float, seconds: float) -> tuple:
    """Dyno part load with the reference ECU, whose boost loop keeps the wastegate shut
    below its 210 kPa target (a common part-load strategy)."""
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
    plant.set_driver_mode("dyno", speed_rpm=rpm)
    plant.inputs["driver.throttle_pct"] = throttle_pct
    rec = run(plant, seconds, ReferenceEcu(), every=10, record=["turbo.speed_rpm"])
    return plant, max(rec["turbo.speed_rpm"])


def test_recirculation_valve_caps_boost_at_closed_throttle_only():
    """The recirculation valve holds the pre-throttle pressure at p_im + 30 kPa at closed
    throttle only (docs/plants/turbo.md, params.py). Before: the cap acted at every throttle
    position, so at part load the compressor did no work (pressure ratio clamped at 1) and
    with the wastegate shut the turbo ran away: 5000 rpm / 30 % throttle, 30 s: max 307,600
    rpm (limit 195,000), boost 108.8 kPa, compressor 0.6 kW; 4000 rpm / 25 %: 188,200 rpm
    after 30 s (still rising). After: 133,000 rpm, the boost loop's 210 kPa, compressor 11.4
    kW; 4000 rpm / 25 %: 59,500 rpm, boost 119.7 kPa. With the turbine's effective area
    of the back-pressure fix (2.4e-4 m^2) 5000 rpm / 30 %: 143,000 rpm, 11.3 kW; 4000 rpm /
    25 %: 136,000 rpm, the boost loop's 210 kPa with the wastegate 24 % open."""
    plant, top = _part_load_wastegate_shut(5000, 30, 30.0)
    assert plant.params.turbo.overspeed_rpm > top > 100000.0
    assert plant.outputs["turbo.boost_pressure_kpa"] == pytest.approx(210.0, abs=5.0)
    assert plant.turbo.p_c_w > 5000.0
    plant, top = _part_load_wastegate_shut(4000, 25, 30.0)
    assert plant.params.turbo.overspeed_rpm > top
    # the throttle drops the pressure: boost well above the manifold at part load
    o = plant.outputs
    assert o["turbo.boost_pressure_kpa"] > o["engine.manifold_pressure_kpa"] + 30.0
    assert plant.turbo.pi_c > 1.1


def test_boost_sensor_reads_ambient_at_idle():
    """At idle (throttle ~4 %, the idle regulator's) the pre-throttle pressure is the
    compressor's, about ambient. Before: 48 kPa (manifold 18 kPa + the 30 kPa cap, below
    ambient); after: 101.5 kPa (ambient 101.3 kPa, sensor resolution 0.5 kPa). At closed
    throttle (dyno, 0 %) the valve still caps, but never below the compressor inlet."""
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
    plant.set_driver_mode("manual")
    plant.set_state({"engine.speed_rpm": 850.0, "engine.coolant_temp_c": 90.0})
    plant.inputs.update({"driver.gear": 0.0, "driver.throttle_pct": 0.0})
    run(plant, 5.0, ReferenceEcu())
    o = plant.outputs
    assert o["engine.manifold_pressure_kpa"] < 40.0
    assert o["sensor.boost_pressure_kpa"] == pytest.approx(101.3, abs=1.0)
    # throttle snapped shut from full load: the valve vents the boost volume to the
    # compressor inlet, down to about ambient (before: to p_im + 30 kPa, ~35 kPa)
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
    plant.set_driver_mode("dyno", speed_rpm=4000)
    plant.inputs["driver.throttle_pct"] = 100.0
    run(plant, 3.0, ReferenceEcu())
    assert plant.outputs["turbo.boost_pressure_kpa"] > 150.0
    plant.inputs["driver.throttle_pct"] = 0.0
    rec = run(plant, 1.0, ReferenceEcu(), every=10, record=["turbo.boost_pressure_kpa",
                                                           "engine.throttle_pct"])
    o = plant.outputs
    assert o["engine.throttle_pct"] < plant.params.turbo.blow_off_throttle_pct
    assert o["engine.manifold_pressure_kpa"] < 40.0
    assert o["turbo.boost_pressure_kpa"] == pytest.approx(101.3, abs=1.5)
    assert min(rec["turbo.boost_pressure_kpa"]) > 99.0


def _full_load(rpm: float, lambda_target: float = 0.8, **overrides) -> tuple:
    """Full load on the dyno with the reference ECU at 210 kPa boost and the calibration's
    full-load lambda (0.8 at 210 kPa)."""
    from plants.analysis import dyno_point

    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0, **overrides})
    o = dyno_point(plant, rpm, throttle_pct=100, ecu=ReferenceEcu(lambda_target=lambda_target),
                   seconds=6)
    return plant, o


def test_full_load_exhaust_back_pressure_is_above_boost():
    """Exhaust manifold over intake manifold pressure at full load (210 kPa): wastegated
    turbocharged SI engines of this size run about 1.2-1.3 at high load (docs/plants/turbo.md,
    'Exhaust back-pressure'). Before: 0.86 / 0.90 at 4500 / 5000 rpm (0.82 at 4000, 0.99 at
    6000: the turbine's effective area 6.5e-4 m^2 let the flow out almost unrestricted);
    after (A_t 2.4e-4 m^2): 1.21 / 1.28, rising with flow from 0.89 at 2000 rpm to 1.45 at
    6000 rpm as the turbine's energy balance at constant boost demands."""
    ratios = {}
    for rpm in (2000, 4000, 4500, 5000, 6000):
        plant, o = _full_load(rpm)
        if rpm >= 4000:
            assert o["turbo.boost_pressure_kpa"] == pytest.approx(210.0, abs=3.0)
        ratios[rpm] = o["turbo.exhaust_manifold_pressure_kpa"] / o["engine.manifold_pressure_kpa"]
    assert 1.2 <= ratios[4500] <= 1.3
    assert 1.2 <= ratios[5000] <= 1.3
    assert ratios[2000] < ratios[4000] < ratios[4500] < ratios[5000] < ratios[6000] < 1.5
    assert ratios[4000] > 1.1


def test_brake_torque_at_high_load_follows_the_engine_equations():
    """At 5000 rpm full load (p_em ~266 kPa, above boost) the plant's brake torque is the
    mean-value torque equation T_b = [eta_ign W_ig - V_d FMEP - V_d (p_em - p_im)] / (4 pi)
    evaluated from its own state (to 0.5 %), with the pumping loss of the back-pressure
    (p_em - p_im ~58 kPa: ~9 Nm) in it."""
    import math

    from plants.engine import friction_mep_pa

    plant, o = _full_load(5000)
    eng = plant.engine
    e = plant.params.engine
    mf = o["engine.fuel_flow_gps"] * 1e-3 / (5000 / 60 * 0.5 * e.n_cyl)   # kg per cylinder event
    w_ig = mf * e.q_hv_j_per_kg * eng.eta_ig * min(1.0, eng.lam) * e.n_cyl
    fmep = friction_mep_pa(5000, eng.bmep_pa, eng.stroke_m, e.bore_m, e.friction_xi_aux, e.friction_pi_bl)
    p_em, p_im = plant.turbo.p_em_pa, eng.p_im_pa
    t_b = (eng.eta_ign * w_ig - eng.vd_m3 * fmep - eng.vd_m3 * (p_em - p_im)) / (4 * math.pi)
    assert o["engine.torque_nm"] == pytest.approx(t_b, rel=0.005)
    assert eng.vd_m3 * (p_em - p_im) / (4 * math.pi) > 5.0


def test_measured_point_torque_with_the_wastegate_shut():
    """The measured 2.3 L point (references.md: 1550 rpm, p_im 100.8 kPa, lambda 1 ->
    169.1 Nm, 27.7 g/s) with the wastegate shut, as a part-load boost strategy leaves it
    (p_im is below any boost target there; the throttle holds the manifold pressure).
    Before: p_em 105 kPa, 180.0 Nm (+6.4 %), 30.3 g/s; after (A_t 2.4e-4 m^2): p_em 125 kPa,
    169.7 Nm (+0.3 %), air 29.2 g/s (+5 %)."""
    plant = build_plant("road_car", overrides={"engine.displacement_l": 2.3, "sensors.noise_scale": 0.0})
    ecu = ReferenceEcu(spark_margin_deg=0.0, boost_target_kpa=400.0)  # wastegate shut
    plant.set_driver_mode("dyno", speed_rpm=1550)
    u = plant.inputs
    thr, dt = 30.0, 1e-3
    for _ in range(10000):
        ecu(plant, dt)
        thr = min(max(thr + 4.0 * (100.8 - plant.outputs["engine.manifold_pressure_kpa"]) * dt, 0.0), 100.0)
        u["driver.throttle_pct"] = thr
        plant.step(dt, u)
    o = plant.outputs
    assert o["turbo.wastegate_pos_pct"] < 1e-6
    assert o["engine.manifold_pressure_kpa"] == pytest.approx(100.8, abs=1.0)
    assert o["turbo.exhaust_manifold_pressure_kpa"] > 115.0
    assert o["engine.torque_nm"] == pytest.approx(169.1, rel=0.03)
    assert o["engine.air_flow_gps"] == pytest.approx(27.7, rel=0.10)


def test_low_speed_full_load_torque():
    """Full load at 2000 rpm (reference ECU, 210 kPa target, lambda 0.80). 2.0 L turbocharged
    SI engines of this class make about 300-350 Nm (BMEP 19-22 bar) from about 2000 rpm
    (docs/plants/turbo.md). Before: 108.5 kPa of boost with the wastegate shut, 172.9 Nm,
    BMEP 10.9 bar (the turbine's effective area 6.5e-4 m^2 left the turbo at 40,000 rpm);
    after (A_t 2.4e-4 m^2): 210 kPa with the wastegate 13 % open, ~358 Nm, BMEP 22.5 bar;
    at 1500 rpm the wastegate is shut and the boost short of the target (~142 kPa)."""
    plant, o = _full_load(2000)
    assert o["turbo.boost_pressure_kpa"] == pytest.approx(210.0, abs=5.0)
    assert o["turbo.wastegate_pos_pct"] > 1.0
    assert 18e5 < plant.engine.bmep_pa < 24e5
    plant, o = _full_load(1500)
    assert o["turbo.wastegate_pos_pct"] < 1.0
    assert 120.0 < o["turbo.boost_pressure_kpa"] < 200.0
