"""The contract of docs/interfaces.md, the sensor ranges against the DBC, the part faults."""

import re
from pathlib import Path

import pytest

from plants import PARAM_SETS, build_plant
from plants.analysis import ReferenceEcu, coast_down, dyno_point, run
from plants.params import PARAMS_DIR, load_params
from plants.sensors import SPECS

DBC = Path(__file__).resolve().parents[2] / "dbc" / "ntec5.dbc"
RIG = Path(__file__).resolve().parents[2] / "rigs" / "sil.yaml"

REQUIRED_OUTPUTS = """sensor.engine_speed_rpm sensor.manifold_pressure_kpa sensor.boost_pressure_kpa sensor.lambda
sensor.knock_intensity sensor.gear sensor.throttle_pct sensor.vehicle_speed_kph sensor.brake_pressure_bar
sensor.accel_long_g sensor.accel_lat_g sensor.coolant_temp_c sensor.oil_temp_c sensor.intake_air_temp_c
sensor.egt_c sensor.turbo_speed_rpm driver.drs_request aero.drs_open health.turbo_pct health.injector_pct
health.knock_sensor_pct health.cooling_pct engine.speed_rpm engine.manifold_pressure_kpa engine.torque_nm
engine.air_flow_gps engine.lambda engine.knock_intensity engine.knock_limited_spark_deg engine.coolant_temp_c
engine.oil_temp_c engine.power_kw intake.air_temp_c turbo.boost_pressure_kpa turbo.speed_rpm
turbo.wastegate_pos_pct exhaust.egt_c exhaust.catalyst_temp_c vehicle.speed_kph vehicle.accel_long_g
vehicle.accel_lat_g vehicle.gear vehicle.front_axle_load_n vehicle.rear_axle_load_n vehicle.distance_m
aero.drag_n aero.downforce_n brake.pressure_bar driver.throttle_pct driver.brake_pct track.segment""".split()
REQUIRED_INPUTS = """ecu.fuel_mass_mg ecu.spark_advance_deg ecu.fuel_cut ecu.spark_cut ecu.wastegate_cmd_pct ecu.drs_cmd
driver.throttle_pct driver.brake_pct driver.gear driver.drs_request dyno.speed_rpm ambient.temp_c
ambient.pressure_kpa""".split()


def dbc_ranges():
    out = {}
    for m in re.finditer(r"SG_ (\w+) : \S+ \(([-\d.e]+),([-\d.e]+)\) \[([-\d.e]+)\|([-\d.e]+)\]", DBC.read_text()):
        out[m.group(1)] = (float(m.group(4)), float(m.group(5)))
    return out


def test_param_sets_and_contract(road):
    assert set(PARAM_SETS) >= {"road_car", "race_car"}
    assert set(REQUIRED_OUTPUTS) <= set(road.output_names)
    assert set(REQUIRED_INPUTS) <= set(road.input_names)
    assert set(road.inputs) == set(road.input_names)
    assert 50 <= len(road.output_names) <= 75
    out = road.outputs
    road.step(1e-3, road.inputs)
    assert road.outputs is out and tuple(out) == road.output_names


def test_overrides_and_yaml_path(tmp_path):
    p = build_plant("road_car", overrides={"engine.displacement_l": 2.2}, seed=0)
    assert p.params.engine.displacement_l == 2.2
    f = tmp_path / "mine.yaml"
    f.write_text((PARAMS_DIR / "race_car.yaml").read_text())
    assert build_plant(str(f)).params.vehicle.mass_kg == 733


@pytest.mark.parametrize("call, hint", [
    (lambda: build_plant("road_car", overrides={"engine.displacment_l": 2}), "engine.displacement_l"),
    (lambda: build_plant("road_cra"), "road_car"),
    (lambda: build_plant("road_car").inject_fault("sensor.lamda", "stuck"), "sensor.lambda"),
    (lambda: build_plant("road_car").inject_fault("sensor.lambda", "stcuk"), "stuck"),
    (lambda: build_plant("road_car").inject_fault("turbo.wastegate", "stuck_close"), "stuck_closed"),
    (lambda: build_plant("road_car").inject_fault("sensor.lambda", "offset", valu=0.1), "value"),
    (lambda: build_plant("road_car").set_state({"engine.speed_rmp": 1}), "engine.speed_rpm"),
    (lambda: build_plant("road_car").set_driver_mode("dyn"), "dyno"),
    (lambda: build_plant("road_car").set_inputs(**{"driver.throtle_pct": 3}), "driver.throttle_pct"),
    (lambda: build_plant("road_car").step(1e-3, {"driver.throtle_pct": 3}), "driver.throttle_pct"),
])
def test_unknown_names_suggest_the_closest(call, hint):
    with pytest.raises(ValueError, match=re.escape(hint)):
        call()


