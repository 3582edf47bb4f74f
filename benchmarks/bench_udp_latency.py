"""Cross-process 1 ms path over udp_multicast on loopback: sensor frame -> safety frame.

    .venv/bin/python benchmarks/bench_udp_latency.py [--seconds 10]

The plant node runs here (WallBench on rigs/udp.yaml, realtime measures), ``hil ecu`` in
a child process on a private multicast group. For every PlantFast the bench sent, the
latency is the receive timestamp (kernel SO_TIMESTAMPNS) of the first EcuFast that came
back before the next PlantFast, minus the PlantFast's send time. It includes the ECU's
declared exec_time (50 us in controllers/ecu.yaml, modelled as a delay before sending),
both UDP hops and msgpack packing. PlantFast frames with no EcuFast before the next one
are counted as unanswered. The minimum can be near 0: after a bench stall two PlantFast
go out back to back and the EcuFast answering the first arrives right after the second
(or the ECU's watchdog sent one); the percentiles are the figure. Figures only; nothing
is asserted.
"""

from __future__ import annotations

import argparse
import platform
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    from hil.bench.wall import WallBench
    from hil.bus.isolation import enter_private_network
    from hil.config.rig import load_rig

    # Nothing leaves the machine: a namespace with only lo (root), else the rig's TTL 0.
    _, isolation = enter_private_network()

    group = f"239.74.{random.randrange(164, 250)}.{random.randrange(1, 250)}"
    port = random.randrange(40_000, 60_000)
    print(f"# {platform.node()} {platform.platform()} {platform.python_version()}")
    print(f"# command: .venv/bin/python benchmarks/bench_udp_latency.py "
          f"--seconds {args.seconds:g}   (group {group}, port {port}; {isolation})")
    ecu = subprocess.Popen([sys.executable, "-m", "hil", "ecu", "--rig",
                            str(REPO / "rigs" / "udp.yaml"), "--channel", group, "--port",
                            str(port), "--trace", "none"], cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ecu.stderr.readline()
        if "running" not in line:
            raise SystemExit(f"hil ecu did not start: {line}")
        rig = load_rig(REPO / "rigs" / "udp.yaml")
        rig.bus["channel"], rig.bus["port"] = group, port
        bench = WallBench(rig)
        try:
            bench.plant.set_driver_mode("dyno")
            bench.plant.inputs["dyno.speed_rpm"] = 3000.0
            bench.plant.inputs["driver.throttle_pct"] = 30.0
            bench.run_for(args.seconds)
        finally:
            bench.close()
    finally:
        if ecu.poll() is None:
            ecu.send_signal(signal.SIGTERM)
        try:
            out, _ = ecu.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            ecu.kill()
            out, _ = ecu.communicate()
    trace = bench.trace
    sent = np.asarray(trace.frames("PlantFast").t_end_ns, dtype=np.int64)
    back = np.asarray(trace.frames("EcuFast").t_end_ns, dtype=np.int64)
    sent = sent[sent > 500_000_000]  # after start-up
    idx = np.searchsorted(back, sent, side="right")
    ok = idx < back.size
    nxt = np.append(sent[1:], np.iinfo(np.int64).max)
    answered = ok & (back[np.minimum(idx, back.size - 1)] < nxt)
    lat_us = (back[idx[answered]] - sent[answered]) / 1e3
    p50, p90, p99, p999 = np.percentile(lat_us, [50, 90, 99, 99.9])
    pacing = bench.env.pacing_report()
    print(f"bench pacing: {pacing.as_text()}")
    print(f"received timestamps: {bench.bus.timestamp_source}")
    print(f"PlantFast -> EcuFast over udp_multicast, {sent.size} sensor frames, "
          f"{int(answered.sum())} answered, {int((~answered).sum())} unanswered:")
    print(f"    p50 {p50:.1f} us  p90 {p90:.1f} us  p99 {p99:.1f} us  p99.9 {p999:.1f} us  "
          f"max {lat_us.max():.1f} us  min {lat_us.min():.1f} us")
    print("hil ecu said:")
    print("\n".join("    " + x for x in out.strip().splitlines()))


if __name__ == "__main__":
    main()
