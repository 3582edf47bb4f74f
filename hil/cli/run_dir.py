"""The report directory of ``hil run``: one run at a time, and only this run's files.

* :func:`lock`: an exclusive ``flock`` on ``<report>/.hil-run.lock`` for the whole run; a
  second ``hil run`` on the same directory refuses with one line and exit 2 instead of
  mixing its files with the first one's.
* :func:`remove_previous`: before a run, the files an earlier ``hil run`` wrote there are
  removed (and listed on stderr), so an interrupted or partial run never leaves an earlier
  run's summary, JUnit, allure results or scenario traces looking like its own. Kept: the
  coverage index (``coverage/index.json``, kept across runs on purpose) and anything
  ``hil run`` does not write (other commands' outputs such as ``check/``, ``plan/``,
  ``ecu/``; files that are not run outputs, a YAML file never is).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from hil.errors import HilError

LOCK_FILE = ".hil-run.lock"
#: Top-level files of a run (coverage/run.json: the run's coverage aggregate).
_FILES = ("junit.xml", "summary.html", "summary.json", "coverage/run.json")
#: Files allure-pytest writes into allure-results/.
_ALLURE = ("*-result.json", "*-container.json", "*-attachment*")


class ReportDirBusy(HilError):
    """Another ``hil run`` holds the report directory."""


@contextlib.contextmanager
def lock(report: Path) -> Iterator[None]:
    """Hold ``report``'s run lock for the block; :class:`ReportDirBusy` if another process
    holds it (the lock goes with the process, so a killed run never leaves it held)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield
        return
    report.mkdir(parents=True, exist_ok=True)
    path = report / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise ReportDirBusy(
                f"{report} is in use by another hil run"
                + (f" (pid {holder})" if holder.isdigit() else "")
                + "; wait for it to finish or give another --report") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)


def remove_previous(report: Path) -> list[str]:
    """Remove what an earlier ``hil run`` wrote into ``report``; the names removed."""
    from hil.run.runner import remove_stale

    removed: list[str] = []
    for name in _FILES:
        path = report / name
        if path.is_file():
            path.unlink()
            removed.append(name)
    allure = report / "allure-results"
    if allure.is_dir():
        files = {p for pattern in _ALLURE for p in allure.glob(pattern) if p.is_file()}
        for p in files:
            p.unlink()
        if files:
            removed.append(f"allure-results/ ({len(files)} files)")
    heatmaps = report / "coverage" / "run"
    if heatmaps.is_dir():
        pngs = list(heatmaps.rglob("*.png"))
        for p in pngs:
            p.unlink()
        _prune(heatmaps)
        if pngs:
            removed.append("coverage/run/")
    scenarios = report / "scenarios"
    if scenarios.is_dir():
        count = 0
        for d in sorted(p for p in scenarios.iterdir() if p.is_dir() and not p.is_symlink()):
            if remove_stale(d):
                count += 1
            _prune(d)
        if count:
            removed.append(f"scenarios/ ({count} scenario directories)")
    python = report / "python"
    if python.is_dir():
        plots = [p for p in python.iterdir() if p.is_file()
                 and (p.suffix == ".png" or ".partial" in p.name)]
        for p in plots:
            p.unlink()
        if plots:
            removed.append(f"python/ ({len(plots)} plots)")
    return removed


def _prune(directory: Path) -> None:
    """Remove ``directory`` and its subdirectories if they are empty."""
    for d in sorted((p for p in directory.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()
    with contextlib.suppress(OSError):
        directory.rmdir()
