"""How fast the simulated CAN bus runs on this machine (wall clock; not a test).

Prints the frames per wall second the simulated bus sustains for realistic
SIL traffic (a plant node sending an 8-byte frame every 1 ms and an ECU
answering each with a 5-byte frame on reception) and the cost of one
``frame_bits`` call, so a change on the hot path shows its figure.

    .venv/bin/python benchmarks/bench_bus.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import can
import simpy

from hil.bus import SimCanNetwork, frame_bits

MS = 1_000_000


def bench_frame_bits(calls: int) -> float:
    """Microseconds per frame_bits call over varying 8-byte payloads."""
    payloads = [bytearray(((i * 37 + k * 11) & 0xFF) for k in range(8)) for i in range(256)]
    start = time.perf_counter()
    for i in range(calls):
        frame_bits(0x090, payloads[i & 0xFF])
    return (time.perf_counter() - start) / calls * 1e6


def bench_network(sim_seconds: float, with_observer: bool) -> tuple[float, int, float, float]:
    """Run the 1 ms PlantFast -> EcuFast loop; return (frames/s wall, frames, wall s, load)."""
    env = simpy.Environment()
    net = SimCanNetwork(env, bitrate=500_000)
    plant = net.connect("PLANT", rx_queue_size=0)
    ecu = net.connect("ECU", rx_queue_size=0)
    if with_observer:
        frames: list[tuple[int, int, int]] = []
        net.add_observer(lambda te, ts, m, s: frames.append((te, ts, m.arbitration_id)))
    answer = can.Message(arbitration_id=0x080, is_extended_id=False, data=bytes(5))

    def on_ecu_rx(msg: can.Message) -> None:
        answer.data[1] = msg.data[1]  # counter echo: payload changes every frame
        ecu.send(answer)

    ecu.add_rx_callback(on_ecu_rx)
    fast = can.Message(arbitration_id=0x090, is_extended_id=False, data=bytearray(8))

    def plant_task() -> Iterator[simpy.Event]:
        k = 0
        while True:
            fast.data[1] = k % 15
            fast.data[2] = (k * 7) & 0xFF
            plant.send(fast)
            k += 1
            yield env.timeout(k * MS - env.now)

    env.process(plant_task())
    until = round(sim_seconds * 1e9)
    start = time.perf_counter()
    env.run(until=until)
    wall = time.perf_counter() - start
    load = net.report(10 * MS)["load_mean"]
    plant.shutdown()
    ecu.shutdown()
    return net.frames_total / wall, net.frames_total, wall, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="simulated seconds")
    args = parser.parse_args()
    us = bench_frame_bits(200_000)
    print(f"frame_bits (8-byte standard frame): {us:.2f} us/call")
    for observer in (False, True):
        rate, frames, wall, load = bench_network(args.seconds, observer)
        print(f"sim bus, 2 nodes, 1 ms 8-byte + 5-byte answer, {args.seconds:g} s simulated"
              f"{' + observer' if observer else ''}: {frames} frames in {wall:.2f} s wall = "
              f"{rate:,.0f} frames/s ({args.seconds / wall:.1f}x real time, bus load {load:.1%})")


if __name__ == "__main__":
    main()
