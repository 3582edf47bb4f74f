"""Scenarios: the YAML language (steps, faults, expectations), safe condition expressions
and the evaluation of expectations over a finished trace. The runner builds on this API;
docs/scenarios.md is the reference.
"""

from hil.scenario.align import align
from hil.scenario.expect import Verdict, evaluate, evaluate_all
from hil.scenario.expr import Expr, compile_expr
from hil.scenario.model import Scenario, Vocabulary, load_scenario, loads_scenario

__all__ = ["align", "compile_expr", "Expr", "evaluate", "evaluate_all", "load_scenario",
           "loads_scenario", "Scenario", "Verdict", "Vocabulary"]
