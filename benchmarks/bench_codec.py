"""Codec benchmark: µs per encode / decode / E2E protect for each ntec5 message, compiled
codec vs cantools, and the ratio. Wall-clock figures belong here, never in tests.

    .venv/bin/python benchmarks/bench_codec.py [--dbc dbc/ntec5.dbc] [--number 20000]

Each figure is the best of ``--repeat`` timeit runs (least disturbed by the machine).
Target (the 1 ms budget, docs/architecture.md): compiled encode+decode >= 4x faster than cantools.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cantools.autosar.end_to_end import compute_profile2_crc

from hil.wire.codec import Codec
from hil.wire.dbc import e2e_data_id, is_e2e, load_dbc
from hil.wire.e2e import E2ETx

ROOT = Path(__file__).resolve().parents[1]


def best_us(fn: Callable[[], Any], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def mid_values(message: Any) -> dict[str, float]:
    """A representative in-range value per signal (middle of the DBC range, on the grid)."""
    values = {}
    for signal in message.signals:
        lo = signal.minimum if signal.minimum is not None else 0
        hi = signal.maximum if signal.maximum is not None else 0
        raw = signal.conversion.numeric_scaled_to_raw((lo + hi) / 2)
        values[signal.name] = signal.conversion.raw_to_scaled(raw, decode_choices=False)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dbc", default=str(ROOT / "dbc" / "ntec5.dbc"))
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    db = load_dbc(args.dbc)
    codec = Codec(db)
    n, r = args.number, args.repeat
    header = (f"{'message':<12} {'sig':>3} | {'enc cantools':>12} {'enc hil':>8} {'x':>5} | "
              f"{'dec cantools':>12} {'dec hil':>8} {'into':>6} {'x':>5} | "
              f"{'e2e cantools':>12} {'protect':>8} {'x':>5} | {'enc+dec x':>9}")
    print(header)
    print("-" * len(header))
    totals = [0.0, 0.0, 0.0, 0.0]
    for message in db.messages:
        mc = codec.message(message.name)
        values = mid_values(message)
        frame = mc.encode(values)
        assert frame == message.encode(values), message.name
        target: dict[str, float] = {}
        enc_ct = best_us(lambda: message.encode(values), n, r)  # noqa: B023
        enc_hil = best_us(lambda: mc.encode(values), n, r)  # noqa: B023
        dec_ct = best_us(lambda: message.decode(frame, decode_choices=False), n, r)  # noqa: B023
        dec_hil = best_us(lambda: mc.decode(frame), n, r)  # noqa: B023
        into_hil = best_us(lambda: mc.decode_into(frame, target), n, r)  # noqa: B023
        if is_e2e(message):
            data_id = e2e_data_id(message)
            tx = E2ETx(mc, data_id)

            def cantools_protect(message: Any = message, data_id: Any = data_id) -> bytes:
                payload = bytearray(message.encode(values))  # noqa: B023
                payload[0] = compute_profile2_crc(payload, data_id)
                return bytes(payload)

            e2e_ct = best_us(cantools_protect, n, r)
            e2e_hil = best_us(lambda: tx.protect(values), n, r)  # noqa: B023
            e2e = f"{e2e_ct:12.2f} {e2e_hil:8.2f} {e2e_ct / e2e_hil:5.1f}"
        else:
            e2e = f"{'-':>12} {'-':>8} {'-':>5}"
        both = (enc_ct + dec_ct) / (enc_hil + into_hil)
        totals = [totals[0] + enc_ct, totals[1] + dec_ct, totals[2] + enc_hil,
                  totals[3] + into_hil]
        print(f"{message.name:<12} {len(message.signals):>3} | {enc_ct:12.2f} {enc_hil:8.2f} "
              f"{enc_ct / enc_hil:5.1f} | {dec_ct:12.2f} {dec_hil:8.2f} {into_hil:6.2f} "
              f"{dec_ct / into_hil:5.1f} | {e2e} | {both:9.1f}")
    print("-" * len(header))
    print(f"all messages: cantools encode+decode {totals[0] + totals[1]:.2f} us, compiled "
          f"encode+decode_into {totals[2] + totals[3]:.2f} us, "
          f"ratio {(totals[0] + totals[1]) / (totals[2] + totals[3]):.1f}x")


if __name__ == "__main__":
    main()
