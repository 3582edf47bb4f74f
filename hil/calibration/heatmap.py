"""Coverage heatmaps: one per map, cells coloured by time spent, unvisited cells marked.

PNG files (matplotlib on its own Agg canvas, as hil.report.plot) and an HTML section
with the same pictures embedded, for summary.html and ``hil coverage``.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hil.calibration.coverage import MIN_TIME_S, MapCoverage

# The maps a calibrator looks at first; the others follow in calibration order.
FIRST = ("ve", "spark_mbt", "spark_knock_limit", "lambda_target")


def ordered(maps: Mapping[str, MapCoverage]) -> list[str]:
    return [m for m in FIRST if m in maps] + [m for m in maps if m not in FIRST]


def heatmap_png(cov: MapCoverage, path: str | Path, *, title: str = "",
                min_time_s: float = MIN_TIME_S) -> Path:
    """Time spent per cell (log colour scale); an unvisited cell is grey with an x."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    from hil.trace.files import atomic_output

    path = Path(path)
    visited = cov.visited(min_time_s)
    ny, nx = cov.shape
    fig = Figure(figsize=(max(6.0, 0.62 * nx + 2.2), max(3.6, 0.42 * ny + 1.6)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_facecolor("#d9d9d9")
    data = np.where(visited, cov.time_s, np.nan)
    finite = data[np.isfinite(data)]
    norm = LogNorm(vmin=max(float(finite.min()), 1e-3), vmax=max(float(finite.max()), 1e-2)) \
        if finite.size else None
    im = ax.imshow(np.ma.masked_invalid(data), origin="lower", aspect="auto", cmap="viridis",
                   norm=norm, interpolation="nearest")
    # The unvisited cells' marks are one collection, not a text per cell: a text costs a
    # layout per draw, and a suite's heatmaps are drawn at the end of every `hil run`.
    jj, ii = np.nonzero(~visited)
    ax.scatter(ii, jj, marker="x", s=18, linewidths=0.8, color="#7a7a7a")
    for j, i in zip(*np.nonzero(visited & (cov.time_s >= 1.0)), strict=True):
        ax.text(i, j, f"{cov.time_s[j, i]:.0f}", ha="center", va="center",
                color="white", fontsize=6)
    ax.set_xlim(-0.5, nx - 0.5)
    ax.set_ylim(-0.5, ny - 0.5)
    ax.set_xticks(range(nx), [f"{v:g}" for v in cov.x], fontsize=7, rotation=45)
    ax.set_yticks(range(ny), [f"{v:g}" for v in cov.y], fontsize=7)
    ax.set_xlabel(f"{cov.x_name} [{cov.x_unit}] ({cov.inputs[0]})")
    ax.set_ylabel(f"{cov.y_name} [{cov.y_unit}] ({cov.inputs[1]})")
    share = visited.sum() / cov.cells
    ax.set_title(f"{title or cov.name}: {int(visited.sum())} of {cov.cells} cells visited "
                 f"({share:.0%}); x = unvisited", fontsize=9)
    if norm is not None:
        from matplotlib.ticker import FormatStrFormatter

        bar = fig.colorbar(im, ax=ax, label="time in cell [s]")
        # plain numbers (the log axis' default labels are mathtext, slow to lay out)
        bar.ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        bar.ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    # Fixed margins (inches) for the short tick labels, the rotated breakpoints and the
    # labels: tight_layout would draw the whole figure once more to measure them.
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=0.85 / w, right=1 - 0.1 / w, bottom=1.0 / h, top=1 - 0.4 / h)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    return path


def write_heatmaps(per_calibration: Mapping[str, Mapping[str, MapCoverage]], out_dir: str | Path,
                   *, min_time_s: float = MIN_TIME_S) -> dict[str, dict[str, Path]]:
    """``out_dir/<calibration>/<map>.png`` for every map; returns the paths."""
    out: dict[str, dict[str, Path]] = {}
    for cal, maps in per_calibration.items():
        for name in ordered(maps):
            out.setdefault(cal, {})[name] = heatmap_png(
                maps[name], Path(out_dir) / cal / f"{name}.png", title=f"{cal} {name}",
                min_time_s=min_time_s)
    return out


def table_rows(per_calibration: Mapping[str, Mapping[str, MapCoverage]],
               min_time_s: float = MIN_TIME_S) -> list[tuple[str, str, int, int, float, float]]:
    """(calibration, map, visited, cells, share, seconds looked up) per map."""
    rows = []
    for cal, maps in per_calibration.items():
        for name in ordered(maps):
            c = maps[name]
            v = int(c.visited(min_time_s).sum())
            rows.append((cal, name, v, c.cells, v / c.cells, float(c.time_s.sum())))
    return rows


def html_section(per_calibration: Mapping[str, Mapping[str, MapCoverage]],
                 pngs: Mapping[str, Mapping[str, Path]], *, scenarios: int,
                 min_time_s: float = MIN_TIME_S) -> str:
    """The 'calibration map coverage' section of summary.html (PNGs embedded)."""
    e = html.escape
    out = ["<h2 id='coverage'>Calibration map coverage</h2>",
           f"<p>Cells of each map's own breakpoints the ECU looked up in this run's "
           f"{scenarios} scenario(s), from the ECU's input signals in the trace; a cell is "
           f"visited when the lookups dwelt there at least {min_time_s:g} s. "
           "<span class='muted'>hil coverage prints the same across runs (the index).</span></p>",
           "<table><tr><th>calibration</th><th>map</th><th>cells visited</th>"
           "<th>share</th><th>s looked up</th></tr>"]
    for cal, name, v, n, share, secs in table_rows(per_calibration, min_time_s):
        out.append(f"<tr><td>{e(cal)}</td><td>{e(name)}</td><td class='num'>{v} / {n}</td>"
                   f"<td class='num'>{share:.0%}</td><td class='num'>{secs:.1f}</td></tr>")
    out.append("</table>")
    for cal, maps in pngs.items():
        for name, path in maps.items():
            b64 = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            out.append(f"<details{' open' if name in FIRST[:2] else ''}><summary>{e(cal)} "
                       f"{e(name)}</summary><img alt='{e(name)} coverage' "
                       f"src='data:image/png;base64,{b64}'></details>")
    return "\n".join(out)
