"""pytest plugin: scenarios are collected as pytest items (docs/architecture.md).

Registered through the ``pytest11`` entry point, so ``pytest scenarios/`` works in
any checkout where the bench is installed, and pytest-xdist, JUnit XML and
allure-pytest come for free. The shape is pytest's non-Python example:
``pytest_collect_file`` -> :class:`ScenarioFile` -> :class:`ScenarioItem`. A scenario YAML is any ``*.yaml`` below a directory named
``scenarios`` (or named on the command line) with ``duration:`` and ``expect:``.

A failed scenario reads as the expectation that failed, when, and the observed
value against the bound — not a traceback. A scenario file with a mistake is a
collection error of one line, ``file:line:col: message``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hil.config.yamlio import excerpt
from hil.errors import HilError

_RESULTS_KEY = "hil_result"
_SCHEDULER = pytest.StashKey[Any]()
_PY_RESULTS_KEY = "hil_python_result"  # a Python scenario's row, known at teardown
#: The terminal table's columns after "x real": header, key of ScenarioResult.times.
_TIME_COLUMNS = (("setup s", "setup_s"), ("judge s", "judge_s"), ("export s", "export_s"),
                 ("plots s", "plots_s"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ntec-hil", "n.Tec HIL bench scenarios")
    group.addoption("--rig", default=None,
                    help="rig file for every scenario (default: the scenario's rig:, else "
                    "rigs/sil.yaml)")
    group.addoption("--hil-report", default="reports",
                    help="directory for traces, plots, result files and the HTML summary "
                    "(default reports/)")
    group.addoption("--hil-trace", default="blf,mf4",
                    help="trace formats written per scenario, comma-separated "
                    "(blf, asc, mf4, csv, log; 'none' for none; default blf,mf4)")
    group.addoption("--hil-no-plots", action="store_true", help="write no PNG plots")
    group.addoption("--hil-margins", type=int, default=0, metavar="N",
                    help="after the run, list the N smallest robustness margins of the suite")
    group.addoption("--hil-scheduler", default=None, metavar="ADDRESS",
                    help="run the scenarios as tasks on the Dask scheduler at ADDRESS "
                    "(tcp://host:port; hil.run.distributed)")


def looks_like_scenario(path: Path, *, named: bool = False) -> bool:
    """A YAML file named explicitly, or below a ``scenarios`` directory with duration and
    expect (a directory also holds other YAML: rigs, parameter sets)."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    if named:
        # A file named on the command line is a scenario: its mistakes (an empty file, a
        # misspelt `durration:`) are reported as a scenario's, with line and closest key.
        return True
    if "scenarios" not in path.resolve().parts:
        return False
    try:
        head = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return bool(re.search(r"^duration\s*:", head, re.M) and re.search(r"^expect\s*:", head, re.M))


def _is_scenario_file(path: Path, config: pytest.Config) -> bool:
    named = any(Path(arg.split("::")[0]).resolve() == path.resolve()
                for arg in config.args if not arg.startswith("-"))
    return looks_like_scenario(path, named=named)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_scenario_file(file_path, parent.config):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        from hil.run.runner import load

        scenario = load(self.path, rig=self.config.getoption("rig"))
        for tag in scenario.tags:
            self.config.addinivalue_line("markers", f"{tag}: scenario tag")
        item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        for tag in scenario.tags:
            item.add_marker(tag)
        reason = needs_other_rig(scenario, self.config.getoption("rig"))
        if reason:
            # Skipped at collection, before any bench or preflight: SKIPPED with the reason
            # in the terminal, JUnit and allure, and a row in the summary (never a failure).
            item.add_marker(pytest.mark.skip(reason=reason))
            item.user_properties.append((_RESULTS_KEY, json.dumps(_skipped_summary(
                scenario, reason))))
        yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, HilError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def needs_other_rig(scenario: Any, rig: str | Path | None) -> str | None:
    """Why ``scenario`` cannot run on ``rig`` (None: it can). Bus faults need the
    simulated bus; a scenario's own calibration needs an ECU the bench starts with it (SIL,
    or ``session: {restart: process}``), not one already running on the wire."""
    from hil.config.rig import load_rig, resolve_rig_path

    faults = scenario.bus_faults
    if not faults and scenario.calibration is None:
        return None
    rig_cfg = load_rig(resolve_rig_path(rig if rig is not None else scenario.rig, scenario.file))
    if faults and not rig_cfg.simulated_bus:
        modes = ", ".join(sorted({f.mode for f in faults}))
        return (f"needs the simulated bus (bus fault {modes}); rig {rig_cfg.name} is on "
                f"{rig_cfg.bus.get('interface')}: run it on rigs/sil.yaml")
    restarts = rig_cfg.session is not None and rig_cfg.session.restart == "process"
    if scenario.calibration is not None and rig_cfg.ecu == "external" and not restarts:
        # The ECU on the wire runs the calibration it was flashed (started) with.
        runs = _external_calibration(rig_cfg)
        if runs is None or Path(runs).stem != Path(scenario.calibration).stem:
            return (f"needs calibration {scenario.calibration}; the external ECU of rig "
                    f"{rig_cfg.name} runs {Path(runs).stem if runs else 'its own'}: run it on "
                    "rigs/sil.yaml or a rig with session: {restart: process}")
    return None