def test_sensor_ranges_fit_the_dbc():
    rig = RIG.read_text()
    ranges = dbc_ranges()
    publish = dict(re.findall(r"^\s{4}(\w+): ([\w.]+)$", rig, re.M))
    by_output = {v: k for k, v in publish.items()}
    for s in SPECS:
        sig = by_output[s.name]
        lo, hi = ranges[sig]
        assert (s.dbc_lo, s.dbc_hi) == (lo, hi), s.name
        assert lo <= s.lo < s.hi <= hi, s.name


def test_seeded_runs_are_reproducible():
    a, b = build_plant("road_car", seed=3), build_plant("road_car", seed=3)
    for p in (a, b):
        p.set_driver_mode("track")
        run(p, 2.0, ReferenceEcu())
    assert a.outputs == b.outputs


def test_knock_background_without_knock():
    plant = build_plant("road_car")
    plant.set_driver_mode("dyno", speed_rpm=3000)
    plant.inputs["driver.throttle_pct"] = 20
    rec = run(plant, 2.0, ReferenceEcu(spark_margin_deg=6), every=7, record=["sensor.knock_intensity"])
    vals = rec["sensor.knock_intensity"][20:]
    mean = sum(vals) / len(vals)
    assert 0.1 <= mean <= 0.3 and max(vals) < 1.0


def test_every_sensor_fault_mode():
    plant = build_plant("road_car")
    plant.set_driver_mode("dyno", speed_rpm=3000)
    plant.inputs["driver.throttle_pct"] = 20
    ecu = ReferenceEcu()
    run(plant, 0.5, ecu)
    for s in SPECS:
        name = s.name
        modes = plant.fault_modes()[name]
        assert set(modes) == {"stuck", "offset", "drift", "noise", "open", "short", "intermittent"}
        plant.inject_fault(name, "open")
        run(plant, 0.02, ecu)
        assert plant.outputs[name] == s.dbc_hi
        plant.inject_fault(name, "short")
        run(plant, 0.02, ecu)
        assert plant.outputs[name] == s.dbc_lo
        plant.clear_fault(name)
        run(plant, 0.02, ecu)
        assert s.lo <= plant.outputs[name] <= s.hi
        plant.inject_fault(name, "stuck", value=s.lo)
        run(plant, 0.05, ecu)
        assert plant.outputs[name] == s.lo
        plant.clear_fault(name)
        span = s.hi - s.lo
        plant.inject_fault(name, "offset", value=span * 0.5)
        run(plant, 0.02, ecu)
        assert plant.outputs[name] >= s.lo
        plant.inject_fault(name, "drift", rate_per_s=span)
        run(plant, 0.05, ecu)
        assert s.lo <= plant.outputs[name] <= s.hi
        plant.inject_fault(name, "noise", std=span * 0.1)
        run(plant, 0.05, ecu)
        assert s.lo <= plant.outputs[name] <= s.hi
        plant.inject_fault(name, "intermittent", period_s=0.1, duty=0.5)
        seen = []
        for _ in range(20):
            run(plant, 0.01, ecu)
            seen.append(plant.outputs[name])
        assert s.dbc_hi in seen, name
        if min(seen) < s.dbc_hi:                   # (a healthy reading can equal the maximum)
            assert seen.count(s.dbc_hi) < len(seen), name
        plant.clear_fault(name)
        run(plant, 0.02, ecu)
        from plant_checks import assert_physical
        assert_physical(plant.outputs)


def test_sensor_offset_and_drift_on_the_lambda_sensor():
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
    dyno_point(plant, 3000, throttle_pct=25, seconds=2)
    base = plant.outputs["sensor.lambda"]
    plant.inject_fault("lambda", "offset", value=0.1)          # name without the prefix works too
    run(plant, 0.01, ReferenceEcu())
    assert plant.outputs["sensor.lambda"] == pytest.approx(base + 0.1, abs=0.01)
    plant.inject_fault("sensor.lambda", "drift", rate_per_s=0.1)
    run(plant, 1.0, ReferenceEcu())
    assert plant.outputs["sensor.lambda"] == pytest.approx(base + 0.1, abs=0.01)


