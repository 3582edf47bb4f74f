"""Condition expressions of the scenario language, parsed safely and evaluated vectorised.

A condition such as ``BoostPressure > 240 and EngineMode == 'LIMP'`` is parsed with Python's
:mod:`ast` module, checked against a whitelist of node types and compiled into a tree of
small closures. Nothing is ever handed to ``eval``/``exec``. The same compiled expression
evaluates on scalars (online checks while a scenario runs, e.g. ``wait_until``) and on numpy
arrays (expectations over a whole trace); both paths go through the same numpy functions so
they cannot disagree.

Names are DBC signals (``BoostPressure``), qualified DBC signals (``EcuFast.FuelCut``) and
plant quantities (``engine.speed_rpm``, ``sensor.lambda``). A dotted name is always one name:
Python would read ``engine.speed_rpm`` as attribute access and ``sensor.lambda`` as a syntax
error (``lambda`` is a keyword), so dotted paths are replaced by placeholders of the same
length before parsing; column numbers in error messages stay exact.

Strings are allowed only where they name an entry of a value table, next to a comparison
with a value-table signal: ``EngineMode == 'LIMP'`` compiles to ``EngineMode == 2``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hil.config.yamlio import closest, excerpt
from hil.errors import ExpressionError

__all__ = ["Expr", "compile_expr", "Where", "NamesProvider", "ChoicesProvider", "Measure"]

Where = tuple[str, int, int]  # file, line (1-based), column (1-based) of the expression text
NamesProvider = Callable[[str], bool] | Collection[str]
ChoicesProvider = Callable[[str], Mapping[str, float] | None]
Value = Any  # float | np.ndarray | np.bool_ | bool
_Fn = Callable[[Mapping[str, Any]], Value]
#: How robustness measures: per name, (scale it is divided by, resolution of its values).
Measure = Mapping[str, tuple[float, float]]
#: Robustness of a condition: (values, measure) -> signed distance (see Expr.robustness).
_Rob = Callable[[Mapping[str, Any], Measure | None], Value]

# A dotted identifier path that is not preceded by a word character or a dot (so the
# exponent of "1e5.x" or the tail of "a.b.c" never starts a match). Strings are matched
# first by the alternation so that dots inside quoted value-table names are left alone.
_TOKEN_RE = re.compile(
    r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
    r"""|(?<![\w.])([A-Za-z_]\w*(?:[ \t]*\.[ \t]*[A-Za-z_]\w*)+)"""
)

_COMPARE: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", np.equal),
    ast.NotEq: ("!=", np.not_equal),
    ast.Lt: ("<", np.less),
    ast.LtE: ("<=", np.less_equal),
    ast.Gt: (">", np.greater),
    ast.GtE: (">=", np.greater_equal),
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
}
_OPERATOR_NAMES: dict[type[ast.AST], str] = {
    ast.Pow: "'**'", ast.Mod: "'%'", ast.FloorDiv: "'//'", ast.MatMult: "'@'",
    ast.BitAnd: "'&' (use 'and')", ast.BitOr: "'|' (use 'or')", ast.BitXor: "'^'",
    ast.LShift: "'<<'", ast.RShift: "'>>'", ast.Invert: "'~' (use 'not')",
    ast.In: "'in'", ast.NotIn: "'not in'", ast.Is: "'is' (use '==')",
    ast.IsNot: "'is not' (use '!=')",
}
# Friendly names for constructs a user might try; anything else gets its ast class name.
_CONSTRUCT_NAMES: dict[type[ast.AST], str] = {
    ast.Subscript: "subscripts", ast.Slice: "slices", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions", ast.GeneratorExp: "comprehensions",
    ast.IfExp: "conditional expressions", ast.List: "lists", ast.Tuple: "tuples",
    ast.Set: "sets", ast.Dict: "dicts", ast.NamedExpr: "assignments",
    ast.JoinedStr: "f-strings", ast.Starred: "starred arguments", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield",
}
_FUNCTIONS = ("abs", "min", "max")
#: Longest condition expression, in characters (docs/scenarios.md, "Limits").
MAX_EXPR_CHARS = 1000
#: Deepest nesting of an expression's syntax tree: operators, calls, parentheses
#: (``a + b + c`` is 2 deep; 1,000 added terms or 10,000 ``not`` are refused).
MAX_EXPR_DEPTH = 50
#: Largest magnitude of a number in an expression (float64's range).
MAX_CONSTANT = 1.7976931348623157e308


@dataclass(frozen=True, eq=False)
class Expr:
    """A compiled condition or arithmetic expression.

    ``names`` is every signal or quantity the expression reads. ``evaluate`` takes a mapping
    from those names to floats or to equally long numpy arrays and returns a bool / float
    (scalars) or an array of the same length.
    """

    text: str
    names: frozenset[str]
    where: Where | None
    _fn: _Fn = field(repr=False)
    is_condition: bool = True
    _rob: _Rob | None = field(default=None, repr=False)
    #: The comparison operators it uses ("==", "<", ...): an expression of equalities only
    #: has its robustness in steps of resolution, not in a distance along a range.
    operators: frozenset[str] = frozenset()
    #: It computes (+ - * /, negation, abs, min, max): only those numpy calls can warn
    #: (x/0, overflow); comparisons and logic on floats never do.
    arithmetic: bool = True

    def evaluate(self, ns: Mapping[str, Any]) -> Value:
        missing = [n for n in self.names if n not in ns]
        if missing:
            raise _error(f"no value for {missing[0]!r} when evaluating {excerpt(self.text)}",
                         self.where, 0)
        with np.errstate(all="ignore"):  # x/0 is inf and NaN compares False, on both paths
            result = self._fn(ns)
        if isinstance(result, np.ndarray) and result.ndim == 0:
            result = result[()]
        if isinstance(result, np.generic):
            result = result.item()
        return result

    def truth(self, ns: Mapping[str, Any]) -> Any:
        """Evaluate as a condition: True where the expression holds and every name is known.

        A name whose value is NaN (no sample seen yet) makes the condition False there, even
        under ``not``: a condition about a signal that has not been seen cannot hold.
        """
        value = self.evaluate(ns)
        result = np.not_equal(value, 0)
        for name in self.names:
            result = np.logical_and(result, ~np.isnan(np.asarray(ns[name], dtype=float)))
        if isinstance(result, np.ndarray) and result.ndim == 0:
            return bool(result)
        if isinstance(result, np.generic):
            return bool(result)
        return result

    def holds(self, ns: Mapping[str, float]) -> bool:
        """:meth:`truth` at one instant (the online checks of ``wait_until``): ``ns`` maps
        every name to a number, none missing. The same compiled closures and numpy
        functions as :meth:`truth`, so the same answer; cheaper per call, because this runs
        every simulated millisecond: a NaN (unseen) value is False before anything is
        computed, and numpy's error state is set only around arithmetic."""
        for name in self.names:
            value = ns[name]
            if value != value:   # NaN: truth() is False wherever a name is NaN
                return False
        if self.arithmetic:
            with np.errstate(all="ignore"):
                return bool(self._fn(ns) != 0)
        return bool(self._fn(ns) != 0)

    def robustness(self, ns: Mapping[str, Any], measure: Measure | None = None) -> Value:
        """The quantitative semantics of signal temporal logic: a signed distance from the
        condition's boundary, positive where it holds, negative where it does not.

        Per comparison ``a > b`` / ``a >= b``: ``a - b``; ``a < b`` / ``a <= b``: ``b - a``;
        ``a == b``: ``r/2 - |a - b|``; ``a != b``: ``|a - b| - r/2``, where ``r`` is the
        resolution of the values compared (a DBC signal only takes multiples of its scale,
        so an equality holds for anything closer than half a step and the nearest value
        that breaks it is one step away; ``r`` = 0 for a plant quantity: then equality
        holds with no room, as in textbook STL). A chain ``a < b < c`` is the minimum of its
        links; ``and`` the minimum, ``or`` the maximum, ``not`` the negation; ``True`` /
        ``False`` are +inf / -inf; a bare value read as a condition is ``x != 0``. At 0 the
        condition is on its boundary: a non-strict comparison holds there, a strict one
        does not.

        ``measure`` maps a name to (scale, resolution): each comparison's distance is
        divided by the largest scale of the names it reads (1 when none is given), so
        comparisons of signals in different units combine in one dimensionless figure
        (hil.scenario.expect passes DBC ranges), and ``r`` is the smallest resolution of
        the names an equality reads (0 when one has none). NaN where a name has no value
        yet (the condition is unknown there, not false).
        """
        if self._rob is None:
            raise ValueError(f"{self.text!r} is not a condition")
        missing = [n for n in self.names if n not in ns]
        if missing:
            raise _error(f"no value for {missing[0]!r} when evaluating {self.text!r}",
                         self.where, 0)
        with np.errstate(all="ignore"):
            result = np.asarray(self._rob(ns, measure), dtype=np.float64)
        for name in self.names:
            result = np.where(np.isnan(np.asarray(ns[name], dtype=float)), np.nan, result)
        result = result + 0.0  # -|0| is -0.0: on the boundary is +0, not a violation
        return result[()] if result.ndim == 0 else result

    def __str__(self) -> str:
        return self.text