def _external_calibration(rig: Any) -> Path | None:
    """The calibration an external ECU of ``rig`` runs (hil ecu: the rig's, else ecu.yaml's)."""
    if rig.calibration is not None:
        return Path(rig.calibration)
    if rig.ecu_config is None:
        return None
    from hil.nodes.ecu_config import load_ecu_config
    from hil.wire.dbc import load_dbc

    return load_ecu_config(rig.ecu_config, load_dbc(rig.dbc)).calibration


def _skipped_summary(scenario: Any, reason: str) -> dict[str, Any]:
    """The summary row of a scenario skipped at collection (as ScenarioResult.summary)."""
    return {"name": scenario.name, "file": scenario.file, "description": scenario.description,
            "tags": list(scenario.tags), "passed": False, "status": "skipped",
            "error": None, "reason": reason, "sim_s": 0.0, "wall_s": 0.0, "speed": None,
            "verdicts": [], "trace_sha256": None, "steps": [], "artifacts": {},
            "figures": {}}


class ScenarioFailed(AssertionError):
    """The scenario ran; an expectation failed or a step timed out."""

    def __init__(self, result: Any) -> None:
        super().__init__(result.failure_text())
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    #: the scenario's run as a task on a Dask cluster (--hil-scheduler), once submitted
    remote: Any = None

    def runtest(self) -> None:
        from hil.run.runner import run_scenario

        config = self.config
        from hil.run.interrupt import ScenarioInterrupted

        if self.remote is not None:
            from hil.run.distributed import attach

            result = attach(self.remote.result(), self.scenario)
        else:
            try:
                result = run_scenario(self.scenario, rig=config.getoption("rig"),
                                      report_dir=Path(config.getoption("hil_report")) / "scenarios",
                                      formats=trace_formats(config),
                                      plots=not config.getoption("hil_no_plots"))
            except ScenarioInterrupted as stop:
                # The trace so far and result.json are written: this item gets its report
                # (JUnit, summary row), then the session stops (pytest: "Interrupted").
                result = stop.result
                self.session.shouldstop = f"{stop} during scenario {self.scenario.name}"
        self.user_properties.append((_RESULTS_KEY, json.dumps(result.summary(), default=str)))
        # JUnit <properties>: one margin per expectation, in file order, and the trace hash.
        for i, verdict in enumerate(result.verdicts):
            self.user_properties.append((f"margin.{i}.{verdict.expectation.kind}",
                                         verdict.margin_text))
        if result.trace_sha256:
            self.user_properties.append(("trace_sha256", result.trace_sha256))
        _allure(self.scenario, result)
        if result.status == "inconclusive":
            # Never a silent pass: the rig could not resolve a timing bound (hil.bench.preflight).
            pytest.skip("INCONCLUSIVE: " + result.failure_text().replace("\n", "; "))
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        exc = excinfo.value
        if isinstance(exc, ScenarioFailed):
            result = exc.result
            # The first line is what JUnit's failure message and pytest's short summary
            # show: the first failed expectation (file:line:col: FAIL ...), or the error.
            lines = result.failure_text().splitlines() or ["failed"]
            lines.append(f"scenario {self.scenario.name!r} failed "
                         f"({excerpt(self.scenario.description, 200)[1:-1]})")
            plots = [p for k, p in result.artifacts.items() if k.startswith("plot_failed")]
            if plots:
                lines.append("  plots: " + ", ".join(plots))
            if "trace_blf" in result.artifacts:
                lines.append(f"  trace: {result.artifacts['trace_blf']}")
            return "\n".join(lines)
        if isinstance(exc, HilError):
            return str(exc)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.scenario.where[1] - 1 if self.scenario.where else 0
        return self.path, line, f"scenario: {self.scenario.name}"


