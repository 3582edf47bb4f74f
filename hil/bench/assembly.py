"""The one place a loop is wired: DBC, codec, plant, nodes and trace on given buses.

Every bench (SIL, wall clock), the ECU emulator (``hil ecu``) and back-to-back replay
build their nodes through :func:`assemble`. What differs between them is only what they
pass in: the clock (simulated or wall), which bus each node is on (one simulated bus
per node, one real bus shared, a replay feeder) and which nodes run here.

The nodes are built in :data:`hil.nodes.NODES` order (plant, ECU, operator): on the
simulated bus the connection order decides ties, so it is part of bit-reproducibility.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import can
from cantools.database.can import Database

from hil.config.registry import resolve
from hil.config.rig import RigConfig, check_signal_map
from hil.config.yamlio import error_at
from hil.errors import ConfigError
from hil.nodes import ECU, NODES, PLANT
from hil.nodes.ecu import EcuRuntime
from hil.nodes.ecu_config import EcuConfig, load_calibration, load_ecu_config
from hil.nodes.operator import BenchNode
from hil.nodes.plant import PlantNode
from hil.trace import Trace
from hil.wire.codec import Codec
from hil.wire.dbc import load_dbc
from hil.wire.flags import FrameObserver

#: The prefix of a scenario's ``params:`` that sets a parameter of the rig's FMU.
FMU_PARAM_PREFIX = "fmu."


def build_plant(name: str, overrides: Mapping[str, Any] | None = None, seed: int = 0,
                rig: RigConfig | None = None) -> Any:
    """The plant named by a rig or a scenario, through the plants package.

    With a ``rig``: its ``plant_class:`` (a factory by entry point or ``module:Name``,
    checked against the plant contract, plants/contract.py) instead of the composite
    plant, and its ``fmu:`` as the whole plant or as a part of it; ``fmu.<name>``
    overrides set FMU parameters. Every error is one ConfigError line at the rig key it
    comes from (docs/plants/contract.md, docs/plants/fmu.md).
    """
    overrides = dict(overrides or {})
    if rig is None or (rig.plant_class is None and rig.fmu is None):
        build = resolve("plants:build_plant", kind="plants")
        try:
            return build(name, overrides=overrides, seed=seed)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    fmu_params = {k[len(FMU_PARAM_PREFIX):]: v for k, v in overrides.items()
                  if rig.fmu is not None and k.startswith(FMU_PARAM_PREFIX)}
    overrides = {k: v for k, v in overrides.items()
                 if rig.fmu is None or not k.startswith(FMU_PARAM_PREFIX)}
    if rig.fmu is not None and rig.fmu.replaces is None:
        if overrides:
            raise ConfigError(f"an FMU plant takes only {FMU_PARAM_PREFIX}<parameter> "
                              f"params, not {sorted(overrides)[0]!r}")
        return _fmu_plant(rig, None, fmu_params)
    if rig.plant_class is not None:
        plant = _plant_from_class(rig, name, overrides, seed)
    else:
        build = resolve("plants:build_plant", kind="plants")
        try:
            plant = build(name or "road_car", overrides=overrides, seed=seed)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if rig.fmu is not None:
        _fmu_plant(rig, plant, fmu_params)
    return plant


def _plant_from_class(rig: RigConfig, name: str, overrides: dict[str, Any], seed: int) -> Any:
    from plants.contract import check_plant

    assert rig.plant_class is not None
    try:
        factory = resolve(rig.plant_class, kind="plants")
    except ConfigError as exc:
        raise rig.error("plant_class", f"plant_class: {exc.message}") from None
    if not callable(factory):
        raise rig.error("plant_class", f"plant_class: {rig.plant_class!r} is not a class or "
                        "a function")
    try:
        plant = factory(params=name or None, overrides=overrides, seed=seed,
                        **rig.plant_options)
    except (TypeError, ValueError) as exc:   # a wrong option, parameter or set
        message = " ".join(str(exc).split())
        raise rig.error("plant_class", f"plant_class {rig.plant_class}: {message}") from None
    reason = check_plant(plant)
    if reason is not None:
        raise rig.error("plant_class", f"plant_class {rig.plant_class}: {reason} "
                        "(docs/plants/contract.md)")
    return plant


def _fmu_plant(rig: RigConfig, plant: Any, parameters: Mapping[str, Any]) -> Any:
    """The rig's FMU: attached to ``plant`` as the part it replaces, or (``plant`` None)
    the whole plant."""
    from plants.fmu import FmuError, FmuPart, FmuPlant, Link

    spec = rig.fmu
    assert spec is not None
    inputs = [Link(lk.variable, lk.quantity, lk.unit) for lk in spec.inputs]
    outputs = [Link(lk.variable, lk.quantity, lk.unit) for lk in spec.outputs]
    params = {**spec.parameters, **parameters}
    try:
        if plant is None:
            return FmuPlant(spec.path, inputs=inputs, outputs=outputs, parameters=params)
        part = FmuPart(spec.path, slot=spec.replaces or "", inputs=inputs, outputs=outputs,
                       parameters=params)
        return part.attach(plant)
    except FmuError as exc:
        ref = exc.ref
        if ref and ref[0] == "parameters" and len(ref) > 1 and ref[1] in parameters:
            # set by a scenario's params: fmu.<name>, not by the rig
            raise ConfigError(f"params {FMU_PARAM_PREFIX}{ref[1]}: {exc}") from None
        raise error_at(spec.loc_of(ref), f"fmu: {exc}") from None


def load_contract(rig: RigConfig, *, out_of_range: str | None = None) -> tuple[Database, Codec]:
    """The rig's DBC and its compiled codec."""
    db = load_dbc(rig.dbc)
    mode = out_of_range or rig.out_of_range
    if mode not in ("error", "saturate"):  # the rig loader checked it; a caller may not have
        raise ValueError(f"out_of_range must be 'error' or 'saturate', not {mode!r}")
    return db, Codec(db, out_of_range=cast(Literal["error", "saturate"], mode))