def compile_expr(text: str, names: NamesProvider, choices: ChoicesProvider | None = None,
                 where: Where | None = None, *, candidates: Iterable[str] | None = None) -> Expr:
    """Parse and compile ``text``; raise a one-line :class:`ExpressionError` if it is wrong.

    ``names`` says which names exist (a collection, or a predicate for large or lazy name
    spaces, then ``candidates`` lists names for the "did you mean" suggestion). ``choices``
    returns the value table (label -> number) of a signal, or None. ``where`` is the position
    of the first character of ``text`` in its file; error columns add the offset inside.
    """
    if not isinstance(text, str):
        raise _error(f"expected a condition as a string, got {excerpt(text)}", where, 0)
    if not text.strip():
        raise _error("empty condition", where, 0)
    if len(text) > MAX_EXPR_CHARS:
        raise _error(f"expression of {len(text):,} characters is longer than the limit of "
                     f"{MAX_EXPR_CHARS:,}: {excerpt(text, 40)}", where, 0)
    if "\n" in text:
        # YAML folds plain multi-line scalars into one line; a literal newline would only
        # come from a block scalar, where columns cannot be mapped back anyway.
        text = " ".join(text.split())
    # The suggestions are listed only for an unknown name: copying or sorting every name
    # for each of a file's thousands of conditions would make loading quadratic.
    if callable(names) and not isinstance(names, Collection):
        known = names

        def suggestions() -> list[str]:
            return list(candidates or ())
    else:
        name_set = frozenset(names)
        known = name_set.__contains__

        def suggestions() -> list[str]:
            return list(candidates) if candidates is not None else sorted(name_set)
    compiler = _Compiler(text, known, suggestions, choices or (lambda _n: None), where)
    fn, is_condition, rob = compiler.build()
    return Expr(text=text, names=frozenset(compiler.used), where=where, _fn=fn,
                is_condition=is_condition, _rob=rob, operators=frozenset(compiler.operators),
                arithmetic=compiler.arithmetic)


