"""The scenario examples of the docs run as written and get the verdicts the docs state
(issue 12 item 6).

A ```yaml block is an example to run when the paragraph before it says
``Verdict when run: **PASS**`` (or **FAIL**); each is written to a file under a
``scenarios`` directory and run through ``hil run`` in one subprocess, then every
expectation's verdict is read from summary.json. ``budget`` is measured in CPU time of the
machine running the test (docs/bench.md), so it must be judged but may go either way.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "docs" / "scenarios.md"]
_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)
_VERDICT = re.compile(r"Verdict when run: \*\*(PASS|FAIL)\*\*")


def runnable_examples(text: str) -> list[tuple[str, str]]:
    """(expected verdict, YAML) of each block preceded by a 'Verdict when run' line."""
    out = []
    previous_end = 0
    for match in _BLOCK.finditer(text):
        before = text[previous_end:match.start()]
        # only the prose since the last fenced block counts
        before = before.rsplit("```", 1)[-1]
        stated = _VERDICT.findall(before)
        if stated:
            out.append((stated[-1], match.group(1)))
        previous_end = match.end()
    return out


def test_the_marker_is_found_only_before_its_own_block():
    text = ("Verdict when run: **FAIL**\n\n```yaml\na: 1\n```\n\nno marker\n\n"
            "```yaml\nb: 2\n```\n")
    assert runnable_examples(text) == [("FAIL", "a: 1\n")]


def test_the_docs_examples_run_as_written(tmp_path):
    examples = []
    for doc in DOCS:
        examples += runnable_examples(doc.read_text(encoding="utf-8"))
    assert len(examples) >= 3   # the three worked examples of docs/scenarios.md
    folder = tmp_path / "scenarios"
    folder.mkdir()
    expected = {}
    for i, (verdict, text) in enumerate(examples):
        name = yaml.safe_load(text)["name"]
        assert name not in expected, f"two examples named {name}"
        expected[name] = verdict
        (folder / f"example_{i}_{name}.yaml").write_text(text, encoding="utf-8")
    report = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "hil", "run", *sorted(map(str, folder.iterdir())),
         "--report", str(report), "--trace", "none", "--no-plots", "-q"],
        capture_output=True, text=True, cwd=REPO, timeout=900)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr   # ran: no input error
    rows = {r["name"]: r for r in json.loads((report / "summary.json").read_text())}
    assert set(rows) == set(expected), proc.stdout
    for name, verdict in expected.items():
        row = rows[name]
        assert row["error"] is None, (name, row["error"])
        judged = [v for v in row["verdicts"] if v["kind"] != "budget"]
        assert len(judged) + sum(v["kind"] == "budget" for v in row["verdicts"]) == \
            len(yaml.safe_load(next(t for v, t in examples
                                    if yaml.safe_load(t)["name"] == name))["expect"])
        outcome = "PASS" if all(v["passed"] for v in judged) else "FAIL"
        failed = [v["message"] for v in judged if not v["passed"]]
        assert outcome == verdict, (name, failed)