def trace_formats(config: pytest.Config) -> tuple[str, ...]:
    formats_opt = config.getoption("hil_trace")
    return () if formats_opt in ("", "none") else tuple(
        f.strip() for f in formats_opt.split(",") if f.strip())


def _allure(scenario: Any, result: Any) -> None:
    """Steps, labels and attachments for allure-pytest (a no-op when it is not recording)."""
    try:
        import allure
    except ImportError:
        return
    allure.dynamic.title(scenario.name)
    allure.dynamic.description(scenario.description)
    # Tags reach allure as labels through the pytest markers the item carries.
    allure.dynamic.label("suite", Path(scenario.file).parent.name)
    for record in result.steps:
        when = "-" if record.t_ns is None else f"{record.t_ns / 1e9:.3f} s"
        try:
            with allure.step(f"[{when}] {record.description} ({record.status})"):
                if record.status != "done":
                    raise AssertionError(result.error or record.status)
        except AssertionError:
            pass
    for verdict in result.verdicts:
        allure.dynamic.parameter(f"margin {verdict.expectation.label}", verdict.margin_text)
        try:
            with allure.step(f"expect {verdict.expectation.kind} [margin "
                             f"{verdict.margin_text}]: {verdict.message}"):
                if not verdict.passed:
                    raise AssertionError(verdict.message)
        except AssertionError:
            pass
    for key, path in result.artifacts.items():
        if key.startswith("plot"):
            allure.attach.file(path, name=Path(path).name,
                               attachment_type=allure.attachment_type.PNG)
        elif key == "trace_blf":
            # One trace per result keeps allure-results small; the MF4 stays on disk.
            allure.attach.file(path, name=Path(path).name, extension="blf")


@pytest.fixture
def hil(request: pytest.FixtureRequest):
    """Python scenarios: SIL benches, YAML-style steps and expectations (hil.run.pyscenario)."""
    from hil.run.pyscenario import PythonScenarios

    config = request.config
    report = Path(config.getoption("hil_report")) / "python"
    helper = PythonScenarios(rig=config.getoption("rig"), report_dir=report,
                             name=request.node.name, where=str(request.path))
    try:
        yield helper
    finally:
        # The test's row of the summary (table, summary.html, summary.json): its
        # expectations as the hil fixture judged them; the outcome comes with the report.
        function = getattr(request.node, "function", None)
        row = helper.summary(description=_python_description(request.node),
                             line=getattr(getattr(function, "__code__", None),
                                          "co_firstlineno", None))
        helper.close()
        request.node.user_properties.append((_PY_RESULTS_KEY, json.dumps(row, default=str)))


def _python_description(node: Any) -> str:
    """What a Python scenario proves: the first paragraph of its test's docstring, else of
    its module's."""
    for owner in (getattr(node, "function", None), getattr(node, "module", None)):
        doc = getattr(owner, "__doc__", None)
        if doc and doc.strip():
            return " ".join(doc.strip().split("\n\n")[0].split())
    return "a scenario written in Python (no docstring)"


