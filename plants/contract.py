"""The plant contract: what the bench needs from a plant (docs/plants/contract.md).

The bench builds a plant through a factory (a class or a function) named by a rig's
``plant_class:`` (an entry point in group ``ntec_hil.plants``, or ``module:Name``)::

    plant = factory(params=<str or None>, overrides={name: value}, seed=<int>, **plant_options)

and then only uses the members listed in :data:`REQUIRED` and :data:`OPTIONAL`.
:func:`check_plant` checks an object against them and returns a one-line reason for the
first member that is missing or of the wrong kind; it reads attributes and never steps
the plant. The composite plant (:class:`plants.CompositePlant`) and the FMU plant
(:class:`plants.fmu.FmuPlant`) satisfy the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from .faults import FaultMode

#: Members every plant has: name -> what it is (the wording of the error message).
REQUIRED = {
    "input_names": "a tuple of input quantity names",
    "output_names": "a tuple of output quantity names",
    "inputs": "a dict of every input name -> float (the bench writes into it)",
    "outputs": "a dict of every output name -> float, in output_names order",
    "step": "a method step(dt, inputs) -> outputs",
    "fault_modes": "a method fault_modes() -> {target: {mode: FaultMode}}",
    "inject_fault": "a method inject_fault(target, mode, **params)",
    "clear_fault": "a method clear_fault(target)",
}
#: Members the bench uses when a scenario asks for them (mode:, initial: of non-inputs,
#: clear: all) or when they exist (param_names: checks a scenario's params: at load).
OPTIONAL = {
    "set_driver_mode": "a method set_driver_mode(mode, **config)",
    "set_state": "a method set_state(**initial_conditions)",
    "active_faults": "a method active_faults() -> {target: mode}",
    "param_names": "a tuple of overridable parameter names, or a method returning one",
}
_METHODS = ("step", "fault_modes", "inject_fault", "clear_fault", "set_driver_mode",
            "set_state", "active_faults")


@runtime_checkable
class Plant(Protocol):
    """The members the bench uses; see docs/plants/contract.md for their meaning."""

    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    inputs: dict[str, float]
    outputs: dict[str, float]

    def step(self, dt: float, inputs: dict[str, float] | None = None) -> dict[str, float]: ...

    def fault_modes(self) -> Mapping[str, Mapping[str, FaultMode]]: ...

    def inject_fault(self, target: str, mode: str, **params: float) -> None: ...

    def clear_fault(self, target: str) -> None: ...


def check_plant(plant: Any) -> str | None:
    """None when ``plant`` meets the contract, else the first thing wrong, in one line."""
    kind = type(plant).__name__
    for name, what in REQUIRED.items():
        if not hasattr(plant, name):
            return f"{kind} has no {name!r}: a plant needs {what}"
    for name in _METHODS:
        if hasattr(plant, name) and not callable(getattr(plant, name)):
            return f"{kind}.{name} is not callable: a plant needs {REQUIRED.get(name) or OPTIONAL[name]}"
    for name in ("input_names", "output_names"):
        names = getattr(plant, name)
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            return f"{kind}.{name} must be a sequence of quantity names"
    inputs, outputs = plant.inputs, plant.outputs
    if not isinstance(inputs, dict) or not isinstance(outputs, dict):
        return f"{kind}.inputs and .outputs must be dicts"
    missing = [n for n in plant.input_names if n not in inputs]
    if missing:
        return f"{kind}.inputs lacks input {missing[0]!r} of input_names"
    if list(outputs) != list(plant.output_names):
        return (f"{kind}.outputs must hold exactly output_names, in that order (the trace "
                "samples outputs.values())")
    modes = plant.fault_modes()
    if not isinstance(modes, Mapping) or not all(isinstance(m, Mapping) for m in modes.values()):
        return f"{kind}.fault_modes() must return {{target: {{mode: FaultMode}}}}"
    return None
