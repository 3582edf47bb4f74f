"""``hil dbc``: the wire contract at a glance — messages, cycle times, E2E, bus load."""

from __future__ import annotations

import argparse
import os


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dbc", nargs="?", default=None,
                        help="DBC file (default: the SIL rig's, dbc/ntec5.dbc)")
    parser.add_argument("--bitrate", type=int, default=500_000, help="bit/s (default 500000)")


def main(args: argparse.Namespace) -> int:
    from hil.bus.timing import frame_bits
    from hil.config.rig import load_rig
    from hil.wire.dbc import cycle_time_ns, e2e_data_id, load_dbc, send_type

    path = args.dbc or load_rig().dbc
    db = load_dbc(path)
    print(f"{path}: {len(db.messages)} messages at {args.bitrate} bit/s")
    print(f"{'id':>6s} {'message':12s} {'sender':7s} {'dlc':>3s} {'cycle':>8s} {'send':12s} "
          f"{'e2e id':>6s} {'bits':>6s} {'load %':>7s}")
    total_nominal = total_random = 0.0
    for m in sorted(db.messages, key=lambda m: m.frame_id):
        cycle = cycle_time_ns(m)
        nominal = (67 if m.is_extended_frame else 47) + 8 * m.length
        rnd = sum(frame_bits(m.frame_id, os.urandom(m.length), is_extended=m.is_extended_frame)
                  for _ in range(200)) / 200
        load = nominal / args.bitrate / (cycle / 1e9) * 100 if cycle else 0.0
        if cycle:
            total_nominal += load
            total_random += rnd / args.bitrate / (cycle / 1e9) * 100
        e2e = e2e_data_id(m)
        print(f"{m.frame_id:#6x} {m.name:12s} {','.join(m.senders):7s} {m.length:3d} "
              f"{(f'{cycle / 1e6:g} ms' if cycle else '-'):>8s} {send_type(m):12s} "
              f"{('-' if e2e is None else str(e2e)):>6s} {nominal:6d} {load:7.2f}")
    print(f"bus load: {total_nominal:.1f} % nominal (no stuffing), "
          f"{total_random:.1f} % with random payloads (exact stuffing)")
    return 0