@pytest.fixture
def hil_check(request: pytest.FixtureRequest):
    """Judge a recorded trace against a scenario's expectations (hil.run.check), e.g. in CI
    on traces recorded on a bench::

        def test_bench_recording(hil_check):
            result = hil_check("recordings/egt.blf", "scenarios/safety/egt_overtemp.yaml",
                               rig="rigs/udp.yaml", start="last-segment")
            assert result.passed, result.failure_text()

    Reports (result.json, plots) go to ``<--hil-report>/check/<test name>/``.
    """
    from hil.run.check import check_trace

    config = request.config
    report = Path(config.getoption("hil_report")) / "check" / _safe_name(request.node.name)

    def judge(trace: str | Path, scenario: str | Path, **kwargs: Any) -> Any:
        kwargs.setdefault("rig", config.getoption("rig"))
        kwargs.setdefault("plots", not config.getoption("hil_no_plots"))
        return check_trace(trace, scenario, report_dir=report, **kwargs)

    return judge


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                   items: list[pytest.Item]) -> None:
    """Longest scenarios first, so with ``-n 2`` no worker is left alone with the lap at the end.

    Only scenario items move, and only among the places scenario items held: other tests
    keep theirs. The sort is stable (equal durations keep their collection order), so the
    order is the same in every run; a verdict never depends on it (each scenario builds
    its own bench, and the SIL pauses the cyclic gc while simulated time runs).
    """
    slots = [i for i, item in enumerate(items) if isinstance(item, ScenarioItem)]
    ordered = sorted((item for item in items if isinstance(item, ScenarioItem)),
                     key=lambda item: -item.scenario.duration_ns)
    for i, item in zip(slots, ordered, strict=True):
        items[i] = item


def pytest_collection_finish(session: pytest.Session) -> None:
    """With --hil-scheduler: the items that will run (after -k/-m deselection and the
    ordering above) go to the cluster now; each item waits for its own task."""
    config = session.config
    address = config.getoption("hil_scheduler")
    if address and not hasattr(config, "workerinput") and not config.option.collectonly:
        _submit(config, address, [i for i in session.items if isinstance(i, ScenarioItem)])


def _submit(config: pytest.Config, address: str, items: list[ScenarioItem]) -> None:
    """Every scenario item that will run, as a task on the cluster, longest first."""
    from hil.run.distributed import Scheduler, SchedulerError

    try:
        scheduler = Scheduler(address)
    except SchedulerError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_SCHEDULER] = scheduler
    report = str((Path(config.getoption("hil_report")) / "scenarios").resolve())
    rig = config.getoption("rig")
    rig = str(Path(rig).resolve()) if rig else None
    for item in items:
        if item.get_closest_marker("skip") is not None:
            continue
        item.remote = scheduler.submit(item.scenario.name, str(Path(item.scenario.file).resolve()),
                                       rig, report, trace_formats(config),
                                       not config.getoption("hil_no_plots"))


def pytest_unconfigure(config: pytest.Config) -> None:
    scheduler = config.stash.get(_SCHEDULER, None)
    if scheduler is not None:
        scheduler.close()


# -- the session's results: terminal table and HTML summary (on the controller only) -------

def _crash_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0] if crash.message else "failed"
    lines = str(report.longreprtext).strip().splitlines()
    return lines[-1] if lines else "failed"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(HilResults(config), "ntec-hil-results")
    config.pluginmanager.register(_Interruption(config), "ntec-hil-interruption")
    _one_run_of_allure(config)


class _Interruption:
    """SIGINT / SIGTERM with pytest-xdist workers (hil.run.interrupt, relaying and worker):
    the controller hands the first signal on to every worker, each worker stops its
    scenario at the next boundary and reports it (trace so far, result.json, its JUnit and
    summary entries) and starts no other test; the session ends when they have reported."""

    def __init__(self, config: pytest.Config) -> None:
        from hil.run import interrupt

        self.config = config
        self.pids: dict[str, int] = {}
        self.worker = hasattr(config, "workerinput")
        self._zone = contextlib.ExitStack()
        if self.worker:
            self._zone.enter_context(interrupt.worker())

    def pytest_unconfigure(self) -> None:
        self._zone.close()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        # execnet's remote info of a popen worker, which xdist caches when it sets the
        # worker up (its own comment: pytest-cov reads it too), holds the worker's pid.
        rinfo = getattr(node.gateway, "_rinfo", None)
        pid = getattr(rinfo(), "pid", None) if callable(rinfo) else None
        if isinstance(pid, int):
            self.pids[str(node.gateway.id)] = pid

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        self.pids.pop(str(node.gateway.id), None)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        dsession = self.config.pluginmanager.getplugin("dsession")
        if self.worker or dsession is None:
            return (yield)
        from hil.run import interrupt

        def relay(signum: int) -> None:
            for pid in list(self.pids.values()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, interrupt.RELAY[signal.Signals(signum)])
            # No new test goes out; xdist ends the session when every worker has stopped.
            dsession.shouldstop = f"interrupted by {interrupt.signal_name(signum)}"

        with interrupt.relaying(relay):
            return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any) -> bool | None:
        from hil.run import interrupt

        signum = interrupt.received()
        if self.worker and signum is not None:
            item.session.shouldstop = f"interrupted by {interrupt.signal_name(signum)}"
            return True   # a test not started when the stop came is not started
        return None


