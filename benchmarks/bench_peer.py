"""Against the peer a user would write instead (issue 13, target 4): the same closed loop
over python-can's ``virtual`` bus with cantools, side by side with the full stack.

    .venv/bin/python benchmarks/bench_peer.py [--seconds 5] [--rounds 3]
        [--workload pull|lap ...] [--cpu N]

The peer is what someone without this project would write to close the loop of the same
plant and the same controllers: two ``can.Bus(interface="virtual")`` endpoints on one
channel (plant side, ECU side; ``receive_own_messages=False``, ``preserve_timestamps=True``
so the simulated time stamps survive), the DBC loaded with
``cantools.database.load_file("dbc/ntec5.dbc")``, and a plain Python loop over simulated
milliseconds (no simpy):

* plant side: ``plant.step(dt, inputs)``; every plant message due at its DBC cycle time
  (and the bench's BenchCmd, 100 ms) is encoded with ``db.encode_message(name, values)``
  (cantools' defaults: scaling, strict range checks) from the plant outputs through the
  rig's publish links (same scale / offset as bench_overhead's bare loop) and sent as a
  ``can.Message`` stamped with the simulated time;
* ECU side: drain ``bus.recv(timeout=0)`` until None, ``db.decode_message(id, data)`` into
  the ECU's signal dict, and ``<Msg>_RxStatus = 0`` (received: the controllers'
  documented input, docs/interfaces.md; without it they stay in their never-received
  fallbacks and the loop does not close like the full stack's); a PlantFast runs the fast task (BaseMapFast, SafetyFast) and sends
  EcuFast; the 10 ms and 100 ms tasks run at their rates (the ECU's own tasks and
  controller objects, as in bench_overhead's bare loop); EcuStatus and EcuDiag are encoded
  when due from exactly their signals (cantools' strict mode wants no extra keys) and sent;
* plant side again: drain its bus, decode EcuFast / EcuStatus and apply them to the plant
  inputs through the rig's apply links (the other frames are skipped by id).

What the peer does not do and the full stack does: no E2E (a plain user would not compute
the project's counter + CRC, so the counter and CRC fields go out as 0 and nobody checks
them), no reception status / timeouts, no bit timing, no arbitration, no task timing, no
simulated clock, no trace. The full stack is ``SilBench.run_for`` with the trace on, as
bench_overhead's "full, trace on" row and ``hil run`` (``_workloads.py``).

Both are built from the same scenario (rig, plant parameters, calibration, seed, driver
mode, initial state: ``build_bench``); the peer takes the plant, the ECU's controllers and
the rig links out of a bench it never starts, and its own cantools database and buses.
Fairness check: the peer must close the loop. After the run the final engine speed and
vehicle speed of both are printed side by side, and the script exits 1 if the peer's
vehicle speed is more than 20 % away from the full stack's.

Peer and full alternate over --rounds in one run on one core; each figure is the best of
the rounds (after one untimed --warmup run of each), in us of wall time per simulated ms,
and the ratio is peer / full (target: >= 3, the full stack faster while doing more). The
same in CPU time (process_time) is printed beside it: on a core shared with other work
it leaves out the time the process waited for the core.
Then, for the first workload, where the peer's time goes (one instrumented run: each cantools, python-can, plant and controller
call wrapped in perf_counter_ns, ~0.1 us per call, so the parts are upper bounds).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from itertools import count
from typing import Any

from _workloads import (
    ROOT,
    build_bench,
    load_workload,
    machine_line,
    pin_one_core,
)

Wrap = Callable[[Any, str], Any]
_channels = count()


def _same(fn: Any, _key: str) -> Any:
    return fn


def peer_loop(scenario: Any, seconds: float, wrap: Wrap = _same) -> tuple[float, float, dict]:
    """Wall and CPU seconds per simulated second of the python-can + cantools loop, and the
    final plant outputs. ``wrap(fn, part)`` may instrument each call (the breakdown)."""
    import can
    import cantools

    bench = build_bench(scenario, trace=False)   # for its plant, ECU and links; never started
    plant, rig = bench.plant, bench.rig
    signals = bench.ecu.signals
    inputs, outputs = plant.inputs, plant.outputs
    step_ns = rig.step_ns
    dt = step_ns / 1e9
    steps = round(seconds / dt)
    publish = {lk.signal: lk for lk in rig.publish}
    apply = {lk.signal: lk for lk in rig.apply}
    start_values = {p.name: p.values for p in bench.plant_node._pubs}

    db = cantools.database.load_file(str(ROOT / "dbc" / "ntec5.dbc"))
    channel = f"bench_peer-{os.getpid()}-{next(_channels)}"
    plant_bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False,
                        preserve_timestamps=True)
    ecu_bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False,
                      preserve_timestamps=True)

    def cycle(message: Any) -> int:
        return max(1, (message.cycle_time or 100) * 1_000_000 // step_ns)

    # (name, frame id, extended, cycle in steps, values, [(signal, quantity, scale, offset)])
    plant_tx: list[tuple[str, int, bool, int, dict, list]] = []
    ecu_tx: list[tuple[str, int, bool, int, list[str]]] = []
    plant_rx: dict[int, list[tuple[str, str, float, float]]] = {}
    ecu_rx_status: dict[int, str] = {}
    fast_id = db.get_message_by_name("PlantFast").frame_id
    for message in db.messages:
        names = [s.name for s in message.signals]
        if "PLANT" in message.senders:
            links = [(n, lk.quantity, lk.scale, lk.offset) for n in names
                     if (lk := publish.get(n))]
            values = {n: start_values[message.name].get(n, 0.0) for n in names}
            plant_tx.append((message.name, message.frame_id, message.is_extended_frame,
                             cycle(message), values, links))
        if "ECU" not in message.senders:
            # The controllers read <Msg>_RxStatus (docs/interfaces.md): 0 once a frame came.
            ecu_rx_status[message.frame_id] = f"{message.name}_RxStatus"
        if "ECU" in message.senders:
            ecu_tx.append((message.name, message.frame_id, message.is_extended_frame,
                           cycle(message), names))
            links = [(n, lk.quantity, lk.scale, lk.offset) for n in names
                     if (lk := apply.get(n))]
            if links:
                plant_rx[message.frame_id] = links
    # The bench's operator sends BenchCmd (its commands, 100 ms); the plant side sends it here.
    for message in bench.operator._msgs:
        m = message[0]
        values = {s.name: bench.operator.commands.get(s.name, 0.0) for s in m.signals}
        plant_tx.append((m.name, m.frame_id, m.is_extended_frame, cycle(m), values, []))

    tasks = [(t.spec, [wrap(c.step, "controller steps") for c in t.controllers])
             for t in bench.ecu.tasks]
    fast = next(c for s, c in tasks if s.trigger)
    periodic = [(s.period_ns // step_ns, c) for s, c in tasks if not s.trigger]
    ecu_fast = next(e for e in ecu_tx if e[0] == "EcuFast")
    ecu_cyclic = [e for e in ecu_tx if e[0] != "EcuFast"]

    step = wrap(plant.step, "plant step")
    encode = wrap(db.encode_message, "cantools encode")
    decode = wrap(db.decode_message, "cantools decode")
    new_message = wrap(can.Message, "can.Message()")
    plant_send = wrap(plant_bus.send, "bus.send")
    ecu_send = wrap(ecu_bus.send, "bus.send")
    plant_recv = wrap(plant_bus.recv, "bus.recv")
    ecu_recv = wrap(ecu_bus.recv, "bus.recv")

    def run_task(controllers: list, now_s: float) -> None:
        for controller_step in controllers:
            out = controller_step(signals, now_s)
            if out:
                signals.update(out)

    def ecu_send_message(entry: tuple, now_s: float) -> None:
        name, frame_id, extended, _cycle, names = entry
        data = encode(name, {n: signals[n] for n in names})
        ecu_send(new_message(arbitration_id=frame_id, data=data, is_extended_id=extended,
                             timestamp=now_s))

    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    for n in range(steps):
        now_s = n * dt
        # plant side: step, then every plant frame due
        step(dt, inputs)
        for name, frame_id, extended, every, values, links in plant_tx:
            if n % every:
                continue
            for signal, quantity, scale, offset in links:
                values[signal] = outputs[quantity] * scale + offset
            plant_send(new_message(arbitration_id=frame_id, data=encode(name, values),
                                   is_extended_id=extended, timestamp=now_s))
        # ECU side: drain, decode, run the tasks due, send the frames due
        triggered = 0
        while (msg := ecu_recv(timeout=0)) is not None:
            frame_id = msg.arbitration_id
            signals.update(decode(frame_id, msg.data))
            signals[ecu_rx_status[frame_id]] = 0.0
            if frame_id == fast_id:
                triggered += 1
        for _ in range(triggered):
            run_task(fast, now_s)
            ecu_send_message(ecu_fast, now_s)
        for every, controllers in periodic:
            if n % every == 0:
                run_task(controllers, now_s)
        for entry in ecu_cyclic:
            if n % entry[3] == 0:
                ecu_send_message(entry, now_s)
        # plant side: drain, apply the ECU's actuator frames to the plant inputs
        while (msg := plant_recv(timeout=0)) is not None:
            links = plant_rx.get(msg.arbitration_id)
            if links is None:
                continue
            values = decode(msg.arbitration_id, msg.data)
            for signal, quantity, scale, offset in links:
                inputs[quantity] = (values[signal] - offset) / scale
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    final = dict(outputs)
    plant_bus.shutdown()
    ecu_bus.shutdown()
    bench.close()
    return wall / seconds, cpu / seconds, final


def full_stack(scenario: Any, seconds: float) -> tuple[float, float, dict]:
    """Wall and CPU seconds per simulated second of SilBench.run_for (trace on), as
    ``_workloads.seconds_per_simulated_second`` times it, and the final plant outputs."""
    bench = build_bench(scenario, trace=True)
    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    bench.run_for(seconds)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    bench.close()
    return wall / seconds, cpu / seconds, dict(bench.plant.outputs)


def breakdown(scenario: Any, seconds: float) -> dict[str, float]:
    """us per simulated ms in each part of the peer (one instrumented run)."""
    pc = time.perf_counter_ns
    acc: dict[str, int] = {}

    def wrap(fn: Any, key: str) -> Any:
        acc.setdefault(key, 0)

        def timed(*a: Any, **kw: Any) -> Any:
            t0 = pc()
            try:
                return fn(*a, **kw)
            finally:
                acc[key] += pc() - t0
        return timed

    wall, _cpu, _ = peer_loop(scenario, seconds, wrap)
    per_ms = {k: v / (seconds * 1e3) / 1e3 for k, v in acc.items()}
    total = wall * 1e3   # s per simulated s = ms per simulated s = us per simulated ms
    per_ms["the loop itself (dicts, links, scheduling)"] = total - sum(per_ms.values())
    per_ms["total (instrumented)"] = total
    return per_ms


def pin(cpu: int | None) -> str:
    if cpu is None:
        return pin_one_core()
    os.sched_setaffinity(0, {cpu})
    return f"pinned to cpu {cpu}"


QUANTITIES = (("vehicle.speed_kph", "vehicle speed km/h"), ("engine.speed_rpm", "engine rpm"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="simulated s per run")
    parser.add_argument("--rounds", type=int, default=3, help="peer and full alternate")
    parser.add_argument("--workload", choices=("pull", "lap"), action="append")
    parser.add_argument("--cpu", type=int, default=None,
                        help="pin to this CPU (default: the highest-numbered one)")
    parser.add_argument("--warmup", type=float, default=0.5,
                        help="simulated s of one untimed run of each first, per workload")
    parser.add_argument("--tolerance", type=float, default=0.20,
                        help="largest relative difference of the final vehicle speed")
    args = parser.parse_args()
    pinned = pin(args.cpu)
    workloads = args.workload or ["pull", "lap"]
    print(f"{machine_line()}; {pinned}; {args.seconds:g} s simulated per run, "
          f"best of {args.rounds} rounds, peer and full alternating", flush=True)
    ok = True
    rows = []
    for name in workloads:
        scenario = load_workload(name)
        best = {(row, k): float("inf") for row in ("peer", "full") for k in ("wall", "cpu")}
        finals: dict[str, dict] = {}
        if args.warmup > 0:   # load numba's cached kernels, fill caches: not timed
            peer_loop(scenario, args.warmup)
            full_stack(scenario, args.warmup)
        for r in range(args.rounds):
            got = {}
            for row, fn in (("peer", peer_loop), ("full", full_stack)):
                got[row, "wall"], got[row, "cpu"], finals[row] = fn(scenario, args.seconds)
            for key, value in got.items():
                best[key] = min(best[key], value)
            print(f"  {name} round {r + 1}: peer {got['peer', 'wall'] * 1e3:6.1f}, full "
                  f"{got['full', 'wall'] * 1e3:6.1f} us wall per simulated ms, ratio "
                  f"{got['peer', 'wall'] / got['full', 'wall']:.2f} (CPU time: "
                  f"{got['peer', 'cpu'] / got['full', 'cpu']:.2f})", flush=True)
        rows.append((name, best))
        print(f"{name}: peer {best['peer', 'wall'] * 1e3:.1f}, full "
              f"{best['full', 'wall'] * 1e3:.1f} us wall per simulated ms; peer / full "
              f"{best['peer', 'wall'] / best['full', 'wall']:.2f} (target >= 3); CPU time "
              f"{best['peer', 'cpu'] * 1e3:.1f}, {best['full', 'cpu'] * 1e3:.1f}: "
              f"{best['peer', 'cpu'] / best['full', 'cpu']:.2f}")
        for key, label in QUANTITIES:
            print(f"  after {args.seconds:g} s, {label:18s}: peer {finals['peer'][key]:8.1f}, "
                  f"full {finals['full'][key]:8.1f}")
        peer_v, full_v = finals["peer"]["vehicle.speed_kph"], finals["full"]["vehicle.speed_kph"]
        if abs(peer_v - full_v) > args.tolerance * max(abs(full_v), 1.0):
            ok = False
            print(f"  FAIL: the peer's vehicle speed is more than {args.tolerance:.0%} away "
                  f"from the full stack's: it does not close the loop", file=sys.stderr)
    print()
    print("| workload | peer us / sim ms | full us / sim ms | peer / full | "
          "CPU: peer | full | peer / full |")
    print("|---|---|---|---|---|---|---|")
    for name, best in rows:
        print(f"| {name} | {best['peer', 'wall'] * 1e3:.1f} | {best['full', 'wall'] * 1e3:.1f} | "
              f"**{best['peer', 'wall'] / best['full', 'wall']:.2f}** | "
              f"{best['peer', 'cpu'] * 1e3:.1f} | {best['full', 'cpu'] * 1e3:.1f} | "
              f"{best['peer', 'cpu'] / best['full', 'cpu']:.2f} |")
    print(f"{machine_line()} (after)")
    print(f"where the peer's time goes ({workloads[0]}, instrumented run):")
    for part, us in breakdown(load_workload(workloads[0]), args.seconds).items():
        print(f"  {part:44s} {us:6.1f} us per simulated ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