def trace_recorder(trace: Trace, nodes: tuple[str, ...] = NODES) -> FrameObserver:
    """A frame observer that records every frame into ``trace``."""
    index = {name: i for i, name in enumerate(nodes)}
    add_frame = trace.add_frame

    def record(t_end_ns: int, t_start_ns: int, arbitration_id: int, data: bytes, sender: str,
               flags: int) -> None:
        add_frame(t_end_ns, t_start_ns, arbitration_id, data, index.get(sender, 255), flags)

    return record


@dataclass
class Loop:
    """The wired loop: what a bench is made of. Nodes not built here are None."""

    rig: RigConfig
    db: Database
    codec: Codec
    env: Any
    trace: Trace | None
    plant: Any = None
    plant_node: PlantNode | None = None
    ecu: EcuRuntime | None = None
    ecu_config: EcuConfig | None = None
    calibration: Any = None
    operator: BenchNode | None = None


def assemble(rig: RigConfig, env: Any, bus_for: Callable[[str], can.BusABC], *,
             nodes: Collection[str] = NODES, db: Database | None = None,
             codec: Codec | None = None, plant: Any = None, plant_params: str | None = None,
             overrides: Mapping[str, Any] | None = None, seed: int = 0,
             calibration: str | Path | None = None,
             controller_options: Mapping[str, Any] | None = None,
             trace: bool = True, spool_dir: str | Path | None = None,
             observe: Callable[[FrameObserver], None] | None = None) -> Loop:
    """Wire the ``nodes`` of ``rig`` (of PLANT, ECU, BENCH) on ``bus_for(node)``.

    ``observe(fn)`` registers a frame observer on the network; with ``trace`` the loop's
    trace is recorded through it. Configuration errors (signal map, ecu.yaml,
    calibration) are raised before any bus is asked for.
    """
    unknown = set(nodes) - set(NODES)
    if unknown:
        raise ValueError(f"unknown nodes {sorted(unknown)} (known: {', '.join(NODES)})")
    if db is None or codec is None:
        db, codec = load_contract(rig)
    loop = Loop(rig, db, codec, env, trace=None)
    if PLANT in nodes:
        loop.plant = plant if plant is not None else build_plant(
            plant_params or rig.plant, overrides, seed, rig=rig)
        check_signal_map(rig, db, tuple(loop.plant.output_names), tuple(loop.plant.input_names))
    if ECU in nodes:
        if rig.ecu_config is None:
            raise ConfigError(f"rig {rig.name}: running the ECU here needs 'ecu_config' (the "
                              "controllers to run)", file=str(rig.path))
        loop.ecu_config = load_ecu_config(rig.ecu_config, db)
        loop.calibration = load_calibration(
            loop.ecu_config, calibration if calibration is not None else rig.calibration)
    if trace:
        quantities = tuple(loop.plant.output_names) if loop.plant is not None else ()
        loop.trace = Trace(db, nodes=NODES, quantities=quantities, spool_dir=spool_dir)
        if observe is not None:
            observe(trace_recorder(loop.trace))
    for node in NODES:
        if node not in nodes:
            continue
        if node == PLANT:
            loop.plant_node = PlantNode(env, bus_for(node), loop.plant, db, codec,
                                        publish=rig.publish, apply=rig.apply,
                                        step_ns=rig.step_ns, trace=loop.trace)
        elif node == ECU:
            assert loop.ecu_config is not None
            loop.ecu = EcuRuntime(env, bus_for(node), db, codec, loop.ecu_config,
                                  calibration=loop.calibration, options=controller_options)
        else:
            loop.operator = BenchNode(env, bus_for(node), db, codec)
    return loop
