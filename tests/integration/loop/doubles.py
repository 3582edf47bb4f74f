"""Test doubles for the core loop: a toy plant and toy controllers, named as doubles.

They honour the plant and controller contracts of docs/interfaces.md with the
least physics that still closes a loop: an engine speed that follows fuel.
"""

from __future__ import annotations


class DoublePlant:
    """First-order 'engine': speed rises with fuel, falls with load."""

    input_names = ("ecu.fuel_mass_mg", "ecu.spark_advance_deg", "ecu.fuel_cut")
    output_names = ("plant.speed_rpm", "plant.map_kpa", "plant.lambda", "plant.knock")

    def __init__(self, speed_rpm: float = 800.0) -> None:
        self.inputs = {"ecu.fuel_mass_mg": 0.0, "ecu.spark_advance_deg": 10.0,
                       "ecu.fuel_cut": 0.0}
        self.outputs = {"plant.speed_rpm": speed_rpm, "plant.map_kpa": 40.0,
                        "plant.lambda": 1.0, "plant.knock": 0.1}

    def step(self, dt: float, inputs: dict) -> None:
        out = self.outputs
        fuel = 0.0 if inputs["ecu.fuel_cut"] >= 0.5 else inputs["ecu.fuel_mass_mg"]
        target = 200.0 * fuel
        out["plant.speed_rpm"] += (target - out["plant.speed_rpm"]) * dt / 0.2
        out["plant.map_kpa"] = 30.0 + 2.0 * fuel
        out["plant.lambda"] = 1.0 + 0.001 * (out["plant.speed_rpm"] % 7)


class DoubleGovernor:
    """1 ms task double: a proportional speed governor, fuel cut above 4000 rpm."""

    period = 0.001
    inputs = ("EngineSpeed",)
    outputs = ("FuelMass", "FuelCut", "SparkAdvance")

    def __init__(self, calibration, target_rpm: float = 3000.0, gain: float = 0.01) -> None:
        self.target = target_rpm
        self.gain = gain
        self.fuel = 10.0

    def step(self, signals, now):
        error = self.target - signals["EngineSpeed"]
        self.fuel = min(max(self.fuel + self.gain * error * 0.05, 0.0), 200.0)
        return {"FuelMass": round(self.fuel, 1),
                "FuelCut": 1.0 if signals["EngineSpeed"] > 4000 else 0.0,
                "SparkAdvance": 15.0}


class DoubleStatus:
    """10 ms task double: reports LIMP when the sensor message is not OK."""

    period = 0.01
    inputs = ("PlantFast_RxStatus",)
    outputs = ("EngineMode",)

    def __init__(self, calibration) -> None:
        pass

    def step(self, signals, now):
        return {"EngineMode": 0.0 if signals["PlantFast_RxStatus"] == 0 else 2.0}
