"""Shared pieces of the loaders' fuzz suite (issue 12): mutations of real input files.

Each fuzz test starts from files the bench really reads (the shipped scenarios, rigs and
DBC) and applies a few random edits: deleting, duplicating or moving spans, inserting
characters and tokens that matter to YAML, DBC and the expression language, truncating,
and (for byte input) bytes that are not valid text. The property is always the same: the
loader returns its object or raises a :class:`hil.errors.HilError` that names file and
line; any other exception, or a hang, is a bug.

The gate runs :data:`EXAMPLES` derandomized examples per test (fast and reproducible); for a
longer, random search set ``NTEC_FUZZ_EXAMPLES``::

    NTEC_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests -k fuzz -n 2
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from hil.errors import HilError

EXAMPLES = int(os.environ.get("NTEC_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                derandomize="NTEC_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

# What is worth inserting: YAML structure, numbers at the edges, DBC syntax, expression
# syntax, and a few characters that are not plain text.
TOKENS = [
    ":", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "'", '"', "#", "&a ", "*a", "<<: ",
    "!!python/object:os.system ", "!!str ", "? ", "|", ">", "\t", "\x00", "\ufeff", "\u00e9",
    ".nan", ".inf", "-.inf", "1e400", "1e9999999 s", "0x" + "f" * 400, "9" * 5000, "-",
    "not ", "(", ")", "==", " and ", " or ", "abs(", "min(", "**", "__import__('os')",
    "lambda: 0", "1 s", "1e12 s", "0 s", "-1 ms", "end", "~", "null", "yes", "2024-01-01",
    "BO_ ", " SG_ ", "|", "@1+", "@0-", "(1,0)", "[0|255]", '""', "VAL_ ", "BA_ ", "CM_ ",
    ";", "SIG_VALTYPE_ ", "Vector__XXX", "EngineSpeed", "sensor.lambda", "EcuFast.FuelCut",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str], *, max_edits: int = 4) -> str:
    """One of ``seeds`` with a few random edits."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, max_edits))):
        n = len(text)
        i = draw(st.integers(0, n))
        j = draw(st.integers(i, min(n, i + 200)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "truncate", "move",
                                   "replace"]))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            piece = draw(st.sampled_from(TOKENS) | st.text(max_size=8))
            text = text[:i] + piece * draw(st.sampled_from([1, 1, 1, 3, 60])) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "truncate":
            text = text[:i]
        elif op == "move":
            k = draw(st.integers(0, len(text) - (j - i)))
            rest = text[:i] + text[j:]
            text = rest[:k] + text[i:j] + rest[k:]
        else:
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[j:]
    return text


@st.composite
def mutated_bytes(draw: st.DrawFn, seeds: list[str], encoding: str = "utf-8") -> bytes:
    """A mutated seed as bytes, sometimes with bytes that are not text, or pure noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2000))
    data = draw(mutated(seeds)).encode(encoding, errors="replace")
    if draw(st.booleans()):
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
    return data


def assert_located(exc: HilError, file: str) -> None:
    """A loader's error: one line naming the file and a line number."""
    text = str(exc)
    assert exc.file is not None and exc.line is not None, text
    assert "\n" not in text, text
    assert len(text) < 1000, text
    assert str(exc.file) == file, text