def _num(value: Value) -> Value:
    """Arithmetic on conditions counts True as 1 (numpy refuses bool - bool)."""
    return np.asarray(value, dtype=np.float64)


def _error(message: str, where: Where | None, offset: int) -> ExpressionError:
    if where is None:
        return ExpressionError(message)
    file, line, column = where
    return ExpressionError(message, file=file, line=line, column=column + offset)


def _scale(read: frozenset[str], measure: Measure | None) -> float:
    if not measure:
        return 1.0
    known = [measure[n][0] for n in read if n in measure and measure[n][0] > 0]
    return max(known) if known else 1.0


def _half_step(read: frozenset[str], measure: Measure | None) -> float:
    if not measure or not read or any(n not in measure for n in read):
        return 0.0
    return min(measure[n][1] for n in read) / 2


def _distance(op: type[ast.cmpop], left: _Fn, right: _Fn, read: frozenset[str]) -> _Rob:
    """Signed distance of one comparison ``left op right`` (Expr.robustness)."""

    def diff(ns: Mapping[str, Any]) -> Value:
        return np.subtract(_num(left(ns)), _num(right(ns)))

    if op in (ast.Gt, ast.GtE):
        return lambda ns, m: diff(ns) / _scale(read, m)
    if op in (ast.Lt, ast.LtE):
        return lambda ns, m: -diff(ns) / _scale(read, m)
    if op is ast.Eq:
        return lambda ns, m: (_half_step(read, m) - np.abs(diff(ns))) / _scale(read, m)
    return lambda ns, m: (np.abs(diff(ns)) - _half_step(read, m)) / _scale(read, m)


