"""The self-contained HTML summary of a scenario run: verdicts, timing figures, plots.

One file, no server, no external assets: plots are embedded as base64 PNG, so the
summary can be mailed, archived as a CI artifact, or opened from a bench PC.
Also writes ``summary.json`` with the same content for tools.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hil.report.margins import describe, tightest
from hil.trace.files import atomic_write

_CSS = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} .pass{color:#176d2c;font-weight:bold} .fail{color:#b00020;font-weight:bold} .inconclusive{color:#a35c00;font-weight:bold} .skipped{color:#555;font-weight:bold}
.num{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#666}
details{margin:8px 0} img{max-width:100%;border:1px solid #ddd}
"""


def _img(path: str) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return f'<p class="muted">plot missing: {html.escape(path)}</p>'
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(Path(path).name)}" src="data:image/png;base64,{b64}">'


def _status(r: dict[str, Any]) -> tuple[str, str]:
    """CSS class and word: PASS, FAIL, INCONCLUSIVE (a wall-clock rig that could not vouch
    for a verdict) or SKIPPED (the scenario needs another rig; older summaries have no
    status and are pass / fail)."""
    status = r.get("status") or ("pass" if r["passed"] else "fail")
    return status, status.upper()


def render(results: Sequence[dict[str, Any]], title: str = "n.Tec HIL scenario run",
           sections: Sequence[str] = ()) -> str:
    """The page; ``sections`` are HTML fragments added after the scenarios (e.g. the
    calibration map coverage of hil.calibration.report)."""
    e = html.escape
    results = sorted(results, key=lambda r: (r["passed"], r["name"]))
    passed = sum(r["passed"] for r in results)
    sim = sum(r["sim_s"] for r in results)
    wall = sum(r["wall_s"] for r in results)
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
           f"<style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>",
           f"<p>{passed} of {len(results)} scenarios passed &middot; {sim:.1f} s simulated in "
           f"{wall:.1f} s of scenario wall time &middot; written {now}</p>",
           "<table><tr><th>scenario</th><th>verdict</th><th>what it proves</th>"
           "<th>tightest margin</th>"
           "<th>sim s</th><th>wall s</th><th>x real time</th><th>bus load mean / max</th></tr>"]
    for r in results:
        bus = (r.get("figures") or {}).get("bus") or {}
        load = (f"{bus['load_mean'] * 100:.1f} % / {bus['load_max'] * 100:.1f} %"
                if bus.get("load_mean") is not None else "-")
        speed = f"{r['speed']:.1f}" if r.get("speed") else "-"
        cls, word = _status(r)
        tight = tightest(r.get("verdicts", ()))
        out.append(f"<tr><td><a href='#{e(r['name'])}'>{e(r['name'])}</a></td>"
                   f"<td class='{cls}'>{word}</td><td>{e(r['description'])}</td>"
                   f"<td class='num'>{e(describe(tight)) if tight else '-'}</td>"
                   f"<td class='num'>{r['sim_s']:.2f}</td><td class='num'>{r['wall_s']:.2f}</td>"
                   f"<td class='num'>{speed}</td><td class='num'>{load}</td></tr>")
    out.append("</table>")
    for r in results:
        cls, word = _status(r)
        out.append(f"<h2 id='{e(r['name'])}'>{e(r['name'])} <span class='{cls}'>{word}</span></h2>")
        out.append(f"<p>{e(r['description'])}<br><span class='muted'>{e(r['file'])}"
                   f"{' &middot; tags: ' + e(', '.join(r['tags'])) if r['tags'] else ''}</span></p>")
        if r.get("error"):
            out.append(f"<p class='fail'>{e(r['error'])}</p>")
        if r.get("reason"):
            out.append(f"<p class='skipped'>skipped: {e(r['reason'])}</p>")
        out.append("<table><tr><th>expectation</th><th>verdict</th><th>margin</th>"
                   "<th>detail</th></tr>")
        for v in r["verdicts"]:
            vcls, vword = _status(v)
            out.append(f"<tr><td>{e(v['kind'])}</td><td class='{vcls}'>{vword}</td>"
                       f"<td class='num'>{e(v.get('margin_text') or '-')}</td>"
                       f"<td>{e(v['message'])}</td></tr>")
        out.append("</table><p class='muted'>margin: how far each verdict was from "
                   "flipping (positive = held with that much room, negative = violated by "
                   "that much; docs/search.md).</p>")
        tasks = (r.get("figures") or {}).get("tasks") or {}
        if tasks:
            out.append("<table><tr><th>ECU task</th><th>runs</th><th>exec p50 us</th>"
                       "<th>exec p99 us</th><th>exec max us</th></tr>")
            for name, f in tasks.items():
                if f.get("runs"):
                    out.append(f"<tr><td>{e(name)}</td><td class='num'>{f['runs']}</td>"
                               f"<td class='num'>{f['p50_us']:.1f}</td>"
                               f"<td class='num'>{f['p99_us']:.1f}</td>"
                               f"<td class='num'>{f['max_us']:.1f}</td></tr>")
            out.append("</table><p class='muted'>Execution times are the bench's CPU time (thread clock) "
                       "time per task run; the simulated execution time is the task's "
                       "exec_time in controllers/ecu.yaml.</p>")
        if r.get("steps"):
            out.append("<details><summary>steps</summary><table><tr><th>t [s]</th><th>step</th>"
                       "<th>status</th></tr>")
            for s in r["steps"]:
                t = "-" if s["t_s"] is None else f"{s['t_s']:.3f}"
                out.append(f"<tr><td class='num'>{t}</td><td>{e(s['description'])}</td>"
                           f"<td>{e(s['status'])}</td></tr>")
            out.append("</table></details>")
        arts = r.get("artifacts") or {}
        for key in sorted(arts):
            if key.startswith("plot_failed"):
                out.append(_img(arts[key]))
        if "plot_overview" in arts:
            out.append(f"<details{' open' if not r['passed'] else ''}><summary>overview plot"
                       f"</summary>{_img(arts['plot_overview'])}</details>")
        traces = [f"{e(Path(p).name)}" for k, p in sorted(arts.items()) if k.startswith("trace_")]
        if traces:
            out.append(f"<p class='muted'>traces: {', '.join(traces)} in "
                       f"{e(str(Path(arts[next(k for k in arts if k.startswith('trace_'))]).parent))}</p>")
    out += [s for s in sections if s]
    out.append("</body></html>")
    return "\n".join(out)


def write_summary(results: Sequence[dict[str, Any]], report_dir: str | Path,
                  sections: Sequence[str] = ()) -> Path:
    report_dir = Path(report_dir)
    path = report_dir / "summary.html"
    atomic_write(path, render(results, sections=sections))
    atomic_write(report_dir / "summary.json", json.dumps(list(results), indent=2, default=str))
    return path
