"""The calibration engineer's workflow around the suite (docs/calibration-workflow.md).

- :mod:`hil.calibration.coverage`: which cells of each calibration map the ECU looked up
  in a run, on the map's own breakpoints, and the coverage index kept across runs;
- :mod:`hil.calibration.heatmap`: heatmaps of it (PNG, and a section of summary.html);
- :mod:`hil.calibration.plan`: the next dyno operating points for the unvisited cells;
- :mod:`hil.calibration.diff`: two calibrations as changed cells and scalars, and the
  scenarios a change can affect;
- :mod:`hil.calibration.sweep`: grids and seeded samples of runs on Dask.

Nothing here is imported by ``import hil`` or at ``hil run`` start-up; Dask and the
Parquet engine are imported only by the sweep and ``--scheduler``.
"""
