"""Fuzzing the calibration loader: any input is a Calibration or one CalibrationError line
with file:line:col, never another exception (issue 12).

Mutations of the shipped road_car set (lines dropped, doubled, swapped or cut; tokens
replaced by YAML syntax, tags, anchors, odd numbers and bytes) go through
``loads_calibration`` (text) and ``load_calibration`` (bytes in a file: encodings too).
The gate runs 200 examples per test, derandomized (the same inputs every run); a longer,
random run::

    NTEC_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/controllers/test_calibration_fuzz.py -n 0
"""

from __future__ import annotations

import os
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controllers import Calibration, CalibrationError, load_calibration, loads_calibration
from controllers.basemap import CALIBRATION_DIR

ROAD = (CALIBRATION_DIR / "road_car.yaml").read_text(encoding="utf-8")
LINES = ROAD.splitlines(keepends=True)
EXAMPLES = int(os.environ.get("NTEC_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="NTEC_FUZZ_EXAMPLES" not in os.environ,
                database=None, suppress_health_check=[HealthCheck.too_slow])

# What breaks loaders: YAML structure, tags, anchors, numbers at the edges, odd characters.
TOKENS = [
    "[", "]", "{", "}", ",", ":", "- ", "? ", "&a ", "*a", "<<: ", "!!python/object/apply:os.system",
    "!!python/name:os.system", "!custom", "!!binary", "!!set", "!!float", "!!str", "|", ">",
    "'", '"', "#", "\t", "\n", "\x00", "\x85", "\ufeff", "---", "...", "%YAML 1.1", ".nan",
    ".inf", "-.inf", "1e400", "9" * 400, "0x" + "f" * 400, "-0", "1_000", "0o17", "~", "null",
    "true", "no", "2020-01-01", "\"6800 rpm\"", "\"6800 kPa\"", "\"nan rpm\"", "rpmm", "lod",
    "ve", "scalars", "maps", "axes", "x", "y", "unit", "values", "[" * 60, "]" * 60,
]


@st.composite
def mutated(draw) -> str:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["drop", "dup", "swap", "token", "cut", "number", "indent"]))
        k = draw(st.integers(0, len(lines) - 1))
        if op == "drop":
            del lines[k]
        elif op == "dup":
            lines.insert(k, lines[k])
        elif op == "swap":
            m = draw(st.integers(0, len(lines) - 1))
            lines[k], lines[m] = lines[m], lines[k]
        elif op == "token":
            line = lines[k]
            a = draw(st.integers(0, len(line)))
            b = draw(st.integers(a, min(len(line), a + 8)))
            lines[k] = line[:a] + draw(st.sampled_from(TOKENS)) + line[b:]
        elif op == "cut":
            text = "".join(lines)
            return text[:draw(st.integers(0, len(text)))]
        elif op == "number":
            nums = list(re.finditer(r"-?\d+(?:\.\d+)?", lines[k]))
            if nums:
                n = draw(st.sampled_from(nums))
                value = draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                                       st.integers(-10**30, 10**30).map(str),
                                       st.sampled_from(TOKENS)))
                lines[k] = lines[k][:n.start()] + value + lines[k][n.end():]
        else:
            lines[k] = draw(st.sampled_from(["", " ", "  ", "\t", "    "])) + lines[k].lstrip()
        if not lines:
            return ""
    return "".join(lines)


def assert_loaded_or_one_line(fn, path: str) -> None:
    try:
        cal = fn()
    except CalibrationError as exc:
        msg = str(exc)
        assert exc.file == path and isinstance(exc.line, int) and exc.line >= 1, msg
        assert isinstance(exc.column, int) and exc.column >= 1, msg
        assert "\n" not in msg and msg.startswith(f"{path}:{exc.line}:{exc.column}: "), msg
        assert len(msg) < len(path) + 300, msg          # a bounded excerpt, never a dump
    else:
        assert isinstance(cal, Calibration)


@FUZZ
@given(mutated())
def test_mutated_text_loads_or_is_one_line(text):
    assert_loaded_or_one_line(lambda: loads_calibration(text, "fuzz.yaml"), "fuzz.yaml")


@FUZZ
@given(mutated(), st.lists(st.tuples(st.integers(0, 20_000), st.binary(min_size=1, max_size=4)),
                           max_size=3))
def test_mutated_bytes_in_a_file_load_or_are_one_line(tmp_path_factory, text, patches):
    data = bytearray(text.encode("utf-8"))
    for pos, blob in patches:
        pos = min(pos, len(data))
        data[pos:pos + len(blob)] = blob
    path = tmp_path_factory.getbasetemp() / "fuzz-cal.yaml"
    path.write_bytes(bytes(data))
    assert_loaded_or_one_line(lambda: load_calibration(path), str(path))


def test_the_unmutated_set_loads():
    assert_loaded_or_one_line(lambda: loads_calibration(ROAD, "fuzz.yaml"), "fuzz.yaml")
    assert isinstance(loads_calibration(ROAD, "fuzz.yaml"), Calibration)
