"""How long does this machine stop running a SCHED_FIFO process that never sleeps when it
should not? The floor under bench_pacing.py's "0 overruns in 60 s".

    .venv/bin/python benchmarks/probe_stalls.py [--seconds 60]

A process under the same real-time measures as the bench's wall clock (SCHED_FIFO 50 if
permitted, gc frozen) runs a 1 kHz duty cycle — spin 600 us reading the clock, sleep the
rest (a whole-period spin would be stalled by RT throttling, docs/architecture.md) — and records
every gap between two consecutive clock reads of a spin longer than 100 us: time in which
the process did not run although it was runnable, at the highest priority a user process
gets; and, counted like bench_pacing.py's overruns, every 1 kHz wake-up more than 1 ms
late. No Python work happens between the reads, so a gap is the kernel's or the
hypervisor's (vCPU not scheduled), not the bench's. /proc/stat steal time is printed
before and after. If this sees gaps over 1 ms at the rate bench_pacing.py's --long run
sees overruns, the overruns are the machine's.
"""

from __future__ import annotations

import argparse
import gc
import os
import time

from _workloads import machine_line


def steal_ticks() -> int:
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) if len(fields) > 8 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    print(machine_line())
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(50))
        policy = "SCHED_FIFO 50"
    except (PermissionError, OSError, AttributeError):
        policy = "SCHED_OTHER (SCHED_FIFO not permitted)"
    gc.collect()
    gc.freeze()
    gc.disable()
    perf = time.perf_counter_ns
    gaps: list[int] = []
    steal0 = steal_ticks()
    start = perf()
    end = start + int(args.seconds * 1e9)
    spun = 0
    period = 1_000_000
    k = 0
    late_wakes: list[int] = []
    while True:
        k += 1
        t0 = perf()
        if t0 >= end:
            break
        late = t0 - (start + (k - 1) * period)
        if late > period:
            late_wakes.append(late)
        spin_end = t0 + 600_000
        last = t0
        while last < spin_end:
            now = perf()
            if now - last > 100_000:
                gaps.append(now - last)
            last = now
        spun += last - t0
        wake = start + k * period
        rest = wake - perf()
        if rest > 0:
            time.sleep(rest / 1e9)
    steal1 = steal_ticks()
    over_1ms = sum(g > 1_000_000 for g in gaps)
    print(f"{policy}, gc frozen; {args.seconds:g} s, {spun / 1e9:.1f} s spent spinning")
    print(f"gaps > 100 us: {len(gaps)}; > 1 ms: {over_1ms}; longest "
          f"{max(gaps, default=0) / 1e3:.1f} us; all (us): "
          f"{', '.join(f'{g / 1e3:.0f}' for g in sorted(gaps, reverse=True)[:10])}")
    print(f"1 kHz wake-ups more than 1 ms late (what bench_pacing.py counts as overruns; one "
          f"stall of n ms makes ~n of them): {len(late_wakes)}, latest "
          f"{max(late_wakes, default=0) / 1e3:.1f} us")
    print(f"/proc/stat steal: {steal1 - steal0} ticks during the run")


if __name__ == "__main__":
    main()
