"""Safe formula parser: user text becomes a sympy expression through a whitelist walk.

Formulas typed on the command line (``--gate-formula "exp(b1*x1 + b2*x2)"``) and stored in
saved JSON files are read with :func:`ast.parse` in expression mode, which only builds a syntax
tree and runs nothing. The tree is then walked node by node; every node type, operator, name and
function must be on an allowlist, and the sympy objects are built directly from the nodes. Text is
never handed to Python or to sympy as code.

Grammar
-------
* numbers: ``int`` and ``float`` literals; floats are read exactly from their decimal text, so
  ``0.1`` is ``Rational(1, 10)`` and ``1e-3`` is ``Rational(1, 1000)``;
* names: declared scalars, declared vectors (see :class:`Scope`), the constants ``pi``, ``e`` and
  ``E``;
* operators ``+ - * / **`` and unary ``+ -``; ``^`` is read as a power with the precedence
  and right associativity of ``**`` (``b^2*x`` is ``b**2*x``), as in mathematical notation, *not*
  as Python's exclusive or;
* vectors: ``v ± w`` (equal lengths), ``c*v``, ``v*c``, ``v/c``;
* functions ``exp log sqrt abs sign tanh sin cos sigmoid erf relu gelu Phi phi softplus`` and the
  names the package prints, ``step erfd Abs`` (one scalar argument each); ``norm(v)`` /
  ``norm(a, b, ...)``, ``dot(v, w)``, ``sum(v)`` / ``sum(a, ...)``, ``max``/``min`` of
  up to 4 scalars (or one vector of them), written with ``step``;
* with ``derivative_of``: the name ``u`` and ``Derivative(u, p, ...)`` / ``D(u, p, ...)``, with
  sympy's ``(p, n)`` form for repeated variables.

Size limits
-----------
Any text of at most :data:`MAX_FORMULA_LENGTH` characters parses in under a second (the worst
cases found take about half a second, most formulas milliseconds) or is refused: nesting is
bounded by :data:`MAX_DEPTH`, literals by :data:`MAX_LITERAL_DIGITS` digits and a decimal
exponent of :data:`MAX_LITERAL_EXPONENT`, numeric exponents by :data:`MAX_POWER_EXPONENT`, and
derivatives by :data:`MAX_DERIVATIVE_ORDER`. Exact numbers get more limits, because sympy folds
constants as soon as an expression is built:

* every rational number in every value built (a literal, a power, product or sum of constants,
  a derivative) has numerator and denominator of at most :data:`MAX_NUMBER_BITS` bits, so
  ``1e300**64`` (a 19,200-digit integer, which Python cannot even print) is refused;
* the numbers that one sum, product, power or call combines add up to at most
  :data:`MAX_COMBINED_BITS` bits, checked *before* sympy multiplies them (a product of hundreds of
  maximal numbers would otherwise take seconds to build and only then be refused);
* numbers raised to non-integer powers (``sqrt(c)``, ``c**(p/q)``, ``norm``) add up to at most
  :data:`MAX_ROOT_BITS` bits (times ``|p|``) in the whole formula, as sympy factors each such
  number to simplify the root, at a cost that grows quickly with its size;
* the exponential of a number is refused beyond :data:`MAX_EXP_ARGUMENT`, as sympy's numerical
  sign tests of ``exp(c)`` take seconds for large ``c``; numeric exponents (``2**pi``) obey
  :data:`MAX_POWER_EXPONENT` like rational ones.

Every failure is a :class:`~moetheory.errors.FormulaError` (or a subclass) naming the offending
token and, where known, its position in the text.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TypeAlias

import sympy as sp

from moetheory.errors import (
    DimensionError,
    FormulaError,
    UnknownFunctionError,
    UnknownSymbolError,
)
from moetheory.limits import LimitError
from moetheory.symbolic import functions as fn

__all__ = [
    "MAX_COMBINED_BITS",
    "MAX_DEPTH",
    "MAX_EXP_ARGUMENT",
    "MAX_FORMULA_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_NUMBER_BITS",
    "MAX_ROOT_BITS",
    "MAX_VECTOR_LENGTH",
    "Scope",
    "check_name",
    "make_symbol",
    "parse_declarations",
    "parse_formula",
    "parse_names",
]

#: Longest formula text accepted, in characters.
MAX_FORMULA_LENGTH = 4000
#: Deepest nesting of operators and calls accepted (chains such as ``a + b + c`` count once).
MAX_DEPTH = 60
#: Longest symbol name accepted.
MAX_NAME_LENGTH = 40
#: Longest vector accepted in a declaration.
MAX_VECTOR_LENGTH = 16
#: Most decimal digits in a number literal.
MAX_LITERAL_DIGITS = 30
#: Largest decimal exponent in a float literal (``1e300``).
MAX_LITERAL_EXPONENT = 300
#: Largest absolute value of a numeric exponent in a power.
MAX_POWER_EXPONENT = 64
#: Most bits in the numerator or the denominator of any exact number built while parsing.
#: 4096 bits (1234 decimal digits) hold a product of three extreme literals (1e300 has 997 bits,
#: 1.23456789012345678901234567890e-300 a 1093-bit denominator), and even the cube of such a
#: number prints within Python's 4300-digit limit on int-to-str conversion; the built-in
#: families use numbers of a few bits.
MAX_NUMBER_BITS = 4096
#: Most bits of exact numbers that one sum, product, power or call may combine: the sizes of the
#: distinct rationals in its operands added up (times the exponent, for a power). Bounds the
#: arithmetic sympy does before the result is checked against :data:`MAX_NUMBER_BITS`.
MAX_COMBINED_BITS = 65_536
#: Largest absolute value of a number whose exponential a formula may hold (``exp(c)``,
#: ``softplus(c)``, ``exp(a)**n``): exp(2**64) already has about 8·10¹⁸ decimal digits, and
#: sympy's numerical sign and zero tests, which run while parsing, slow down with the size of the
#: argument (0.1 s for exp(1e300), 6 s for exp(1e1200)).
MAX_EXP_ARGUMENT = 2**64
#: Most bits, over the whole formula, of numbers raised to non-integer powers (each distinct
#: base and exponent p/q counted once, the sizes of the base's numbers times max(1, |p|)): sympy
#: factors them to simplify roots, which takes about 0.1 s for one 1024-bit number.
MAX_ROOT_BITS = 1024
#: Highest count of a repeated variable in ``Derivative(u, (p, n))``.
MAX_DERIVATIVE_COUNT = 4
#: Highest order of a derivative, counting nested ``D(D(u, a), a)`` together.
MAX_DERIVATIVE_ORDER = 8
#: Highest sum of the orders of all derivatives in one formula.
MAX_TOTAL_DERIVATIVE_ORDER = 32

_CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E, "E": sp.E}

_UNARY_FUNCTIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "tanh": sp.tanh,
    "sin": sp.sin,
    "cos": sp.cos,
    "sigmoid": fn.sigmoid,
    "erf": fn.erf,
    "relu": fn.relu,
    "gelu": fn.gelu,
    "Phi": fn.Phi,
    "phi": fn.phi,
    "softplus": lambda t: sp.log(1 + sp.exp(t)),
    "sign": lambda t: 2 * fn.step(t) - 1,  # exact: step(0) = 1/2, so sign(0) = 0
    # names sympy prints for expressions built by the package (saved verdicts round-trip)
    "step": fn.step,
    "erfd": fn.erfd,
    "Abs": sp.Abs,
}
_VECTOR_FUNCTIONS = ("norm", "dot", "sum", "max", "min")
#: Most arguments of max() and min(): each one doubles the size of the step form.
MAX_MINMAX_ARGUMENTS = 4
_DERIVATIVE_FUNCTIONS = ("Derivative", "D")
_FUNCTION_NAMES = frozenset(_UNARY_FUNCTIONS) | frozenset(_VECTOR_FUNCTIONS)

#: Names a user may not declare: functions, constants, and the names of derivative formulas.
RESERVED_NAMES = frozenset(_FUNCTION_NAMES | set(_CONSTANTS) | set(_DERIVATIVE_FUNCTIONS) | {"u"})

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DECLARATION = re.compile(
    r"\s*(?P<name>[^\s:\[\]]+)\s*(?:(?::\s*(?P<colon>[^\s\]]*))|(?:\[\s*(?P<bracket>[^\]\s]*)\s*\]))?"
    r"\s*\Z"
)

_BINARY_SYMBOLS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.BitXor: "^",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
}
_UNARY_SYMBOLS: dict[type, str] = {ast.UAdd: "+", ast.USub: "-", ast.Not: "not", ast.Invert: "~"}
_COMPARE_SYMBOLS: dict[type, str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_SYNTAX_NAMES: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Starred: "starred expression",
    ast.Slice: "slice",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

Vector: TypeAlias = tuple[sp.Expr, ...]
Value: TypeAlias = sp.Expr | Vector


def make_symbol(name: str) -> sp.Symbol:
    """Return the real sympy symbol called ``name``; every module makes its symbols here.

    Example::

        >>> make_symbol("x1").is_real
        True
    """
    return sp.Symbol(name, real=True)


def check_name(name: str) -> str:
    """Validate a user-declared symbol name and return it unchanged.

    A name must be an ASCII identifier of at most 40 characters, not a Python keyword, and not a
    function name, a constant (``pi``, ``e``, ``E``) or a reserved name (``u``, ``D``,
    ``Derivative``). Anything else raises :class:`FormulaError` naming the token.

    Example::

        >>> check_name("b1")
        'b1'
    """
    if not isinstance(name, str):
        raise FormulaError(
            f"symbol name must be a string, got {type(name).__name__}",
            token=repr(name)[:MAX_NAME_LENGTH],
        )
    token = name[: MAX_NAME_LENGTH + 10]
    if not name:
        raise FormulaError("empty symbol name", token=name)
    if len(name) > MAX_NAME_LENGTH:
        raise FormulaError(
            f"symbol name {token!r}... is longer than {MAX_NAME_LENGTH} characters", token=token
        )
    if not _IDENTIFIER.match(name):
        raise FormulaError(
            f"invalid symbol name {name!r}: use ASCII letters, digits and '_', "
            "not starting with a digit",
            token=name,
        )
    if keyword.iskeyword(name):
        raise FormulaError(f"invalid symbol name {name!r}: it is a Python keyword", token=name)
    if name in RESERVED_NAMES:
        raise FormulaError(f"invalid symbol name {name!r}: the name is reserved", token=name)
    return name


def _check_length(name: str, length: object) -> int:
    if isinstance(length, bool) or not isinstance(length, int):
        raise FormulaError(
            f"vector length of {name!r} must be an integer, got {length!r}", token=name
        )
    if not 1 <= length <= MAX_VECTOR_LENGTH:
        raise FormulaError(
            f"vector length of {name!r} must be between 1 and {MAX_VECTOR_LENGTH}, got {length}",
            token=name,
        )
    return length


@dataclass(frozen=True)
class Scope:
    """The names a formula may use: scalar symbols and vectors of scalar components.

    Build one with :meth:`Scope.declare`. ``symbols`` maps every scalar name (including vector
    components ``x1, x2, ...``) to its symbol; ``vectors`` maps each vector name to the tuple of
    its component symbols.

    Example::

        >>> scope = Scope.declare(["b0"], {"x": 2})
        >>> sorted(scope.symbols)
        ['b0', 'x1', 'x2']
        >>> scope.vectors["x"]
        (x1, x2)
    """

    symbols: dict[str, sp.Symbol] = field(default_factory=dict)
    vectors: dict[str, tuple[sp.Symbol, ...]] = field(default_factory=dict)

    @classmethod
    def declare(
        cls, scalars: Sequence[str] = (), vectors: Mapping[str, int] | None = None
    ) -> Scope:
        """Declare scalar names and vectors ``{name: length}``; duplicates raise FormulaError.

        A vector ``x`` of length 3 also declares its components ``x1, x2, x3`` as scalars.

        Example::

            >>> Scope.declare(["a"], {"x": 3}).symbols["x3"]
            x3
        """
        if isinstance(scalars, str):
            scalars = [scalars]
        symbols: dict[str, sp.Symbol] = {}
        vecs: dict[str, tuple[sp.Symbol, ...]] = {}
        taken: set[str] = set()

        def take(name: str) -> None:
            check_name(name)
            if name in taken:
                raise FormulaError(f"duplicate declaration of {name!r}", token=name)
            taken.add(name)

        for name in scalars:
            take(name)
            symbols[name] = make_symbol(name)
        for name, length in (vectors or {}).items():
            take(name)
            n = _check_length(name, length)
            components = []
            for i in range(1, n + 1):
                component = f"{name}{i}"
                take(component)
                symbols[component] = make_symbol(component)
                components.append(symbols[component])
            vecs[name] = tuple(components)
        return cls(symbols=symbols, vectors=vecs)


def parse_declarations(text: str) -> tuple[list[str], dict[str, int]]:
    """Split a comma-separated declaration list into scalar names and vectors ``{name: length}``.

    An item ``x:3`` or ``x[3]`` declares a vector of length 1..16; any other item is a scalar
    name. Names are checked with :func:`check_name`; duplicates (including vector components such
    as ``x1`` next to ``x:2``) and empty items raise :class:`FormulaError`. A blank text declares
    nothing.

    Example::

        >>> parse_declarations("b1, b2,b0, x:2")
        (['b1', 'b2', 'b0'], {'x': 2})
    """
    if not isinstance(text, str):
        raise FormulaError(f"declarations must be a string, got {type(text).__name__}")
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"declaration list is longer than {MAX_FORMULA_LENGTH} characters")
    if not text.strip():
        return [], {}
    scalars: list[str] = []
    vectors: dict[str, int] = {}
    position = 0
    for item in text.split(","):
        if not item.strip():
            raise FormulaError("empty item in declaration list", token=",", position=position)
        match = _DECLARATION.match(item)
        if match is None:
            raise FormulaError(
                f"invalid declaration {item.strip()!r}", token=item.strip(), position=position
            )
        name = check_name(match["name"])
        length_text = match["colon"] if match["colon"] is not None else match["bracket"]
        if length_text is None:
            scalars.append(name)
        else:
            if not length_text.isascii() or not length_text.isdigit() or len(length_text) > 3:
                raise FormulaError(
                    f"invalid vector length {length_text!r} for {name!r}",
                    token=item.strip(),
                    position=position,
                )
            if name in vectors:
                raise FormulaError(
                    f"duplicate declaration of {name!r}", token=name, position=position
                )
            vectors[name] = _check_length(name, int(length_text))
        position += len(item) + 1
    Scope.declare(scalars, vectors)  # duplicate and component clashes
    return scalars, vectors


def parse_names(text: str) -> list[str]:
    """Split a comma-separated list of scalar names such as ``"b1, b2,b0"`` and validate each.

    Vector declarations are refused here; use :func:`parse_declarations` for those.

    Example::

        >>> parse_names("b1, b2,b0")
        ['b1', 'b2', 'b0']
    """
    scalars, vectors = parse_declarations(text)
    if vectors:
        name = next(iter(vectors))
        raise FormulaError(f"vector declaration {name!r} not allowed here", token=name)
    return scalars


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _defect(value: sp.Expr) -> str | None:
    """Why ``value`` is not an acceptable result (infinite, undefined, complex), or None."""
    if value.has(sp.zoo, sp.nan, sp.oo, sp.S.NegativeInfinity):
        return "formula is undefined (division by zero or an infinite value)"
    if value.has(sp.I):
        return "formula is not real-valued"
    return None


def _has_numeric_root(value: sp.Expr) -> bool:
    """Whether ``value`` holds a rational number raised to a non-integer rational power."""
    return any(
        power.base.is_Rational and power.exp.is_Rational and not power.exp.is_Integer
        for power in value.atoms(sp.Pow)
    )


class _Builder:
    """Walks an expression tree, building sympy values (scalars or tuples for vectors)."""

    def __init__(self, text: str, origins: list[int], scope: Scope, derivative_of: sp.Expr | None):
        self.text = text
        self.origins = origins
        # where each line starts, with Python's line breaks (\r\n, \r, \n); the text is ASCII,
        # so the parser's byte columns are character columns
        self.line_starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]
        self.scope = scope
        self.derivative_of = derivative_of
        self.nested_order = 0  # order of the derivatives enclosing the node being built
        self.total_order = 0  # order of all derivatives in the formula so far
        self.derivatives: dict[tuple[sp.Expr, tuple], sp.Expr] = {}
        self.sizes: dict[Value, tuple[int, int]] = {}  # see number_sizes
        self.roots: set[tuple[sp.Expr, sp.Expr]] = set()  # powers charged to MAX_ROOT_BITS
        self.root_bits = 0
        self.exponentials: set[sp.Expr] = set()  # exp(...) already checked by check_numbers

    # -- positions and errors ---------------------------------------------------------------

    def position(self, node: ast.AST) -> int | None:
        lineno = getattr(node, "lineno", None)
        col = getattr(node, "col_offset", None)
        if lineno is None or col is None:
            return None
        return _origin(self.origins, self.line_starts[lineno - 1] + col)

    def source(self, node: ast.AST) -> str | None:
        """The text of ``node`` (``ast.get_source_segment`` splits the whole text per call)."""
        lineno, end_lineno = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if lineno is None or end_lineno is None or col is None or end_col is None:
            return None
        start = self.line_starts[lineno - 1] + col
        return self.text[start : self.line_starts[end_lineno - 1] + end_col]

    def segment(self, node: ast.AST) -> str:
        text = self.source(node) or type(node).__name__
        text = _one_line(text)
        return text if len(text) <= 60 else text[:57] + "..."

    def error(
        self, cls: type[FormulaError], message: str, token: str | None, node: ast.AST
    ) -> FormulaError:
        return cls(_one_line(message), token=token, position=self.position(node))

    # -- dispatch ---------------------------------------------------------------------------

    def scalar(self, node: ast.AST, depth: int, what: str) -> sp.Expr:
        value = self.build(node, depth)
        if isinstance(value, tuple):
            raise self.error(
                DimensionError,
                f"dimension mismatch: {what} needs a scalar, got a vector of length {len(value)}",
                self.segment(node),
                node,
            )
        return value

    def build(self, node: ast.AST, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise self.error(
                FormulaError,
                f"formula is nested more than {MAX_DEPTH} levels deep",
                self.segment(node),
                node,
            )
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Constant):
            value = self.constant(node)
        elif isinstance(node, ast.BinOp):
            value = self.binop(node, depth)
        elif isinstance(node, ast.UnaryOp):
            value = self.unaryop(node, depth)
        elif isinstance(node, ast.Call):
            value = self.call(node, depth)
        else:
            raise self.refusal(node)
        self.check_numbers(value, node)
        return value

    def refusal(self, node: ast.AST) -> FormulaError:
        """The error for a node that is not part of the grammar."""
        if isinstance(node, ast.Compare):
            symbol = _COMPARE_SYMBOLS.get(type(node.ops[0]), "comparison")
            return self.error(
                FormulaError, f"comparison {symbol!r} is not allowed in a formula", symbol, node
            )
        if isinstance(node, ast.BoolOp):
            symbol = "and" if isinstance(node.op, ast.And) else "or"
            return self.error(
                FormulaError, f"boolean operator {symbol!r} is not allowed", symbol, node
            )
        what = _SYNTAX_NAMES.get(type(node), type(node).__name__)
        token = "lambda" if isinstance(node, ast.Lambda) else self.segment(node)
        return self.error(
            FormulaError, f"{what} is not allowed in a formula: {token!r}", token, node
        )

    # -- sizes of exact numbers ---------------------------------------------------------------

    def number_sizes(self, value: Value) -> tuple[int, int]:
        """(largest, total) size in bits of the distinct rationals in ``value``.

        ``largest`` is the most bits of a numerator or denominator, ``total`` the sum over the
        rationals of the bits of both. Cached per value, as parents ask again.
        """
        sizes = self.sizes.get(value)
        if sizes is None:
            parts = value if isinstance(value, tuple) else (value,)
            numbers: set[sp.Rational] = set().union(*(part.atoms(sp.Rational) for part in parts))
            lengths = [(abs(int(q.p)).bit_length(), int(q.q).bit_length()) for q in numbers]
            sizes = (max((max(pair) for pair in lengths), default=0), sum(map(sum, lengths)))
            self.sizes[value] = sizes
        return sizes

    def check_numbers(self, value: Value, node: ast.AST) -> None:
        """Refuse a value holding a number of more than MAX_NUMBER_BITS bits, or the exponential
        of a number larger than MAX_EXP_ARGUMENT in absolute value."""
        if self.number_sizes(value)[0] > MAX_NUMBER_BITS:
            token = self.segment(node)
            raise self.error(
                FormulaError,
                f"number built from {token!r} has more than {MAX_NUMBER_BITS} bits "
                f"(MAX_NUMBER_BITS)",
                token,
                node,
            )
        parts = value if isinstance(value, tuple) else (value,)
        for power in set().union(*(part.atoms(sp.exp) for part in parts)) - self.exponentials:
            self.exponentials.add(power)
            argument = power.args[0]
            if not argument.is_number:
                continue
            size = abs(argument.evalf(15))
            if size.is_Number and size > MAX_EXP_ARGUMENT:
                token = self.segment(node)
                raise self.error(
                    FormulaError,
                    f"exponential of a number larger than {MAX_EXP_ARGUMENT} in {token!r} "
                    f"(MAX_EXP_ARGUMENT)",
                    token,
                    node,
                )

    def check_combination(
        self, values: Sequence[Value], node: ast.AST, what: str, times: int = 1
    ) -> None:
        """Refuse to let sympy combine numbers of more than MAX_COMBINED_BITS bits in all."""
        total = times * sum(self.number_sizes(value)[1] for value in values)
        if total > MAX_COMBINED_BITS:
            raise self.error(
                FormulaError,
                f"numbers in this {what} are too large to combine: {total} bits, more than "
                f"{MAX_COMBINED_BITS} (MAX_COMBINED_BITS)",
                self.segment(node),
                node,
            )

    def charge_root(self, base: sp.Expr, exponent: sp.Expr, node: ast.AST) -> None:
        """Charge ``base**exponent`` to the formula's MAX_ROOT_BITS budget where sympy may
        factor numbers to build it: a non-integer rational exponent, or an integer one on a
        base that holds a number under a root."""
        if exponent.is_Rational and not exponent.is_Integer:
            multiplier = abs(int(exponent.p))
            # sympy writes a number below 1 to the power p/q as one over its denominator to
            # the power (q - p)/q and extracts perfect powers from the factors: numbers of
            # about bits · max(|p|, q) bits (1e-300 as an exponent is 1/10**300 exactly)
            spread = self.number_sizes(base)[1] * max(multiplier, int(exponent.q))
            if spread > MAX_COMBINED_BITS:
                raise self.error(
                    FormulaError,
                    f"a number raised to the power {self.segment(node)!r} would build numbers "
                    f"of about {spread} bits, more than {MAX_COMBINED_BITS} (MAX_COMBINED_BITS)",
                    self.segment(node),
                    node,
                )
        elif exponent.is_Integer and _has_numeric_root(base):
            multiplier = abs(int(exponent))
        else:
            return
        if (base, exponent) in self.roots:
            return
        self.roots.add((base, exponent))
        self.root_bits += self.number_sizes(base)[1] * max(1, multiplier)
        if self.root_bits > MAX_ROOT_BITS:
            raise self.error(
                FormulaError,
                f"numbers under roots or fractional powers in the formula add up to more than "
                f"{MAX_ROOT_BITS} bits (MAX_ROOT_BITS)",
                self.segment(node),
                node,
            )

    # -- leaves -----------------------------------------------------------------------------

    def constant(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.error(
                FormulaError, f"constant {value!r} is not allowed in a formula", repr(value), node
            )
        if isinstance(value, int):
            if abs(value) >= 10**MAX_LITERAL_DIGITS:
                raise self.error(
                    FormulaError,
                    f"integer literal has more than {MAX_LITERAL_DIGITS} digits",
                    self.segment(node),
                    node,
                )
            return sp.Integer(value)
        if isinstance(value, float):
            return self.float_literal(node)
        kind = {str: "string", bytes: "bytes", complex: "complex number"}.get(
            type(value), "literal"
        )
        raise self.error(
            FormulaError, f"{kind} literal is not allowed in a formula", self.segment(node), node
        )

    def float_literal(self, node: ast.Constant) -> sp.Expr:
        source = self.source(node) or repr(node.value)
        token = self.segment(node)
        try:
            number = Decimal(source.replace("_", ""))
        except (InvalidOperation, ValueError):
            number = Decimal(repr(node.value))
        if not number.is_finite():
            raise self.error(FormulaError, f"number {token!r} is not finite", token, node)
        if number.is_zero():
            return sp.Integer(0)
        sign, digits, exponent = number.normalize().as_tuple()
        if len(digits) > MAX_LITERAL_DIGITS:
            raise self.error(
                FormulaError,
                f"number literal has more than {MAX_LITERAL_DIGITS} digits",
                token,
                node,
            )
        if abs(number.adjusted()) > MAX_LITERAL_EXPONENT:
            raise self.error(FormulaError, f"number literal {token!r} is out of range", token, node)
        mantissa = int("".join(str(d) for d in digits))
        assert isinstance(exponent, int)
        if exponent >= 0:
            result = sp.Integer(mantissa * 10**exponent)
        else:
            result = sp.Rational(mantissa, 10**-exponent)
        return -result if sign else result

    def name(self, node: ast.Name) -> Value:
        name = node.id
        if name in self.scope.symbols:
            return self.scope.symbols[name]
        if name in self.scope.vectors:
            return self.scope.vectors[name]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name == "u" and self.derivative_of is not None:
            return self.derivative_of
        if name in _FUNCTION_NAMES or (
            name in _DERIVATIVE_FUNCTIONS and self.derivative_of is not None
        ):
            raise self.error(
                FormulaError,
                f"function {name!r} used without arguments: write {name}(...)",
                name,
                node,
            )
        raise self.error(UnknownSymbolError, f"unknown symbol {name!r} in formula", name, node)

    # -- operators --------------------------------------------------------------------------

    def binop(self, node: ast.BinOp, depth: int) -> Value:
        op = type(node.op)
        if op in (ast.Add, ast.Sub):
            return self.sum_chain(node, depth)
        if op in (ast.Mult, ast.Div):
            return self.product_chain(node, depth)
        if op is ast.Pow:
            return self.power(node, depth)
        symbol = _BINARY_SYMBOLS.get(op, type(node.op).__name__)
        raise self.error(
            FormulaError, f"operator {symbol!r} is not allowed in a formula", symbol, node
        )

    @staticmethod
    def spine(node: ast.BinOp, ops: tuple[type, ...]) -> list[tuple[type, ast.AST]]:
        """Flatten a left-leaning chain ``a op b op c`` into ``[(Add, a), (op, b), (op, c)]``."""
        items: list[tuple[type, ast.AST]] = []
        current: ast.AST = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, ops):
            items.append((type(current.op), current.right))
            current = current.left
        items.append((ops[0], current))
        items.reverse()
        return items

    def sum_chain(self, node: ast.BinOp, depth: int) -> Value:
        terms: list[tuple[type, ast.AST, Value]] = [
            (op, operand, self.build(operand, depth + 1))
            for op, operand in self.spine(node, (ast.Add, ast.Sub))
        ]
        self.check_combination([value for _, _, value in terms], node, "sum")
        vectors = [(operand, value) for _, operand, value in terms if isinstance(value, tuple)]
        if not vectors:
            scalars = [(op, value) for op, _, value in terms if not isinstance(value, tuple)]
            return sp.Add(*[value if op is ast.Add else -value for op, value in scalars])
        if len(vectors) != len(terms):
            raise self.error(
                DimensionError,
                "dimension mismatch: cannot add a scalar and a vector",
                self.segment(node),
                node,
            )
        length = len(vectors[0][1])
        for operand, value in vectors:
            if len(value) != length:
                raise self.error(
                    DimensionError,
                    f"dimension mismatch: cannot add vectors of length {length} and {len(value)}",
                    self.segment(operand),
                    node,
                )
        return tuple(
            sp.Add(*[value[i] if op is ast.Add else -value[i] for op, _, value in terms])
            for i in range(length)
        )

    def product_chain(self, node: ast.BinOp, depth: int) -> Value:
        factors: list[sp.Expr] = []
        vector: Vector | None = None
        for op, operand in self.spine(node, (ast.Mult, ast.Div)):
            value = self.build(operand, depth + 1)
            if isinstance(value, tuple):
                if op is ast.Div:
                    raise self.error(
                        DimensionError,
                        "dimension mismatch: cannot divide by a vector",
                        self.segment(operand),
                        operand,
                    )
                if vector is not None:
                    raise self.error(
                        DimensionError,
                        "dimension mismatch: cannot multiply two vectors (use dot(v, w))",
                        self.segment(node),
                        node,
                    )
                vector = value
                continue
            if op is ast.Div:
                if value == 0:  # a structural test: is_zero may evaluate numerically
                    raise self.error(
                        FormulaError, "formula is undefined: division by zero", "/", operand
                    )
                self.charge_root(value, sp.S.NegativeOne, operand)
                value = sp.Pow(value, -1)
            factors.append(value)
        self.check_combination([*factors, *([vector] if vector else [])], node, "product")
        scale = sp.Mul(*factors)
        if vector is not None:
            return tuple(sp.Mul(scale, component) for component in vector)
        return scale

    def power(self, node: ast.BinOp, depth: int) -> sp.Expr:
        symbol = "**"
        base = self.build(node.left, depth + 1)
        if isinstance(base, tuple):
            raise self.error(
                DimensionError,
                f"dimension mismatch: cannot raise a vector to a power with {symbol!r}",
                symbol,
                node,
            )
        exponent = self.scalar(node.right, depth + 1, f"the exponent of {symbol!r}")
        if exponent.is_number:
            size = abs(exponent) if exponent.is_Rational else abs(exponent.evalf(15))
            if size.is_Number and size > MAX_POWER_EXPONENT:
                raise self.error(
                    FormulaError,
                    f"exponent {self.segment(node.right)!r} is too large "
                    f"(limit {MAX_POWER_EXPONENT})",
                    symbol,
                    node,
                )
        times = max(1, math.ceil(abs(exponent))) if exponent.is_Rational else 1
        self.check_combination([base], node, "power", times)
        self.check_combination([exponent], node, "power")
        self.charge_root(base, exponent, node)
        if exponent.is_number and exponent.is_negative and base.is_zero:
            raise self.error(
                FormulaError, "formula is undefined: zero to a negative power", symbol, node
            )
        if exponent.is_integer is not True and base.is_negative:
            raise self.error(
                FormulaError,
                "formula is not real-valued: a negative number to a power that is not an integer",
                symbol,
                node,
            )
        result = sp.Pow(base, exponent)
        self.check_defined(result, symbol, node)
        return result

    def unaryop(self, node: ast.UnaryOp, depth: int) -> Value:
        if isinstance(node.op, (ast.UAdd, ast.USub)):
            value = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return value
            if isinstance(value, tuple):
                return tuple(-component for component in value)
            return -value
        symbol = _UNARY_SYMBOLS.get(type(node.op), type(node.op).__name__)
        raise self.error(
            FormulaError, f"operator {symbol!r} is not allowed in a formula", symbol, node
        )

    def check_defined(self, value: sp.Expr, token: str, node: ast.AST) -> None:
        reason = _defect(value)
        if reason is not None:
            raise self.error(FormulaError, reason, token, node)

    # -- calls ------------------------------------------------------------------------------

    def call(self, node: ast.Call, depth: int) -> Value:
        if not isinstance(node.func, ast.Name):
            token = self.segment(node.func)
            raise self.error(
                FormulaError, f"only named functions may be called, not {token!r}", token, node.func
            )
        name = node.func.id
        derivative = name in _DERIVATIVE_FUNCTIONS and self.derivative_of is not None
        if name not in _FUNCTION_NAMES and not derivative:
            if name in self.scope.symbols or name in self.scope.vectors or name in _CONSTANTS:
                raise self.error(FormulaError, f"{name!r} is not a function", name, node.func)
            raise self.error(UnknownFunctionError, f"unknown function {name!r}", name, node.func)
        for keyword_node in node.keywords:
            token = keyword_node.arg if keyword_node.arg is not None else "**"
            raise self.error(
                FormulaError,
                f"keyword argument {token!r} is not allowed in {name}()",
                token,
                keyword_node,
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(
                    FormulaError, f"starred argument is not allowed in {name}()", "*", arg
                )
        if derivative:
            return self.derivative(node, name, depth)
        if name in _UNARY_FUNCTIONS:
            if len(node.args) != 1:
                raise self.error(
                    FormulaError,
                    f"{name}() takes exactly 1 argument ({len(node.args)} given)",
                    name,
                    node,
                )
            argument = self.scalar(node.args[0], depth + 1, f"{name}()")
            if name == "sqrt":
                self.charge_root(argument, sp.S.Half, node)
            result = _UNARY_FUNCTIONS[name](argument)
        elif name == "dot":
            result = self.dot(node, depth)
        else:
            result = self.reduce(node, name, depth)
        self.check_defined(result, name, node)
        return result

    def dot(self, node: ast.Call, depth: int) -> sp.Expr:
        if len(node.args) != 2:
            raise self.error(
                FormulaError,
                f"dot() takes exactly 2 arguments ({len(node.args)} given)",
                "dot",
                node,
            )
        left, right = (self.build(arg, depth + 1) for arg in node.args)
        self.check_combination([left, right], node, "dot()")
        if not isinstance(left, tuple) or not isinstance(right, tuple):
            raise self.error(
                DimensionError, "dimension mismatch: dot() needs two vectors", "dot", node
            )
        if len(left) != len(right):
            raise self.error(
                DimensionError,
                f"dimension mismatch: dot() of vectors of length {len(left)} and {len(right)}",
                "dot",
                node,
            )
        return sp.Add(*[a * b for a, b in zip(left, right, strict=True)])

    def reduce(self, node: ast.Call, name: str, depth: int) -> sp.Expr:
        if not node.args:
            raise self.error(
                FormulaError, f"{name}() takes at least 1 argument (0 given)", name, node
            )
        values = [self.build(arg, depth + 1) for arg in node.args]
        if len(values) == 1 and isinstance(values[0], tuple):
            components = list(values[0])
        else:
            for arg, value in zip(node.args, values, strict=True):
                if isinstance(value, tuple):
                    raise self.error(
                        DimensionError,
                        f"dimension mismatch: {name}() takes one vector or "
                        f"scalars, got a vector among {len(values)} arguments",
                        name,
                        arg,
                    )
            components = values
        if name in ("max", "min"):
            return self.extremum(node, name, components)
        if name == "norm":
            self.check_combination(components, node, "norm()", 2)
            squares = sp.Add(*[c**2 for c in components])
            self.charge_root(squares, sp.S.Half, node)
            return sp.sqrt(squares)
        self.check_combination(components, node, "sum()")
        return sp.Add(*components)

    def extremum(self, node: ast.Call, name: str, components: list[sp.Expr]) -> sp.Expr:
        """max/min written with the step function, exactly: max(a, b) = b + (a − b)·H(a − b)
        (H(0) = 1/2, so a tie gives b), min(a, b) = a − (a − b)·H(a − b); the identifiability
        engine then works on the open regions where one argument wins."""
        if len(components) > MAX_MINMAX_ARGUMENTS:
            raise self.error(
                FormulaError,
                f"{name}() takes at most {MAX_MINMAX_ARGUMENTS} arguments "
                f"({len(components)} given)",
                name,
                node,
            )
        self.check_combination(components, node, f"{name}()", 2)
        result = components[0]
        for other in components[1:]:
            gap = result - other
            result = other + gap * fn.step(gap) if name == "max" else result - gap * fn.step(gap)
        return result

    def derivative(self, node: ast.Call, name: str, depth: int) -> sp.Expr:
        if len(node.args) < 2:
            raise self.error(
                FormulaError,
                f"{name}() needs a function and at least one variable "
                f"({len(node.args)} arguments given)",
                name,
                node,
            )
        variables: list[sp.Symbol | tuple[sp.Symbol, int]] = []
        order = 0
        for arg in node.args[1:]:
            if isinstance(arg, ast.Tuple):
                if len(arg.elts) != 2:
                    raise self.error(
                        FormulaError,
                        f"{name}() variable pairs must be (name, count)",
                        self.segment(arg),
                        arg,
                    )
                variable = self.variable(arg.elts[0], name)
                count_node = arg.elts[1]
                count = getattr(count_node, "value", None)
                if (
                    not isinstance(count_node, ast.Constant)
                    or isinstance(count, bool)
                    or not isinstance(count, int)
                    or not 1 <= count <= MAX_DERIVATIVE_COUNT
                ):
                    raise self.error(
                        FormulaError,
                        f"{name}() count must be an integer from 1 to {MAX_DERIVATIVE_COUNT}",
                        self.segment(count_node),
                        count_node,
                    )
                variables.append((variable, count))
                order += count
            else:
                variables.append(self.variable(arg, name))
                order += 1
        if self.nested_order + order > MAX_DERIVATIVE_ORDER:
            raise self.error(
                FormulaError,
                f"{name}() gives a derivative of order "
                f"{self.nested_order + order}, more than {MAX_DERIVATIVE_ORDER}",
                name,
                node,
            )
        self.total_order += order
        if self.total_order > MAX_TOTAL_DERIVATIVE_ORDER:
            raise self.error(
                FormulaError,
                f"derivatives in the formula add up to more than order "
                f"{MAX_TOTAL_DERIVATIVE_ORDER}",
                name,
                node,
            )
        self.nested_order += order
        try:
            target = self.scalar(node.args[0], depth + 1, f"{name}()")
        finally:
            self.nested_order -= order
        key = (target, tuple(variables))
        if key not in self.derivatives:
            self.derivatives[key] = sp.diff(target, *variables)
        result = self.derivatives[key]
        self.check_defined(result, name, node)
        return result

    def variable(self, node: ast.AST, function: str) -> sp.Symbol:
        if isinstance(node, ast.Name) and node.id in self.scope.symbols:
            return self.scope.symbols[node.id]
        token = self.segment(node)
        if isinstance(node, ast.Name) and node.id not in self.scope.vectors:
            raise self.error(
                UnknownSymbolError,
                f"unknown symbol {token!r} in formula ({function}() variable)",
                token,
                node,
            )
        raise self.error(
            FormulaError,
            f"{function}() variables must be declared scalar names, not {token!r}",
            token,
            node,
        )


def parse_formula(text: str, scope: Scope, *, derivative_of: sp.Expr | None = None) -> sp.Expr:
    """Parse a scalar formula over the names in ``scope`` into a sympy expression.

    Either a sympy expression is returned or a :class:`FormulaError` (or subclass) is raised,
    naming the offending token and its position. With ``derivative_of`` (the expression of a
    function ``u``) the name ``u`` and ``Derivative(u, p, ...)`` / ``D(u, (p, 2))`` may be used.

    Example::

        >>> scope = Scope.declare(["b1", "b2"], {"x": 2})
        >>> parse_formula("exp(b1*x1 + b2^2*x2)", scope)
        exp(b1*x1 + b2**2*x2)
        >>> parse_formula("dot(x, x) + 0.5", scope)
        x1**2 + x2**2 + 1/2
    """
    if not isinstance(text, str):
        raise TypeError(f"formula text must be a string, got {type(text).__name__}")
    if not isinstance(scope, Scope):
        raise TypeError(f"scope must be a Scope, got {type(scope).__name__}")
    if derivative_of is not None and not isinstance(derivative_of, sp.Expr):
        raise TypeError("derivative_of must be a sympy expression")
    try:
        return _parse(text, scope, derivative_of)
    except (FormulaError, LimitError):  # a time limit is not a bad formula
        raise
    except (RecursionError, MemoryError):
        raise FormulaError("formula is too deeply nested or too large") from None
    except Exception as exc:  # the contract: only FormulaError escapes
        raise FormulaError(
            _one_line(f"formula could not be built: {type(exc).__name__}: {exc}")[:300]
        ) from exc


def _prepare(text: str) -> tuple[str, list[int]]:
    """Drop leading white space and spell ``^`` as ``**``; map each new index to the old one.

    Python's ``^`` binds more loosely than ``+`` and ``*``, so reading it as a power after
    parsing would make ``b^2*x`` mean ``b^(2*x)``. Rewriting the character first gives it the
    precedence and right associativity of ``**``, as in mathematical notation. (Outside a
    comment ``^`` can only be an operator: string literals are refused anyway.)
    """
    offset = len(text) - len(text.lstrip())
    parts: list[str] = []
    origins: list[int] = []
    for index in range(offset, len(text)):
        char = text[index]
        if char == "^":
            parts.append("**")
            origins.extend((index, index))
        else:
            parts.append(char)
            origins.append(index)
    origins.append(len(text))
    return "".join(parts), origins


def _origin(origins: list[int], index: int) -> int:
    """Position in the user's text of character ``index`` of the rewritten source."""
    return origins[min(max(index, 0), len(origins) - 1)]


