"""Fuzz of the DBC loader (issue 12, tests/fuzzing.py): mutated DBC files load as a cantools
database, or raise a :class:`DbcError` naming the file and a line; never another exception.
A file cut anywhere inside a definition is an error, never a database with fewer signals."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import FUZZ, assert_located, mutated_bytes
from hypothesis import given
from hypothesis import strategies as st

from hil.errors import DbcError, HilError
from hil.wire.dbc import load_dbc

from .strategies import DBC_PATHS

SEEDS = [p.read_text(encoding="cp1252") for p in DBC_PATHS.values()]


def _load(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.dbc"
        path.write_bytes(data)
        try:
            return load_dbc(path)
        except HilError as exc:
            assert isinstance(exc, DbcError)
            assert_located(exc, str(path))
            return None


@FUZZ
@given(data=mutated_bytes(SEEDS, encoding="cp1252"))
def test_fuzz_dbc(data):
    _load(data)


@FUZZ
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_fuzz_dbc_truncated(seed, data):
    """Cut inside a BO_ or SG_ line, with or without the newline: an error (it used to
    load with fewer signals)."""
    lines = seed.splitlines(keepends=True)
    defs = [i for i, line in enumerate(lines) if line.lstrip().startswith(("BO_ ", "SG_ "))]
    k = data.draw(st.sampled_from(defs))
    indent = len(lines[k]) - len(lines[k].lstrip())
    # Keep at least the definition's first character (a cut before it is a cut between
    # lines, which no loader can tell from a shorter file).
    cut = data.draw(st.integers(indent + 1, len(lines[k].rstrip()) - 1))
    text = "".join(lines[:k]) + lines[k][:cut] + data.draw(st.sampled_from(["", "\n"]))
    assert _load(text.encode("cp1252")) is None