def test_injectors_degraded_makes_the_engine_lean():
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
    dyno_point(plant, 3000, throttle_pct=25, seconds=1)
    plant.inject_fault("injectors", "degraded", factor=0.7)
    run(plant, 1.0, ReferenceEcu())
    assert plant.outputs["engine.lambda"] == pytest.approx(1 / 0.7, rel=0.01)
    assert plant.outputs["health.injector_pct"] == 70
    plant.clear_fault("injectors")
    run(plant, 0.2, ReferenceEcu())
    assert plant.outputs["health.injector_pct"] == 100


def test_part_degradation_ramps():
    plant = build_plant("road_car")
    plant.inject_fault("turbo", "efficiency_degraded", factor=0.6, ramp_s=1.0)
    run(plant, 0.5)
    assert 70 <= plant.outputs["health.turbo_pct"] <= 90
    run(plant, 0.6)
    assert plant.outputs["health.turbo_pct"] == 60


def test_turbo_efficiency_degraded_lowers_boost():
    """A degraded turbo (eta_c and eta_t x 0.7) gives less boost where the wastegate is
    already shut (2000 rpm: 210 -> 149 kPa), and where the turbine has margin the boost
    loop holds the target by closing the wastegate further (4000 rpm: 48 -> 14 % open)."""
    def point(rpm, factor):
        plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
        if factor < 1:
            plant.inject_fault("turbo", "efficiency_degraded", factor=factor)
        return dyno_point(plant, rpm, throttle_pct=100, seconds=8)
    assert point(2000, 0.7)["turbo.boost_pressure_kpa"] < point(2000, 1.0)["turbo.boost_pressure_kpa"] - 20
    healthy, degraded = point(4000, 1.0), point(4000, 0.7)
    assert degraded["turbo.boost_pressure_kpa"] == pytest.approx(healthy["turbo.boost_pressure_kpa"], abs=3)
    assert degraded["turbo.wastegate_pos_pct"] < healthy["turbo.wastegate_pos_pct"] - 10


def test_knock_sensor_dead():
    plant = build_plant("road_car")
    plant.inject_fault("knock_sensor", "dead")
    o = dyno_point(plant, 5000, throttle_pct=100, ecu=ReferenceEcu(lambda_target=0.85, spark_offset_deg=0), seconds=5)
    assert o["engine.knock_intensity"] > 1.0
    assert o["sensor.knock_intensity"] == 0.0 and o["health.knock_sensor_pct"] == 0


def test_cooling_degraded_overheats_under_sustained_load():
    def coolant(factor):
        plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
        if factor < 1:
            plant.inject_fault("cooling", "degraded", factor=factor)
        dyno_point(plant, 5000, throttle_pct=100, ecu=ReferenceEcu(lambda_target=0.85), seconds=90)
        return plant.outputs["engine.coolant_temp_c"], plant.outputs["health.cooling_pct"]
    ok, h_ok = coolant(1.0)
    bad, h_bad = coolant(0.3)
    assert ok < 108 and h_ok == 100
    assert bad > 115 and h_bad == 30
    assert bad < 200


def test_coolant_warms_from_cold_at_load():
    plant = build_plant("road_car", overrides={"sensors.noise_scale": 0.0})
    plant.set_state({"engine.coolant_temp_c": 20, "engine.speed_rpm": 800})
    dyno_point(plant, 3500, throttle_pct=60, seconds=120)
    assert plant.outputs["engine.coolant_temp_c"] > 80
    assert plant.outputs["exhaust.catalyst_temp_c"] > 300


def test_coast_down_and_road_mode():
    plant = build_plant("road_car")
    t, v = coast_down(plant, 120, 60)
    assert 15 < t[-1] < 90 and all(a >= b for a, b in zip(v, v[1:], strict=False))
    plant = build_plant("road_car")
    plant.set_driver_mode("road", profile=[(0, 0), (10, 60), (20, 60)])
    run(plant, 20, ReferenceEcu())
    assert plant.outputs["vehicle.speed_kph"] == pytest.approx(60, abs=5)


def test_params_load_every_set():
    for name in PARAM_SETS:
        load_params(name)
