"""What a SIL run imports: python-can without asammdf (and its pandas, pyarrow, canmatrix)
until an MF4 file is read or written through python-can (hil._lazy_imports)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_a_sil_run_does_not_import_asammdf_or_pandas():
    out = _python("""
        import sys
        import hil.bench.sil, hil.run.runner, can
        print(sorted(m for m in ("asammdf", "pandas", "pyarrow", "canmatrix") if m in sys.modules))
    """)
    assert out == "[]"


def test_python_cans_mf4_reader_and_writer_still_work(tmp_path):
    out = _python(f"""
        import can, hil.bench.sil
        path = {str(tmp_path / "x.mf4")!r}
        with can.MF4Writer(path) as w:
            w.on_message_received(can.Message(arbitration_id=0x123, data=b"\\x01\\x02",
                                              is_extended_id=False, timestamp=1.0))
        with can.LogReader(path) as r:
            print([(m.arbitration_id, bytes(m.data)) for m in r])
    """)
    assert out == "[(291, b'\\x01\\x02')]"


def test_asammdf_imported_first_is_used_as_usual():
    out = _python("""
        import asammdf, hil, can
        import can.io.mf4 as m
        print(m.asammdf is asammdf)
    """)
    assert out == "True"
