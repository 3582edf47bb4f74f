"""Framework overhead: the full SIL stack vs a bare loop doing the same work by hand.

    .venv/bin/python benchmarks/bench_overhead.py [--seconds 10] [--repeat 3]

The bare loop calls the same plant steps, the same controller steps (the ECU's tasks, at
their rates) and the same DBC encode / decode (the bench's compiled codec; with E2E
counter + CRC, as the frames on the wire carry them) directly: no bus model, no clock
(simpy), no trace, no task timing, no reception status bookkeeping. Frames go straight
from the encoder of one side to the decoder of the other (PlantFast -> ECU fast task ->
EcuFast -> plant every 1 ms, PlantSlow / EcuStatus every 10 ms, PlantTemps /
PlantHealth / EcuDiag / BenchCmd every 100 ms).

Rows, per workload (scenarios/vehicle/full_throttle_pull.yaml, race_car_lap.yaml), in
us of wall time per simulated ms, best of --repeat, measured alternately in one run on
one core:
  plant only      plant.step alone
  bare, codec     + controllers + encode/decode (no E2E)
  bare, E2E       + E2E protect/check: the reference of the ratio
  full, trace off SilBench.run_for, trace off
  full, trace on  SilBench.run_for, trace on (what `hil run` does)
Target (issue 7): full (trace on) / bare (E2E) <= 1.5.

Then, for the pull, where the full stack's time goes: one run with plant.step, every
controller step, every encoder (payload + E2E) and every decoder (E2E check + decode)
wrapped in perf_counter_ns (the wrappers add ~0.1 us per call, so the parts are upper
bounds); the rest is the framework (bus model, clock, ECU runtime, plant node, trace).
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

from _workloads import (
    build_bench,
    load_workload,
    machine_line,
    pin_one_core,
    seconds_per_simulated_second,
)


def _bare_parts(scenario: Any, e2e: bool) -> dict[str, Any]:
    from hil.wire.dbc import cycle_time_ns, e2e_data_id
    from hil.wire.e2e import E2ERx, E2ETx

    bench = build_bench(scenario, trace=False)   # for its pieces only; never started
    db, codec, rig = bench.db, bench.codec, bench.rig
    step_ns = rig.step_ns
    publish = {lk.signal: lk for lk in rig.publish}
    apply = {lk.signal: lk for lk in rig.apply}

    def coder(message: Any) -> tuple[Any, Any]:
        mc = codec.message(message.name)
        data_id = e2e_data_id(message)
        if e2e and data_id is not None:
            return E2ETx(mc, data_id).protect, E2ERx(data_id).check
        return mc.encode, None

    plant_msgs, ecu_msgs, bench_msgs = [], {}, []
    for message in db.messages:
        mc = codec.message(message.name)
        encode, check = coder(message)
        cycle = (cycle_time_ns(message) or 100_000_000) // step_ns
        values = {s.name: bench.plant_node._pubs[0].values.get(s.name, 0.0)
                  for s in message.signals}
        if "PLANT" in message.senders:
            links = [(lk.signal, lk.quantity, lk.scale, lk.offset)
                     for s in message.signals if (lk := publish.get(s.name))]
            values = dict(next(p.values for p in bench.plant_node._pubs
                               if p.name == message.name))
            plant_msgs.append((message.name, cycle, links, values, encode, check,
                               mc.decode_into))
        elif "ECU" in message.senders:
            links = [(lk.signal, lk.quantity, lk.scale, lk.offset)
                     for s in message.signals if (lk := apply.get(s.name))]
            ecu_msgs[message.name] = (cycle, links, {}, encode, check, mc.decode_into)
        else:
            # Every signal of the bench's messages (BenchCmd, BenchSession), the operator's
            # commands where it has them: E2E counter and CRC fields are the protector's.
            values = {s.name: bench.operator.commands.get(s.name, 0.0) for s in message.signals}
            bench_msgs.append((cycle, encode, check, mc.decode_into, values))
    tasks = [(t.spec, t.controllers) for t in bench.ecu.tasks]
    fast = next(c for s, c in tasks if s.trigger)
    periodic = [(s.period_ns // step_ns, c) for s, c in tasks if not s.trigger]
    ecu_fast = ecu_msgs.pop("EcuFast")
    return {"bench": bench, "plant": bench.plant, "signals": bench.ecu.signals, "plant_msgs": plant_msgs,
            "ecu_fast": ecu_fast, "ecu_cyclic": list(ecu_msgs.values()), "fast": fast,
            "periodic": periodic, "bench_msgs": bench_msgs,
            "step_ns": step_ns}


def bare_loop(scenario: Any, seconds: float, *, e2e: bool = True,
              plant_only: bool = False) -> float:
    """Wall seconds per simulated second of the hand-written loop."""
    p = _bare_parts(scenario, e2e)
    plant = p["plant"]
    inputs, outputs = plant.inputs, plant.outputs
    signals = p["signals"]
    plant_msgs, fast, periodic = p["plant_msgs"], p["fast"], p["periodic"]
    ecu_fast, ecu_cyclic, bench_msgs = p["ecu_fast"], p["ecu_cyclic"], p["bench_msgs"]
    dt = p["step_ns"] / 1e9
    steps = round(seconds / dt)
    step = plant.step

    def apply(entry: tuple, data: bytes) -> None:
        _cycle, links, values, _encode, check, decode_into = entry
        if check is None or check(data) in (0, 4):
            decode_into(data, values)
            for signal, quantity, scale, offset in links:
                inputs[quantity] = (values[signal] - offset) / scale

    def run_task(controllers: list, now_s: float) -> None:
        for controller in controllers:
            out = controller.step(signals, now_s)
            if out:
                signals.update(out)

    gc.collect()
    t0 = time.perf_counter()
    if plant_only:
        for _ in range(steps):
            step(dt, inputs)
        wall = time.perf_counter() - t0
        p["bench"].close()
        return wall / seconds
    for n in range(steps):
        now_s = n * dt
        step(dt, inputs)
        for name, cycle, links, values, encode, check, decode_into in plant_msgs:
            if n % cycle:
                continue
            for signal, quantity, scale, offset in links:
                values[signal] = outputs[quantity] * scale + offset
            data = encode(values)
            if check is None or check(data) in (0, 4):
                decode_into(data, signals)
                # received: the controllers' documented input (docs/interfaces.md); without
                # it they stay in their never-received fallbacks, as the ECU runtime's
                # reception bookkeeping would not let them
                signals[name + "_RxStatus"] = 0
            if cycle == 1:  # PlantFast triggers the fast task, which sends EcuFast
                run_task(fast, now_s)
                apply(ecu_fast, ecu_fast[3](signals))
        for cycle, controllers in periodic:
            if n % cycle == 0:
                run_task(controllers, now_s)
        for entry in ecu_cyclic:
            if n % entry[0] == 1:
                apply(entry, entry[3](signals))
        for cycle, encode, check, decode_into, bench_values in bench_msgs:
            if n % cycle == 2:
                data = encode(bench_values)
                if check is None or check(data) in (0, 4):
                    decode_into(data, signals)
    wall = time.perf_counter() - t0
    p["bench"].close()
    return wall / seconds


def full_stack(scenario: Any, seconds: float, *, trace: bool = True) -> float:
    return seconds_per_simulated_second(build_bench(scenario, trace=trace), seconds)


def breakdown(scenario: Any, seconds: float) -> dict[str, float]:
    """us per simulated ms spent in each part of the full stack (trace on)."""
    pc = time.perf_counter_ns
    bench = build_bench(scenario, trace=True)
    acc = {"plant step": 0, "controller steps": 0, "encode (payload + E2E)": 0,
           "decode (E2E check + decode)": 0}

    def wrap(fn: Any, key: str) -> Any:
        def timed(*a: Any) -> Any:
            t0 = pc()
            try:
                return fn(*a)
            finally:
                acc[key] += pc() - t0
        return timed

    bench.plant.step = wrap(bench.plant.step, "plant step")
    for task in bench.ecu.tasks:
        for c in task.controllers:
            c.step = wrap(c.step, "controller steps")
    for pub in bench.plant_node._pubs:
        pub.encode = wrap(pub.encode, "encode (payload + E2E)")
    for entry in bench.ecu._tx.values():
        entry.encode = wrap(entry.encode, "encode (payload + E2E)")
    bench.operator._msgs = [(m, wrap(enc, "encode (payload + E2E)"), cyc)
                         for m, enc, cyc in bench.operator._msgs]
    seen = set()
    for mc in bench.codec:
        if id(mc) not in seen:
            seen.add(id(mc))
            mc.decode_into = wrap(mc.decode_into, "decode (E2E check + decode)")
    for entry in bench.ecu._rx.values():
        if entry.e2e is not None:
            entry.e2e.check = wrap(entry.e2e.check, "decode (E2E check + decode)")
    for _codec, e2e, _links, _values in bench.plant_node._apply.values():
        if e2e is not None:
            e2e.check = wrap(e2e.check, "decode (E2E check + decode)")
    gc.collect()
    t0 = pc()
    bench.run_for(seconds)
    total = pc() - t0
    bench.close()
    per_ms = {k: v / (seconds * 1e3) / 1e3 for k, v in acc.items()}
    per_ms["framework (bus, clock, runtime, trace)"] = (total - sum(acc.values())) / (
        seconds * 1e3) / 1e3
    per_ms["total (instrumented)"] = total / (seconds * 1e3) / 1e3
    return per_ms


ROWS = {
    "plant only": lambda sc, s: bare_loop(sc, s, plant_only=True),
    "bare, codec": lambda sc, s: bare_loop(sc, s, e2e=False),
    "bare, E2E": lambda sc, s: bare_loop(sc, s, e2e=True),
    "full, trace off": lambda sc, s: full_stack(sc, s, trace=False),
    "full, trace on": lambda sc, s: full_stack(sc, s, trace=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated s per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workload", choices=("pull", "lap"), action="append")
    args = parser.parse_args()
    pinned = pin_one_core()
    print(f"{machine_line()}; {pinned}; {args.seconds:g} s simulated per run, "
          f"best of {args.repeat}, rows interleaved")
    for name in args.workload or ("pull", "lap"):
        scenario = load_workload(name)
        best = dict.fromkeys(ROWS, float("inf"))
        for _ in range(args.repeat):
            for row, fn in ROWS.items():
                best[row] = min(best[row], fn(scenario, args.seconds))
        print(f"{name}:")
        for row, wall in best.items():
            print(f"  {row:16s} {wall * 1e3:7.1f} us per simulated ms  "
                  f"({1 / wall:5.1f}x real time)")
        ratio = best["full, trace on"] / best["bare, E2E"]
        print(f"  overhead ratio full (trace on) / bare (E2E): {ratio:.2f}  "
              f"(target <= 1.5; vs bare without E2E: "
              f"{best['full, trace on'] / best['bare, codec']:.2f}; "
              f"trace off / bare E2E: {best['full, trace off'] / best['bare, E2E']:.2f})")
    scenario = load_workload("pull")
    print("where the full stack's time goes (pull, trace on, instrumented run):")
    for part, us in breakdown(scenario, args.seconds).items():
        print(f"  {part:40s} {us:6.1f} us per simulated ms")


if __name__ == "__main__":
    main()
