"""Physics plants of the n.Tec HIL bench: pure physics, no CAN, no bench, no controllers.

    from plants import build_plant, PARAM_SETS
    plant = build_plant("road_car", overrides={"engine.displacement_l": 2.2}, seed=0)
    plant.step(1e-3, plant.inputs)

See docs/plants/README.md for the models and how to drive them from Python.
"""

from __future__ import annotations

from pathlib import Path

from .composite import INPUT_NAMES, OUTPUT_NAMES, CompositePlant
from .errors import PlantError
from .faults import PART_FAULTS, SENSOR_FAULTS, FaultMode, FaultParam
from .params import PlantParams, load_params, param_names, param_sets

PARAM_SETS = param_sets()


def build_plant(params: str | Path | PlantParams | None = "road_car",
                overrides: dict | None = None, seed: int = 0) -> CompositePlant:
    """A composite plant from a parameter-set name (None: road_car), a YAML path or a
    PlantParams. Also the plant factory of entry point ``composite`` (group
    ``ntec_hil.plants``, docs/plants/contract.md)."""
    if params is None:
        params = "road_car"
    if isinstance(params, PlantParams):
        p = params
        if overrides:
            from .params import set_param, validate
            for k, v in overrides.items():
                set_param(p, k, v)
            validate(p)
    else:
        p = load_params(params, overrides)
    return CompositePlant(p, seed=seed)


__all__ = ["build_plant", "PARAM_SETS", "CompositePlant", "PlantError", "PlantParams",
           "load_params", "param_names", "INPUT_NAMES", "OUTPUT_NAMES", "FaultMode",
           "FaultParam", "PART_FAULTS", "SENSOR_FAULTS"]
