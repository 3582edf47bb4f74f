"""Condition expressions: parsing, scalar and vectorised evaluation, and every error class."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.errors import ExpressionError, ScenarioError
from hil.scenario import expr as expr_module
from hil.scenario.expr import compile_expr

NAMES = {"BoostPressure", "FuelCut", "SparkCut", "EngineMode", "Lambda", "EcuFast.FuelCut",
         "EcuStatus.EngineMode", "engine.speed_rpm", "sensor.lambda", "dyno.speed_rpm"}
MODES = {"NORMAL": 0, "DETUNED": 1, "LIMP": 2, "SHUTDOWN": 3}
WHERE = ("s.yaml", 12, 20)


def choices(name: str):
    return MODES if name in ("EngineMode", "EcuStatus.EngineMode") else None


def c(text: str):
    return compile_expr(text, NAMES, choices, WHERE)


@pytest.mark.parametrize("text, ns, expected", [
    ("BoostPressure > 250", {"BoostPressure": 251}, True),
    ("BoostPressure > 250", {"BoostPressure": 250}, False),
    ("EcuFast.FuelCut == 1", {"EcuFast.FuelCut": 1}, True),
    ("EngineMode == 'LIMP'", {"EngineMode": 2}, True),
    ('EngineMode != "LIMP"', {"EngineMode": 2}, False),
    ("'LIMP' == EcuStatus.EngineMode", {"EcuStatus.EngineMode": 2}, True),
    ("sensor.lambda < 1.3", {"sensor.lambda": 1.0}, True),           # 'lambda' is a keyword
    ("engine.speed_rpm - dyno.speed_rpm > 100",
     {"engine.speed_rpm": 4700, "dyno.speed_rpm": 4500}, True),
    ("FuelCut == 1 or SparkCut == 1", {"FuelCut": 0, "SparkCut": 1}, True),
    ("FuelCut == 1 and SparkCut == 1", {"FuelCut": 0, "SparkCut": 1}, False),
    ("not FuelCut", {"FuelCut": 0}, True),
    ("0.9 < Lambda < 1.1", {"Lambda": 1.0}, True),
    ("0.9 < Lambda < 1.1", {"Lambda": 1.2}, False),
    ("abs(Lambda - 1) <= 0.03", {"Lambda": 0.98}, True),
    ("min(Lambda, 2) * 2 == 2", {"Lambda": 1.0}, True),
    ("max(Lambda, 2, 3) / 3 == 1", {"Lambda": 1.0}, True),
    ("-Lambda + 2 == 1", {"Lambda": 1.0}, True),
    ("(FuelCut == 1) == True", {"FuelCut": 1}, True),
    ("BoostPressure > 2.5e2", {"BoostPressure": 251}, True),
])
def test_scalar_evaluation(text, ns, expected):
    assert c(text).evaluate(ns) == expected


def test_names_are_the_referenced_full_names():
    e = c("EngineMode == 'LIMP' and engine.speed_rpm > 1000 or EcuFast.FuelCut")
    assert e.names == {"EngineMode", "engine.speed_rpm", "EcuFast.FuelCut"}


def test_dots_inside_strings_are_not_names():
    # A dotted label must not be taken for a quantity name.
    e = compile_expr("Mode == 'a.b'", {"Mode"}, lambda n: {"a.b": 7}, WHERE)
    assert e.evaluate({"Mode": 7}) is True


def test_names_predicate_and_candidates():
    e = compile_expr("x.y > 1", lambda n: n == "x.y", None, WHERE)
    assert e.evaluate({"x.y": 2}) is True
    with pytest.raises(ExpressionError, match=r"did you mean 'x\.y'"):
        compile_expr("x.z > 1", lambda n: n == "x.y", None, WHERE, candidates=["x.y"])


def test_vectorised_evaluation():
    e = c("BoostPressure > 240 and not (FuelCut == 1 or SparkCut == 1)")
    out = e.evaluate({"BoostPressure": np.array([200.0, 250, 250, 250]),
                      "FuelCut": np.array([0.0, 0, 1, 0]),
                      "SparkCut": np.array([0.0, 0, 0, 1])})
    assert out.tolist() == [False, True, False, False]


def test_nan_compares_false_and_truth_is_false_where_unknown():
    e = c("not (Lambda > 1)")
    lam = np.array([np.nan, 0.9, 1.2])
    assert e.evaluate({"Lambda": lam}).tolist() == [True, True, False]   # plain numpy logic
    assert e.truth({"Lambda": lam}).tolist() == [False, True, False]     # unknown is not true
    assert e.truth({"Lambda": float("nan")}) is False


def test_the_online_check_is_truth_at_one_instant_and_never_warns():
    import warnings

    cases = [("not (Lambda > 1)", {"Lambda": math.nan}, False),
             ("not (Lambda > 1)", {"Lambda": 0.9}, True),
             ("Lambda / FuelCut > 1", {"Lambda": 1.0, "FuelCut": 0.0}, True),
             ("BoostPressure * BoostPressure > 0", {"BoostPressure": 1e308}, True),
             ("EngineMode == 'LIMP' or FuelCut", {"EngineMode": 0.0, "FuelCut": 1.0}, True),
             ("FuelCut", {"FuelCut": 0.0}, False)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # x/0 and overflow are inf, silently, as in truth()
        for text, ns, expected in cases:
            assert c(text).holds(ns) is expected, text
            assert bool(c(text).truth(ns)) is expected, text
    assert c("BoostPressure > 250 and not FuelCut").arithmetic is False
    assert c("abs(Lambda - 1) < 0.02").arithmetic is True


def test_division_by_zero_is_inf_on_both_paths():
    e = c("Lambda / FuelCut > 1")
    assert e.evaluate({"Lambda": 1.0, "FuelCut": 0.0}) is True
    assert e.evaluate({"Lambda": np.array([1.0]), "FuelCut": np.array([0.0])}).tolist() == [True]


def test_missing_value_is_a_clear_error():
    with pytest.raises(ExpressionError, match="no value for 'Lambda'"):
        c("Lambda > 1").evaluate({})


# --- errors: one line, file:line:col, col = expression column + offset inside it -------

@pytest.mark.parametrize("text, offset, fragment", [
    ("BoostPresure > 250", 0, "unknown signal or quantity 'BoostPresure' (did you mean "
                              "'BoostPressure'?)"),
    ("Lambda < 1 and sensor.lamda > 1", 15, "did you mean 'sensor.lambda'?"),
    ("EcuFast.FuelCt == 1", 0, "did you mean 'EcuFast.FuelCut'?"),
    ("EngineMode == 'LIMPP'", 14, "'LIMPP' is not a value of EngineMode (did you mean 'LIMP'?)"),
    ("FuelCut == 'ON'", 11, "FuelCut has no value table"),
    ("'LIMP'", 0, "only allowed compared with a value-table signal"),
    ("Lambda + 'x' > 1", 9, "only allowed compared with a value-table signal"),
    ("'LIMP' < 1", 0, "must be compared directly"),
    ("BoostPressure = 250", 14, "use '==' to compare"),
    ("BoostPressure >", 15, "ends too early"),
    ("BoostPressure > > 2", 16, "invalid syntax"),
    ("(Lambda > 1", 0, "was never closed"),
    ("open(Lambda)", 0, "calling 'open' is not allowed; only abs, min and max"),
    ("Lambda.real > 1", 0, "unknown signal or quantity 'Lambda.real'"),
    ("(Lambda + 1).real > 1", 0, "attribute access"),
    ("abs(Lambda).x > 1", 0, "attribute access"),
    ("Lambda[0] > 1", 0, "subscripts are not allowed"),
    ("lambda x: x", 0, "lambda is not allowed"),
    ("[x for x in Lambda]", 0, "comprehensions are not allowed"),
    ("Lambda if FuelCut else 1", 0, "conditional expressions are not allowed"),
    ("Lambda ** 2 > 1", 0, "operator '**' is not allowed"),
    ("Lambda % 2 > 1", 0, "operator '%' is not allowed"),
    ("FuelCut & SparkCut", 0, "use 'and'"),
    ("~FuelCut", 0, "use 'not'"),
    ("Lambda in (1, 2)", 0, "comparison 'in' is not allowed"),
    ("Lambda is 1", 0, "comparison 'is' (use '==') is not allowed"),
    ("abs(Lambda, 1) > 1", 0, "abs() takes exactly one argument"),
    ("min(Lambda) > 1", 0, "min() takes two or more arguments"),
    ("max(Lambda, key=1) > 1", 12, "takes no keyword arguments"),
    ("abs > 1", 0, "abs is a function"),
    ("None == Lambda", 0, "the constant None is not allowed"),
    ("__import__('os')", 0, "calling '__import__' is not allowed"),
    ("", 0, "empty condition"),
])
def test_errors_name_file_line_column(text, offset, fragment):
    with pytest.raises(ExpressionError) as info:
        c(text)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"s.yaml:12:{20 + offset}: "), message
    assert fragment in message
    assert isinstance(info.value, ScenarioError) and isinstance(info.value, ValueError)


def test_error_without_where_is_just_the_message():
    with pytest.raises(ExpressionError) as info:
        compile_expr("Nope > 1", NAMES, choices)
    assert str(info.value).startswith("unknown signal")


def test_module_never_calls_eval_or_exec():
    source = Path(expr_module.__file__).read_text()
    assert not re.search(r"(?<![\w.])(eval|exec|compile)\(", source)


# --- scalar and vectorised evaluation agree (hypothesis) ------------------------------

VARS = ("BoostPressure", "engine.speed_rpm", "sensor.lambda")
_leaf = st.one_of(st.sampled_from(VARS),
                  st.integers(-5, 5).map(str),
                  st.sampled_from(["0.5", "2.25", "True", "False"]))


def _extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), children)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(children, children, children)
        .map(lambda t: f"({t[0]} < {t[1]} <= {t[2]})"),
        st.tuples(children, st.sampled_from(["and", "or"]), children)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda x: f"(not {x})"),
        children.map(lambda x: f"(-{x})"),
        children.map(lambda x: f"abs({x})"),
        st.tuples(st.sampled_from(["min", "max"]), children, children)
        .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
    )


expressions = st.recursive(_leaf, _extend, max_leaves=8)
samples = st.lists(st.tuples(*[st.one_of(st.floats(-1e3, 1e3), st.just(float("nan")))
                               for _ in VARS]), min_size=1, max_size=6)


def _same(a, b) -> bool:
    a, b = float(a), float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=300, deadline=None, database=None)  # no .hypothesis/ in the tree
@given(text=expressions, rows=samples)
def test_scalar_and_vectorised_agree(text, rows):
    e = compile_expr(text, set(VARS), None, WHERE)
    arrays = {name: np.array([r[i] for r in rows]) for i, name in enumerate(VARS)}
    vector = np.broadcast_to(e.evaluate(arrays), (len(rows),))
    truth = np.broadcast_to(e.truth(arrays), (len(rows),))
    for k, row in enumerate(rows):
        scalars = dict(zip(VARS, row, strict=True))
        assert _same(e.evaluate(scalars), vector[k]), (text, row)
        assert bool(e.truth(scalars)) == bool(truth[k]), (text, row)
        # the online path (wait_until, every simulated ms) says the same
        assert e.holds(scalars) is bool(truth[k]), (text, row)