class _Compiler:
    """One pass over the ast: validate against the whitelist and build closures."""

    def __init__(self, text: str, known: Callable[[str], bool],
                 suggestions: Callable[[], list[str]], choices: ChoicesProvider,
                 where: Where | None) -> None:
        self.text = text
        self.known = known
        self.suggestions = suggestions
        self.choices = choices
        self.where = where
        self.used: set[str] = set()
        self.operators: set[str] = set()
        self.placeholders: dict[str, str] = {}
        self.depth = 0
        self.arithmetic = False   # Expr.arithmetic
        #: per Compare node: its operands compiled and the names each reads (robustness
        #: reuses them instead of compiling every operand a second time)
        self.operands: dict[int, tuple[list[_Fn], list[frozenset[str]]]] = {}

    # -- parsing -------------------------------------------------------------------------

    def _substitute_dotted(self) -> str:
        """Replace each dotted path by a same-length identifier (see module docstring)."""
        counter = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal counter
            if match.group(1) is not None:
                return match.group(0)
            dotted = re.sub(r"\s+", "", match.group(2))
            width = len(match.group(2))
            while True:
                placeholder = f"_{counter}".ljust(width, "_")
                counter += 1
                if len(placeholder) == width and placeholder not in self.text:
                    break
                if len(f"_{counter}") > width:  # cannot happen for sane input; keep honest
                    raise _error("too many dotted names in one expression", self.where,
                                 match.start())
            self.placeholders[placeholder] = dotted
            return placeholder

        return _TOKEN_RE.sub(replace, self.text)

    def build(self) -> tuple[_Fn, bool, _Rob]:
        source = self._substitute_dotted()
        try:  # within MAX_EXPR_CHARS Python's parser neither recurses nor allocates too far
            tree = ast.parse(source, mode="eval")
        except (MemoryError, RecursionError, ValueError):
            raise _error(f"expression too complex to parse: {excerpt(self.text, 40)}",
                         self.where, 0) from None
        except SyntaxError as exc:
            message = (exc.msg or "invalid syntax").split(" (")[0]
            if not exc.offset:  # Python reports offset 0 when the input ended too early
                offset = len(self.text.rstrip())
                message = "the expression ends too early"
            else:
                offset = min(exc.offset - 1, len(self.text))
            if re.search(r"(?<![=!<>])=(?!=)", self.text):
                message += "; use '==' to compare"
            raise _error(f"bad expression {excerpt(self.text)}: {message}", self.where,
                         offset) from None
        # The depth limit is checked as the tree is compiled (_node): one walk, not two.
        fn = self._node(tree.body)
        return fn, self._is_condition(tree.body), self._robust(tree.body)

    def _is_condition(self, node: ast.AST) -> bool:
        if isinstance(node, ast.BoolOp | ast.Compare):
            return True
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return True
        return isinstance(node, ast.Constant) and isinstance(node.value, bool)

    def _fail(self, message: str, node: ast.AST) -> ExpressionError:
        offset = getattr(node, "col_offset", 0)
        return _error(f"{message} in {excerpt(self.text)}", self.where, offset)

    def _segment(self, node: ast.expr) -> str:
        start, end = node.col_offset, node.end_col_offset
        return self.text[start:end]

    # -- robustness (Expr.robustness documents the semantics) ----------------------------

    def _robust(self, node: ast.AST) -> _Rob:
        if isinstance(node, ast.BoolOp):
            parts = [self._robust(v) for v in node.values]
            pick = np.minimum if isinstance(node.op, ast.And) else np.maximum

            def boolop(ns: Mapping[str, Any], sc: Measure | None) -> Value:
                result = parts[0](ns, sc)
                for part in parts[1:]:
                    result = pick(result, part(ns, sc))
                return result

            return boolop
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self._robust(node.operand)
            return lambda ns, sc: np.negative(inner(ns, sc))
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            constant = np.inf if node.value else -np.inf
            return lambda _ns, _sc: constant
        if isinstance(node, ast.Compare):
            return self._robust_compare(node)
        # A value read as a condition: true where it is not 0.
        names_before = set(self.used)
        self.used = set()
        value = self._node(node)
        read = frozenset(self.used)
        self.used |= names_before
        return lambda ns, m: (np.abs(_num(value(ns))) - _half_step(read, m)) / _scale(read, m)

    def _robust_compare(self, node: ast.Compare) -> _Rob:
        if id(node) not in self.operands:  # every Compare is compiled before; stay safe
            self._compare(node)
        fns, reads = self.operands[id(node)]
        links: list[_Rob] = []
        for i, op in enumerate(node.ops):
            links.append(_distance(type(op), fns[i], fns[i + 1], reads[i] | reads[i + 1]))
        if len(links) == 1:
            return links[0]

        def chain(ns: Mapping[str, Any], sc: Measure | None) -> Value:
            result = links[0](ns, sc)
            for link in links[1:]:
                result = np.minimum(result, link(ns, sc))
            return result

        return chain

    # -- nodes ---------------------------------------------------------------------------

    def _node(self, node: ast.AST) -> _Fn:
        """Compile one node, refusing trees deeper than :data:`MAX_EXPR_DEPTH` before the
        recursion gets anywhere near Python's limit (every descent goes through here)."""
        self.depth += 1
        try:
            if self.depth > MAX_EXPR_DEPTH:
                raise _error(f"expression nests deeper than {MAX_EXPR_DEPTH} levels: "
                             f"{excerpt(self.text, 40)}", self.where, 0)
            return self._compile_node(node)
        finally:
            self.depth -= 1

    def _compile_node(self, node: ast.AST) -> _Fn:
        if isinstance(node, ast.BoolOp):
            return self._boolop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                raise self._fail(f"operator {_OPERATOR_NAMES.get(type(node.op), '?')} "
                                 "is not allowed", node)
            left, right = self._node(node.left), self._node(node.right)
            self.arithmetic = True
            return lambda ns: op(_num(left(ns)), _num(right(ns)))
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Name | ast.Attribute):
            name = self._name(node)
            return lambda ns: ns[name]
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str):
                raise self._fail(f"the string {excerpt(value)} is only allowed compared with a "
                                 "value-table signal, as in EngineMode == 'LIMP'", node)
            if isinstance(value, bool):
                constant: Any = np.bool_(value)
            elif isinstance(value, int | float):
                if isinstance(value, int) and value.bit_length() > 1024 or not (
                        abs(float(value)) <= MAX_CONSTANT):
                    raise self._fail(f"the number {excerpt(self._segment(node), 40)} is "
                                     "beyond float64's range", node)
                constant = np.float64(value)
            else:
                raise self._fail(f"the constant {excerpt(value)} is not allowed", node)
            return lambda _ns: constant
        if isinstance(node, ast.Call):
            return self._call(node)
        what = _CONSTRUCT_NAMES.get(type(node), type(node).__name__)
        raise self._fail(f"{what} are not allowed" if what.endswith("s") else
                         f"{what} is not allowed", node)

    def _boolop(self, node: ast.BoolOp) -> _Fn:
        parts = [self._node(v) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def fn(ns: Mapping[str, Any]) -> Value:
            # No short-circuit: on arrays every element needs every operand anyway, and the
            # scalar path must give the same answer as the vectorised one.
            result = parts[0](ns)
            for part in parts[1:]:
                result = combine(result, part(ns))
            return result

        return fn

    def _unary(self, node: ast.UnaryOp) -> _Fn:
        operand = self._node(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda ns: np.logical_not(operand(ns))
        self.arithmetic = True
        if isinstance(node.op, ast.USub):
            return lambda ns: np.negative(np.asarray(operand(ns), dtype=float))
        if isinstance(node.op, ast.UAdd):
            return lambda ns: np.asarray(operand(ns), dtype=float)
        raise self._fail(f"operator {_OPERATOR_NAMES.get(type(node.op), '?')} "
                         "is not allowed", node)

    def _compare(self, node: ast.Compare) -> _Fn:
        ops = []
        for op in node.ops:  # before the operands: "x in (1, 2)" is about 'in', not tuples
            entry = _COMPARE.get(type(op))
            if entry is None:
                raise self._fail(f"comparison {_OPERATOR_NAMES.get(type(op), '?')} "
                                 "is not allowed", node)
            ops.append(entry[1])
            self.operators.add(entry[0])
        operands = [node.left, *node.comparators]
        compiled: list[_Fn] = []
        reads: list[frozenset[str]] = []
        outer = self.used
        for i, operand in enumerate(operands):
            self.used = set()
            if isinstance(operand, ast.Constant) and isinstance(operand.value, str):
                compiled.append(self._choice(operand, operands, i))
            else:
                compiled.append(self._node(operand))
            reads.append(frozenset(self.used))
            outer |= self.used
        self.used = outer
        self.operands[id(node)] = (compiled, reads)

        if len(ops) == 1:
            left, right, op0 = compiled[0], compiled[1], ops[0]
            return lambda ns: op0(left(ns), right(ns))

        def chain(ns: Mapping[str, Any]) -> Value:
            values = [c(ns) for c in compiled]
            result = ops[0](values[0], values[1])
            for k in range(1, len(ops)):
                result = np.logical_and(result, ops[k](values[k], values[k + 1]))
            return result

        return chain

    def _choice(self, node: ast.Constant, operands: list[ast.expr], index: int) -> _Fn:
        """Resolve a value-table label against the neighbouring signal of the comparison."""
        label = node.value
        assert isinstance(label, str)  # both callers pass string constants only
        neighbours = [operands[j] for j in (index - 1, index + 1) if 0 <= j < len(operands)]
        for other in neighbours:
            if isinstance(other, ast.Name | ast.Attribute):
                name = self._name(other)
                table = self.choices(name)
                if not table:
                    raise self._fail(f"{name} has no value table, so {excerpt(label)} means "
                                     "nothing; compare with a number", node)
                if label not in table:
                    raise self._fail(f"{excerpt(label)} is not a value of {name}"
                                     f"{closest(label, table)}; values: "
                                     f"{', '.join(map(str, table))}", node)
                number = np.float64(table[label])
                return lambda _ns: number
        raise self._fail(f"the string {excerpt(label)} must be compared directly with a "
                         "value-table signal, as in EngineMode == 'LIMP'", node)

    def _call(self, node: ast.Call) -> _Fn:
        func = node.func
        fname = func.id if isinstance(func, ast.Name) else None
        if fname not in _FUNCTIONS:
            shown = self._segment(func) if fname is None else fname
            raise self._fail(f"calling {excerpt(shown)} is not allowed; only abs, min and max",
                             node)
        if node.keywords:
            raise self._fail(f"{fname}() takes no keyword arguments", node.keywords[0])
        args = [self._node(a) for a in node.args]
        self.arithmetic = True
        if fname == "abs":
            if len(args) != 1:
                raise self._fail("abs() takes exactly one argument", node)
            arg = args[0]
            return lambda ns: np.abs(_num(arg(ns)))
        if len(args) < 2:
            raise self._fail(f"{fname}() takes two or more arguments", node)
        reduce = np.minimum if fname == "min" else np.maximum

        def fn(ns: Mapping[str, Any]) -> Value:
            result = _num(args[0](ns))
            for a in args[1:]:
                result = reduce(result, _num(a(ns)))
            return result

        return fn

    def _name(self, node: ast.Name | ast.Attribute) -> str:
        """The signal or quantity a Name (or an Attribute chain over names) refers to."""
        parts: list[str] = []
        current: ast.AST = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            raise self._fail(f"attribute access {self._segment(node)!r} is not allowed; "
                             "only signal and quantity names may contain dots", node)
        parts.append(current.id)
        name = ".".join(self.placeholders.get(p, p) for p in reversed(parts))
        if name in _FUNCTIONS:
            raise self._fail(f"{name} is a function; call it as {name}(...)", node)
        if name in ("True", "False", "None"):  # only reachable via odd placeholders
            raise self._fail(f"{name} is not a name", node)
        if not self.known(name):
            raise self._fail(f"unknown signal or quantity {excerpt(name)}"
                             f"{closest(name, self.suggestions())}", node)
        self.used.add(name)
        return name
