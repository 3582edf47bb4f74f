"""The files a run writes (issue 12 item 7), read back by the readers that consume them:
created with the process umask, allure-results holding one run only, JUnit and pytest's
short summary leading with the first failed expectation, the JUnit classname without
``.yaml``, and Python scenarios in the table, summary.html and summary.json."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FAILING = """\
name: tight_period
description: A short scenario whose period bound is too tight on purpose, to check reports.
duration: 0.3 s
expect:
  - never: EngineSpeed > 100000
  - period: {message: PlantFast, nominal: 1 ms, jitter: 1 us, during: [10 ms, end]}
"""

PYTHON = '''\
"""Python scenarios of the report test."""


def test_python_holds(hil):
    """Idle engine speed stays within its physical range."""
    bench = hil.bench()
    bench.run_for(0.2)
    hil.expect(bench, "never: EngineSpeed > 100000", "never: EngineSpeed < -1")


def test_python_fails(hil):
    bench = hil.bench()
    bench.run_for(0.2)
    hil.expect(bench, "never: EngineSpeed >= 0")
'''


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    # A wide terminal, so pytest's short summary line is not cut.
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600,
                          env={**os.environ, "COLUMNS": "1000"},
                          preexec_fn=lambda: os.umask(0o022))


def _allure_results(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("*-result.json")}


def test_report_files_junit_allure_and_python_rows(tmp_path):
    suite = tmp_path / "scenarios" / "checks"
    suite.mkdir(parents=True)
    (suite / "tight_period.yaml").write_text(FAILING)
    (suite / "test_python_rows.py").write_text(PYTHON)
    report = tmp_path / "report"

    first = _run([sys.executable, "-m", "hil", "run", str(tmp_path / "scenarios"),
                  "--report", str(report), "--trace", "none"])
    assert first.returncode == 1, first.stdout + first.stderr
    allure = report / "allure-results"
    earlier = _allure_results(allure)
    assert len(earlier) == 3

    # (e) Python scenarios are rows of the table, summary.json and summary.html, with
    # their expectations.
    assert "1 of 3 scenarios passed" in first.stdout, first.stdout
    rows = {r["name"]: r for r in json.loads((report / "summary.json").read_text())}
    assert set(rows) == {"tight_period", "test_python_holds", "test_python_fails"}
    holds, fails = rows["test_python_holds"], rows["test_python_fails"]
    assert holds["status"] == "pass" and [v["kind"] for v in holds["verdicts"]] == \
        ["never", "never"]
    assert holds["description"] == "Idle engine speed stays within its physical range."
    assert holds["sim_s"] == 0.2
    assert fails["status"] == "fail" and not fails["verdicts"][0]["passed"]
    # the line of the test that called expect(), not of a YAML document built from it
    assert fails["verdicts"][0]["where"][:2] == [str(suite / "test_python_rows.py"), 14]
    html = (report / "summary.html").read_text()
    for name in rows:
        assert f"<a href='#{name}'>{name}</a>" in html

    # (a) every file of the report follows the umask (0644 under 022), PNGs included
    pngs = list(report.rglob("*.png"))
    assert len(pngs) >= 3   # overview + failed period of the YAML one, the failed Python one
    for path in [*pngs, report / "summary.html", report / "summary.json",
                 report / "junit.xml", *report.rglob("result.json")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path

    # (c, d) JUnit: the failure message starts with the failed expectation, classname is
    # the suite path without .yaml
    cases = {c.get("name"): c for c in ET.parse(report / "junit.xml").iter("testcase")}
    case = cases["tight_period"]
    assert case.get("classname") == "checks.tight_period", case.attrib
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith(
        f"{suite / 'tight_period.yaml'}:6:5: FAIL period of PlantFast: interval "), failure.attrib
    assert cases["test_python_holds"].get("classname") == "checks.test_python_rows"

    # (b) a second run (pytest itself, two workers) on the same report dir: allure-results
    # holds that run only; pytest's short summary leads with the failed expectation
    second = _run([sys.executable, "-m", "pytest", str(tmp_path / "scenarios"), "-p",
                   "no:cacheprovider", "-o", "testpaths=", "-n", "2", "-rf",
                   f"--hil-report={report}", "--hil-trace=none", "--hil-no-plots",
                   f"--alluredir={allure}", "-W", "ignore::pytest.PytestAssertRewriteWarning"])
    assert second.returncode == 1, second.stdout + second.stderr
    now = _allure_results(allure)
    assert len(now) == 3 and not now & earlier, (earlier, now)
    for name in now:
        result = json.loads((allure / name).read_text())
        assert result["name"] in rows
    line = next(x for x in second.stdout.splitlines()
                if x.startswith("FAILED") and "tight_period.yaml::tight_period" in x)
    assert line.split(" - ", 1)[1].startswith(
        f"{suite / 'tight_period.yaml'}:6:5: FAIL period of PlantFast: interval "), line


def _tree(directory: Path) -> dict[str, int]:
    return {str(p.relative_to(directory)): p.stat().st_mtime_ns
            for p in directory.rglob("*")} if directory.is_dir() else {}


def test_the_projects_own_tests_write_no_report_into_the_repository() -> None:
    """``pytest`` from the repository root collects tests/ and scenarios/python: the Python
    scenarios, the ``hil`` fixture and ``hil_check`` wrote summary.html, summary.json,
    python/ and check/ into the repository's reports/. tests/conftest.py points
    --hil-report at a temporary directory unless it is given."""
    reports = REPO / "reports"
    before = _tree(reports)
    proc = _run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                 "scenarios/python/test_overboost_speeds.py",
                 "tests/integration/test_python_scenarios.py",
                 "tests/integration/test_check.py::test_the_pytest_fixture_judges_a_recording"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "HTML summary: " in proc.stdout and "HTML summary: reports" not in proc.stdout
    assert _tree(reports) == before
