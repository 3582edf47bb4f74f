"""False FAILs of `hil replay` and `hil check` on fresh udp-rig recordings (issue 11 items 4, 5).

    .venv/bin/python benchmarks/measure_replay_check.py [--runs 20] [--scenario S.yaml]

Each run, inside a private network namespace with only lo (hil.bus.isolation; as root,
else TTL 0): starts `hil ecu --rig rigs/udp.yaml` (its own trace: ecu.blf) and
`python -m can.logger -i udp_multicast ... hop_limit=0` (a recording as a third party sees
the bus), runs `hil run --rig rigs/udp.yaml SCENARIO`, stops both, then

- replays the ECU's fresh recording (`hil replay ecu.blf --rig rigs/udp.yaml`): the live
  ECU and the replayed one ran the same code on the same inputs, so a FAIL is false;
- replays it again with one EngineMode sample, then one FuelCut sample changed (in a
  steady stretch mid-log): each must FAIL on that signal only, naming the interval;
- judges the logger's recording offline (`hil check logger.blf --scenario S --rig
  rigs/udp.yaml`) and compares each verdict with the run's own (result.json).

Prints one line per run and the totals. Wall-clock work: a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def _start(cmd: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> str:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return out + err


def one_run(k: int, work: Path, scenario: Path, group: str, port: int,
            check: bool, corrupt: bool = True) -> dict:
    from hil.config.rig import load_rig
    from hil.run.replay import replay

    run_dir = work / f"run{k:02d}"
    run_dir.mkdir(parents=True)
    tmp_rig = run_dir / "rig.yaml"
    tmp_rig.write_text(_rig_on(REPO / "rigs" / "udp.yaml", group, port))
    ecu = _start([PY, "-m", "hil", "ecu", "--rig", str(tmp_rig),
                  "--trace-dir", str(run_dir / "ecu")])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and ecu.poll() is None:
        if "running" in ecu.stderr.readline():
            break
    logger = None
    if check:
        logger = _start([PY, "-m", "can.logger", "-i", "udp_multicast", "-c", group,
                         "-f", str(run_dir / "logger.blf"), "--bus-kwargs", f"port={port}",
                         "fd=False", "hop_limit=0"])
        time.sleep(1.0)
    run = subprocess.run([PY, "-m", "hil", "run", "--rig", str(tmp_rig), str(scenario),
                          "--report", str(run_dir / "report"), "--no-plots", "-q"],
                         cwd=REPO, capture_output=True, text=True)
    if logger is not None:
        time.sleep(0.3)
        _stop(logger, signal.SIGINT)
    ecu_out = _stop(ecu)
    out = {"run": k, "hil_run_exit": run.returncode}
    ecu_blf = run_dir / "ecu" / "ecu.blf"
    if ecu_blf.exists():
        t0 = time.perf_counter()
        report = replay(ecu_blf, load_rig(tmp_rig),
                        out_dir=run_dir / "replay")
        out["replay"] = "PASS" if report.passed else "FAIL"
        out["replay_s"] = round(time.perf_counter() - t0, 1)
        out["frames_in"] = report.frames_in
        out["log_s"] = round(report.duration_s, 1)
        out["replay_mismatched"] = {f"{s.message}.{s.signal}": s.mismatched
                                    for s in report.signals if s.mismatched}
        if not report.passed:
            (run_dir / "replay.txt").write_text(report.table())
        if corrupt:
            out["corrupted"] = {f"{m}.{sg}": _corrupted_fails(ecu_blf, load_rig(tmp_rig),
                                                               run_dir, m, sg)
                                for m, sg in (("EcuStatus", "EngineMode"), ("EcuFast", "FuelCut"))}
    else:
        out["replay"] = f"no ecu.blf ({ecu_out[-300:]})"
    if check:
        results = list((run_dir / "report").rglob("result.json"))
        if results and (run_dir / "logger.blf").exists():
            live = json.loads(results[0].read_text())
            done = subprocess.run([PY, "-m", "hil", "check", str(run_dir / "logger.blf"),
                                   "--scenario", str(scenario), "--rig", str(tmp_rig),
                                   "--start", "last-segment",
                                   "--report", str(run_dir / "check"), "--no-plots"],
                                  cwd=REPO, capture_output=True, text=True)
            checked = list((run_dir / "check").rglob("result.json"))
            if checked:
                offline = json.loads(checked[0].read_text())
                live_v = [v["status"] for v in live["verdicts"]]
                off_v = [v["status"] for v in offline["verdicts"]]
                out["check_same"] = live_v == off_v
                out["live"] = live_v
                out["offline"] = off_v
            else:
                out["check_same"] = f"hil check exit {done.returncode}: {done.stderr[-300:]}"
        else:
            out["check_same"] = "no run result or no logger recording"
    return out


def _corrupted_fails(blf: Path, rig, run_dir: Path, message: str, signal_name: str) -> str:
    """One sample of ``signal_name`` changed in a steady stretch of the fresh recording:
    'named' when the replay fails on that signal only, with an interval at that time."""
    import can
    import cantools

    from hil.run.replay import replay

    db = cantools.database.load_file(str(rig.dbc))
    msg = db.get_message_by_name(message)
    frames = list(can.LogReader(str(blf)))
    mine = [m for m in frames if m.arbitration_id == msg.frame_id and not m.is_rx]
    values = [msg.decode(m.data, decode_choices=False)[signal_name] for m in mine]
    mid = len(mine) // 2
    k = next((i for i in sorted(range(20, len(mine) - 20), key=lambda i: abs(i - mid))
              if len(set(values[i - 20:i + 21])) == 1), None)
    if k is None:
        return "no steady stretch"
    decoded = msg.decode(mine[k].data, decode_choices=False)
    decoded[signal_name] = 1 if values[k] != 1 else 0
    mine[k].data = bytearray(msg.encode(decoded, strict=False))
    path = run_dir / f"corrupt_{signal_name}.blf"
    with can.BLFWriter(str(path)) as writer:
        for m in frames:
            writer.on_message_received(m)
    report = replay(path, rig, skip_s=0)
    at = mine[k].timestamp - frames[0].timestamp
    failed = [s for s in report.signals if not s.passed]
    # Intervals are on the replay's time axis: the log's, less the ECU's schedule origin.
    named = [iv for s in failed if s.signal == signal_name for iv in s.intervals
             if abs(iv.from_s - (at - report.origin_s)) < 0.02]
    if [s.signal for s in failed] == [signal_name] and named:
        return "named"
    return f"not named: failed {[s.signal for s in failed]}, at {at:.3f} s"


def _rig_on(template: Path, group: str, port: int) -> str:
    """rigs/udp.yaml on another group and port, with absolute references."""
    import yaml

    data = yaml.safe_load(template.read_text())
    data["bus"]["channel"] = group
    data["bus"]["port"] = port
    for key in ("dbc", "ecu_config"):
        if isinstance(data.get(key), str):
            data[key] = str((template.parent / data[key]).resolve())
    return yaml.safe_dump(data, sort_keys=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--scenario", default="scenarios/safety/egt_overtemp.yaml")
    parser.add_argument("--no-check", action="store_true", help="replay only")
    parser.add_argument("--no-corrupt", action="store_true",
                        help="skip the corrupted-sample replays of each recording")
    parser.add_argument("--keep", default=None, help="keep recordings in this directory")
    args = parser.parse_args()
    from hil.bus.isolation import enter_private_network

    isolated, how = enter_private_network()
    print(f"network: {how if isolated else 'not isolated (' + how + '): TTL 0'}", flush=True)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="replay_check_"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for k in range(args.runs):
        row = one_run(k, work, (REPO / args.scenario).resolve(), "239.74.200.7",
                      45000 + k, check=not args.no_check, corrupt=not args.no_corrupt)
        rows.append(row)
        print(json.dumps(row), flush=True)
    fails = sum(r.get("replay") == "FAIL" for r in rows)
    print(f"replay: {fails} FAIL of {len(rows)} fresh recordings (each a false FAIL)")
    if not args.no_corrupt:
        named = sum(v == "named" for r in rows for v in r.get("corrupted", {}).values())
        total = sum(len(r.get("corrupted", {})) for r in rows)
        print(f"corrupted: {named} of {total} one-sample corruptions (EngineMode, FuelCut) "
              "FAILED naming their interval and that signal only")
    if not args.no_check:
        same = sum(r.get("check_same") is True for r in rows)
        print(f"check: {same} of {len(rows)} runs with the same verdicts offline as live")
    print(f"recordings: {work}")


if __name__ == "__main__":
    main()
