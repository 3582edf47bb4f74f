"""hil.config.units: a time a user writes -> integer nanoseconds of the bench clock, exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hil.config.units import NS_PER_S, UnitError, format_time_ns, parse_time_ns

FACTOR_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": NS_PER_S,
             "min": 60 * NS_PER_S, "h": 3600 * NS_PER_S}


@pytest.mark.parametrize(("text", "ns"), [
    ("1 ms", 1_000_000),
    ("250 us", 250_000),
    ("250 µs", 250_000),
    ("7 ns", 7),
    ("2.5 s", 2_500_000_000),
    ("1 min", 60 * NS_PER_S),
    ("2 h", 7200 * NS_PER_S),
    ("10ms", 10_000_000),            # the space is optional
    ("  10 ms  ", 10_000_000),       # surrounding blanks are ignored
    ("0 s", 0),
    ("+5 ms", 5_000_000),
])
def test_times_with_each_unit(text, ns):
    assert parse_time_ns(text) == ns
    assert isinstance(parse_time_ns(text), int)


@pytest.mark.parametrize(("text", "ns"), [
    ("0.1 s", 100_000_000),          # exact: decimal text is read as a fraction, not a float
    ("0.3 ms", 300_000),
    (".5 ms", 500_000),
    ("5. ms", 5_000_000),
    ("1e-3 s", 1_000_000),
    ("2.5E2 us", 250_000),
    ("1.000000001 s", 1_000_000_001),
    ("0.001 us", 1),
])
def test_fractional_values_convert_exactly(text, ns):
    assert parse_time_ns(text) == ns


@pytest.mark.parametrize("text", ["1.5 ns", "0.0000000015 s", "0.0001 us", "1e-10 s"])
def test_finer_than_the_clock_is_refused(text):
    with pytest.raises(UnitError, match="finer than the 1 ns clock resolution"):
        parse_time_ns(text)


def test_negative_times_only_where_allowed():
    with pytest.raises(UnitError, match=r"time must not be negative: '-5 ms'"):
        parse_time_ns("-5 ms")
    assert parse_time_ns("-5 ms", allow_negative=True) == -5_000_000
    assert parse_time_ns("-0.5 s", allow_negative=True) == -500_000_000
    assert parse_time_ns("-0 ms") == 0   # minus zero is zero, not negative


@pytest.mark.parametrize("value", ["10", "2.5", 10, 0.001, 1_000_000, True, None,
                                   ["1 ms"], {"ms": 1}])
def test_a_bare_number_or_a_non_string_needs_a_unit(value):
    with pytest.raises(UnitError, match="expected a time with a unit such as '10 ms'"):
        parse_time_ns(value)


@pytest.mark.parametrize("text", ["", "ms", "ten ms", "1 ms 2", "1/2 ms", "1,5 ms", "1..5 ms",
                                  "1 m s", "0x10 ms", "1 MS", "- 5 ms", "nan s", "inf ms"])
def test_garbage_is_refused_with_the_text_quoted(text):
    with pytest.raises(UnitError) as err:
        parse_time_ns(text)
    assert repr(text) in str(err.value)


@pytest.mark.parametrize(("text", "unit"), [("6 sec", "sec"), ("1 msec", "msec"),
                                            ("3 days", "days"), ("1 m", "m")])
def test_unknown_unit_lists_the_known_ones(text, unit):
    with pytest.raises(UnitError) as err:
        parse_time_ns(text)
    assert str(err.value) == (f"unknown time unit {unit!r} in {text!r}; "
                              "use one of ns, us, ms, s, min, h")


def test_unit_error_is_a_value_error():
    assert issubclass(UnitError, ValueError)


#: Times up to a simulated day: the range every scenario and rig lives in.
DAY_NS = 24 * 3600 * NS_PER_S


@given(st.sampled_from(sorted(FACTOR_NS)).flatmap(
    lambda unit: st.tuples(st.integers(0, DAY_NS // FACTOR_NS[unit]), st.just(unit))))
def test_whole_numbers_scale_exactly(n_unit):
    n, unit = n_unit
    assert parse_time_ns(f"{n} {unit}") == n * FACTOR_NS[unit]


@given(st.integers(min_value=-DAY_NS, max_value=DAY_NS))
def test_nanoseconds_round_trip(ns):
    assert parse_time_ns(f"{ns} ns", allow_negative=True) == ns


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0 ns"),
    (999, "999 ns"),
    (1_500, "1.5 us"),
    (2_000_000, "2 ms"),
    (1_370_000, "1.37 ms"),
    (1_500_000_000, "1.5 s"),
    (120 * NS_PER_S, "120 s"),
    (-2_000_000, "-2 ms"),
    (-999, "-999 ns"),
])
def test_format_picks_the_unit_that_reads_best(ns, text):
    assert format_time_ns(ns) == text


@pytest.mark.parametrize("ns", [1, 999, 1_000, 250_000, 1_000_000, 2_500_000_000])
def test_formatted_times_parse_back(ns):
    assert parse_time_ns(format_time_ns(ns)) == ns
