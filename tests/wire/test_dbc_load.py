"""Loading the DBC: errors name file and line; the attribute helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.errors import DbcError
from hil.wire.dbc import cycle_time_ns, e2e_data_id, is_e2e, load_dbc, send_type

from .strategies import DBC_PATHS

NTEC5_TEXT = DBC_PATHS["ntec5"].read_text()


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_ntec5_attributes() -> None:
    db = load_dbc(DBC_PATHS["ntec5"])
    by_name = {m.name: m for m in db.messages}
    assert len(by_name) == 9
    # The session request is an event message: never cyclic, E2E-protected.
    assert cycle_time_ns(by_name["BenchSession"]) is None
    assert send_type(by_name["BenchSession"]) == "Event"
    assert e2e_data_id(by_name["BenchSession"]) == 81
    assert cycle_time_ns(by_name["EcuFast"]) == 1_000_000
    assert cycle_time_ns(by_name["PlantTemps"]) == 100_000_000
    assert send_type(by_name["EcuFast"]) == "OnReception"
    assert send_type(by_name["PlantFast"]) == "Cyclic"
    assert e2e_data_id(by_name["PlantSlow"]) == 16
    assert e2e_data_id(by_name["EcuDiag"]) is None
    assert [m.name for m in db.messages if not is_e2e(m)] == ["EcuDiag"]


def test_features_dbc_attributes() -> None:
    db = load_dbc(DBC_PATHS["features"])
    assert cycle_time_ns(db.get_message_by_name("Mux")) is None
    assert is_e2e(db.get_message_by_name("Protected"))
    assert not is_e2e(db.get_message_by_name("ExtStatus"))


def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.dbc"
    broken.write_text(NTEC5_TEXT.replace("SG_ Lambda : 46|10@1+", "SG_ Lambda : 46|10@1?"))
    with pytest.raises(DbcError) as info:
        load_dbc(broken)
    line = line_of(NTEC5_TEXT, "SG_ Lambda :")
    assert info.value.file == str(broken) and info.value.line == line
    text = str(info.value)
    assert text.startswith(f"{broken}:{line}:") and "\n" not in text and "Lambda" in text


def test_semantic_error_points_at_the_signal(tmp_path: Path) -> None:
    broken = tmp_path / "overlap.dbc"
    broken.write_text(NTEC5_TEXT.replace("SG_ BoostPressure : 36|10", "SG_ BoostPressure : 30|10"))
    with pytest.raises(DbcError, match="overlapping") as info:
        load_dbc(broken)
    assert info.value.line == line_of(NTEC5_TEXT, "SG_ BoostPressure :")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DbcError, match="cannot read") as info:
        load_dbc(tmp_path / "nope.dbc")
    assert info.value.file.endswith("nope.dbc")