#: What allure-pytest writes into --alluredir: <uuid>-result.json, -container.json,
#: -attachment.<ext> (and <name>.tmp while writing).
_ALLURE_FILE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                          r"-(result\.json|container\.json|attachment(\.[^/]*)?)(\.tmp)?$")


def _one_run_of_allure(config: pytest.Config) -> None:
    """allure-results holds this run only (docs/scenarios.md, "Reports"): the results of
    earlier runs are removed once, by the controller, before any worker starts (each
    xdist worker cleaning it, as --clean-alluredir would, could remove another's results).
    Only allure's own files go; anything else in the directory (environment.properties,
    categories.json) stays."""
    directory = getattr(config.option, "allure_report_dir", None)
    if not directory:
        return
    if hasattr(config, "workerinput"):
        config.option.clean_alluredir = False
        return
    path = Path(directory)
    if path.is_dir():
        for entry in path.iterdir():
            if entry.is_file() and _ALLURE_FILE.match(entry.name):
                entry.unlink(missing_ok=True)


def _junit_classname(config: pytest.Config, report: pytest.TestReport) -> None:
    """JUnit's classname of a YAML scenario is its suite path without ``.yaml``
    (``safety.egt_overtemp``, as pytest names ``safety/test_x.py`` ``safety.test_x``)."""
    path, sep, _ = report.nodeid.partition("::")
    if not sep or not path.endswith((".yaml", ".yml")):
        return
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    dotted = re.sub(r"\.ya?ml$", "", path).replace("/", ".")
    classname = f"{xml.prefix}.{dotted}" if xml.prefix else dotted
    xml.node_reporter(report).add_attribute("classname", classname)


