"""Fuzz of the rig loader (issue 12, tests/fuzzing.py): mutated shipped rigs load, or raise
a :class:`HilError` naming the rig file and a line; never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import FUZZ, assert_located, mutated_bytes
from hypothesis import given

from hil.config.rig import check_signal_map, load_rig
from hil.errors import HilError
from hil.wire.dbc import load_dbc

ROOT = Path(__file__).resolve().parents[2]
# Paths in the seeds made absolute, so a mutated copy elsewhere still finds its files.
SEEDS = [p.read_text().replace("../", str(ROOT) + "/") for p in sorted((ROOT / "rigs").glob("*.yaml"))]
DB = load_dbc(ROOT / "dbc" / "ntec5.dbc")


@FUZZ
@given(data=mutated_bytes(SEEDS))
def test_fuzz_rig(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rig.yaml"
        path.write_bytes(data)
        try:
            rig = load_rig(path)
            check_signal_map(rig, DB, None, None)
        except HilError as exc:
            assert_located(exc, str(path))