def _parse(text: str, scope: Scope, derivative_of: sp.Expr | None) -> sp.Expr:
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(
            f"formula is longer than {MAX_FORMULA_LENGTH} characters ({len(text)} given)"
        )
    for index, char in enumerate(text):
        if char == "\x00":
            raise FormulaError("null character in formula", token="\\x00", position=index)
        if not char.isascii():
            raise FormulaError(
                f"non-ASCII character {char!r} in formula", token=char, position=index
            )
    if not text.strip():
        raise FormulaError("empty formula")
    source, origins = _prepare(text)
    try:
        tree = ast.parse(source, mode="eval")
    except (RecursionError, MemoryError):
        raise FormulaError("formula is too deeply nested or too large") from None
    except SyntaxError as exc:
        position = None
        token = None
        if exc.lineno is not None and exc.offset is not None:
            lines = source.split("\n")
            line = max(exc.lineno, 1)
            column = max(exc.offset - 1, 0)
            position = _origin(origins, sum(len(x) + 1 for x in lines[: line - 1]) + column)
            token = text[position : position + 1] or None
        raise FormulaError(
            _one_line(f"syntax error: {exc.msg}"), token=token, position=position
        ) from None
    except ValueError as exc:
        raise FormulaError(_one_line(f"syntax error: {exc}")) from None
    builder = _Builder(source, origins, scope, derivative_of)
    value = builder.build(tree.body, 0)
    if isinstance(value, tuple):
        raise DimensionError(
            f"dimension mismatch: formula must be a scalar, got a vector of length {len(value)}",
            token=builder.segment(tree.body),
            position=builder.position(tree.body),
        )
    if not isinstance(value, sp.Expr):
        raise FormulaError("formula did not produce an expression")
    reason = _defect(value)
    if reason is not None:
        raise FormulaError(reason, token=text.strip()[:60])
    return value