class HilResults:
    """Collects scenario summaries (from xdist workers too) for the table and the HTML."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: list[dict[str, Any]] = []
        self._outcomes: dict[str, pytest.TestReport] = {}
        self._configured = time.perf_counter()
        # `hil run` notes when its process started; a plain pytest run counts from here.
        cli = sys.modules.get("hil.cli")
        self._started: float = getattr(cli, "STARTED", None) or self._configured
        self._from_cli = self._started != self._configured
        self._collected: float | None = None
        self._reports_s: float | None = None
        self._preimport: threading.Thread | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            _junit_classname(self.config, report)
        if report.when == "teardown":
            self._python_row(report)
            return
        if report.when == "call" or report.failed:
            self._outcomes[report.nodeid] = report
        # A scenario skipped at collection has no call phase: its row comes with the setup.
        if report.when != "call" and not (report.when == "setup" and report.skipped):
            return
        for key, value in report.user_properties:
            if key == _RESULTS_KEY:
                assert isinstance(value, str)  # the JSON text ScenarioItem recorded
                self.results.append(json.loads(value))

    def _python_row(self, report: pytest.TestReport) -> None:
        """A Python scenario's row (hil fixture), with the outcome of its call phase."""
        row = next((json.loads(str(v)) for k, v in report.user_properties
                    if k == _PY_RESULTS_KEY),
                   None)
        outcome = self._outcomes.pop(report.nodeid, None)
        if row is None:
            return
        inconclusive = any(v.get("status") == "inconclusive" for v in row["verdicts"])
        if outcome is None or outcome.passed:
            status = "pass" if outcome is not None else "fail"
        elif outcome.skipped:
            status = "inconclusive" if inconclusive else "skipped"
        else:
            status = "fail"
        row["status"], row["passed"] = status, status == "pass"
        if outcome is not None:
            row["wall_s"] = float(outcome.duration)
            if row["wall_s"] > 0 and row["sim_s"]:
                row["speed"] = row["sim_s"] / row["wall_s"]
            if outcome.failed and all(v["passed"] for v in row["verdicts"]):
                # Failed outside an expectation (an exception in the test): its first line.
                row["error"] = _crash_line(outcome)
            if outcome.skipped and not inconclusive:
                longrepr = outcome.longrepr
                row["reason"] = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
        self.results.append(row)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results or hasattr(self.config, "workerinput"):
            return
        from hil.report.margins import describe, smallest_margins, tightest

        tr = terminalreporter
        tr.section("n.Tec HIL scenarios")
        width = max(len(r["name"]) for r in self.results)
        # wall s and x real are the simulation's; what a run spends around it has its own
        # columns (ScenarioResult.times), the session's start-up and reports the last line.
        tr.write_line(f"{'scenario':{width}s}  verdict  {'sim s':>7s}  {'wall s':>7s}  "
                      f"{'x real':>7s}  " + "  ".join(f"{h:>8s}" for h, _ in _TIME_COLUMNS)
                      + "  tightest margin")
        for r in sorted(self.results, key=lambda r: r["name"]):
            speed = f"{r['speed']:.1f}" if r.get("speed") else "-"
            verdict = (r.get("status") or ("pass" if r["passed"] else "fail")).upper()[:7]
            tight = tightest(r.get("verdicts", ()))
            times = r.get("times") or {}
            extra = "  ".join(f"{times[k]:8.2f}" if k in times else f"{'-':>8s}"
                              for _, k in _TIME_COLUMNS)
            tr.write_line(f"{r['name']:{width}s}  {verdict:7s}  {r['sim_s']:7.2f}  "
                          f"{r['wall_s']:7.2f}  {speed:>7s}  {extra}  "
                          f"{describe(tight) if tight else '-'}")
        count = self.config.getoption("hil_margins")
        if count:
            tr.write_line("")
            tr.write_line(f"smallest margins (of {count} asked; % of each bound, band or "
                          "DBC range):")
            for name, v in smallest_margins(self.results, count):
                where = ":".join(map(str, v["where"][:2])) if v.get("where") else name
                tr.write_line(f"  {describe(v):36s} {name}: {v.get('label') or v['kind']}"
                              f"  [{where}]")
        passed = sum(r["passed"] for r in self.results)
        inconclusive = sum(r.get("status") == "inconclusive" for r in self.results)
        skipped = [r for r in self.results if r.get("status") == "skipped"]
        for r in sorted(skipped, key=lambda r: r["name"]):
            tr.write_line(f"  skipped {r['name']}: {r.get('reason', '')}")
        tr.write_line(self._session_times())
        tr.write_line(f"{passed} of {len(self.results)} scenarios passed"
                      + (f", {inconclusive} INCONCLUSIVE (rig fitness)" if inconclusive else "")
                      + (f", {len(skipped)} SKIPPED (need another rig)" if skipped else "")
                      + "; HTML summary: "
                      f"{Path(self.config.getoption('hil_report')) / 'summary.html'}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._collected = time.perf_counter()

    def _session_times(self) -> str:
        """Where the session's wall time went besides the scenarios' own columns."""
        now = time.perf_counter()
        collected = self._collected or self._configured
        reports = self._reports_s or 0.0
        # With -n the controller collects nothing: the workers' start-up and collection
        # count under "scenarios". Without `hil run` the start-up is not known here.
        start = (f"start-up {collected - self._started:.2f} s (imports, scenario checks"
                 f"{', collection' if self._collected else ''}), " if self._from_cli else "")
        return (f"session {now - self._started:.2f} s wall: {start}scenarios "
                f"{now - reports - collected:.2f} s, reports {reports:.2f} s (summary.html, "
                "coverage, heatmaps)")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        """With -n the controller waits while the workers run: it imports matplotlib then
        (a daemon thread, ~1 s here), not at the end for the coverage heatmaps, where
        nothing else runs. Without -n matplotlib is imported by the first scenario's plots."""
        if self._preimport is not None or self.config.getoption("hil_no_plots"):
            return

        def preimport() -> None:
            import matplotlib.backends.backend_agg  # noqa: F401
            import matplotlib.colors  # noqa: F401
            import matplotlib.figure  # noqa: F401

        self._preimport = threading.Thread(target=preimport, name="hil-preimport",
                                           daemon=True)
        self._preimport.start()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput") or not self.results:
            return
        from hil.calibration.report import after_run
        from hil.report.html import write_summary

        t0 = time.perf_counter()
        report_dir = Path(self.config.getoption("hil_report"))
        write_summary(self.results, report_dir, sections=[after_run(
            self.results, report_dir, plots=not self.config.getoption("hil_no_plots"))])
        self._reports_s = time.perf_counter() - t0
